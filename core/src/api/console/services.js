// The services page: each service's RPO against the age of its newest point, its roles, the
// health of its clusters and its last job; then every cluster's health.
import {get, seg} from './api.js';
import {h, put, putKeepingFocus, table} from './dom.js';
import {millis, num} from './format.js';
import {healthBadge, jobLink, jobStateBadge, kindName, rpoBadge, section, serviceLink, when} from './ui.js';

export async function load() {
  const [services, status, health, jobs] = await Promise.all([
    get('/v1/services'), get('/v1/status'), get('/v1/health'), get('/v1/jobs?limit=500'),
  ]);
  const roles = await Promise.all((services.services || []).map(
    (s) => get(`/v1/services/${seg(s.name)}/roles`)));
  const statusOf = new Map((status.services || []).map((st) => [st.service, st]));
  const healthOf = new Map((health.clusters || []).map((c) => [c.cluster, c]));
  const lastJob = new Map();
  for (const j of jobs.jobs || []) if (j.service) lastJob.set(j.service, j); // oldest first
  return {
    rows: (services.services || []).map((svc, i) => ({
      svc, roles: roles[i], status: statusOf.get(svc.name) || {}, last: lastJob.get(svc.name),
    })),
    clusters: health.clusters || [],
    healthOf,
  };
}

function clusterCell(name, healthOf) {
  const c = healthOf.get(name);
  return h('span', {class: 'cluster'}, name, ' ', healthBadge(c && c.state));
}

function servicesTable(data) {
  return table([
    {label: 'Service', cell: (r) => h('strong', {}, serviceLink(r.svc.name))},
    {label: 'RPO', cell: (r) => rpoBadge(r.status)},
    {label: 'Newest point', cell: (r) => (r.status.newest_point
      ? h('span', {}, when(r.status.newest_point_unix_nanos)) : h('span', {class: 'muted'}, 'none yet'))},
    {label: 'Primary', cell: (r) => clusterCell(r.roles.primary_cluster, data.healthOf)},
    {label: 'Secondary', cell: (r) => clusterCell(r.roles.secondary_cluster, data.healthOf)},
    {label: 'Epoch', class: 'num', cell: (r) => r.roles.epoch || '1'},
    {label: 'Last job', cell: (r) => (r.last
      ? h('span', {}, jobLink(r.last.id), ' ', kindName(r.last.kind), ' ', jobStateBadge(r.last.state),
        h('span', {class: 'muted small'}, ' ', when(r.last.finished_unix_nanos || r.last.created_unix_nanos)))
      : h('span', {class: 'muted'}, 'none'))},
  ], data.rows, {
    caption: 'Services',
    empty: 'No service yet: apply one with `lifeboat apply -f service.yaml`.',
    rowAttrs: (r) => ({dataset: {service: r.svc.name}}),
  });
}

export function clustersTable(clusters) {
  return table([
    {label: 'Cluster', cell: (c) => h('strong', {}, c.cluster)},
    {label: 'Health', cell: (c) => healthBadge(c.state)},
    {label: 'Clock offset', class: 'num', cell: (c) => (c.state === 'CLUSTER_UNREACHABLE' || !c.clock
      ? '—' : millis(num(c.clock.offset_nanos)))},
    {label: 'Components', cell: (c) => h('ul', {class: 'plain'}, (c.components || []).map((comp) =>
      h('li', {}, h('strong', {}, comp.component), ' ', comp.health || '',
        comp.component_version ? ` (${comp.component_version})` : '',
        comp.fenced_data_sets ? h('span', {class: 'badge badge-amber'}, `${comp.fenced_data_sets} fenced`) : '',
        comp.detail ? h('span', {class: 'muted small'}, ` ${comp.detail}`) : '')))},
    {label: 'Checked', cell: (c) => when(c.checked_unix_nanos)},
    {label: 'Detail', cell: (c) => c.detail || ''},
  ], clusters, {caption: 'Clusters', empty: 'No cluster yet.'});
}

export async function render(ctx) {
  const services = h('div', {id: 'services'});
  const clusters = h('div', {id: 'clusters'});
  const stamp = h('p', {class: 'muted small', 'aria-live': 'off'});
  put(ctx.main,
    h('div', {class: 'title-row'}, h('h1', {}, 'Services'), stamp),
    services,
    section('Clusters', clusters));
  let last = '';
  await ctx.every(5000, async () => {
    const data = await load();
    ctx.clearError();
    // Redraw only what changed, and give the keyboard focus back to the same link.
    const key = JSON.stringify([data.rows, data.clusters]);
    if (key !== last) {
      last = key;
      putKeepingFocus(services, servicesTable(data));
      putKeepingFocus(clusters, clustersTable(data.clusters));
    }
    put(stamp, `Updated ${new Date().toLocaleTimeString()}`);
  });
}
