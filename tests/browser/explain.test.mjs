// Clicking a number shows its arithmetic, as `attn-trace explain CELL` prints it, under its table:
// in an element with data-explain-for="CELL"; its result is the traced number (the JSON export of
// the same input). Cells of every kind of stage, blocked ones of a masked example included; the
// keyboard too (Enter on a focused cell; Escape closes).
import {assert, attnTrace, checkProblems, makePage, openPage, parseCell, run, traceOf, valueAt}
    from './lib.mjs';

// A number as the page and the explanations write it: − for minus, −∞ for -inf.
function parseNumber(text) {
  const t = text.trim().replace(/−/g, '-');
  if (t === '-∞') return -Infinity;
  if (t === '∞') return Infinity;
  return Number(t);
}

// Opens the stage of `cell`, clicks it, and returns the text of its explanation, after checking
// that it is the only one shown, that it is what `attn-trace explain` prints, and that its result
// and the cell's own text are the traced number.
async function clickAndCheck(page, trace, name, args) {
  const {stage, tensor, index} = parseCell(name);
  await page.click(`.stage-list a[data-goto="${stage}"]`);
  const selector = `section[data-stage="${stage}"] td[data-cell="${name}"]`;
  const shown = await page.$eval(selector, (el) => el.textContent);
  await page.click(selector);
  const panels = await page.$$eval('[data-explain-for]', (els) => els.map((el) => ({
    for: el.dataset.explainFor, text: el.querySelector('pre').textContent,
    stage: el.closest('section[data-stage]').dataset.stage,
  })));
  assert.equal(panels.length, 1, 'one explanation at a time');
  assert.equal(panels[0].for, name);
  assert.equal(panels[0].stage, stage, 'shown in the cell\'s stage');
  const text = panels[0].text;
  assert.equal(text, attnTrace(['explain', name, ...args]), 'what attn-trace explain prints');
  const traced = valueAt(trace, stage, tensor, index);
  // "  = … = 0.3782" is the arithmetic's result, and "✓ the trace holds the same number (0.3782, …"
  // says it is the trace's.
  const lines = text.split('\n').filter((line) => line.startsWith('  = '));
  const computed = lines[lines.length - 1].split(' = ').pop();
  const held = /✓ the trace holds the same number \(([^,]*), equal to 12 digits\)/.exec(text);
  assert.ok(held, `${name}: the trace holds the same number`);
  assert.equal(computed, held[1]);
  const result = parseNumber(computed);
  if (Number.isFinite(traced)) {
    assert.ok(Math.abs(result - traced) <= 0.5e-4 + 1e-12, `${name}: ${result} vs ${traced}`);
    assert.ok(Math.abs(parseNumber(shown) - traced) <= 0.5e-4 + 1e-12, `${name} shows ${shown}`);
  } else {
    assert.equal(result, traced);
    assert.equal(parseNumber(shown), traced);
  }
  return text;
}

const multihead = makePage(['multihead']);
const multiheadTrace = traceOf(['multihead']);

await run({
  'cells of every stage of a masked two-head example': async (browser) => {
    const page = await openPage(browser, multihead);
    for (const name of [
      'input.X[1,4]', 'projections.Q[1,2]', 'projections.K[3,0]', 'projections.V[2,5]',
      'split_heads.Q[1,0,2]', 'scores.scores[1,2,0]', 'scaling.scaled[0,3,1]',
      'masking.masked[1,2,1]', 'masking.masked[0,0,3]', 'masking.additive_mask[0,1,2]',
      'softmax.weights[1,3,2]', 'softmax.weights[0,0,2]', 'weighted_values.weighted[1,2,1,0]',
      'summation.context[1,2,0]', 'merge_heads.context[3,4]', 'out_proj.output[2,5]',
    ]) {
      await clickAndCheck(page, multiheadTrace, name, ['multihead']);
    }
    // A blocked cell: −∞ before the softmax, 0 after it, each with its shade and its arithmetic.
    assert.equal(await page.$eval('td[data-cell="softmax.weights[0,0,2]"]',
                                  (el) => `${el.textContent} ${el.className}`), '0.0000 light blocked');
    const blocked = await clickAndCheck(page, multiheadTrace, 'masking.masked[0,0,3]', ['multihead']);
    assert.match(blocked, /= −∞\n/);
    checkProblems(page);
  },
  'the default example: scores, weights, output': async (browser) => {
    const trace = traceOf([]);
    const page = await openPage(browser, makePage([]));
    for (const name of ['scores.scores[0,1]', 'softmax.weights[2,2]', 'out_proj.output[1,0]']) {
      await clickAndCheck(page, trace, name, []);
    }
    checkProblems(page);
  },
  'a second click, Escape and the close button close it': async (browser) => {
    const page = await openPage(browser, multihead, {hash: '#stage-scores'});
    const cell = 'td[data-cell="scores.scores[0,1,1]"]';
    await page.click(cell);
    assert.equal(await page.$$eval('[data-explain-for]', (els) => els.length), 1);
    assert.equal(await page.$eval(cell, (el) => el.classList.contains('selected')), true);
    await page.click(cell);
    assert.equal(await page.$$eval('[data-explain-for], td.selected', (els) => els.length), 0);
    await page.click(cell);
    await page.keyboard.press('Escape');
    assert.equal(await page.$$eval('[data-explain-for]', (els) => els.length), 0);
    await page.click(cell);
    await page.click('.explanation-head button');
    assert.equal(await page.$$eval('[data-explain-for]', (els) => els.length), 0);
    checkProblems(page);
  },
  'the keyboard: Tab to a number, Enter explains it and does not change the stage': async (browser) => {
    const page = await openPage(browser, multihead, {hash: '#stage-softmax'});
    await page.focus('td[data-cell="softmax.weights[1,2,0]"]');
    await page.keyboard.press('Enter');
    assert.equal(await page.$eval('[data-explain-for]', (el) => el.dataset.explainFor),
                 'softmax.weights[1,2,0]');
    assert.equal(await page.$eval('[aria-current]', (el) => el.dataset.stage), 'softmax');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    assert.equal(await page.$eval('[data-explain-for]', (el) => el.dataset.explainFor),
                 'softmax.weights[1,2,1]');
    checkProblems(page);
  },
});
