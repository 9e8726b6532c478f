// The BERT-base-sized trace (L = 512, E = 768, 12 heads: bench/make_bert_input.py) as a page:
// summarised as the text walkthrough is, weighted values left out as in the JSON export, 1728
// numbers shown, all explained; it opens in headless Chromium in under 3 s (bench/html.sh measures
// the same, with the file size and the render time).
import {execFileSync} from 'node:child_process';
import {statSync} from 'node:fs';
import {join} from 'node:path';

import {assert, checkProblems, makePage, openPage, run, scratch, sourceDir} from './lib.mjs';

const input = join(scratch, 'bert.json');
execFileSync('python3', [join(sourceDir, 'bench', 'make_bert_input.py'), input]);
const path = makePage([input]);

await run({
  'the BERT-sized page opens in under 3 s, every shown number explained': async (browser) => {
    const page = await openPage(browser, path);
    const timing = await page.evaluate(() => performance.getEntriesByType('navigation')[0].toJSON());
    console.log(`page ${(statSync(path).size / 1e6).toFixed(2)} MB, load event at ` +
                `${timing.loadEventEnd.toFixed(0)} ms`);
    assert.ok(timing.loadEventEnd < 3000, `opens in ${timing.loadEventEnd} ms`);
    const cells = await page.$$eval('td[data-cell]', (els) => new Set(els.map((el) => el.dataset.cell)).size);
    assert.equal(cells, 1728);
    assert.equal(await page.$eval('body', (el) => el.dataset.explanations), 'included');
    assert.match(await page.$eval('[data-stage="weighted_values"] .left-out', (el) => el.textContent),
                 /^weighted \(12×512×512×64\): weighted holds 201326592 numbers, more than the limit/);
    await page.click('.stage-list a[data-goto="projections"]');
    await page.click('td[data-cell="projections.Q[511,767]"]');
    const text = await page.$eval('[data-explain-for="projections.Q[511,767]"] pre', (el) => el.textContent);
    assert.match(text, /^projections\.Q\[t511,767\]\n  Q\[i,c\] = Σ_e X\[i,e\]·W_q\[c,e\] \+ b_q\[c\]\n/);
    assert.match(text, /✓ the trace holds the same number/);
    checkProblems(page);
  },
});
