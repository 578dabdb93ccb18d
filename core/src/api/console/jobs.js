// Jobs: the running ones with live progress (polled every second, no reload), the history
// with filters, and one job's page: its facts, progress, steps, tasks, log and events.
import {get, post, seg} from './api.js';
import {field, h, put, putKeepingFocus, select, table} from './dom.js';
import {bytes, dataSet, duration, enumName, jobEnded, nanosToMillis, num} from './format.js';
import {RateMeter, progressBlock, progressOf, startedMillis} from './progress.js';
import {jobLink, jobStateBadge, kindName, pointLink, section, serviceLink, when} from './ui.js';

const KINDS = ['JOB_BACKUP', 'JOB_RESTORE', 'JOB_VERIFY', 'JOB_FAILOVER', 'JOB_FAILBACK'];
const STATES = ['JOB_PENDING', 'JOB_RUNNING', 'JOB_SUCCEEDED', 'JOB_FAILED', 'JOB_CANCELLED', 'JOB_PARKED', 'JOB_SKIPPED'];

function jobDuration(j) {
  const start = nanosToMillis(j.started_unix_nanos);
  if (!start) return '—';
  const end = nanosToMillis(j.finished_unix_nanos) || Date.now();
  return duration((end - start) / 1000);
}

function cancelButton(ctx, id) {
  if (!ctx.can('operator')) return null;
  const b = h('button', {type: 'button', class: 'danger-outline', dataset: {key: `cancel-${id}`}}, 'Cancel job');
  b.addEventListener('click', async () => {
    if (!window.confirm(`Cancel ${id}? Its partial work is cleaned up.`)) return;
    b.disabled = true;
    try {
      await post(`/v1/jobs/${seg(id)}/cancel`);
      ctx.announce(`Cancel of ${id} requested`);
    } catch (e) {
      ctx.showError(e);
      b.disabled = false;
    }
  });
  return b;
}

// The "running" section: one block per unfinished job, kept across polls and updated in place.
function runningSection(ctx) {
  const box = h('div', {id: 'running', class: 'running-list'});
  const blocks = new Map();
  const rates = new RateMeter();
  return {
    box,
    async refresh(jobs) {
      const open = jobs.filter((j) => j.state === 'JOB_RUNNING' || j.state === 'JOB_PENDING');
      const answers = await Promise.all(open.map((j) => get(`/v1/jobs/${seg(j.id)}`).catch(() => null)));
      const seen = new Set();
      answers.forEach((a) => {
        if (!a) return;
        const job = a.job;
        if (jobEnded(job, a.live)) return;
        seen.add(job.id);
        let block = blocks.get(job.id);
        if (!block) {
          const progress = progressBlock(job.id);
          const headState = h('span', {});
          block = {
            progress, headState,
            el: h('article', {class: 'run-card', dataset: {job: job.id}, 'aria-label': `Running job ${job.id}`},
              h('h3', {}, jobLink(job.id), ' ', kindName(job.kind), ' of ', serviceLink(job.service),
                job.policy && job.policy.name ? ` (${job.policy.name})` : '', ' ', headState),
              progress.el, cancelButton(ctx, job.id)),
          };
          blocks.set(job.id, block);
          box.append(block.el);
        }
        put(block.headState, jobStateBadge(job.state));
        const live = a.progress;
        const done = num(live ? live.bytes_done : job.bytes_done);
        block.progress.update(job, live, rates.update(job.id, done, startedMillis(job)));
      });
      for (const [id, block] of blocks) {
        if (!seen.has(id)) {
          block.el.remove();
          blocks.delete(id);
        }
      }
      if (blocks.size === 0 && !box.querySelector('.muted')) {
        box.append(h('p', {class: 'muted'}, 'No job is running.'));
      } else if (blocks.size > 0) {
        for (const m of box.querySelectorAll(':scope > .muted')) m.remove();
      }
      return blocks.size;
    },
  };
}

function historyTable(jobs, filters) {
  const text = filters.text.trim().toLowerCase();
  const rows = jobs.filter((j) =>
    (!filters.kind || j.kind === filters.kind) &&
    (!filters.state || j.state === filters.state) &&
    (!filters.service || j.service === filters.service) &&
    (!text || [j.id, j.service, j.policy && j.policy.name, j.error, j.trigger, j.restore_point_id]
      .some((v) => v && String(v).toLowerCase().includes(text)))).reverse();
  return h('div', {},
    h('p', {class: 'muted small', id: 'history-count'}, `${rows.length} of ${jobs.length} jobs`),
    table([
      {label: 'Job', cell: (j) => jobLink(j.id)},
      {label: 'Kind', cell: (j) => kindName(j.kind)},
      {label: 'Service', cell: (j) => serviceLink(j.service)},
      {label: 'State', cell: (j) => jobStateBadge(j.state)},
      {label: 'Trigger', cell: (j) => j.trigger || '—'},
      {label: 'Created', cell: (j) => when(j.created_unix_nanos)},
      {label: 'Took', class: 'num', cell: (j) => jobDuration(j)},
      {label: 'Bytes', class: 'num', cell: (j) => bytes(j.bytes_done)},
      {label: 'Point', cell: (j) => (j.restore_point_id ? pointLink(j.service, j.restore_point_id) : '—')},
      {label: 'Error', cell: (j) => (j.error ? h('span', {class: 'error-text', title: j.error}, j.error.slice(0, 90)) : '')},
    ], rows, {caption: 'Job history, newest first', empty: 'No job matches the filters.'}));
}

export async function renderList(ctx) {
  const filters = {kind: '', state: '', service: ctx.params.get('service') || '', text: '', limit: '500'};
  const serviceSelect = select([['', 'all services']], filters.service, {id: 'filter-service'});
  const controls = [
    field('Kind', select([['', 'all kinds'], ...KINDS.map((k) => [k, kindName(k)])], '', {id: 'filter-kind'})),
    field('State', select([['', 'all states'], ...STATES.map((s) => [s, enumName(s, 'JOB_')])], '', {id: 'filter-state'})),
    field('Service', serviceSelect),
    field('Search', h('input', {type: 'search', id: 'filter-text', placeholder: 'id, policy, error…'})),
    field('Newest', select([['100', '100'], ['500', '500'], ['5000', '5000']], '500', {id: 'filter-limit'})),
  ];
  const running = runningSection(ctx);
  const history = h('div', {id: 'history'});
  put(ctx.main,
    h('h1', {}, 'Jobs'),
    section('Running', running.box),
    section('History', h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter jobs'}, controls), history));
  const form = ctx.main.querySelector('form.filters');
  form.addEventListener('submit', (ev) => ev.preventDefault());

  let jobs = [];
  let lastKey = '';
  let busy = 0;
  const draw = () => {
    const key = JSON.stringify([jobs, filters]);
    if (key === lastKey) return;
    lastKey = key;
    putKeepingFocus(history, historyTable(jobs, filters));
  };
  form.addEventListener('input', () => {
    filters.kind = form.querySelector('#filter-kind').value;
    filters.state = form.querySelector('#filter-state').value;
    filters.service = serviceSelect.value;
    filters.text = form.querySelector('#filter-text').value;
    const limit = form.querySelector('#filter-limit').value;
    if (limit !== filters.limit) {
      filters.limit = limit;
      lastKey = '';
    }
    draw();
  });
  let services = [];
  await ctx.every(() => (busy > 0 ? 1000 : 3000), async () => {
    const answer = await get(`/v1/jobs?limit=${filters.limit}`);
    ctx.clearError();
    jobs = answer.jobs || [];
    const names = [...new Set(jobs.map((j) => j.service).filter(Boolean))].sort();
    if (JSON.stringify(names) !== JSON.stringify(services)) {
      services = names;
      put(serviceSelect, [['', 'all services'], ...names.map((n) => [n, n])].map(([v, l]) =>
        h('option', {value: v, selected: v === filters.service}, l)));
    }
    busy = await running.refresh(jobs);
    draw();
  });
}

// ---- one job ------------------------------------------------------------------------------

function facts(job, live) {
  const p = progressOf(job, live);
  const spec = job.switch_spec;
  const restore = job.restore;
  const rows = [
    ['Kind', kindName(job.kind)],
    ['Service', serviceLink(job.service)],
    ['Policy', job.policy && job.policy.name ? `${job.policy.name} (revision ${job.policy.revision || '—'})` : null],
    ['Trigger', job.trigger],
    ['Restore point', job.restore_point_id ? pointLink(job.service, job.restore_point_id) : null],
    ['Base point', job.base_restore_point_id || null],
    ['Created', when(job.created_unix_nanos)],
    ['Started', when(job.started_unix_nanos)],
    ['Finished', when(job.finished_unix_nanos)],
    ['Took', jobDuration(job)],
    ['Bytes', `${bytes(p.bytesDone)} of ${bytes(p.bytesTotal)}`],
    ['Items', `${p.itemsDone} of ${p.itemsTotal}`],
    ['Full comparison', job.force_full ? 'yes (--force-full)' : null],
    ['Cancel requested', job.cancel_requested ? 'yes' : null],
    ['Restore', restore && restore.restore_point_id
      ? `${restore.restore_point_id} into ${restore.destination || 'the data sets themselves'} on ${restore.cluster || 'the point\'s cluster'}${restore.dry_run ? ' (dry run)' : ''}`
      : null],
    ['Switch', spec && (spec.services || spec.from_cluster)
      ? `${(spec.services || []).join(', ')}${spec.from_cluster ? ` (every service of ${spec.from_cluster})` : ''}` +
        `${spec.dry_run ? ', dry run' : ''}${spec.force ? ', forced' : ''}${spec.reason ? `, reason: ${spec.reason}` : ''}`
      : null],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '');
  return h('dl', {class: 'facts'}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function stepsTable(job) {
  return table([
    {label: 'Service', cell: (st) => st.service},
    {label: 'Step', cell: (st) => h('strong', {}, st.name)},
    {label: 'What', cell: (st) => st.detail},
    {label: 'Done', cell: (st) => (st.done ? 'yes' : 'no')},
    {label: 'Outcome', cell: (st) => st.outcome || ''},
  ], job.steps || [], {caption: 'Steps', empty: 'No step planned yet.'});
}

function tasksTable(tasks) {
  return table([
    {label: 'Task', cell: (t) => t.id},
    {label: 'Phase', cell: (t) => enumName(t.phase, 'PHASE_')},
    {label: 'Data set', cell: (t) => h('code', {}, dataSet(t.data_set))},
    {label: 'State', cell: (t) => enumName(t.state, 'TASK_')},
    {label: 'Attempts', class: 'num', cell: (t) => String(num(t.attempts))},
    {label: 'Bytes', class: 'num', cell: (t) => bytes(t.bytes)},
    {label: 'Error', cell: (t) => t.error || ''},
  ], tasks, {caption: 'Tasks', empty: 'No task.'});
}

async function rolesAfter(job) {
  const services = (job.switch_spec && job.switch_spec.services) || [];
  const roles = await Promise.all(services.map((s) => get(`/v1/services/${seg(s)}/roles`)));
  return h('div', {id: 'roles-after', class: 'callout'},
    h('p', {}, h('strong', {}, 'Roles now:')),
    h('ul', {}, roles.map((r) => h('li', {}, serviceLink(r.service), ': primary ', h('strong', {class: 'new-primary'}, r.primary_cluster),
      ', secondary ', r.secondary_cluster, `, epoch ${num(r.epoch) || 1}`))));
}

export async function renderJob(ctx, id) {
  const title = h('div', {class: 'title-row'});
  const progressBox = h('div', {id: 'job-progress'});
  const actions = h('div', {class: 'buttons left', id: 'job-actions'});
  const factsBox = h('div', {});
  const steps = h('div', {});
  const after = h('div', {});
  const tasksBox = h('div', {});
  const logBox = h('div', {});
  const eventsBox = h('div', {});
  const errorBox = h('div', {});
  put(ctx.main,
    h('p', {class: 'crumbs'}, h('a', {href: '#/jobs'}, 'Jobs'), ' / ', id),
    title, errorBox, progressBox, actions, after, factsBox,
    h('div', {id: 'steps-section'}),
    section('Tasks', tasksBox), section('Log', logBox), section('Events of the service during the job', eventsBox));
  const stepsSection = ctx.main.querySelector('#steps-section');
  const rates = new RateMeter();
  let block = null;
  let lastKey = '';
  let eventsFor = null;

  await ctx.every(1000, async () => {
    const a = await get(`/v1/jobs/${seg(id)}`);
    ctx.clearError();
    const job = a.job;
    const ended = jobEnded(job, a.live);
    put(title, h('h1', {}, `Job ${id}`), jobStateBadge(job.state), a.live ? h('span', {class: 'badge badge-blue'}, 'live') : null);
    if (!ended) {
      if (!block) {
        block = progressBlock(id);
        put(progressBox, block.el);
      }
      const live = a.progress;
      block.update(job, live, rates.update(id, num(live ? live.bytes_done : job.bytes_done), startedMillis(job)));
    } else {
      put(progressBox);
      block = null;
    }
    putKeepingFocus(factsBox, facts(job, a.progress));
    const key = JSON.stringify([job, a.tasks]);
    if (key === lastKey) return !ended;
    lastKey = key;
    put(errorBox, job.error ? h('div', {class: 'callout callout-red', role: 'alert'},
      h('strong', {}, 'Error: '), job.error) : null);
    const buttons = [];
    if (!ended && ctx.can('operator')) buttons.push(cancelButton(ctx, id));
    if ((job.state === 'JOB_PARKED' || job.state === 'JOB_PENDING') && !a.live && ctx.can('operator')) {
      const b = h('button', {type: 'button', id: 'resume-button'}, 'Resume');
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          await post(`/v1/jobs/${seg(id)}/resume`);
          ctx.announce(`${id} resumed`);
        } catch (e) {
          ctx.showError(e);
          b.disabled = false;
        }
      });
      buttons.push(b);
    }
    putKeepingFocus(actions, buttons);
    if ((job.steps || []).length || job.kind === 'JOB_FAILOVER' || job.kind === 'JOB_FAILBACK') {
      put(stepsSection, section('Steps', stepsTable(job)));
    }
    put(after, ended && job.state === 'JOB_SUCCEEDED' && (job.kind === 'JOB_FAILOVER' || job.kind === 'JOB_FAILBACK') &&
      !(job.switch_spec && job.switch_spec.dry_run) ? await rolesAfter(job) : null);
    putKeepingFocus(tasksBox, tasksTable(a.tasks || []));
    put(logBox, (job.log || []).length ? h('pre', {class: 'log', tabindex: 0}, job.log.join('\n')) : h('p', {class: 'muted'}, 'No log line.'));
    // The events: once when the page opens, once when the job ends.
    if (job.service && (eventsFor === null || (ended && eventsFor !== 'ended'))) {
      eventsFor = ended ? 'ended' : 'open';
      const ev = await get('/v1/events?limit=2000');
      const from = nanosToMillis(job.created_unix_nanos) - 1000;
      const to = (nanosToMillis(job.finished_unix_nanos) || Date.now()) + 60000;
      const rows = (ev.events || []).filter((e) => e.service === job.service &&
        nanosToMillis(e.time_unix_nanos) >= from && nanosToMillis(e.time_unix_nanos) <= to);
      put(eventsBox, table([
        {label: 'Time', cell: (e) => when(e.time_unix_nanos)},
        {label: 'Severity', cell: (e) => e.severity},
        {label: 'Kind', cell: (e) => e.kind},
        {label: 'Message', cell: (e) => e.message},
      ], rows, {caption: 'Events', empty: 'No event.'}));
    }
    if (ended) ctx.announce(`Job ${id} ${enumName(job.state, 'JOB_')}`);
    return !ended;
  });
}
