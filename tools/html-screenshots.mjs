// Projector-sized screenshots (1920×1080) of the HTML page for the README and docs/html.md, in
// light and dark: node tools/html-screenshots.mjs ATTN_TRACE OUT_DIR (tools/html-screenshots.sh).
import {execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const {default: puppeteer} = await import(
    join(root, 'tests/browser/node_modules/puppeteer-core/lib/esm/puppeteer/puppeteer-core.js'));
const [binary, out] = process.argv.slice(2);
const scratch = mkdtempSync(join(tmpdir(), 'attn-trace-shots-'));
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium', headless: true, userDataDir: join(scratch, 'profile'),
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// `attn-trace run ARGS --format html`, opened at `hash` in `scheme`, `click`ed, saved as NAME.
async function shot(name, args, {hash = '', scheme = 'light', click} = {}) {
  const page = join(scratch, `${name}.html`);
  execFileSync(binary, ['run', ...args, '--format', 'html', '-o', page]);
  const tab = await browser.newPage();
  await tab.setViewport({width: 1920, height: 1080});
  await tab.emulateMediaFeatures([{name: 'prefers-color-scheme', value: scheme}]);
  await tab.goto(pathToFileURL(page).href + hash, {waitUntil: 'load'});
  if (click) await tab.click(`td[data-cell="${click}"]`);
  await tab.screenshot({path: join(out, `html-${name}.png`)});
  await tab.close();
}

await shot('start', []);
await shot('softmax', ['multihead'], {hash: '#stage-softmax', click: 'softmax.weights[1,2,0]'});
await shot('dark', ['multihead'], {hash: '#stage-masking', scheme: 'dark'});
await browser.close();
rmSync(scratch, {recursive: true, force: true});
