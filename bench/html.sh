#!/usr/bin/env bash
# Benchmark: the HTML page of a BERT-base-sized attention layer (L = 512, E = 768, 12 heads:
# bench/make_bert_input.py), summarised as the text walkthrough is, weighted values left out as in
# the JSON export. Prints the page's size, how many numbers it shows and whether they are explained
# (html_explained_cells_limit), attn-trace's render time, and the page's load time in headless
# Chromium (the load event, via puppeteer-core: tests/browser/node_modules, `npm ci --prefix
# tests/browser`), each over RUNS runs with their median.
#   bench/html.sh [ATTN_TRACE] [RUNS]     (default build/attn-trace, 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/attn-trace}
runs=${2:-3}
[ -d tests/browser/node_modules/puppeteer-core ] || npm ci --prefix tests/browser --no-audit --no-fund
mkdir -p bench/out
input=bench/out/bert.json
[ -s "$input" ] || python3 bench/make_bert_input.py "$input"
page=$PWD/bench/out/bert.html
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

renders=()
for i in $(seq "$runs"); do
  start=$(date +%s.%N)
  "$bin" run "$input" --format html -o "$page"
  renders+=("$(echo "$(date +%s.%N) - $start" | bc)")
  echo "render $i: ${renders[-1]} s"
done
echo "page: $(stat -c %s "$page") bytes; $(grep -o 'data-cell="[^"]*"' "$page" | sort -u | wc -l) numbers shown;" \
     "explanations $(grep -o 'data-explanations="[a-z-]*"' "$page" | cut -d'"' -f2)"

loads=$(node --input-type=module - "$page" "$runs" <<'JS'
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
const {default: puppeteer} = await import(join(process.cwd(), 'tests/browser/node_modules/puppeteer-core/lib/esm/puppeteer/puppeteer-core.js'));
const [page, runs] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'attn-trace-bench-'));
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium', headless: true, userDataDir: profile,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
for (let i = 0; i < Number(runs); ++i) {
  const tab = await browser.newPage();
  await tab.setViewport({width: 1920, height: 1080});
  await tab.goto(pathToFileURL(page).href, {waitUntil: 'load'});
  const t = await tab.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
  console.log((t / 1000).toFixed(3));
  await tab.close();
}
await browser.close();
rmSync(profile, {recursive: true, force: true});
JS
)
i=0
for t in $loads; do i=$((i + 1)); echo "load $i: $t s (load event, headless Chromium)"; done
echo "median: render $(printf '%s\n' "${renders[@]}" | median) s, load $(echo "$loads" | median) s"
