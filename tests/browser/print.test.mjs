// Printing: whatever view is on screen, the print stylesheet shows the header, every stage and the
// summary, without the controls; an explanation that is open prints without its close button; the
// shades print (print-color-adjust: exact); Chromium makes a PDF of several pages from it.
import {assert, checkProblems, displayed, makePage, openPage, run} from './lib.mjs';

const page = makePage(['multihead']);

await run({
  'print media: every stage and the summary, no controls': async (browser) => {
    const p = await openPage(browser, page, {hash: '#stage-softmax'});
    await p.click('td[data-cell="softmax.weights[1,1,0]"]');
    assert.equal((await displayed(p, 'section[data-stage]')).filter(Boolean).length, 1);
    await p.emulateMediaType('print');
    assert.deepEqual(await displayed(p, 'section[data-stage]'), Array(11).fill(true));
    assert.deepEqual(await displayed(p, '.trace-header, .closing, .summary'), [true, true, true]);
    assert.deepEqual(await displayed(p, '.bar, .controls, .stage-list, .explanation-head button'),
                     [false, false, false, false]);
    assert.deepEqual(await displayed(p, '[data-explain-for] pre'), [true]);
    assert.equal(await p.$eval('td[data-cell="softmax.weights[0,0,0]"]',
                               (el) => getComputedStyle(el).printColorAdjust), 'exact');
    const pdf = Buffer.from(await p.pdf({format: 'A4', printBackground: true}));
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    assert.ok(pages >= 11, `a page per stage at least: ${pages}`);
    await p.emulateMediaType('screen');
    assert.equal((await displayed(p, 'section[data-stage]')).filter(Boolean).length, 1);
    checkProblems(p);
  },
  'the page reads without its script: every stage, no controls': async (browser) => {
    const p = await browser.newPage();
    await p.setJavaScriptEnabled(false);
    await p.goto(`file://${page}`);
    assert.deepEqual(await displayed(p, 'section[data-stage]'), Array(11).fill(true));
    assert.deepEqual(await displayed(p, '.controls, .stage-list'), [false, true]);
    assert.equal(await p.$$eval('[aria-current]', (els) => els.length), 0);
    await p.close();
  },
});
