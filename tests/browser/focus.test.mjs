// The head and query selectors cut the page on the spot: head 1 leaves only head 1's blocks (and
// summary picks), a query only that query's rows (and summary line), both together both cuts; the
// options name queries by their tokens. A page made with --focus names its cells with the whole
// trace's indices, and their arithmetic is the whole trace's.
import {assert, checkProblems, makePage, openPage, parseCell, run, traceOf, valueAt}
    from './lib.mjs';

// The data-cell of every number displayed in `stage`'s section.
async function shownCells(page, stage) {
  return page.$$eval(`section[data-stage="${stage}"] td[data-cell]`, (els) =>
      els.filter((el) => el.getClientRects().length > 0).map((el) => el.dataset.cell));
}

const multihead = makePage(['multihead']);

await run({
  'the selectors offer each head and each query by its token': async (browser) => {
    const page = await openPage(browser, multihead);
    assert.deepEqual(
        await page.$$eval('select[data-focus="head"] option', (os) => os.map((o) => o.textContent)),
        ['all heads', '0', '1']);
    assert.deepEqual(
        await page.$$eval('select[data-focus="query"] option', (os) => os.map((o) => o.textContent)),
        ['all queries', '0 · the', '1 · cat', '2 · sat', '3 · down']);
    checkProblems(page);
  },
  'head 1 shows only head 1\'s blocks': async (browser) => {
    const page = await openPage(browser, multihead, {hash: '#stage-scores'});
    assert.equal((await shownCells(page, 'scores')).length, 32);
    await page.select('select[data-focus="head"]', '1');
    const cells = await shownCells(page, 'scores');
    assert.equal(cells.length, 16);
    assert.ok(cells.every((c) => parseCell(c).index[0] === 1), cells.join(' '));
    // Tensors without heads (the projections' Q, the mask) are whole.
    await page.click('.stage-list a[data-goto="projections"]');
    assert.equal((await shownCells(page, 'projections')).length, 3 * 24);
    await page.keyboard.press('End');
    const picks = await page.$$eval('.pick', (els) => els.filter((el) => el.getClientRects().length)
                                                          .map((el) => el.dataset.head));
    assert.deepEqual(picks, ['1', '1', '1', '1']);
    await page.select('select[data-focus="head"]', '');
    assert.equal((await shownCells(page, 'out_proj')).length, 24);
    checkProblems(page);
  },
  'a query shows only its rows, with a head only its rows of that head': async (browser) => {
    const page = await openPage(browser, multihead, {hash: '#stage-softmax'});
    await page.select('select[data-focus="query"]', '2');
    let cells = await shownCells(page, 'softmax');
    assert.equal(cells.length, 8);  // 2 heads × 4 keys
    assert.ok(cells.every((c) => parseCell(c).index[1] === 2), cells.join(' '));
    await page.select('select[data-focus="head"]', '0');
    cells = await shownCells(page, 'softmax');
    assert.deepEqual(cells, [0, 1, 2, 3].map((j) => `softmax.weights[0,2,${j}]`));
    // Keys are never cut: K still has its four rows; the summary keeps the one query's line.
    await page.click('.stage-list a[data-goto="projections"]');
    assert.equal((await shownCells(page, 'projections')).length, 6 + 24 + 24);
    await page.keyboard.press('End');
    assert.deepEqual(
        await page.$$eval('.attends li', (els) => els.filter((el) => el.getClientRects().length)
                                                      .map((el) => el.innerText)),
        ['sat → head 0: the 0.38']);
    // The keys go to the selector, not to the stages, while it has the focus.
    await page.focus('select[data-focus="query"]');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.$eval('[aria-current]', (el) => el.dataset.stage), 'out_proj');
    checkProblems(page);
  },
  'a --focus page: whole-trace indices, whole-trace arithmetic': async (browser) => {
    const trace = traceOf(['multihead']);
    const page = await openPage(browser, makePage(['multihead', '--focus', 'head=1,query=sat']),
                                {hash: '#stage-scores'});
    const cells = await shownCells(page, 'scores');
    assert.deepEqual(cells, [0, 1, 2, 3].map((j) => `scores.scores[1,2,${j}]`));
    for (const name of ['scores.scores[1,2,3]', 'split_heads.K[1,3,0]']) {
      const {stage, tensor, index} = parseCell(name);
      await page.click(`.stage-list a[data-goto="${stage}"]`);
      await page.click(`td[data-cell="${name}"]`);
      const text = await page.$eval(`[data-explain-for="${name}"] pre`, (el) => el.textContent);
      const held = /✓ the trace holds the same number \(([^,]*),/.exec(text);
      assert.ok(held, text);
      assert.ok(Math.abs(Number(held[1].replace('−', '-')) - valueAt(trace, stage, tensor, index)) <=
                0.5e-4, `${name}: ${text}`);
    }
    assert.equal(await page.$$eval('select[data-focus]', (els) => els.length), 0);
    checkProblems(page);
  },
});
