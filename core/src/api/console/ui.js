// Pieces several pages share: status badges (colour and a word, never colour alone), the
// RPO judgement, links to jobs and services.
import {h} from './dom.js';
import {ago, duration, enumName, nanosToMillis, num, time, utc} from './format.js';

// Amber when the newest point has used this share of the RPO: a backup is due soon, or late.
export const RPO_AMBER_SHARE = 0.8;

// {level: 'green'|'amber'|'red'|'none', word, detail} for a /v1/status entry.
export function rpoJudgement(st) {
  const rpo = num(st.rpo_seconds);
  const age = num(st.age_seconds);
  if (rpo <= 0) return {level: 'none', word: 'no RPO', detail: 'no policy sets an RPO'};
  if (st.rpo_breached) {
    return {
      level: 'red', word: 'breached',
      detail: st.newest_point
        ? `newest point ${duration(age)} old, RPO ${duration(rpo)}`
        : `no committed point, RPO ${duration(rpo)}`,
    };
  }
  if (age >= RPO_AMBER_SHARE * rpo) {
    return {level: 'amber', word: 'near', detail: `newest point ${duration(age)} old, RPO ${duration(rpo)}`};
  }
  return {level: 'green', word: 'within', detail: `newest point ${duration(age)} old, RPO ${duration(rpo)}`};
}

export function badge(level, word, title) {
  return h('span', {class: `badge badge-${level}`, title}, word);
}

export function rpoBadge(st) {
  const j = rpoJudgement(st);
  return h('span', {class: 'rpo', dataset: {level: j.level}},
    badge(j.level, j.word), ' ', h('span', {class: 'muted small'}, j.detail));
}

const JOB_LEVEL = {
  JOB_SUCCEEDED: 'green', JOB_RUNNING: 'blue', JOB_PENDING: 'blue', JOB_FAILED: 'red',
  JOB_CANCELLED: 'grey', JOB_PARKED: 'amber', JOB_SKIPPED: 'grey',
};

export function jobStateBadge(state) {
  return badge(JOB_LEVEL[state] || 'grey', enumName(state, 'JOB_'));
}

const HEALTH_LEVEL = {
  CLUSTER_HEALTHY: 'green', CLUSTER_DEGRADED: 'amber', CLUSTER_UNREACHABLE: 'red',
};

export function healthBadge(state) {
  return badge(HEALTH_LEVEL[state] || 'grey', state ? enumName(state, 'CLUSTER_') : 'unknown');
}

const POINT_LEVEL = {RP_COMMITTED: 'green', RP_PENDING: 'blue', RP_FAILED: 'red', RP_EXPIRED: 'grey'};

export function pointStateBadge(state) {
  return badge(POINT_LEVEL[state] || 'grey', enumName(state, 'RP_'));
}

export function serviceLink(name) {
  return name ? h('a', {href: `#/services/${encodeURIComponent(name)}`}, name) : '—';
}

export function jobLink(id) {
  return id ? h('a', {href: `#/jobs/${encodeURIComponent(id)}`}, id) : '—';
}

export function pointLink(service, id) {
  return id ? h('a', {href: `#/services/${encodeURIComponent(service)}?point=${encodeURIComponent(id)}`}, id) : '—';
}

// A time cell: local time, UTC in the title, and how long ago.
export function when(nanos) {
  const ms = nanosToMillis(nanos);
  if (!ms) return '—';
  return h('time', {datetime: utc(ms), title: utc(ms)}, time(ms), h('span', {class: 'muted small'}, ` (${ago(ms)})`));
}

export function kindName(kind) {
  return enumName(kind, 'JOB_');
}

// A section with a heading: h2 + content.
export function section(title, ...content) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', {'aria-labelledby': id}, h('h2', {id}, title), ...content);
}
