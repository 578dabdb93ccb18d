// Numbers, times and names as the console shows them.

// Proto JSON gives 64-bit integers as strings and leaves zero values out.
export function num(v) {
  if (v === undefined || v === null || v === '') return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

// Nanoseconds since the epoch (string or number) -> milliseconds; 0 when unset.
export function nanosToMillis(v) {
  return num(v) / 1e6;
}

const pad = (n) => String(n).padStart(2, '0');

// "2026-11-25 09:45:03" in the browser's time zone; "—" when unset.
export function time(millis) {
  if (!millis) return '—';
  const d = new Date(millis);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// The same in UTC, ISO 8601, for titles and exact reading.
export function utc(millis) {
  return millis ? new Date(millis).toISOString().replace('.000Z', 'Z') : '';
}

// A duration in seconds: "45 s", "12 min", "3 h 20 min", "2 d 4 h".
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const sec = Math.max(0, Math.round(seconds));
  if (sec < 90) return `${sec} s`;
  const min = Math.round(sec / 60);
  if (min < 90) return `${min} min`;
  const hours = Math.floor(sec / 3600);
  if (hours < 48) {
    const rest = Math.round((sec - hours * 3600) / 60);
    return rest ? `${hours} h ${rest} min` : `${hours} h`;
  }
  const days = Math.floor(sec / 86400);
  const restHours = Math.round((sec - days * 86400) / 3600);
  return restHours ? `${days} d ${restHours} h` : `${days} d`;
}

// "3 min ago" for a time in milliseconds.
export function ago(millis, now = Date.now()) {
  if (!millis) return '—';
  return `${duration((now - millis) / 1000)} ago`;
}

// Bytes in binary units: "512 B", "1.5 KiB", "12.0 MiB".
export function bytes(n) {
  n = num(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

// A spread in nanoseconds: "0.4 ms", "1.2 s".
export function spread(nanos) {
  const n = num(nanos);
  if (n < 1e6) return `${(n / 1e3).toFixed(0)} µs`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} ms`;
  return `${(n / 1e9).toFixed(2)} s`;
}

// Nanoseconds as milliseconds with one decimal; no "-0.0".
export function millis(nanos) {
  const ms = num(nanos) / 1e6;
  return `${Math.abs(ms) < 0.05 ? '0.0' : ms.toFixed(1)} ms`;
}

// "JOB_SUCCEEDED" -> "succeeded" (as the CLI shows enum names).
export function enumName(value, prefix) {
  if (!value) return '—';
  const v = value.startsWith(prefix) ? value.slice(prefix.length) : value;
  return v.toLowerCase().replaceAll('_', ' ');
}

// Base64 (proto JSON bytes) -> lower-case hex.
export function hex(b64) {
  if (!b64) return '';
  const raw = atob(b64);
  let out = '';
  for (let i = 0; i < raw.length; i++) out += raw.charCodeAt(i).toString(16).padStart(2, '0');
  return out;
}

// A data set spec {component, selector} -> "localfs:/data".
export function dataSet(ds) {
  return ds ? `${ds.component || '?'}:${ds.selector || ''}` : '—';
}

const ENDED = new Set(['JOB_SUCCEEDED', 'JOB_FAILED', 'JOB_CANCELLED', 'JOB_SKIPPED']);

// A job has ended when its state is final, or it is parked and no executor holds it.
export function jobEnded(job, live) {
  return ENDED.has(job.state) || (job.state === 'JOB_PARKED' && !live);
}
