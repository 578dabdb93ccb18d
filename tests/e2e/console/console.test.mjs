// The web console in headless Chromium against a running lifeboatd (started by
// ../console_test.sh, which passes where everything is in CONSOLE_* variables):
//   sign-in (a wrong token is refused; the token stays out of URLs and logs), a viewer sees a
//   breached RPO in red and no button to act, an operator watches a backup's progress move
//   without a reload, an admin restores after a dry run and fails the service over and back
//   with the typed confirmation, events and audit filter, policies show as YAML; axe-core
//   finds no WCAG A/AA violation on any page; no page breaks its content security policy.
// Every page is saved as a PNG in CONSOLE_SHOTS.
import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {after, before, test} from 'node:test';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run this through tests/e2e/console_test.sh`);
  return v;
};
const URL_ = env('CONSOLE_URL');
const WORK = env('CONSOLE_WORK');
const SHOTS = env('CONSOLE_SHOTS');
const require = createRequire(path.join(env('CONSOLE_DEPS'), 'package.json'));
const {chromium} = require('playwright-core');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const token = (role) => fs.readFileSync(path.join(WORK, `${role}.token`), 'utf8').trim();
// The machine is shared and slow at times: waits are long, and nothing asserts a duration.
const WAIT = 120000;

let browser;
const problems = []; // page errors and policy violations, from every page

before(async () => {
  // Playwright gives each launch a fresh profile directory (--user-data-dir) of its own and
  // runs it headless; the flags keep Chromium from reaching out anywhere.
  browser = await chromium.launch({
    executablePath: env('CONSOLE_CHROMIUM'),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
});

async function api(role, method, p, body) {
  const res = await fetch(URL_ + p, {
    method,
    headers: {Authorization: `Bearer ${token(role)}`, 'Content-Type': 'application/json'},
    body: body ? JSON.stringify(body) : undefined,
  });
  return {status: res.status, body: await res.json()};
}

async function newPage() {
  const context = await browser.newContext({viewport: {width: 1366, height: 900}});
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`policy: ${m.text()}`);
  });
  return page;
}

async function signIn(role) {
  const page = await newPage();
  await page.goto(`${URL_}/`);
  await page.fill('#token', token(role));
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector(`#who .role-${role}`);
  return page;
}

async function shot(page, name) {
  await page.screenshot({path: path.join(SHOTS, `${name}.png`), fullPage: true});
}

// axe-core in the page: no violation of WCAG 2.1 A or AA.
async function checkAccessibility(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
    });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
  });
  assert.deepEqual(violations, [], `accessibility violations on ${what}`);
}

async function go(page, hash, selector) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(selector);
}

function assertNoTokenIn(text, where) {
  for (const role of ['viewer', 'operator', 'admin']) {
    const secret = token(role).split('_').pop();
    assert.ok(!text.includes(secret), `the ${role} token's secret is in ${where}`);
  }
}

test('the page is served with its security headers, and refuses a wrong token', async () => {
  const res = await fetch(`${URL_}/`);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');

  const page = await newPage();
  await page.goto(`${URL_}/`);
  await page.waitForSelector('form.signin');
  await checkAccessibility(page, 'the sign-in page');
  await shot(page, '01-sign-in');
  await page.fill('#token', 'lbt_0000000000000000_nope');
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('#signin-error:not([hidden])');
  assert.match(await page.textContent('#signin-error'), /does not know this token/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token was kept');
  await page.context().close();
});

test('a viewer sees the breached RPO in red and no button to act', async () => {
  const page = await signIn('viewer');
  await page.waitForSelector('#services tr[data-service="logs"]');
  const logs = page.locator('#services tr[data-service="logs"] .rpo .badge');
  assert.equal(await logs.textContent(), 'breached');
  assert.match(await logs.getAttribute('class'), /badge-red/);
  assert.equal(await logs.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(254, 226, 226)');
  const sales = page.locator('#services tr[data-service="sales"] .rpo .badge');
  assert.equal(await sales.textContent(), 'within');
  assert.match(await sales.getAttribute('class'), /badge-green/);
  assert.equal(await page.isHidden('nav li[data-min-role="admin"]'), true, 'a viewer is shown the audit');
  await checkAccessibility(page, 'the services page');
  await shot(page, '02-services');

  // The token: in this tab's session storage, in no URL.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lifeboat.token')), token('viewer'));
  assertNoTokenIn(page.url(), 'the URL');

  await go(page, '#/services/sales', '#roles');
  await page.waitForSelector('svg.timeline .pt');
  await page.click('#points button.link');
  await page.waitForSelector('#point-detail');
  for (const button of ['#failover-button', '#failback-button', '#service-actions', '#verify-button', '#restore-button']) {
    assert.equal(await page.locator(button).count(), 0, `a viewer is shown ${button}`);
  }
  assert.equal(await page.getByRole('button', {name: /Back up now/}).count(), 0);
  await checkAccessibility(page, 'the service page');
  await shot(page, '03-service-viewer');
  // The server refuses it too, whatever the page shows.
  const refused = await page.evaluate(async () => (await fetch('/v1/services/sales/failover?dry_run=true', {
    method: 'POST',
    headers: {Authorization: `Bearer ${sessionStorage.getItem('lifeboat.token')}`, 'Content-Type': 'application/json'},
    body: JSON.stringify({confirm: 'sales'}),
  })).status);
  assert.equal(refused, 403);
  await page.context().close();
});

test('an operator starts a backup and watches its progress move without a reload', async () => {
  // 24 MiB more at the policy's 3 MiB/s: several seconds of transfer to watch.
  fs.writeFileSync(path.join(WORK, 'a', 'sales', 'big'), randomBytes(24 * 1024 * 1024));
  const page = await signIn('operator');
  await go(page, '#/services/sales', '#service-actions');
  assert.equal(await page.locator('#failover-button').count(), 0, 'an operator is shown failover');
  // Every value the progress bar shows, recorded by the page itself as it changes: what a
  // person watching would have seen, whatever the pace of this test's own checks.
  await page.evaluate(() => {
    window.notReloaded = true;
    window.progressSeen = [];
    const record = () => {
      const bar = document.querySelector('#job-progress progress');
      const v = bar && Number(bar.dataset.bytesDone);
      if (v > 0 && v !== window.progressSeen[window.progressSeen.length - 1]) window.progressSeen.push(v);
    };
    new MutationObserver(record).observe(document.body,
      {subtree: true, childList: true, attributes: true, attributeFilter: ['data-bytes-done']});
  });
  await page.getByRole('button', {name: 'Back up now (sales-hourly)'}).click();
  await page.waitForFunction(() => location.hash.startsWith('#/jobs/job-'));
  const jobId = decodeURIComponent(page.url().split('#/jobs/')[1]);
  await page.waitForFunction(() => window.progressSeen.length >= 2 || /succeeded|failed/.test(
    document.querySelector('.title-row') ? document.querySelector('.title-row').textContent : ''));
  const line = await page.textContent('#job-progress .progress-line').catch(() => '');
  if (line) {
    assert.match(line, /phase \w+/);
    assert.match(line, /of \d+(\.\d+)? MiB/);
    assert.match(line, /items/);
    assert.match(line, /ETA/);
  }
  await shot(page, '04-job-running');
  await checkAccessibility(page, 'a running job');
  // The jobs page lists it as running, with the same live progress.
  await go(page, '#/jobs', '#history table');
  const card = page.locator(`.run-card[data-job="${jobId}"]`);
  if (await card.count() > 0) await shot(page, '05-jobs-running');
  await checkAccessibility(page, 'the jobs page');
  await go(page, `#/jobs/${jobId}`, '#job-actions');
  await page.waitForSelector('.title-row .badge-green', {timeout: 300000});
  assert.equal(await page.textContent('.title-row .badge-green'), 'succeeded');
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was reloaded');
  // The bar moved forward while the job ran, in this one page.
  const seen = await page.evaluate(() => window.progressSeen);
  assert.ok(seen.length >= 2, `the progress bar showed ${seen.length} value(s) while the job ran: ${seen}`);
  assert.ok(seen[seen.length - 1] > seen[0], `the progress bar did not move forward: ${seen}`);
  await shot(page, '06-job-done');
  await page.context().close();
});

test('an admin restores a point: the dry run first, then the typed name', async () => {
  const {body} = await api('admin', 'GET', '/v1/services/sales/points');
  const first = body.restore_points[0];
  const page = await signIn('admin');
  await go(page, `#/services/sales?point=${first.id}`, '#point-detail');
  await page.click('#restore-button');
  await page.waitForSelector('dialog[open] #restore-destination');
  await page.fill('#restore-destination', '/restored');
  await page.fill('#confirm-name', 'sales');
  assert.equal(await page.isDisabled('#confirm-button'), true, 'restore is possible before its dry run');
  await page.click('#restore-dry-run');
  await page.waitForFunction(() => /nothing done/.test(document.querySelector('#dry-run-status').textContent));
  assert.equal(fs.existsSync(path.join(WORK, 'b', 'restored')), false, 'the dry run wrote');
  assert.equal(await page.isDisabled('#confirm-button'), false);
  await page.fill('#restore-destination', '/elsewhere');
  assert.equal(await page.isDisabled('#confirm-button'), true, 'a dry run of another destination counts');
  await page.fill('#restore-destination', '/restored');
  await checkAccessibility(page, 'the restore dialog');
  await shot(page, '07-restore-dialog');
  await page.click('#confirm-button');
  await page.waitForFunction(() => location.hash.startsWith('#/jobs/job-'));
  await page.waitForSelector('.title-row .badge-green');
  // The oldest point holds f2 as it is today and f1 as it was before the script changed it.
  const restored = (name) => fs.readFileSync(path.join(WORK, 'b', 'restored', 'sales', name));
  assert.deepEqual(restored('f2'), fs.readFileSync(path.join(WORK, 'a', 'sales', 'f2')));
  assert.notDeepEqual(restored('f1'), fs.readFileSync(path.join(WORK, 'a', 'sales', 'f1')));
  await page.context().close();
});

// Fails the service over (or back) through its dialog, and returns the switch job's page.
async function switchThroughTheDialog(page, kind, from, to) {
  await go(page, '#/services/sales', `#${kind}-button`);
  assert.match(await page.textContent('#role-primary'), new RegExp(`^${from}`));
  await page.click(`#${kind}-button`);
  await page.waitForSelector('dialog[open]');
  await page.waitForFunction(() => /nothing was changed/.test(document.querySelector('#dry-run-status').textContent));
  const steps = await page.locator('#dry-run-steps li').allTextContents();
  for (const step of ['stop-backups', 'fence', 'unfence', 'apply', 'swap']) {
    assert.ok(steps.some((s) => s.startsWith(step)), `the dry run does not list ${step}: ${steps}`);
  }
  assert.equal(await page.isDisabled('#confirm-button'), true);
  await page.fill('#confirm-name', 'sale');
  assert.equal(await page.isDisabled('#confirm-button'), true, 'a partial name confirmed');
  await page.fill('#confirm-name', 'Sales');
  assert.equal(await page.isDisabled('#confirm-button'), true, 'a name in another case confirmed');
  await page.fill('#confirm-name', 'sales');
  assert.equal(await page.isDisabled('#confirm-button'), false);
  await page.fill('#switch-reason', `console drill: ${kind}`);
  await checkAccessibility(page, `the ${kind} dialog`);
  await shot(page, kind === 'failover' ? '08-failover-dialog' : '10-failback-dialog');
  await page.click('#confirm-button');
  await page.waitForFunction(() => location.hash.startsWith('#/jobs/job-'));
  await page.waitForSelector('#roles-after .new-primary');
  assert.equal(await page.textContent('#roles-after .new-primary'), to);
}

test('an admin fails the service over and back, typing its name each time', async () => {
  const posts = [];
  const page = await signIn('admin');
  page.on('request', (r) => {
    if (r.method() === 'POST' && /\/v1\/services\/sales\/(failover|failback)/.test(r.url())) {
      posts.push({url: r.url(), body: r.postData()});
    }
  });
  const {body: points} = await api('admin', 'GET', '/v1/services/sales/points');
  const newest = points.restore_points.filter((p) => p.state === 'RP_COMMITTED' && p.target_cluster === 'b')
    .sort((x, y) => Number(y.cut_unix_nanos) - Number(x.cut_unix_nanos))[0];

  await go(page, '#/services/sales', '#failover-button');
  await page.click('#failover-button');
  await page.waitForSelector('dialog[open] #loss');
  const loss = await page.textContent('#loss');
  assert.ok(loss.includes(newest.id), `the dialog does not name the point to be used (${newest.id}): ${loss}`);
  assert.match(loss, /will not come along/);
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog', {state: 'detached'});

  await switchThroughTheDialog(page, 'failover', 'a', 'b');
  await shot(page, '09-failover-done');
  let roles = (await api('viewer', 'GET', '/v1/services/sales/roles')).body;
  assert.equal(roles.primary_cluster, 'b');
  assert.equal(String(roles.epoch), '2');
  assert.equal(roles.reason, 'console drill: failover');
  await go(page, '#/services/sales', '#role-primary');
  await page.waitForFunction(() => document.querySelector('#role-epoch').textContent === '2');
  assert.match(await page.textContent('#role-primary'), /^b/);

  await switchThroughTheDialog(page, 'failback', 'b', 'a');
  roles = (await api('viewer', 'GET', '/v1/services/sales/roles')).body;
  assert.equal(roles.primary_cluster, 'a');
  assert.equal(String(roles.epoch), '3');

  // Every switch request carried the typed name; the dry runs came first.
  assert.ok(posts.length >= 4, `${posts.length} switch requests`);
  for (const p of posts) assert.deepEqual(JSON.parse(p.body), {confirm: 'sales'}, p.url);
  assert.deepEqual(posts.map((p) => new globalThis.URL(p.url).searchParams.get('dry_run')),
    ['true', 'true', 'false', 'true', 'false']);
  await page.context().close();
});

test('events and audit filter; policies show as YAML', async () => {
  const page = await signIn('admin');
  await go(page, '#/events', '#list table');
  await page.selectOption('#filter-severity', 'critical');
  await page.waitForFunction(() => /^\d+ of \d+$/.test(document.querySelector('#list-count').textContent));
  const severities = await page.locator('#list tbody tr td:nth-child(2)').allTextContents();
  assert.ok(severities.length > 0 && severities.every((s) => s === 'critical'), `${severities}`);
  const kinds = await page.locator('#list tbody tr td:nth-child(4)').allTextContents();
  assert.ok(kinds.includes('rpo_breach'), `no rpo_breach among ${kinds}`);
  await checkAccessibility(page, 'the events page');
  await shot(page, '11-events');

  await go(page, '#/audit', '#list table');
  await page.selectOption('#filter-action', 'failover');
  await page.waitForFunction(() => document.querySelectorAll('#list tbody tr').length > 0 &&
    [...document.querySelectorAll('#list tbody tr td:nth-child(3)')].every((td) => td.textContent === 'failover'));
  // The operator's token name, not a shared account: each failover names who asked for it.
  const actors = await page.locator('#list tbody tr td:nth-child(2)').allTextContents();
  assert.ok(actors.includes('admin-1'), `the failover is not audited under the admin's token: ${actors}`);
  await checkAccessibility(page, 'the audit page');
  await shot(page, '12-audit');

  await go(page, '#/policies', 'main table');
  await page.click('a[href="#/policies/sales-hourly"]');
  await page.waitForSelector('pre.yaml');
  const yaml = await page.textContent('pre.yaml');
  assert.match(yaml, /kind: Policy/);
  assert.match(yaml, /name: sales-hourly/);
  assert.match(yaml, /bandwidth: 3MiB\/s/);
  await checkAccessibility(page, 'a policy');
  await shot(page, '13-policy');

  // The timeline, with the points of the whole session, for the record.
  await go(page, '#/services/sales', 'svg.timeline .pt');
  await page.click('#zoom-button');
  await page.click('#points button.link');
  await page.waitForSelector('#point-detail');
  await checkAccessibility(page, 'the service page (admin)');
  await shot(page, '14-service-admin');
  // What a laptop screen shows of it (docs/console.png is one of these).
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({path: path.join(SHOTS, '15-service-screen.png')});
  await page.context().close();
});

test('signing out forgets the token; no token reached the server log', async () => {
  const page = await signIn('operator');
  await page.click('#signout');
  await page.waitForSelector('form.signin');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lifeboat.token')), null);
  await page.reload();
  await page.waitForSelector('form.signin');
  await page.context().close();
  assertNoTokenIn(fs.readFileSync(env('CONSOLE_DAEMON_LOG'), 'utf8'), 'the daemon log');
});

test('no page broke its content security policy or threw', () => {
  assert.deepEqual(problems, []);
});
