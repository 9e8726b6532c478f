// Light and dark themes follow prefers-color-scheme; both read from the back of a room: large type,
// body text of high contrast on the page, and every shaded number legible on its shade (black or
// white ink, whichever reads better).
import {assert, checkProblems, makePage, openPage, run} from './lib.mjs';

const page = makePage(['multihead']);

// WCAG's contrast ratio of two "rgb(r, g, b)" colours.
function contrast(a, b) {
  const luminance = (css) => {
    const [r, g, bl] = css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

async function colours(p) {
  return p.evaluate(() => {
    const style = (sel) => getComputedStyle(document.querySelector(sel));
    return {
      background: style('body').backgroundColor,
      text: style('body').color,
      label: style('.fields dt').color,
      fontSize: parseFloat(style('body').fontSize),
      cells: Array.from(document.querySelectorAll('td[style]')).map((td) => {
        const s = getComputedStyle(td);
        return [s.color, s.backgroundColor, td.dataset.cell];
      }),
    };
  });
}

await run({
  'light and dark: the page follows the system, the shades stay': async (browser) => {
    const light = await colours(await openPage(browser, page, {colorScheme: 'light'}));
    const dark = await colours(await openPage(browser, page, {colorScheme: 'dark'}));
    assert.equal(light.background, 'rgb(255, 255, 255)');
    assert.equal(dark.background, 'rgb(15, 19, 23)');
    for (const theme of [light, dark]) {
      assert.ok(theme.fontSize >= 22, `large type: ${theme.fontSize}px`);
      assert.ok(contrast(theme.text, theme.background) >= 7, 'body text: AAA contrast');
      assert.ok(contrast(theme.label, theme.background) >= 7, 'labels: AAA contrast');
      assert.equal(theme.cells.length, 4 * 32);  // scores, scaled, masked, weights
    }
    // The shaded cells are the same in both themes, each legible on its shade.
    assert.deepEqual(dark.cells, light.cells);
    const worst = Math.min(...light.cells.map(([ink, shade]) => contrast(ink, shade)));
    assert.ok(worst >= 3.9, `every shaded number readable: worst contrast ${worst.toFixed(2)}`);
  },
  'the dark theme has no console error and keeps the blocked shade': async (browser) => {
    const p = await openPage(browser, page, {colorScheme: 'dark', hash: '#stage-masking'});
    assert.equal(
        await p.$eval('td[data-cell="masking.masked[0,0,1]"]', (el) => getComputedStyle(el).backgroundColor),
        'rgb(190, 30, 45)');
    checkProblems(p);
  },
});
