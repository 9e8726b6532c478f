// What every browser test of the HTML page shares (tests/browser/*.test.mjs): making pages with
// the real binary, opening them from file:// in Debian's Chromium through puppeteer-core, and
// failing on anything a page must never do — a console error, an uncaught exception, a dialog
// (alert, confirm, prompt: a script from the input ran), or a request for anything but the page
// itself (it must work offline).
//
//   node NAME.test.mjs ATTN_TRACE SOURCE_DIR
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

if (!existsSync(join(here, 'node_modules', 'puppeteer-core'))) {
  console.error(
      'tests/browser/node_modules/puppeteer-core is missing: run tools/test.sh, which runs npm ci ' +
      'in tests/browser (or: npm ci --prefix tests/browser --no-audit --no-fund)');
  process.exit(1);
}
const {default: puppeteer} = await import('puppeteer-core');

export {assert};
export const [binary, sourceDir] = process.argv.slice(2);
if (!binary || !sourceDir) {
  console.error('usage: node TEST.mjs ATTN_TRACE SOURCE_DIR');
  process.exit(2);
}

// A scratch directory for the test's pages and the browser's profile, removed at the end.
export const scratch = mkdtempSync(join(tmpdir(), 'attn-trace-browser-'));
process.on('exit', () => rmSync(scratch, {recursive: true, force: true}));

// Runs attn-trace with `args` and returns its standard output.
export function attnTrace(args) {
  return execFileSync(binary, args, {encoding: 'utf8', maxBuffer: 1 << 30});
}

let pages = 0;
// Writes `attn-trace run ARGS --format html` to a file of the scratch directory; returns its path.
export function makePage(args) {
  const path = join(scratch, `page-${++pages}.html`);
  execFileSync(binary, ['run', ...args, '--format', 'html', '-o', path], {stdio: 'inherit'});
  return path;
}

// The JSON export of the same input: the numbers the page must show.
export function traceOf(args) {
  return JSON.parse(attnTrace(['run', ...args, '--format', 'json']));
}

// The number at `index` of tensor `tensorName` of stage `stageId` in a JSON trace, as a JS number
// (the export writes ±inf and nan as strings).
export function valueAt(trace, stageId, tensorName, index) {
  const stage = trace.stages.find((s) => s.id === stageId);
  assert.ok(stage, `the trace has a ${stageId} stage`);
  const tensor = stage.tensors.find((t) => t.name === tensorName);
  assert.ok(tensor, `${stageId} has a tensor ${tensorName}`);
  let v = tensor.data;
  for (const i of index) v = v[i];
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === 'nan') return NaN;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

// "scores.scores[1,0,2]" → {stage, tensor, index}.
export function parseCell(name) {
  const m = /^([a-z_]+)\.([A-Za-z_]+)\[([0-9,]+)\]$/.exec(name);
  assert.ok(m, `a CELL name: ${name}`);
  return {stage: m[1], tensor: m[2], index: m[3].split(',').map(Number)};
}

// Launches Debian's Chromium headless with a fresh profile.
export async function launch() {
  return puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    userDataDir: mkdtempSync(join(scratch, 'profile-')),
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

// Opens `path` from file:// in a new page of `browser` (a viewport of 1920×1080, a projector's),
// with every guard on: a console error, a page error, a dialog, or a request for anything but
// the page itself fails the test (recorded in page.problems, checked by checkProblems).
export async function openPage(browser, path, {colorScheme, hash = ''} = {}) {
  const page = await browser.newPage();
  page.problems = [];
  const url = pathToFileURL(path).href;
  await page.setViewport({width: 1920, height: 1080});
  if (colorScheme) {
    await page.emulateMediaFeatures([{name: 'prefers-color-scheme', value: colorScheme}]);
  }
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warn') {
      page.problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('dialog', async (dialog) => {
    page.problems.push(`a ${dialog.type()} dialog opened: ${dialog.message()}`);
    await dialog.dismiss();
  });
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (request.url() === url || request.url() === url + hash) {
      request.continue();
      return;
    }
    page.problems.push(`the page requested ${request.url()}`);
    request.abort();
  });
  await page.goto(url + hash, {waitUntil: 'load'});
  return page;
}

// Fails when the page did anything it must never do.
export function checkProblems(page) {
  assert.deepEqual(page.problems, [], 'no console error, page error, dialog or request');
}

// Runs the named checks in order; prints each as it passes; exits 1 at the first failure.
export async function run(checks) {
  const browser = await launch();
  let failed = false;
  try {
    for (const [name, check] of Object.entries(checks)) {
      try {
        await check(browser);
        console.log(`ok   ${name}`);
      } catch (error) {
        console.log(`FAIL ${name}`);
        console.error(error);
        failed = true;
        break;
      }
    }
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}

// What the page shows of its elements: whether `selector`'s elements are displayed.
export async function displayed(page, selector) {
  return page.$$eval(selector, (els) => els.map((el) => el.getClientRects().length > 0));
}
