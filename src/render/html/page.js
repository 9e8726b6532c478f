// attn-trace's HTML walkthrough (src/render/html.cpp): the page reads and prints without this
// script; the script adds the one-stage view and its keys, the focus selectors, and each number's
// arithmetic on a click. It reads only the page itself: the stages (data-stage), the cells
// (data-cell) and the explanations, JSON in #attn-trace-explanations. Everything it writes into the
// page goes in as text (textContent), never as markup. The hooks are documented in docs/html.md.
'use strict';
(function () {
  const body = document.body;
  const stages = Array.from(document.querySelectorAll('main > section[data-stage]'));
  const controls = document.querySelector('.controls');
  const position = controls.querySelector('.position');
  const viewButton = controls.querySelector('[data-action="view"]');
  const stageLinks = Array.from(document.querySelectorAll('.stage-list a[data-goto]'));
  const selectors = Array.from(controls.querySelectorAll('select[data-focus]'));
  const data = document.getElementById('attn-trace-explanations');
  const explanations = data ? JSON.parse(data.textContent) : {};
  const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
  let current = 0;

  // ---- One stage at a time, or all of them ----

  function stageIndex(id) {
    return stages.findIndex((s) => s.dataset.stage === id);
  }

  // Shows stage `n` (clamped) alone: it alone is aria-current="step"; the header comes with the
  // first stage and the closing (absent stages, summary) with the last, as run --step pages them.
  function show(n) {
    if (stages.length === 0) {
      body.dataset.first = body.dataset.last = '';
      position.textContent = 'no stage shown';
      return;
    }
    current = Math.max(0, Math.min(stages.length - 1, n));
    const stage = stages[current];
    stages.forEach((s) => {
      if (s === stage && body.dataset.view === 'step') {
        s.setAttribute('aria-current', 'step');
      } else {
        s.removeAttribute('aria-current');
      }
    });
    toggleData('first', current === 0);
    toggleData('last', current === stages.length - 1);
    position.textContent =
        'stage ' + stage.dataset.number + '/' + stage.dataset.total + ' · ' + stage.dataset.stage;
    stageLinks.forEach((a) => a.classList.toggle('current', a.dataset.goto === stage.dataset.stage));
    if (body.dataset.view === 'step') {
      history.replaceState(null, '', '#' + stage.id);
      window.scrollTo(0, 0);
    }
  }

  function toggleData(name, on) {
    if (on) {
      body.dataset[name] = '';
    } else {
      delete body.dataset[name];
    }
  }

  function setView(view) {
    body.dataset.view = view;
    viewButton.textContent = view === 'step' ? 'All stages' : 'One stage at a time';
    controls.querySelector('[data-action="back"]').disabled = view !== 'step';
    controls.querySelector('[data-action="next"]').disabled = view !== 'step';
    show(current);
  }

  // ---- A number's arithmetic ----

  // What a cell shows when the page holds no arithmetic for it.
  function missing(name) {
    const command = "attn-trace explain '" + name + "' (with the same input)";
    switch (body.dataset.explanations) {
      case 'left-out':
        return document.querySelector('.notice[data-notice="explanations"]').textContent +
            '\n\n' + command;
      case 'included':
        return 'attn-trace explain has no arithmetic for this number.';
      default:
        return 'This page holds no arithmetic: run ' + command + '.';
    }
  }

  function closeExplanation() {
    const open = document.querySelector('.explanation');
    if (open) open.remove();
    const selected = document.querySelector('td.selected');
    if (selected) selected.classList.remove('selected');
    return selected;
  }

  // Shows the arithmetic of `cell` under its table, as `attn-trace explain CELL` prints it; a
  // second click on the same cell closes it.
  function explain(cell) {
    if (closeExplanation() === cell) return;
    const name = cell.dataset.cell;
    const panel = document.createElement('div');
    panel.className = 'explanation';
    panel.dataset.explainFor = name;
    panel.setAttribute('role', 'region');
    panel.setAttribute('aria-label', 'arithmetic of ' + name);
    const head = document.createElement('div');
    head.className = 'explanation-head';
    const title = document.createElement('span');
    title.textContent = name;
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = '×';
    close.title = 'Close (Escape)';
    close.addEventListener('click', closeExplanation);
    head.append(title, close);
    const text = document.createElement('pre');
    text.textContent = hasOwn(explanations, name) ? explanations[name] : missing(name);
    panel.append(head, text);
    cell.closest('.block').append(panel);
    cell.classList.add('selected');
    panel.scrollIntoView({block: 'nearest'});
  }

  // ---- The focus selectors ----

  // Cuts every block, row and summary line whose batch, head or query is not the one chosen.
  function applyFocus() {
    const chosen = {};
    selectors.forEach((s) => {
      if (s.value !== '') chosen[s.dataset.focus] = s.value;
    });
    const axes = Object.keys(chosen);
    document.querySelectorAll('[data-batch], [data-head], [data-query]').forEach((el) => {
      const cut = axes.some((axis) => hasOwn(el.dataset, axis) && el.dataset[axis] !== chosen[axis]);
      el.classList.toggle('cut', cut);
    });
    // The lines that stand for what a summary left out say nothing about the one chosen.
    document.querySelectorAll('[data-gap="rows"]').forEach((el) => {
      el.classList.toggle('cut', hasOwn(chosen, 'query'));
    });
    document.querySelectorAll('[data-gap="blocks"]').forEach((el) => {
      el.classList.toggle('cut', hasOwn(chosen, 'head') || hasOwn(chosen, 'batch'));
    });
    // One head chosen: one pick per summary line, nothing to separate.
    document.querySelectorAll('.attends .sep').forEach((el) => {
      el.classList.toggle('cut', hasOwn(chosen, 'head'));
    });
  }

  // ---- Wiring ----

  controls.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const action = button.dataset.action;
    if (action === 'back') show(current - 1);
    if (action === 'next') show(current + 1);
    if (action === 'view') setView(body.dataset.view === 'step' ? 'all' : 'step');
  });
  selectors.forEach((s) => s.addEventListener('change', applyFocus));
  stageLinks.forEach((a) => a.addEventListener('click', (event) => {
    const n = stageIndex(a.dataset.goto);
    if (body.dataset.view !== 'step' || n < 0) return;  // the all view: the link scrolls
    event.preventDefault();
    show(n);
  }));
  document.addEventListener('click', (event) => {
    const cell = event.target.closest('td[data-cell]');
    if (cell) explain(cell);
  });

  const keys = {
    ArrowRight: () => show(current + 1),
    ' ': () => show(current + 1),
    Enter: () => show(current + 1),
    ArrowLeft: () => show(current - 1),
    Backspace: () => show(current - 1),
    Home: () => show(0),
    End: () => show(stages.length - 1),
  };
  document.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target.closest('select, input, textarea')) return;
    if (event.key === 'Escape') {
      closeExplanation();
      return;
    }
    if (event.key === 'Enter' || event.key === ' ') {
      if (target.closest('button, a')) return;  // their own action
      const cell = target.closest('td[data-cell]');
      if (cell) {
        event.preventDefault();
        explain(cell);
        return;
      }
    }
    if (body.dataset.view !== 'step' || !hasOwn(keys, event.key)) return;
    event.preventDefault();
    keys[event.key]();
  });

  // A click leaves no focus behind on what it clicked (a button, a stage link, a number, a selector
  // once changed), so that Space and Enter go on meaning "next stage" in the one-stage view; a
  // control reached with Tab keeps its focus and its own Enter.
  document.addEventListener('click', (event) => {
    const clicked = event.target.closest('button, a, td[data-cell]');
    if (clicked && event.detail > 0) clicked.blur();
  });
  selectors.forEach((select) => select.addEventListener('change', () => select.blur()));

  // Opened at "#all": every stage; at "#stage-ID": that stage alone; else the first stage alone.
  controls.hidden = false;
  const hash = decodeURIComponent(location.hash.slice(1));
  const at = stages.findIndex((s) => s.id === hash);
  current = at < 0 ? 0 : at;
  setView(hash === 'all' ? 'all' : 'step');
  applyFocus();
  // The browser scrolls to the stage a "#stage-ID" names once the page has loaded; one stage alone
  // reads from the top, under the controls.
  window.addEventListener('load', () => {
    if (body.dataset.view === 'step') window.scrollTo(0, 0);
  });
})();
