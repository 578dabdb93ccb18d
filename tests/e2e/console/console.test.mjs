// The web console in headless Chromium against a running lifeboatd (started by
// ../console_test.sh, which passes where everything is in CONSOLE_* variables):
//   sign-in (a wrong token is refused; the token stays out of URLs and logs), a viewer sees a
//   breached RPO in red, roles, epoch, cluster health and last jobs, opens timeline points
//   (members, cut intervals, digests) and sees no button to act, an operator watches a
//   backup's progress move without a reload and filters the job history, an admin restores
//   after a dry run and fails the service over and back with the typed confirmation (the
//   switch job's page shows its log and events), events and audit filter, policies show as
//   YAML; axe-core
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
  // Amber between: no service of this run is near its RPO, so the page's own judgement is
  // asked (amber from 80 % of the RPO used, red once breached or without a point).
  const levels = await page.evaluate(async () => {
    const {rpoJudgement} = await import('/console/ui.js');
    return [[50, false], [79, false], [80, false], [99, false], [101, true]].map(([age, breached]) =>
      rpoJudgement({rpo_seconds: 100, age_seconds: age, rpo_breached: breached, newest_point: 'rp'}).level);
  });
  assert.deepEqual(levels, ['green', 'green', 'amber', 'amber', 'red']);
  assert.equal(await page.isHidden('nav li[data-min-role="admin"]'), true, 'a viewer is shown the audit');
  // Each service's primary and secondary with their health, its epoch and its last job; every
  // cluster's health below (the daemon checks the clusters when it starts, then every 5 s).
  await page.waitForFunction(() => {
    const badges = [...document.querySelectorAll('#services .cluster .badge, #clusters tbody .badge')];
    return badges.length >= 6 && badges.every((b) => b.textContent === 'healthy');
  });
  const cells = (svc) => page.locator(`#services tr[data-service="${svc}"] td`).allTextContents();
  const {body: history} = await api('viewer', 'GET', '/v1/jobs');
  const lastOfSales = history.jobs.filter((j) => j.service === 'sales').pop();
  const [, , , salesPrimary, salesSecondary, salesEpoch, salesLast] = await cells('sales');
  assert.equal(salesPrimary, 'a healthy');
  assert.equal(salesSecondary, 'b healthy');
  assert.equal(salesEpoch, '1');
  assert.ok(salesLast.startsWith(`${lastOfSales.id} backup succeeded`), `the last job of sales: ${salesLast}`);
  assert.equal((await cells('logs'))[6], 'none', 'logs never ran a job');
  assert.deepEqual((await page.locator('#clusters tbody td:first-child').allTextContents()).sort(), ['a', 'b']);
  await checkAccessibility(page, 'the services page');
  await shot(page, '02-services');

  // The token: in this tab's session storage, in no URL.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lifeboat.token')), token('viewer'));
  assertNoTokenIn(page.url(), 'the URL');

  await go(page, '#/services/sales', '#roles');
  await page.waitForSelector('svg.timeline .pt');
  // The timeline's points are buttons: one chosen with the keyboard, another with the mouse;
  // each opens its members, their cut intervals around T and their manifest digests.
  const {body: listed} = await api('viewer', 'GET', '/v1/services/sales/points');
  const dots = page.locator('svg.timeline .pt');
  assert.equal(await dots.count(), listed.restore_points.length, 'the timeline does not draw every point');
  for (const [i, how] of [[0, 'keyboard'], [1, 'mouse']]) {
    const id = await dots.nth(i).getAttribute('data-point');
    if (how === 'keyboard') {
      await dots.nth(i).focus();
      await page.keyboard.press('Enter');
    } else {
      await dots.nth(i).dispatchEvent('click');
    }
    await page.waitForFunction((pid) => {
      const title = document.querySelector('#point-detail #point-title code');
      return title && title.textContent === pid;
    }, id);
    const member = page.locator('#point-detail table tbody tr');
    assert.equal(await member.count(), 1, `point ${id} (${how}): one member`);
    const [dataSet, cutStart, cutEnd] = await member.locator('td').allTextContents();
    assert.equal(dataSet, 'localfs:/sales');
    assert.match(cutStart, /^-?\d+\.\d\d ms$/);
    assert.match(cutEnd, /^-?\d+\.\d\d ms$/);
    assert.match(await member.locator('code.digest').textContent(), /^[0-9a-f]{32,}$/, `point ${id}: no digest`);
    assert.equal(await page.locator('#point-detail svg.cuts .cut-bar').count(), 1, `point ${id}: no cut interval`);
  }
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
    window.linesSeen = [];
    const record = () => {
      const bar = document.querySelector('#job-progress progress');
      const v = bar && Number(bar.dataset.bytesDone);
      if (v > 0 && v !== window.progressSeen[window.progressSeen.length - 1]) window.progressSeen.push(v);
      const line = document.querySelector('#job-progress .progress-line');
      if (line && line.textContent !== window.linesSeen[window.linesSeen.length - 1]) window.linesSeen.push(line.textContent);
    };
    new MutationObserver(record).observe(document.body,
      {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-bytes-done']});
  });
  await page.getByRole('button', {name: 'Back up now (sales-hourly)'}).click();
  await page.waitForFunction(() => location.hash.startsWith('#/jobs/job-'));
  const jobId = decodeURIComponent(page.url().split('#/jobs/')[1]);
  await page.waitForFunction(() => window.progressSeen.length >= 2 || /succeeded|failed/.test(
    document.querySelector('.title-row') ? document.querySelector('.title-row').textContent : ''));
  await shot(page, '04-job-running');
  await checkAccessibility(page, 'a running job');
  // The jobs page lists it as running, with the same live progress.
  await go(page, '#/jobs', '#history table');
  await shot(page, '05-jobs');
  await checkAccessibility(page, 'the jobs page');
  // The history's filters: by kind, by state, by text (the job's id).
  const historyKinds = () => page.locator('#history tbody tr td:nth-child(2)').allTextContents();
  await page.selectOption('#filter-kind', 'JOB_BACKUP');
  await page.waitForFunction(() => /^\d+ of \d+ jobs$/.test(document.querySelector('#history-count').textContent));
  const backups = await historyKinds();
  assert.ok(backups.length >= 3 && backups.every((k) => k === 'backup'), `kind backup: ${backups}`);
  await page.selectOption('#filter-kind', 'JOB_RESTORE');
  await page.waitForFunction(() => /^0 of /.test(document.querySelector('#history-count').textContent));
  await page.selectOption('#filter-kind', '');
  await page.fill('#filter-text', jobId);
  await page.waitForFunction(() => /^1 of /.test(document.querySelector('#history-count').textContent));
  assert.equal(await page.textContent('#history tbody tr td:first-child'), jobId);
  await go(page, `#/jobs/${jobId}`, '#job-actions');
  await page.waitForSelector('.title-row .badge-green', {timeout: 300000});
  assert.equal(await page.textContent('.title-row .badge-green'), 'succeeded');

  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was reloaded');
  // The bar moved forward while the job ran, in this one page.
  const seen = await page.evaluate(() => window.progressSeen);
  assert.ok(seen.length >= 2, `the progress bar showed ${seen.length} value(s) while the job ran: ${seen}`);
  assert.ok(seen[seen.length - 1] > seen[0], `the progress bar did not move forward: ${seen}`);
  // And the line under it said the phase, bytes, items, a rate and the time left, all numbers.
  const lines = await page.evaluate(() => window.linesSeen);
  const full = /^phase transfer · [\d.]+ (B|KiB|MiB) of [\d.]+ MiB · \d+ of \d+ items · [\d.]+ (B|KiB|MiB)\/s · ETA \d+ (s|min)$/;
  assert.ok(lines.some((l) => full.test(l)), `no progress line with phase, bytes, items, rate and ETA: ${lines.join(' | ')}`);
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

  // A file the point does not hold, now in that destination: the dry run is refused naming
  // it (nothing can be confirmed), ticking "Replace what is there" is the consent (a new dry
  // run is needed), and the restore then replaces it.
  const notes = path.join(WORK, 'b', 'restored', 'sales', 'my-notes.txt');
  fs.writeFileSync(notes, 'not Lifeboat\'s\n');
  await go(page, `#/services/sales?point=${first.id}`, '#restore-button');
  await page.click('#restore-button');
  await page.waitForSelector('dialog[open] #restore-destination');
  await page.fill('#restore-destination', '/restored');
  await page.fill('#confirm-name', 'sales');
  await page.click('#restore-dry-run');
  await page.waitForFunction(() => /my-notes\.txt/.test(document.querySelector('#dry-run-status').textContent));
  assert.equal(await page.isDisabled('#confirm-button'), true, 'a refused dry run let the restore through');
  await page.check('#restore-overwrite');
  assert.equal(await page.isDisabled('#confirm-button'), true, 'the refused dry run counts for overwrite');
  await page.click('#restore-dry-run');
  await page.waitForFunction(() => /nothing done/.test(document.querySelector('#dry-run-status').textContent));
  assert.ok(fs.existsSync(notes), 'the dry run deleted my-notes.txt');
  assert.equal(await page.isDisabled('#confirm-button'), false);
  await checkAccessibility(page, 'the restore dialog with overwrite');
  await page.click('#confirm-button');
  await page.waitForFunction(() => location.hash.startsWith('#/jobs/job-'));
  await page.waitForSelector('.title-row .badge-green');
  assert.equal(fs.existsSync(notes), false, 'the restore with overwrite left my-notes.txt');
  assert.deepEqual(restored('f2'), fs.readFileSync(path.join(WORK, 'a', 'sales', 'f2')));
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
  // Its age, as a duration, and when it was cut (the start of the writes left behind).
  assert.match(await page.textContent('#point-age'), /^\d+ (s|min)$/);
  assert.match(loss, /after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d — the last \d+ (s|min), and more until a's writers stop/);
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog', {state: 'detached'});

  await switchThroughTheDialog(page, 'failover', 'a', 'b');
  // The switch job's page shows its log (each step's outcome, as `lifeboat jobs logs` prints
  // it) and the events of the service while it ran: the failover's own.
  const switchJob = decodeURIComponent(page.url().split('#/jobs/')[1]);
  const {body: shown} = await api('viewer', 'GET', `/v1/jobs/${encodeURIComponent(switchJob)}`);
  assert.ok((shown.job.log || []).length > 0, `the failover job ${switchJob} has no log line to show`);
  await page.waitForFunction((lines) => {
    const log = document.querySelector('pre.log');
    return log && lines.every((l) => log.textContent.includes(l));
  }, shown.job.log);
  await page.waitForFunction(() => [...document.querySelectorAll('section[aria-labelledby="s-events-of-the-service-during-the-job"] tbody tr td:nth-child(3)')]
    .some((td) => td.textContent === 'failover'));
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
  assert.deepEqual((await page.locator('main tbody td:first-child').allTextContents()).sort(), ['logs-hourly', 'sales-hourly']);
  await checkAccessibility(page, 'the policies page');
  await shot(page, '13-policies');
  await page.click('a[href="#/policies/sales-hourly"]');
  await page.waitForSelector('pre.yaml');
  const yaml = await page.textContent('pre.yaml');
  assert.match(yaml, /kind: Policy/);
  assert.match(yaml, /name: sales-hourly/);
  assert.match(yaml, /bandwidth: 3MiB\/s/);
  await checkAccessibility(page, 'a policy');
  await shot(page, '13-policy-yaml');

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
