// Events (RPO breaches, failed jobs, full copies) and the audit trail (who changed what),
// each filterable; newest first.
import {get} from './api.js';
import {field, h, put, putKeepingFocus, select, table} from './dom.js';
import {badge, serviceLink, when} from './ui.js';

const SEVERITY_LEVEL = {info: 'blue', warning: 'amber', critical: 'red'};

function distinct(rows, key) {
  return [...new Set(rows.map((r) => r[key]).filter(Boolean))].sort();
}

// A filterable list page: `load()` -> rows; `filters` [{id, label, key}] become selects of
// the rows' distinct values; a search box matches `searchKeys`.
async function listPage(ctx, {title, load, filters, searchKeys, columns, caption, every}) {
  const state = {text: ''};
  const selects = filters.map((f) => {
    state[f.key] = ctx.params.get(f.key) || '';
    return {f, el: select([['', `all`]], state[f.key], {id: f.id})};
  });
  const search = h('input', {type: 'search', id: 'filter-text', placeholder: 'text…'});
  const form = h('form', {class: 'filters', role: 'search', 'aria-label': `Filter ${title.toLowerCase()}`},
    selects.map(({f, el}) => field(f.label, el)), field('Search', search));
  form.addEventListener('submit', (ev) => ev.preventDefault());
  const out = h('div', {id: 'list'});
  put(ctx.main, h('h1', {}, title), form, out);

  let rows = [];
  let lastKey = '';
  const known = {};
  const draw = () => {
    const text = state.text.trim().toLowerCase();
    const shown = rows.filter((r) => filters.every((f) => !state[f.key] || r[f.key] === state[f.key]) &&
      (!text || searchKeys.some((k) => r[k] && String(r[k]).toLowerCase().includes(text)))).reverse();
    const key = JSON.stringify([rows.length, rows[rows.length - 1], state]);
    if (key === lastKey) return;
    lastKey = key;
    putKeepingFocus(out, h('p', {class: 'muted small', id: 'list-count'}, `${shown.length} of ${rows.length}`),
      table(columns, shown, {caption, empty: 'Nothing matches the filters.'}));
  };
  form.addEventListener('input', () => {
    for (const {f, el} of selects) state[f.key] = el.value;
    state.text = search.value;
    draw();
  });
  await ctx.every(every, async () => {
    rows = await load();
    ctx.clearError();
    for (const {f, el} of selects) {
      const values = distinct(rows, f.key);
      if (JSON.stringify(values) === known[f.key]) continue;
      known[f.key] = JSON.stringify(values);
      put(el, [['', 'all'], ...values.map((v) => [v, v])].map(([v, l]) =>
        h('option', {value: v, selected: v === state[f.key]}, l)));
    }
    draw();
  });
}

export function renderEvents(ctx) {
  return listPage(ctx, {
    title: 'Events',
    load: async () => (await get('/v1/events?limit=5000')).events || [],
    filters: [
      {id: 'filter-severity', label: 'Severity', key: 'severity'},
      {id: 'filter-service', label: 'Service', key: 'service'},
      {id: 'filter-kind', label: 'Kind', key: 'kind'},
    ],
    searchKeys: ['message', 'kind', 'service'],
    caption: 'Events, newest first',
    every: 5000,
    columns: [
      {label: 'Time', cell: (e) => when(e.time_unix_nanos)},
      {label: 'Severity', cell: (e) => badge(SEVERITY_LEVEL[e.severity] || 'grey', e.severity || '—')},
      {label: 'Service', cell: (e) => serviceLink(e.service)},
      {label: 'Kind', cell: (e) => e.kind},
      {label: 'Message', cell: (e) => e.message},
    ],
  });
}

export function renderAudit(ctx) {
  if (!ctx.can('admin')) {
    put(ctx.main, h('h1', {}, 'Audit'), h('p', {}, 'The audit trail needs an admin token.'));
    return null;
  }
  return listPage(ctx, {
    title: 'Audit',
    load: async () => (await get('/v1/audit?limit=5000')).audit || [],
    filters: [
      {id: 'filter-actor', label: 'Actor', key: 'actor'},
      {id: 'filter-action', label: 'Action', key: 'action'},
    ],
    searchKeys: ['subject', 'detail', 'action', 'actor'],
    caption: 'Audit trail, newest first',
    every: 10000,
    columns: [
      {label: 'Time', cell: (a) => when(a.time_unix_nanos)},
      {label: 'Actor', cell: (a) => h('strong', {}, a.actor)},
      {label: 'Action', cell: (a) => h('code', {}, a.action)},
      {label: 'Subject', cell: (a) => a.subject || ''},
      {label: 'Detail', cell: (a) => a.detail || ''},
    ],
  });
}
