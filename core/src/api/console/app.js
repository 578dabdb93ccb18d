// The console's shell: sign-in, the navigation, and a router over the URL's fragment
// (#/services, #/jobs/job-000042, ...). Each page is a module with a render(ctx, ...args).
import {ApiError, call, forgetToken, setUnauthenticatedHandler, storeToken, storedToken} from './api.js';
import {h, put} from './dom.js';
import * as events from './events.js';
import * as jobs from './jobs.js';
import * as policies from './policies.js';
import * as service from './service.js';
import * as services from './services.js';

const ROLES = ['viewer', 'operator', 'admin'];

const ROUTES = [
  [/^\/services$/, services.render, 'Services'],
  [/^\/services\/([^/]+)$/, service.render, 'Service'],
  [/^\/jobs$/, jobs.renderList, 'Jobs'],
  [/^\/jobs\/([^/]+)$/, jobs.renderJob, 'Job'],
  [/^\/events$/, events.renderEvents, 'Events'],
  [/^\/audit$/, events.renderAudit, 'Audit'],
  [/^\/policies$/, policies.renderList, 'Policies'],
  [/^\/policies\/([^/]+)$/, policies.renderPolicy, 'Policy'],
];

const main = document.getElementById('main');
let me = null; // {name, role}
let current = null; // the page's context: its polls stop when the page changes

function announce(message) {
  const el = document.getElementById('announce');
  el.textContent = '';
  // A fresh text node, so that screen readers read the same message twice in a row too.
  setTimeout(() => { el.textContent = message; }, 50);
}

// What a page gets: where to draw, who is signed in, and timers that end with the page.
function makeContext() {
  const ctx = {
    main,
    me,
    cancelled: false,
    can: (role) => ROLES.indexOf(me.role) >= ROLES.indexOf(role),
    announce,
    // Calls fn now and then every `ms` (a number, or a function giving it) after each call
    // has finished, until the page changes or fn returns false.
    every(ms, fn) {
      const tick = async () => {
        if (ctx.cancelled) return;
        try {
          if ((await fn()) === false) return;
        } catch (e) {
          ctx.showError(e);
        }
        if (!ctx.cancelled) ctx.timers.add(setTimeout(tick, typeof ms === 'function' ? ms() : ms));
      };
      return tick();
    },
    timers: new Set(),
    showError(e) {
      if (e instanceof ApiError && e.status === 401) return; // signing out already
      const box = document.getElementById('page-error');
      const text = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e.message || e);
      if (box) {
        put(box, text);
        box.hidden = false;
      }
    },
    clearError() {
      const box = document.getElementById('page-error');
      if (box) box.hidden = true;
    },
  };
  return ctx;
}

function stopPage() {
  if (!current) return;
  current.cancelled = true;
  for (const t of current.timers) clearTimeout(t);
  current = null;
}

async function route() {
  stopPage();
  if (!me) return;
  // "#/services/sales?point=rp-1": the page's path, then its parameters.
  const [rawPath, rawQuery] = location.hash.replace(/^#/, '').split('?');
  let path = decodeURIComponent(rawPath);
  if (!path.startsWith('/')) path = '/services';
  for (const [pattern, render, title] of ROUTES) {
    const m = path.match(pattern);
    if (!m) continue;
    current = makeContext();
    current.params = new URLSearchParams(rawQuery || '');
    document.title = `${m[1] ? `${m[1]} · ` : ''}${title} · Lifeboat`;
    for (const a of document.querySelectorAll('nav a')) {
      const here = path === a.getAttribute('href').slice(1) ||
        path.startsWith(`${a.getAttribute('href').slice(1)}/`);
      if (here) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    put(main, h('div', {id: 'page-error', class: 'error', role: 'alert', hidden: true}));
    const page = h('div', {class: 'page'});
    main.append(page);
    current.main = page;
    try {
      await render(current, ...m.slice(1));
    } catch (e) {
      current.showError(e);
    }
    return;
  }
  put(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, path), '. ',
    h('a', {href: '#/services'}, 'Back to the services.')));
}

function showSignIn(message) {
  stopPage();
  me = null;
  document.getElementById('top').hidden = true;
  const input = h('input', {
    type: 'password', id: 'token', autocomplete: 'off', spellcheck: 'false', required: true,
    'aria-describedby': 'token-hint',
  });
  const error = h('p', {class: 'error', role: 'alert', id: 'signin-error', hidden: !message}, message || '');
  const button = h('button', {type: 'submit', class: 'primary'}, 'Sign in');
  // No name on the input and form-action 'none' in the page's policy: even without this
  // script the token could never be submitted into a URL.
  const form = h('form', {class: 'signin', 'aria-labelledby': 'signin-title'},
    h('h1', {id: 'signin-title'}, 'Sign in to Lifeboat'),
    h('label', {for: 'token'}, 'API token'),
    input,
    h('p', {class: 'hint', id: 'token-hint'},
      'A token made with ', h('code', {}, 'lifeboat token create NAME --role ROLE'),
      '. It is kept in this tab only, and sent to this server in a header.'),
    error, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    button.disabled = true;
    try {
      const who = await call('GET', '/v1/whoami', {token});
      storeToken(token);
      input.value = '';
      await signedIn(who);
    } catch (e) {
      put(error, e instanceof ApiError && e.status === 401
        ? 'The server does not know this token (mistyped, or revoked).'
        : `Could not sign in: ${e.message}`);
      error.hidden = false;
      button.disabled = false;
      input.focus();
    }
  });
  put(main, form);
  input.focus();
}

async function signedIn(who) {
  me = who;
  document.getElementById('top').hidden = false;
  put(document.getElementById('who'), h('span', {}, who.name), ' ',
    h('span', {class: `role role-${who.role}`}, who.role),
    who.role === 'viewer' ? h('span', {class: 'muted'}, ' (read only)') : null);
  for (const el of document.querySelectorAll('[data-min-role]')) {
    el.hidden = ROLES.indexOf(who.role) < ROLES.indexOf(el.dataset.minRole);
  }
  announce(`Signed in as ${who.name}, ${who.role}`);
  if (!location.hash.startsWith('#/')) location.hash = '#/services';
  else await route();
}

function signOut(message) {
  forgetToken();
  showSignIn(message);
}

async function start() {
  setUnauthenticatedHandler(() => signOut('The server refused the token; sign in again.'));
  document.getElementById('signout').addEventListener('click', () => signOut());
  document.getElementById('skip').addEventListener('click', (ev) => {
    ev.preventDefault(); // the fragment is the router's
    main.focus();
  });
  window.addEventListener('hashchange', () => route());
  const token = storedToken();
  if (!token) return showSignIn();
  try {
    await signedIn(await call('GET', '/v1/whoami', {token}));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signOut('The saved token was refused; sign in again.');
    else showSignIn(`Could not reach the server: ${e.message}`);
  }
}

start();
