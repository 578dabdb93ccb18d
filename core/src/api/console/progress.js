// Live progress of a running job: bytes, items, rate, time left and phase, updated in place
// (the same elements, new values) so that a screen reader and the keyboard focus stay put.
import {h, put} from './dom.js';
import {bytes, duration, enumName, nanosToMillis, num} from './format.js';

// Bytes per second from successive samples, smoothed; the first estimate is the average
// since the job started.
export class RateMeter {
  constructor() {
    this.last = new Map();
  }

  update(id, bytesDone, startedMillis, nowMillis = Date.now()) {
    const prev = this.last.get(id);
    let rate = prev ? prev.rate : null;
    if (prev && nowMillis > prev.t && bytesDone >= prev.bytes) {
      const instant = (bytesDone - prev.bytes) / ((nowMillis - prev.t) / 1000);
      rate = rate === null ? instant : 0.6 * rate + 0.4 * instant;
    } else if (!prev && startedMillis && nowMillis > startedMillis) {
      rate = bytesDone / ((nowMillis - startedMillis) / 1000);
    }
    this.last.set(id, {t: nowMillis, bytes: bytesDone, rate});
    return rate;
  }
}

// The numbers of a job: from its live progress when the executor has it, else its record.
export function progressOf(job, live) {
  const p = live || {};
  return {
    phase: p.phase || job.phase || '',
    bytesDone: num(p.bytes_done ?? job.bytes_done),
    bytesTotal: num(p.bytes_total ?? job.bytes_total),
    itemsDone: num(p.items_done ?? job.items_done),
    itemsTotal: num(p.items_total ?? job.items_total),
  };
}

// A progress block for one job; call .update(job, liveProgress, rate) on each poll.
export function progressBlock(jobId) {
  const bar = h('progress', {max: 1, value: 0, 'aria-label': `Progress of ${jobId} in bytes`, class: 'bar'});
  const pct = h('span', {class: 'pct'});
  const line = h('p', {class: 'progress-line'});
  const el = h('div', {class: 'progress', dataset: {job: jobId}}, h('div', {class: 'bar-row'}, bar, pct), line);
  return {
    el,
    update(job, live, rate) {
      const p = progressOf(job, live);
      const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal
        : (p.itemsTotal > 0 ? p.itemsDone / p.itemsTotal : 0);
      bar.max = 1;
      bar.value = Math.min(1, fraction);
      bar.dataset.bytesDone = String(p.bytesDone);
      put(pct, `${(100 * Math.min(1, fraction)).toFixed(0)}%`);
      const left = p.bytesTotal - p.bytesDone;
      const eta = rate && rate > 0 && left > 0 ? duration(left / rate) : (left <= 0 && p.bytesTotal > 0 ? '0 s' : '—');
      put(line,
        h('span', {class: 'phase'}, `phase ${enumName(p.phase, 'PHASE_')}`), ' · ',
        h('span', {class: 'bytes'}, `${bytes(p.bytesDone)} of ${bytes(p.bytesTotal)}`), ' · ',
        h('span', {class: 'items'}, `${p.itemsDone} of ${p.itemsTotal} items`), ' · ',
        h('span', {class: 'rate'}, rate === null || rate === undefined ? 'rate —' : `${bytes(rate)}/s`), ' · ',
        h('span', {class: 'eta'}, `ETA ${eta}`));
    },
  };
}

export function startedMillis(job) {
  return nanosToMillis(job.started_unix_nanos) || nanosToMillis(job.created_unix_nanos);
}
