// One stage at a time, as run --step: the keys (→ Space Enter next, ← Backspace back, Home, End),
// the buttons and the stage list move aria-current="step", which only the shown stage has; the
// header comes with the first stage and the summary with the last; "#stage-ID" opens at a stage.
import {assert, checkProblems, displayed, makePage, openPage, run} from './lib.mjs';

const defaultPage = makePage([]);
const order = ['input', 'projections', 'scores', 'scaling', 'softmax', 'weighted_values',
               'summation', 'out_proj'];

// The stage that is aria-current, after checking that it is the only element that is, and the only
// stage displayed.
async function currentStage(page) {
  const current = await page.$$eval('[aria-current]', (els) => els.map((el) => ({
    stage: el.dataset.stage, value: el.getAttribute('aria-current'), tag: el.tagName,
  })));
  assert.equal(current.length, 1, 'exactly one element is aria-current');
  assert.equal(current[0].value, 'step');
  assert.equal(current[0].tag, 'SECTION');
  const shown = await page.$$eval('section[data-stage]', (els) =>
      els.filter((el) => el.getClientRects().length > 0).map((el) => el.dataset.stage));
  assert.deepEqual(shown, [current[0].stage], 'only the current stage is displayed');
  return current[0].stage;
}

async function press(page, key, expected) {
  await page.keyboard.press(key);
  assert.equal(await currentStage(page), expected, `${key} shows ${expected}`);
}

await run({
  'opens at the first stage, with the header': async (browser) => {
    const page = await openPage(browser, defaultPage);
    assert.equal(await currentStage(page), 'input');
    assert.deepEqual(await displayed(page, '.trace-header'), [true]);
    assert.deepEqual(await displayed(page, '.closing'), [false]);
    assert.equal(await page.$eval('.position', (el) => el.textContent), 'stage 1/8 · input');
    assert.equal(await page.$eval('section[aria-current] h2', (el) => el.textContent),
                 '1/8 · input · The input: one vector per token');
    checkProblems(page);
  },
  'the keys move through the stages': async (browser) => {
    const page = await openPage(browser, defaultPage);
    await press(page, 'ArrowRight', 'projections');
    await press(page, 'Space', 'scores');
    await press(page, 'Enter', 'scaling');
    await press(page, 'ArrowLeft', 'scores');
    await press(page, 'Backspace', 'projections');
    await press(page, 'End', 'out_proj');
    assert.deepEqual(await displayed(page, '.closing'), [true], 'the summary with the last stage');
    assert.deepEqual(await displayed(page, '.trace-header'), [false]);
    await press(page, 'ArrowRight', 'out_proj');  // the last stays the last
    await press(page, 'Home', 'input');
    await press(page, 'ArrowLeft', 'input');
    for (const stage of order.slice(1)) await press(page, 'ArrowRight', stage);
    assert.equal(await page.$eval('.position', (el) => el.textContent), 'stage 8/8 · out_proj');
    assert.ok(page.url().endsWith('#stage-out_proj'), 'the address names the stage');
    checkProblems(page);
  },
  'the buttons and the stage list': async (browser) => {
    const page = await openPage(browser, defaultPage);
    await page.click('button[data-action="next"]');
    assert.equal(await currentStage(page), 'projections');
    await page.click('.stage-list a[data-goto="softmax"]');
    assert.equal(await currentStage(page), 'softmax');
    assert.equal(await page.$eval('.stage-list a.current', (el) => el.dataset.goto), 'softmax');
    // A click leaves no focus behind: Space and Enter still mean "next stage" (docs/html.md).
    await press(page, 'Space', 'weighted_values');
    await page.click('button[data-action="back"]');
    assert.equal(await currentStage(page), 'softmax');
    await press(page, 'Space', 'weighted_values');
    await press(page, 'Enter', 'summation');
    await page.click('[aria-current="step"] td[data-cell]');  // a number's arithmetic opens
    await press(page, 'Space', 'out_proj');
    checkProblems(page);
  },
  'a link to a stage opens at it': async (browser) => {
    const page = await openPage(browser, defaultPage, {hash: '#stage-softmax'});
    assert.equal(await currentStage(page), 'softmax');
    assert.equal(await page.evaluate(() => window.scrollY), 0);
    checkProblems(page);
  },
  'the all-stages view: every stage, none aria-current, the keys scroll': async (browser) => {
    const page = await openPage(browser, defaultPage);
    await page.click('button[data-action="view"]');
    assert.equal(await page.$$eval('[aria-current]', (els) => els.length), 0);
    assert.deepEqual(await displayed(page, 'section[data-stage]'), order.map(() => true));
    assert.deepEqual(await displayed(page, '.trace-header, .closing'), [true, true]);
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.$$eval('[aria-current]', (els) => els.length), 0);
    assert.equal(await page.$eval('button[data-action="view"]', (el) => el.textContent),
                 'One stage at a time');
    await page.click('button[data-action="view"]');
    assert.equal(await currentStage(page), 'input');
    const all = await openPage(browser, defaultPage, {hash: '#all'});
    assert.equal(await all.$$eval('[aria-current]', (els) => els.length), 0);
    checkProblems(page);
    checkProblems(all);
  },
  '--stages and --no-header: the stages asked for, no header': async (browser) => {
    const page = await openPage(
        browser, makePage(['multihead', '--stages', 'scores,softmax', '--no-header']));
    assert.equal(await currentStage(page), 'scores');
    assert.equal(await page.$$eval('.trace-header, h1', (els) => els.length), 0);
    assert.deepEqual(await page.$$eval('.stage-list a', (els) => els.map((a) => a.textContent)),
                     ['4 scores', '7 softmax']);
    await press(page, 'ArrowRight', 'softmax');
    await press(page, 'ArrowRight', 'softmax');
    checkProblems(page);
  },
});
