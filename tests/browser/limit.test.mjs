// The explanation limit (html_explained_cells_limit, 10 000 numbers): a page that shows more
// leaves the arithmetic out, says so, why and how to get it, and a click names the cell for
// `attn-trace explain`; a page just under it holds every cell's arithmetic.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {assert, attnTrace, checkProblems, displayed, makePage, openPage, run, scratch}
    from './lib.mjs';

// An input of L tokens, E features and H heads with learned weights and a causal mask.
function input(L, E, H) {
  const matrix = (rows, cols, seed) => Array.from({length: rows}, (_, i) =>
      Array.from({length: cols}, (_, j) => ((i * 7 + j * 3 + seed) % 11) / 10 - 0.5));
  const path = join(scratch, `input-${L}-${E}-${H}.json`);
  writeFileSync(path, JSON.stringify({
    input: matrix(L, E, 0), tokens: Array.from({length: L}, (_, i) => `t${i}`), num_heads: H,
    mask: 'causal', weights: {in_proj_weight: matrix(3 * E, E, 1), 'out_proj.weight': matrix(E, E, 2)},
  }));
  return path;
}

// The distinct data-cell values of a page: the numbers it shows.
async function numbers(page) {
  return new Set(await page.$$eval('td[data-cell]', (els) => els.map((el) => el.dataset.cell))).size;
}

await run({
  'over the limit: the page says why, and a click names the cell for attn-trace explain':
      async (browser) => {
    const file = input(16, 32, 4);
    const page = await openPage(browser, makePage([file, '--full']));
    assert.equal(await numbers(page), 18688);
    assert.equal(await page.$eval('body', (el) => el.dataset.explanations), 'left-out');
    assert.equal(await page.$$eval('#attn-trace-explanations', (els) => els.length), 0);
    const notice = await page.$eval('.notice[data-notice="explanations"]', (el) => el.textContent);
    assert.match(notice, /its tables show 18688 numbers, more than the 10000 whose explanations/);
    assert.match(notice, /--focus .* --stages, or run attn-trace explain CELL/);
    assert.deepEqual(await displayed(page, '.notice'), [true], 'shown with the first stage');
    await page.click('.stage-list a[data-goto="scores"]');
    await page.click('td[data-cell="scores.scores[2,5,3]"]');
    const text = await page.$eval('[data-explain-for="scores.scores[2,5,3]"] pre', (el) => el.textContent);
    assert.equal(text, `${notice}\n\nattn-trace explain 'scores.scores[2,5,3]' (with the same input)`);
    // What the click points to works.
    assert.match(attnTrace(['explain', 'scores.scores[2,5,3]', file]), /✓ the trace holds/);
    checkProblems(page);
  },
  'just under the limit: every number explained': async (browser) => {
    const page = await openPage(browser, makePage([input(16, 16, 2), '--full']));
    assert.equal(await numbers(page), 9472);
    assert.equal(await page.$eval('body', (el) => el.dataset.explanations), 'included');
    const explained = await page.$eval('#attn-trace-explanations',
                                       (el) => Object.keys(JSON.parse(el.textContent)).length);
    assert.equal(explained, 9472);
    assert.equal(await page.$$eval('.notice', (els) => els.length), 0);
    checkProblems(page);
  },
});
