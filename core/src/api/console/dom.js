// Building the page without innerHTML: every name, message and path that comes from the API
// goes in as text, so nothing in the data can become markup or script.

const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// h('a', {href: '#/jobs'}, 'Jobs'): an HTML element; attributes whose value is null,
// undefined or false are left out, `on<event>` functions become listeners.
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

// The same for SVG elements.
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

// Replaces the children of `el`.
export function put(el, ...children) {
  el.replaceChildren();
  return fill(el, {}, children);
}

// The identity of a focusable element across redraws: its link, its data-key, or its id.
function focusKey(el) {
  return el.getAttribute('href') || el.dataset.key || el.id || null;
}

// put(), but when the keyboard focus was inside `el`, it goes back to the element of the new
// content with the same link, data-key or id: a page that redraws itself every few seconds
// must not throw a keyboard user back to the top.
export function putKeepingFocus(el, ...children) {
  const active = document.activeElement;
  const key = active && el.contains(active) ? focusKey(active) : null;
  put(el, ...children);
  if (!key) return el;
  for (const candidate of el.querySelectorAll('a, button, [tabindex], input, select')) {
    if (focusKey(candidate) === key) {
      candidate.focus({preventScroll: true});
      break;
    }
  }
  return el;
}

// A table: columns [{label, cell(row) -> node|string, class}], rows. `caption` is read by
// screen readers (and shown when `showCaption`).
export function table(columns, rows, {caption, empty = 'Nothing to show.', rowAttrs} = {}) {
  if (rows.length === 0) return h('p', {class: 'muted'}, empty);
  return h('table', {class: 'grid'},
    caption ? h('caption', {class: 'visually-hidden'}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col', class: c.class}, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : {},
      columns.map((c) => h('td', {class: c.class}, c.cell(r)))))));
}

// A labelled form control: label text above the control.
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint ? h('span', {class: 'hint', id: `${id}-hint`}, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', {class: 'field'}, h('label', {for: id}, label), control, hintEl);
}

// A <select> of [value, label] pairs.
export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, label]) =>
    h('option', {value: v, selected: v === value}, label)));
}
