// The console's only way to the server: the same /v1 HTTP API the CLI uses, with the token
// the operator signed in with. The token lives in sessionStorage (gone when the tab closes),
// travels only in the Authorization header, and never in a URL, so it reaches neither the
// server's logs nor the browser's history.

import {jobEnded} from './format.js';

const KEY = 'lifeboat.token';

export function storedToken() {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}

// A refused or failed call: HTTP status, the API's code ("NOT_FOUND") and message.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let onUnauthenticated = () => {};

// Called when the server answers 401 (the token was revoked, or the daemon's state changed).
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

// "/v1/services/" + seg(name): one path segment, escaped.
export const seg = encodeURIComponent;

// One call. `body` is sent as JSON; `accept` asks for another type and returns the text.
// Throws ApiError for any answer but 2xx.
export async function call(method, path, {body, accept, token} = {}) {
  const bearer = token ?? storedToken();
  const headers = {};
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  headers.Accept = accept || 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
    });
  } catch (e) {
    throw new ApiError(0, 'UNAVAILABLE', `the server did not answer (${e.message})`);
  }
  const text = await res.text();
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = text.slice(0, 300) || res.statusText;
    try {
      const err = JSON.parse(text).error;
      if (err) {
        code = err.code || code;
        message = err.message || message;
      }
    } catch {
      // not JSON: keep the excerpt
    }
    if (res.status === 401 && token === undefined) onUnauthenticated(message);
    throw new ApiError(res.status, code, message);
  }
  if (accept && accept !== 'application/json') return text;
  return text ? JSON.parse(text) : {};
}

export const get = (path, opts) => call('GET', path, opts);
export const post = (path, body) => call('POST', path, {body: body ?? {}});

// Follows a job until it ends; `onUpdate(answer)` gets each GET /v1/jobs/{id} answer.
// Resolves with the last answer. `signal.aborted` stops the polling (resolves null).
export async function followJob(id, onUpdate = () => {}, signal = {aborted: false}, everyMs = 500) {
  for (;;) {
    if (signal.aborted) return null;
    const answer = await get(`/v1/jobs/${seg(id)}`);
    onUpdate(answer);
    if (jobEnded(answer.job, answer.live)) return answer;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
