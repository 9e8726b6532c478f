// One self-contained file: opened from file://, the page requests nothing but itself (request
// interception: any other request fails the test, lib.mjs), has no stylesheet, font or script of
// another file, and its Content-Security-Policy stops a script put into the page from running.
import {assert, checkProblems, makePage, openPage, run} from './lib.mjs';

await run({
  'nothing but the page is requested, whatever is clicked': async (browser) => {
    for (const args of [[], ['multihead'], ['cross', '--explain']]) {
      const page = await openPage(browser, makePage(args), {hash: '#all'});
      // Every fifth number of every stage, clicked (all of them take half a minute).
      const cells = await page.$$('td[data-cell]');
      for (let k = 0; k < cells.length; k += 5) await cells[k].click();
      await page.click('button[data-action="view"]');
      for (let k = 0; k < 12; ++k) await page.keyboard.press('ArrowRight');
      const loaded = await page.evaluate(() => ({
        resources: performance.getEntriesByType('resource').map((r) => r.name),
        sheets: Array.from(document.styleSheets).map((s) => s.href),
        externalScripts: Array.from(document.scripts).filter((s) => s.src).length,
        fonts: Array.from(document.fonts).length,
      }));
      assert.deepEqual(loaded, {resources: [], sheets: [null], externalScripts: 0, fonts: 0},
                       args.join(' '));
      checkProblems(page);
    }
  },
  'a script put into the page does not run': async (browser) => {
    const page = await openPage(browser, makePage([]));
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.injected = true;';
      document.body.append(script);
      const button = document.createElement('div');
      button.setAttribute('onclick', 'window.injected = true;');
      document.body.append(button);
      button.click();
      return new Promise((resolve) => setTimeout(() => resolve('injected' in window), 200));
    });
    assert.equal(ran, false);
    // Chromium says why, on the console: the policy refused the script and the handler.
    assert.ok(page.problems.length === 2 &&
              page.problems.every((p) => /Content Security Policy/.test(p)), page.problems.join('\n'));
  },
});
