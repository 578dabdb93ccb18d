// One service: its RPO, roles and endpoints, the actions its token's role allows, its
// restore points on a timeline and in a table, and the selected point's members, cut
// intervals and digests.
import {ApiError, get, post, seg} from './api.js';
import {h, put, putKeepingFocus, table} from './dom.js';
import {bytes, dataSet, enumName, hex, millis, num, spread} from './format.js';
import {openRestoreDialog, openSwitchDialog} from './switch.js';
import {drawCutIntervals, drawTimeline} from './timeline.js';
import {healthBadge, jobLink, jobStateBadge, kindName, pointStateBadge, rpoBadge, section, when} from './ui.js';

async function load(name) {
  const s = seg(name);
  const [services, status, roles, endpoints, points, policies, jobs, health] = await Promise.all([
    get('/v1/services'), get(`/v1/services/${s}/status`), get(`/v1/services/${s}/roles`),
    get(`/v1/services/${s}/endpoints`), get(`/v1/services/${s}/points`), get('/v1/policies'),
    get('/v1/jobs?limit=1000'), get('/v1/health'),
  ]);
  const svc = (services.services || []).find((x) => x.name === name);
  if (!svc) throw new ApiError(404, 'NOT_FOUND', `no service named '${name}'`);
  return {
    svc, status, roles, endpoints,
    points: points.restore_points || [],
    policies: (policies.policies || []).filter((p) => p.service === name),
    jobs: (jobs.jobs || []).filter((j) => j.service === name),
    jobById: new Map((jobs.jobs || []).map((j) => [j.id, j])),
    healthOf: new Map((health.clusters || []).map((c) => [c.cluster, c])),
  };
}

// The verification level a point was committed under: its job's policy revision's.
function verificationOf(data) {
  return (p) => {
    const job = data.jobById.get(p.job_id);
    const level = job && job.policy ? job.policy.verification : '';
    return level || (job ? 'VERIFY_NONE' : '');
  };
}

function rolesBlock(data) {
  const r = data.roles;
  const health = (c) => healthBadge(data.healthOf.get(c) ? data.healthOf.get(c).state : '');
  return h('dl', {class: 'facts roles', id: 'roles'},
    h('dt', {}, 'Primary'), h('dd', {id: 'role-primary'}, h('strong', {}, r.primary_cluster), ' ', health(r.primary_cluster)),
    h('dt', {}, 'Secondary'), h('dd', {id: 'role-secondary'}, h('strong', {}, r.secondary_cluster), ' ', health(r.secondary_cluster)),
    h('dt', {}, 'Epoch'), h('dd', {id: 'role-epoch'}, String(num(r.epoch) || 1)),
    h('dt', {}, 'Changed'), h('dd', {}, r.changed_unix_nanos ? when(r.changed_unix_nanos) : 'as configured',
      r.changed_by ? ` by ${r.changed_by}` : '', r.reason ? ` (${r.reason})` : ''),
    r.common_restore_point_id ? [h('dt', {}, 'Common point'), h('dd', {}, h('code', {}, r.common_restore_point_id))] : null,
    (r.fence_owed || []).length ? [h('dt', {}, 'Fence owed'), h('dd', {}, h('span', {class: 'badge badge-amber'}, r.fence_owed.join(', ')))] : null,
    h('dt', {}, 'Endpoints'), h('dd', {}, (data.endpoints.endpoints || []).length
      ? h('ul', {class: 'plain'}, data.endpoints.endpoints.map((e) => h('li', {}, `${e.name}: `, h('code', {}, e.address))))
      : h('span', {class: 'muted'}, 'none configured')));
}

function actions(ctx, data, name) {
  const out = [];
  if (ctx.can('operator')) {
    for (const p of data.policies) {
      const b = h('button', {type: 'button', dataset: {key: `run-${p.name}`}}, `Back up now (${p.name})`);
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          const started = await post(`/v1/policies/${seg(p.name)}/run`);
          ctx.announce(`Backup started as ${started.job_id}`);
          location.hash = `#/jobs/${encodeURIComponent(started.job_id)}`;
        } catch (e) {
          ctx.showError(e);
          b.disabled = false;
        }
      });
      out.push(b);
    }
  }
  if (ctx.can('admin')) {
    for (const kind of ['failover', 'failback']) {
      const b = h('button', {type: 'button', class: 'danger-outline', id: `${kind}-button`},
        kind === 'failover' ? 'Fail over…' : 'Fail back…');
      b.addEventListener('click', () => openSwitchDialog(ctx, {service: name, kind, roles: data.roles, points: data.points}));
      out.push(b);
    }
  }
  return out.length ? h('div', {class: 'buttons left', id: 'service-actions'}, out) : null;
}

function pointsTable(data, verification, select) {
  const sorted = [...data.points].sort((a, b) => num(b.cut_unix_nanos) - num(a.cut_unix_nanos));
  return table([
    {label: 'Point', cell: (p) => {
      const b = h('button', {type: 'button', class: 'link', dataset: {key: `row-${p.id}`}}, p.id);
      b.addEventListener('click', () => select(p.id));
      return b;
    }},
    {label: 'State', cell: (p) => pointStateBadge(p.state)},
    {label: 'Cut (T)', cell: (p) => when(p.cut_unix_nanos)},
    {label: 'Size', class: 'num', cell: (p) => bytes((p.members || []).reduce((s, m) => s + num(m.total_bytes), 0))},
    {label: 'Copied', class: 'num', cell: (p) => bytes((p.members || []).reduce((s, m) => s + num(m.bytes_copied), 0))},
    {label: 'Spread', class: 'num', cell: (p) => spread(p.spread_nanos)},
    {label: 'Base', cell: (p) => p.base_restore_point_id || h('span', {class: 'muted'}, 'full')},
    {label: 'Verification', cell: (p) => enumName(verification(p), 'VERIFY_')},
    {label: 'Target', cell: (p) => p.target_cluster || '—'},
  ], sorted, {caption: 'Restore points, newest first', empty: 'No restore point yet.'});
}

function pointDetail(ctx, data, point, name) {
  const verification = verificationOf(data)(point);
  const members = point.members || [];
  const total = members.reduce((s, m) => s + num(m.total_bytes), 0);
  const verifyResult = h('div', {id: 'verify-result', role: 'status'});
  const buttons = [];
  if (ctx.can('operator') && point.state === 'RP_COMMITTED') {
    const b = h('button', {type: 'button', id: 'verify-button'}, 'Verify again');
    b.addEventListener('click', async () => {
      b.disabled = true;
      put(verifyResult, h('p', {class: 'muted'}, 'Reading the point back on its cluster…'));
      try {
        const r = await post(`/v1/services/${seg(name)}/points/${seg(point.id)}/verify`);
        put(verifyResult, r.ok
          ? h('p', {}, h('span', {class: 'badge badge-green'}, 'verified'), ' every member matches its manifest.')
          : h('div', {}, h('p', {}, h('span', {class: 'badge badge-red'}, 'differs'), ` ${r.mismatches.length} mismatch(es):`),
            h('ul', {}, r.mismatches.slice(0, 50).map((m) => h('li', {}, m)))));
      } catch (e) {
        put(verifyResult, h('p', {class: 'error'}, `${e.code || ''} ${e.message}`));
      }
      b.disabled = false;
    });
    buttons.push(b);
  }
  if (ctx.can('admin') && point.state === 'RP_COMMITTED') {
    const b = h('button', {type: 'button', class: 'danger-outline', id: 'restore-button'}, 'Restore…');
    b.addEventListener('click', () => openRestoreDialog(ctx, {
      service: name, point, clusters: [data.roles.primary_cluster, data.roles.secondary_cluster],
    }));
    buttons.push(b);
  }
  return h('section', {class: 'detail', 'aria-labelledby': 'point-title', id: 'point-detail'},
    h('h2', {id: 'point-title', tabindex: -1}, 'Restore point ', h('code', {}, point.id), ' ', pointStateBadge(point.state)),
    h('dl', {class: 'facts'},
      h('dt', {}, 'Cut (T)'), h('dd', {}, when(point.cut_unix_nanos)),
      h('dt', {}, 'Committed'), h('dd', {}, when(point.committed_unix_nanos)),
      h('dt', {}, 'Spread'), h('dd', {}, spread(point.spread_nanos), ' ', h('span', {class: 'muted small'}, `(${enumName(point.consistency, '')} consistency)`)),
      h('dt', {}, 'Size'), h('dd', {}, `${bytes(total)} in ${members.reduce((s, m) => s + num(m.items), 0)} items; `,
        `${bytes(members.reduce((s, m) => s + num(m.bytes_copied), 0))} copied`),
      h('dt', {}, 'Base'), h('dd', {}, point.base_restore_point_id ? h('code', {}, point.base_restore_point_id) : 'none (a full copy)'),
      h('dt', {}, 'Verification'), h('dd', {}, enumName(verification, 'VERIFY_'),
        h('span', {class: 'muted small'}, ' (checked before commit, by the policy of its job)')),
      h('dt', {}, 'Policy'), h('dd', {}, `${point.policy || '—'} revision ${point.policy_revision || '—'}`),
      h('dt', {}, 'Job'), h('dd', {}, jobLink(point.job_id)),
      h('dt', {}, 'Clusters'), h('dd', {}, `${point.source_cluster || '?'} → ${point.target_cluster || '?'}`),
      (point.clocks || []).length ? [h('dt', {}, 'Clocks at the cut'), h('dd', {}, point.clocks.map((c) =>
        `${c.cluster} ${millis(num(c.offset_nanos))} ± ${millis(num(c.round_trip_nanos) / 2)}`).join('; '))] : null),
    buttons.length ? h('div', {class: 'buttons left'}, buttons) : null,
    verifyResult,
    h('h3', {}, 'Cut intervals'),
    drawCutIntervals(point),
    h('h3', {}, 'Members'),
    table([
      {label: 'Data set', cell: (m) => h('code', {}, dataSet(m.data_set))},
      {label: 'Cut start', class: 'num', cell: (m) => `${((num(m.cut_start_unix_nanos) - num(point.cut_unix_nanos)) / 1e6).toFixed(2)} ms`},
      {label: 'Cut end', class: 'num', cell: (m) => `${((num(m.cut_end_unix_nanos) - num(point.cut_unix_nanos)) / 1e6).toFixed(2)} ms`},
      {label: 'Size', class: 'num', cell: (m) => bytes(m.total_bytes)},
      {label: 'Items', class: 'num', cell: (m) => String(num(m.items))},
      {label: 'Copied', class: 'num', cell: (m) => bytes(m.bytes_copied)},
      {label: 'Base', cell: (m) => m.base_restore_point_id || '—'},
      {label: 'Committed', cell: (m) => (m.committed ? 'yes' : 'no')},
      {label: 'Manifest digest', cell: (m) => {
        const d = hex(m.manifest_digest);
        return d ? h('code', {class: 'digest', title: d}, d) : '—';
      }},
    ], members, {caption: `Members of ${point.id}`}));
}

function recentJobs(data) {
  const rows = [...data.jobs].reverse().slice(0, 8);
  return table([
    {label: 'Job', cell: (j) => jobLink(j.id)},
    {label: 'Kind', cell: (j) => kindName(j.kind)},
    {label: 'State', cell: (j) => jobStateBadge(j.state)},
    {label: 'Created', cell: (j) => when(j.created_unix_nanos)},
    {label: 'Point', cell: (j) => j.restore_point_id || '—'},
  ], rows, {caption: 'Recent jobs of this service', empty: 'No job yet.'});
}

export async function render(ctx, name) {
  const head = h('div', {id: 'service-head'});
  const timeline = h('div', {class: 'timeline-box', id: 'timeline'});
  let zoom = false;
  const zoomButton = h('button', {type: 'button', 'aria-pressed': 'false', id: 'zoom-button', class: 'quiet small'},
    'Zoom to the points');
  zoomButton.addEventListener('click', () => {
    zoom = !zoom;
    zoomButton.setAttribute('aria-pressed', String(zoom));
    if (data) drawPoints();
  });
  const pointsBox = h('div', {id: 'points'});
  const detail = h('div', {id: 'detail'});
  const jobsBox = h('div', {id: 'service-jobs'});
  put(ctx.main,
    h('p', {class: 'crumbs'}, h('a', {href: '#/services'}, 'Services'), ' / ', name),
    head,
    section('Restore points', h('div', {class: 'buttons left'}, zoomButton), timeline,
      h('p', {class: 'legend muted small'},
        h('span', {class: 'key key-committed'}), ' committed ', h('span', {class: 'key key-pending'}), ' pending ',
        h('span', {class: 'key key-failed'}), ' failed ', h('span', {class: 'key key-expired'}), ' expired · ',
        'filled: verified by size or digest; ring: not verified · area: size · arc: incremental on its base · ',
        'shaded: the RPO window ending now. Select a point (click, or Tab then Enter) for its members.'),
      pointsBox),
    detail,
    section('Recent jobs', jobsBox));

  let data = null;
  let selected = ctx.params.get('point');
  let lastKey = '';
  const drawDetail = (focus) => {
    const point = data && data.points.find((p) => p.id === selected);
    if (!point) return put(detail);
    put(detail, pointDetail(ctx, data, point, name));
    if (focus) document.getElementById('point-title').focus();
  };
  const select = (id) => {
    selected = id;
    drawPoints();
    drawDetail(true);
  };
  const drawPoints = () => {
    const verification = verificationOf(data);
    const rpo = num(data.status.rpo_seconds);
    putKeepingFocus(timeline, drawTimeline(data.points, {rpoSeconds: rpo, nowMs: Date.now(), selected, verification, onSelect: select, zoom}));
    putKeepingFocus(pointsBox, pointsTable(data, verification, select));
  };

  await ctx.every(5000, async () => {
    data = await load(name);
    ctx.clearError();
    const key = JSON.stringify([data.status, data.roles, data.points, data.jobs.slice(-8), [...data.healthOf.values()].map((c) => c.state)]);
    if (key === lastKey) return;
    const first = lastKey === '';
    lastKey = key;
    putKeepingFocus(head,
      h('div', {class: 'title-row'}, h('h1', {}, name), rpoBadge(data.status)),
      data.svc.description ? h('p', {}, data.svc.description) : null,
      rolesBlock(data),
      actions(ctx, data, name));
    drawPoints();
    // A dialog or a verify in progress lives in the detail: redraw it only when first shown.
    if (first) drawDetail(false);
    putKeepingFocus(jobsBox, recentJobs(data));
  });
}
