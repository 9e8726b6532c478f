// Nothing from the input runs: token labels, the name, the description and the source come from
// files strangers write. Every hostile string of hostile.json shows as the text it is; no dialog
// opens (a dialog fails the test: lib.mjs), no element or handler is made from them, no request is
// made, while every label and number is hovered and clicked.
import {assert, checkProblems, makePage, openPage, run, sourceDir} from './lib.mjs';

const hostile = `${sourceDir}/tests/browser/hostile.json`;
const page = makePage([hostile]);

await run({
  'the hostile strings show as text': async (browser) => {
    const p = await openPage(browser, page, {hash: '#all'});
    const title = await p.title();
    assert.equal(title,
                 'attn-trace · <img src=x onerror="window.pwned=1;alert(1)"></title>' +
                 '<script>alert(\'name\')</script>');
    assert.equal(await p.$eval('h1', (el) => el.textContent), title);
    assert.match(await p.$eval('.description', (el) => el.textContent),
                 /<\/script><script>alert\('description'\)<\/script> & "quotes" and 'apostrophes'; <b onmouseover=alert\(1\)>bold<\/b>;/);
    assert.equal(await p.$eval('.source', (el) => el.textContent),
                 'source: <a href="javascript:alert(\'source\')">a link</a> ' +
                 '<iframe src="https://example.com"></iframe>');
    // The token labels, cut to 12 columns as in the terminal, head the columns of the scores.
    assert.deepEqual(
        await p.$$eval('section[data-stage="scores"] th[scope="col"]', (els) =>
            els.map((el) => el.textContent)),
        ['<script>ale…', '" onmouseov…', '\'><img src=…', '</script><s…', '<!--', '&lt;&amp;',
         '<b>x</b>']);
    // Nothing became an element or a handler.
    const made = await p.evaluate(() => ({
      scripts: document.scripts.length,
      elements: document.querySelectorAll('img, iframe, b, a[href^="javascript"]').length,
      handlers: Array.from(document.querySelectorAll('*')).flatMap(
          (el) => Array.from(el.attributes).map((a) => a.name).filter((n) => n.startsWith('on'))),
      pwned: 'pwned' in window,
    }));
    assert.deepEqual(made, {scripts: 2, elements: 0, handlers: [], pwned: false});
    checkProblems(p);
  },
  'hovering and clicking every label and number runs nothing': async (browser) => {
    const p = await openPage(browser, page, {hash: '#all'});
    const targets = await p.$$('th, [data-stage="masking"] td[data-cell], ' +
                               '[data-stage="softmax"] td[data-cell], .trace-header :is(h1, p, dt, dd), .attends li');
    assert.ok(targets.length > 200, `${targets.length} elements to hover and click`);
    for (const el of targets) {
      await el.hover();
      await el.click();
    }
    checkProblems(p);
    assert.equal(await p.evaluate(() => 'pwned' in window), false);
  },
  'an explanation names the hostile tokens as text': async (browser) => {
    const p = await openPage(browser, page, {hash: '#stage-scores'});
    await p.click('td[data-cell="scores.scores[3,2]"]');
    const text = await p.$eval('[data-explain-for="scores.scores[3,2]"] pre', (el) => el.textContent);
    assert.match(text, /^scores\.scores\[<\/script><script>alert\(2\)<\/script>,'><img src=x onerror=alert\(1\)>\]\n/);
    assert.match(text, /Q\[<\/script><s…,0\]·K\['><img src=…,0\]/);
    assert.equal(await p.$$eval('.explanation *', (els) => els.map((el) => el.tagName).join(' ')),
                 'DIV SPAN BUTTON PRE');
    checkProblems(p);
  },
});
