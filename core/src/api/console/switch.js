// The dialogs that change where a service lives: failover, failback and restore. Each shows
// a dry run first, what the operator is about to lose or overwrite, and enables its button
// only once the service's name has been typed. Every request carries {"confirm": service}.
import {ApiError, followJob, post, seg} from './api.js';
import {field, h, put} from './dom.js';
import {ago, bytes, duration, nanosToMillis, num, time} from './format.js';
import {jobStateBadge} from './ui.js';

function errorText(e) {
  return e instanceof ApiError ? `${e.code}: ${e.message}` : String(e.message || e);
}

// A modal <dialog> (focus stays inside; Escape closes it) that removes itself when closed.
function modal(titleText) {
  const title = h('h2', {id: 'dialog-title'}, titleText);
  const dialog = h('dialog', {class: 'modal', 'aria-labelledby': 'dialog-title'}, title);
  const state = {aborted: false};
  dialog.addEventListener('close', () => {
    state.aborted = true;
    dialog.remove();
  });
  document.body.append(dialog);
  return {dialog, state};
}

// The confirmation: a text field that must hold the service's name, and the button it
// enables (together with `ready()`, e.g. "the dry run succeeded").
function typedConfirmation(service, buttonText, ready) {
  const input = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false', id: 'confirm-name'});
  const button = h('button', {type: 'button', class: 'danger', disabled: true, id: 'confirm-button'}, buttonText);
  const update = () => { button.disabled = !(input.value === service && ready()); };
  input.addEventListener('input', update);
  return {
    input, button, update,
    node: field(h('span', {}, 'Type ', h('strong', {}, service), ' to confirm'), input,
      'The button is enabled once the name matches exactly and the dry run has succeeded.'),
  };
}

function stepsList(job) {
  const steps = job.steps || [];
  if (steps.length === 0) return h('p', {class: 'muted'}, 'No step listed.');
  return h('ol', {class: 'steps'}, steps.map((st) =>
    h('li', {}, h('strong', {}, st.name), ` (${st.service}): `, st.detail)));
}

// The newest committed point held by `cluster`: what a failover to it applies.
export function newestPointOn(points, cluster) {
  let best = null;
  for (const p of points) {
    if (p.state !== 'RP_COMMITTED') continue;
    if (p.target_cluster && p.target_cluster !== cluster) continue;
    if (!best || num(p.cut_unix_nanos) > num(best.cut_unix_nanos)) best = p;
  }
  return best;
}

function lossSummary(kind, roles, points) {
  const from = roles.primary_cluster;
  const to = roles.secondary_cluster;
  if (kind === 'failback') {
    return h('div', {class: 'callout'},
      h('p', {}, 'A planned move with no data loss: backups stop, what changed on ', h('strong', {}, from),
        ' since the last common point', roles.common_restore_point_id ? ` (${roles.common_restore_point_id})` : '',
        ' is copied to ', h('strong', {}, to), '; then ', h('strong', {}, from),
        ' is fenced (its writers stop), the last writes are copied, and ', h('strong', {}, to), ' becomes primary.'),
      h('p', {}, 'Writers on ', from, ' are stopped from the fence on, until applications follow the endpoint lookup to ', to, '.'));
  }
  const point = newestPointOn(points, to);
  if (!point) {
    return h('div', {class: 'callout callout-red', id: 'loss'},
      h('p', {}, h('strong', {}, `${to} holds no committed restore point of this service.`),
        ' The failover will be refused; take a backup first (the CLI\'s --force overrides this).'));
  }
  const cutMs = nanosToMillis(point.cut_unix_nanos);
  const ageSeconds = (Date.now() - cutMs) / 1000;
  const size = (point.members || []).reduce((sum, m) => sum + num(m.total_bytes), 0);
  return h('div', {class: 'callout callout-amber', id: 'loss'},
    h('dl', {class: 'facts'},
      h('dt', {}, 'Point to be used'), h('dd', {}, h('code', {}, point.id), ` (${bytes(size)})`),
      h('dt', {}, 'Cut at'), h('dd', {}, time(cutMs)),
      h('dt', {}, 'Its age'), h('dd', {id: 'point-age'}, duration(ageSeconds))),
    h('p', {}, h('strong', {}, 'Writes that will not come along: '),
      `everything written to the service on ${from} after ${time(cutMs)} — the last ${duration(ageSeconds)}, ` +
      `and more until ${from}'s writers stop. They stay on ${from}, fenced, and are in no restore point.`));
}

// Failover (to the secondary, now) or failback (planned) of one service.
export function openSwitchDialog(ctx, {service, kind, roles, points}) {
  const verb = kind === 'failover' ? 'Fail over' : 'Fail back';
  const to = roles.secondary_cluster;
  const {dialog, state} = modal(`${verb} ${service} to ${to}`);
  const epoch = num(roles.epoch) || 1;
  const dryStatus = h('p', {class: 'muted', id: 'dry-run-status', role: 'status'}, 'Running a dry run…');
  const drySteps = h('div', {id: 'dry-run-steps'});
  const error = h('p', {class: 'error', role: 'alert', hidden: true});
  const reason = h('input', {type: 'text', id: 'switch-reason', autocomplete: 'off'});
  let dryOk = false;
  const confirm = typedConfirmation(service, `${verb} ${service}`, () => dryOk);
  const cancel = h('button', {type: 'button', class: 'quiet'}, 'Cancel');
  cancel.addEventListener('click', () => dialog.close());

  dialog.append(
    h('p', {}, 'Now: primary ', h('strong', {}, roles.primary_cluster), ', secondary ', h('strong', {}, to),
      `, epoch ${epoch}. After: primary `, h('strong', {}, to), ', secondary ', h('strong', {}, roles.primary_cluster),
      `, epoch ${epoch + 1}.`),
    lossSummary(kind, roles, points),
    h('h3', {}, 'Dry run'), dryStatus, drySteps,
    field('Reason (for the audit trail and the events)', reason),
    confirm.node, error,
    h('div', {class: 'buttons'}, cancel, confirm.button));
  dialog.showModal();
  confirm.input.focus();

  const path = `/v1/services/${seg(service)}/${kind}`;
  (async () => {
    try {
      const started = await post(`${path}?dry_run=true`, {confirm: service});
      const answer = await followJob(started.job_id, () => {}, state);
      if (!answer) return;
      const job = answer.job;
      put(drySteps, stepsList(job));
      if (job.state === 'JOB_SUCCEEDED') {
        dryOk = true;
        put(dryStatus, `Dry run ${started.job_id} `, jobStateBadge(job.state), ': nothing was changed. These steps would run:');
      } else {
        put(dryStatus, `Dry run ${started.job_id} `, jobStateBadge(job.state), `: ${job.error || 'see the job'}`);
      }
    } catch (e) {
      put(dryStatus, `The dry run was refused: ${errorText(e)}`);
    }
    confirm.update();
  })();

  confirm.button.addEventListener('click', async () => {
    confirm.button.disabled = true;
    error.hidden = true;
    let target = `${path}?dry_run=false`;
    if (reason.value.trim()) target += `&reason=${encodeURIComponent(reason.value.trim())}`;
    try {
      const started = await post(target, {confirm: service});
      dialog.close();
      ctx.announce(`${verb} of ${service} started as ${started.job_id}`);
      location.hash = `#/jobs/${encodeURIComponent(started.job_id)}`;
    } catch (e) {
      put(error, errorText(e));
      error.hidden = false;
      confirm.update();
    }
  });
}

// Restore of one committed point: destination and cluster, a dry run of exactly those, then
// the typed confirmation.
export function openRestoreDialog(ctx, {service, point, clusters}) {
  const {dialog, state} = modal(`Restore ${service} to ${point.id}`);
  const cutMs = nanosToMillis(point.cut_unix_nanos);
  const size = (point.members || []).reduce((sum, m) => sum + num(m.total_bytes), 0);
  const destination = h('input', {type: 'text', id: 'restore-destination', autocomplete: 'off', spellcheck: 'false'});
  const clusterOptions = [['', `${point.target_cluster || 'the point\'s cluster'} (where the point is)`]];
  for (const c of clusters) if (c && c !== point.target_cluster) clusterOptions.push([c, c]);
  const cluster = h('select', {id: 'restore-cluster'},
    clusterOptions.map(([v, label]) => h('option', {value: v}, label)));
  // The operator's consent to replace what the destination holds and the point does not
  // (the CLI's --overwrite): without it such a restore, and its dry run, are refused.
  const overwrite = h('input', {type: 'checkbox', id: 'restore-overwrite'});
  const dryButton = h('button', {type: 'button', id: 'restore-dry-run'}, 'Dry run');
  const dryStatus = h('p', {class: 'muted', id: 'dry-run-status', role: 'status'},
    'Choose where to restore, then run the dry run: it lists what would change and changes nothing.');
  const dryLog = h('div', {id: 'dry-run-log'});
  const error = h('p', {class: 'error', role: 'alert', hidden: true});
  let dryFor = null; // the parameters the last successful dry run was for
  let drySaid = []; // what the status said after it
  const params = () => JSON.stringify([destination.value.trim(), cluster.value, overwrite.checked]);
  const confirm = typedConfirmation(service, `Restore ${service}`, () => dryFor === params());
  const cancel = h('button', {type: 'button', class: 'quiet'}, 'Cancel');
  cancel.addEventListener('click', () => dialog.close());
  const invalidate = () => {
    if (dryFor !== null && dryFor !== params()) {
      put(dryStatus, 'The destination, cluster or overwrite changed: run the dry run again.');
    } else if (dryFor !== null) {
      put(dryStatus, ...drySaid);
    }
    confirm.update();
  };
  destination.addEventListener('input', invalidate);
  cluster.addEventListener('change', invalidate);
  overwrite.addEventListener('change', invalidate);

  dialog.append(
    h('dl', {class: 'facts'},
      h('dt', {}, 'Point'), h('dd', {}, h('code', {}, point.id), ` (${bytes(size)})`),
      h('dt', {}, 'Cut at'), h('dd', {}, `${time(cutMs)} (${ago(cutMs)})`),
      h('dt', {}, 'Held by'), h('dd', {}, point.target_cluster || '—')),
    field('Destination', destination,
      'A path under which each data set lands at its own selector. Empty: over the data sets themselves.'),
    field('Cluster', cluster),
    field('Replace what is there (overwrite)', overwrite,
      'Delete or replace what the destination holds and the point does not. Unticked, a restore into a place holding anything else is refused, naming it.'),
    h('div', {class: 'buttons left'}, dryButton), dryStatus, dryLog,
    confirm.node, error,
    h('div', {class: 'buttons'}, cancel, confirm.button));
  dialog.showModal();
  destination.focus();

  const body = (dryRun) => ({
    restore_point: point.id,
    destination: destination.value.trim(),
    cluster: cluster.value,
    dry_run: dryRun,
    overwrite: overwrite.checked,
    confirm: service,
  });
  dryButton.addEventListener('click', async () => {
    dryButton.disabled = true;
    const wanted = params();
    put(dryStatus, 'Running the dry run…');
    put(dryLog);
    try {
      const started = await post(`/v1/services/${seg(service)}/restore`, body(true));
      const answer = await followJob(started.job_id, () => {}, state);
      if (!answer) return;
      const job = answer.job;
      const lines = job.log || [];
      put(dryLog, lines.length
        ? h('pre', {class: 'log', tabindex: 0}, lines.join('\n'))
        : h('p', {class: 'muted'}, 'Nothing would change.'));
      if (job.state === 'JOB_SUCCEEDED') {
        dryFor = wanted;
        drySaid = [`Dry run ${started.job_id} `, jobStateBadge(job.state),
          `: ${num(job.items_done)} change(s) listed, nothing done.`];
        put(dryStatus, ...drySaid);
      } else {
        put(dryStatus, `Dry run ${started.job_id} `, jobStateBadge(job.state), `: ${job.error || 'see the job'}`);
      }
    } catch (e) {
      put(dryStatus, `The dry run was refused: ${errorText(e)}`);
    }
    dryButton.disabled = false;
    confirm.update();
  });

  confirm.button.addEventListener('click', async () => {
    confirm.button.disabled = true;
    error.hidden = true;
    try {
      const started = await post(`/v1/services/${seg(service)}/restore`, body(false));
      dialog.close();
      ctx.announce(`Restore of ${service} started as ${started.job_id}`);
      location.hash = `#/jobs/${encodeURIComponent(started.job_id)}`;
    } catch (e) {
      put(error, errorText(e));
      error.hidden = false;
      confirm.update();
    }
  });
}
