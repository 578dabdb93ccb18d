// A service's restore points on a time axis, drawn as SVG by hand: one circle per point at
// its cut time T, its area growing with the point's size, its colour its state, filled when
// the point was verified by content or size and a ring when not; an arc from each
// incremental point to its base; the RPO window ending now shaded behind them. Every point
// is a keyboard-focusable button (Enter or Space selects it), named for screen readers.
import {s} from './dom.js';
import {bytes, enumName, nanosToMillis, num, spread, time} from './format.js';

const W = 1000;
const H = 180;
const LEFT = 24;
const RIGHT = 24;
const LANE = 100;
const AXIS = 148;

const STATE_CLASS = {
  RP_COMMITTED: 'pt-committed', RP_PENDING: 'pt-pending', RP_FAILED: 'pt-failed', RP_EXPIRED: 'pt-expired',
};

function radius(totalBytes) {
  // 4 px for an empty point, about 16 px for 10 GiB: log scale, as sizes span decades.
  const r = 4 + 1.3 * Math.log2(1 + totalBytes / 65536);
  return Math.min(16, r);
}

function totalBytes(p) {
  return (p.members || []).reduce((sum, m) => sum + num(m.total_bytes), 0);
}

// Points cut close together would hide one another: each goes on the first lane (the middle
// one, then above, below, ...) where it overlaps no point placed before it.
const LANES = [0, -1, 1, -2];
const LANE_STEP = 26;

function place(points, x) {
  const out = new Map();
  const taken = LANES.map(() => []);
  const sorted = [...points].sort((a, b) => num(a.cut_unix_nanos) - num(b.cut_unix_nanos));
  for (const p of sorted) {
    const px = x(nanosToMillis(p.cut_unix_nanos));
    const r = radius(totalBytes(p));
    let lane = LANES.findIndex((_, i) => taken[i].every((o) => Math.abs(o.x - px) > o.r + r + 3));
    if (lane < 0) lane = 0; // crowded everywhere: overlap on the middle lane
    taken[lane].push({x: px, r});
    out.set(p.id, {x: px, y: LANE + LANES[lane] * LANE_STEP, r});
  }
  return out;
}

function ticks(min, max, count) {
  const step = (max - min) / count;
  const out = [];
  for (let i = 0; i <= count; i++) out.push(min + i * step);
  return out;
}

function tickLabel(ms, span) {
  const t = time(ms); // "2026-11-25 09:45:03"
  if (span < 20 * 60e3) return t.slice(11, 19); // minutes apart: the seconds matter
  if (span < 2 * 86400e3) return t.slice(11, 16); // within two days: the time of day
  return t.slice(5, 16);
}

// points: RestorePoint JSON; verification(point) -> 'VERIFY_DIGEST' | 'VERIFY_SIZE' |
// 'VERIFY_NONE' | ''; onSelect(id). Returns the <svg>.
// `zoom`: the axis spans the points only, instead of the RPO window up to now.
export function drawTimeline(points, {rpoSeconds, nowMs, selected, verification, onSelect, zoom}) {
  const cuts = points.map((p) => nanosToMillis(p.cut_unix_nanos)).filter((t) => t > 0);
  const window = (rpoSeconds > 0 ? rpoSeconds : 3600) * 1000;
  let min = Math.min(nowMs - window, ...cuts);
  let max = Math.max(nowMs, ...cuts);
  if (zoom && cuts.length > 0) {
    min = Math.min(...cuts);
    max = Math.max(...cuts);
    if (max - min < 60e3) {
      const mid = (min + max) / 2;
      min = mid - 30e3;
      max = mid + 30e3;
    }
  }
  const pad = Math.max((max - min) * 0.04, 1000);
  min -= pad;
  max += pad;
  const x = (ms) => LEFT + ((ms - min) / (max - min)) * (W - LEFT - RIGHT);

  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'timeline', role: 'group',
    'aria-label': `Timeline of ${points.length} restore points, oldest left, now right`,
  });
  const clamp = (v) => Math.min(W - RIGHT, Math.max(LEFT, v));
  const nowX = x(nowMs);
  const nowShown = nowX >= LEFT && nowX <= W - RIGHT;
  if (rpoSeconds > 0) {
    const x0 = clamp(x(nowMs - rpoSeconds * 1000));
    const x1 = clamp(nowX);
    if (x1 - x0 > 0) {
      svg.append(
        s('rect', {class: 'rpo-window', x: x0, y: 24, width: x1 - x0, height: AXIS - 24}),
        s('text', {class: 'rpo-label', x: x1 - 4, y: 38, 'text-anchor': 'end'}, 'RPO window'));
    }
  }
  svg.append(s('line', {class: 'axis', x1: LEFT, x2: W - RIGHT, y1: AXIS, y2: AXIS}));
  for (const t of ticks(min + pad, max - pad, 6)) {
    svg.append(
      s('line', {class: 'tick', x1: x(t), x2: x(t), y1: AXIS, y2: AXIS + 5}),
      s('text', {class: 'tick-label', x: x(t), y: AXIS + 20, 'text-anchor': 'middle'}, tickLabel(t, max - min)));
  }
  if (nowShown) {
    svg.append(
      s('line', {class: 'now', x1: nowX, x2: nowX, y1: 20, y2: AXIS}),
      s('text', {class: 'now-label', x: nowX, y: 16, 'text-anchor': 'middle'}, 'now'));
  }

  const placed = place(points, x);
  for (const p of points) {
    const base = p.base_restore_point_id && placed.get(p.base_restore_point_id);
    if (!base) continue;
    const a = placed.get(p.id);
    const lift = Math.min(60, 12 + Math.abs(a.x - base.x) / 4);
    svg.append(s('path', {
      class: 'base-arc',
      d: `M ${a.x} ${a.y} Q ${(a.x + base.x) / 2} ${Math.min(a.y, base.y) - lift} ${base.x} ${base.y}`,
    }));
  }

  for (const p of points) {
    const {x: cx, y: cy, r} = placed.get(p.id);
    const total = totalBytes(p);
    const level = verification(p);
    const verified = p.state === 'RP_COMMITTED' && (level === 'VERIFY_DIGEST' || level === 'VERIFY_SIZE');
    const label = `Restore point ${p.id}, ${enumName(p.state, 'RP_')}, cut ${time(nanosToMillis(p.cut_unix_nanos))}, ` +
      `${bytes(total)}, spread ${spread(p.spread_nanos)}` +
      `${p.base_restore_point_id ? `, incremental on ${p.base_restore_point_id}` : ', full'}` +
      `, ${verified ? `verified (${enumName(level, 'VERIFY_')})` : 'not verified by content'}`;
    const g = s('g', {
      class: `pt ${STATE_CLASS[p.state] || ''} ${verified ? 'pt-verified' : 'pt-unverified'} ${p.id === selected ? 'pt-selected' : ''}`,
      tabindex: 0, role: 'button', 'aria-label': label, 'aria-pressed': p.id === selected ? 'true' : 'false',
      dataset: {point: p.id, key: `pt-${p.id}`},
    },
    s('title', {}, label),
    s('circle', {cx, cy, r: r + 6, class: 'pt-halo'}),
    s('circle', {cx, cy, r, class: 'pt-dot'}));
    g.addEventListener('click', () => onSelect(p.id));
    g.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        onSelect(p.id);
      }
    });
    svg.append(g);
  }
  return svg;
}

// Each member's cut interval [cut start, cut end] around the point's T, as bars: how far
// apart the members cut is the point's spread.
export function drawCutIntervals(point) {
  const members = point.members || [];
  const T = num(point.cut_unix_nanos);
  const starts = members.map((m) => num(m.cut_start_unix_nanos) - T);
  const ends = members.map((m) => num(m.cut_end_unix_nanos) - T);
  let lo = Math.min(0, ...starts);
  let hi = Math.max(0, ...ends);
  if (hi - lo < 1e6) hi = lo + 1e6; // at least a millisecond wide
  const rowH = 22;
  const height = 30 + rowH * members.length;
  const left = 220;
  const width = 1000;
  const x = (n) => left + ((n - lo) / (hi - lo)) * (width - left - 30);
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, class: 'cuts', role: 'img',
    'aria-label': `Cut intervals of ${members.length} members around T; spread ${spread(point.spread_nanos)}`,
  });
  svg.append(
    s('line', {class: 'now', x1: x(0), x2: x(0), y1: 4, y2: height - 18}),
    s('text', {class: 'tick-label', x: x(0), y: height - 4, 'text-anchor': 'middle'}, 'T'),
    lo < 0 ? s('text', {class: 'tick-label', x: x(lo), y: height - 4, 'text-anchor': 'start'}, `${(lo / 1e6).toFixed(1)} ms`) : null,
    s('text', {class: 'tick-label', x: x(hi), y: height - 4, 'text-anchor': 'end'}, `+${(hi / 1e6).toFixed(1)} ms`));
  members.forEach((m, i) => {
    const y = 8 + i * rowH;
    const a = x(starts[i]);
    const b = Math.max(a + 2, x(ends[i]));
    svg.append(
      s('text', {class: 'member-label', x: 4, y: y + 12}, `${m.data_set ? `${m.data_set.component}:${m.data_set.selector}` : '?'}`),
      s('rect', {class: 'cut-bar', x: a, y, width: b - a, height: 14},
        s('title', {}, `${(starts[i] / 1e6).toFixed(2)} ms to ${(ends[i] / 1e6).toFixed(2)} ms from T`)));
  });
  return svg;
}
