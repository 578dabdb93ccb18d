// Policies: the list, and one policy as the YAML it was applied from (read-only; changes go
// through `lifeboat apply`, reviewed like code).
import {get, post, seg} from './api.js';
import {h, put, table} from './dom.js';
import {duration, enumName, num} from './format.js';
import {serviceLink, when} from './ui.js';

function schedule(p) {
  const s = p.schedule || {};
  const zone = s.time_zone ? ` (${s.time_zone})` : '';
  if (s.cron) return `cron ${s.cron}${zone}`;
  if (s.interval_seconds) return `every ${duration(num(s.interval_seconds))}`;
  return '—';
}

function retention(p) {
  const r = p.retention || {};
  const parts = [];
  if (r.keep_count) parts.push(`newest ${r.keep_count}`);
  if (r.keep_age_seconds) parts.push(`younger than ${duration(num(r.keep_age_seconds))}`);
  return parts.length ? `keep ${parts.join(' and ')}` : '—';
}

export async function renderList(ctx) {
  const {policies = []} = await get('/v1/policies');
  put(ctx.main, h('h1', {}, 'Policies'),
    h('p', {class: 'muted'}, 'Read-only here: policies change with ', h('code', {}, 'lifeboat apply -f FILE.yaml'), '.'),
    table([
      {label: 'Policy', cell: (p) => h('a', {href: `#/policies/${encodeURIComponent(p.name)}`}, p.name)},
      {label: 'Service', cell: (p) => serviceLink(p.service)},
      {label: 'Schedule', cell: (p) => schedule(p)},
      {label: 'RPO', cell: (p) => (num(p.rpo_seconds) ? duration(num(p.rpo_seconds)) : '—')},
      {label: 'Retention', cell: (p) => retention(p)},
      {label: 'Consistency', cell: (p) => enumName(p.consistency, '')},
      {label: 'Verification', cell: (p) => enumName(p.verification, 'VERIFY_')},
      {label: 'Paused', cell: (p) => (p.paused ? 'paused' : '')},
      {label: 'Revision', class: 'num', cell: (p) => String(p.revision || '—')},
      {label: 'Applied', cell: (p) => when(p.applied_unix_nanos)},
    ], policies, {caption: 'Policies', empty: 'No policy yet.'}));
}

export async function renderPolicy(ctx, name) {
  const [yaml, policy] = await Promise.all([
    get(`/v1/policies/${seg(name)}`, {accept: 'application/yaml'}),
    get(`/v1/policies/${seg(name)}`),
  ]);
  const buttons = [];
  if (ctx.can('operator')) {
    const b = h('button', {type: 'button', id: 'run-button'}, 'Back up now');
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        const started = await post(`/v1/policies/${seg(name)}/run`);
        location.hash = `#/jobs/${encodeURIComponent(started.job_id)}`;
      } catch (e) {
        ctx.showError(e);
        b.disabled = false;
      }
    });
    buttons.push(b);
  }
  put(ctx.main,
    h('p', {class: 'crumbs'}, h('a', {href: '#/policies'}, 'Policies'), ' / ', name),
    h('h1', {}, `Policy ${name}`),
    h('p', {}, 'Service ', serviceLink(policy.service), ` · revision ${policy.revision || '—'}`,
      policy.source ? ` · applied from ${policy.source}` : '', ' · ', when(policy.applied_unix_nanos)),
    buttons.length ? h('div', {class: 'buttons left'}, buttons) : null,
    h('pre', {class: 'yaml', tabindex: 0, 'aria-label': `YAML of policy ${name}`}, yaml));
}
