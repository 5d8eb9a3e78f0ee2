// The dashboard end to end: Debian's chromium (headless) against the real
// daemons on kube-sim (lib/berth-env.sh, built on test-lib.sh's
// start_berth), with the guestbook example served by a git daemon and the
// real OpenID Provider (test/oidc/provider.mjs). Nothing here skips unless
// BERTH_SKIP_BROWSER=1 asks: a missing browser or daemon is a failure.
import {test, before, after, afterEach} from 'node:test';
import assert from 'node:assert/strict';
import {browserSkip, launch, newPage, screenshot} from './lib/browser.mjs';
import {startBerth, until} from './lib/berth.mjs';

const skip = await browserSkip();
let berth = null, b = null;

before(async () => {
  if (skip) return;
  berth = await startBerth();
  // Every daemon is on main: a helper that cannot start them is a failure.
  if (berth.skip) throw new Error(`the real daemons cannot start: ${berth.skip}`);
  await berth.api('POST', '/api/v1/applications', {
    apiVersion: 'berth.dev/v1alpha1', kind: 'Application', metadata: {name: 'guestbook', labels: {team: 'web'}},
    spec: {project: 'default', source: {repoURL: berth.env.GUESTBOOK_REPO, path: '.', targetRevision: 'HEAD'},
      destination: {server: 'https://kubernetes.default.svc', namespace: 'guestbook'}},
  });
  b = await launch();
});
after(async () => { await b?.close(); await berth?.stop(); });
afterEach(async () => { for (const p of b?.context.pages() || []) await p.close().catch(() => {}); });

// Each test skips only when asked to (BERTH_SKIP_BROWSER=1).
function needsBerth(t) {
  if (skip) { t.skip(skip); return false; }
  return true;
}

async function login(page, path = '/applications') {
  await b.context.clearCookies();
  await page.goto(berth.env.BERTH_SERVER + path);
  await page.waitForURL(/\/login/);
  await page.fill('#username', 'admin');
  await page.fill('#password', berth.env.BERTH_ADMIN_PASSWORD);
  await page.click('button[type=submit]');
}

const app = () => berth.api('GET', '/api/v1/applications/guestbook');

test('log in locally and Sync guestbook to Synced and Healthy', async (t) => {
  if (!needsBerth(t)) return;
  const page = await newPage(b);
  await login(page, '/applications/guestbook');
  await page.waitForSelector('#app-title:has-text("guestbook")');
  await screenshot(page, 'e2e-application-before-sync');
  await page.click('#btn-sync');
  await page.click('#sync-go');
  await page.waitForSelector('#app-status [data-status="Synced"]', {timeout: 90000});
  await page.waitForSelector('#app-status [data-status="Healthy"]', {timeout: 90000});
  await page.waitForSelector('svg.tree .node[data-kind="Deployment"]', {timeout: 30000});
  await screenshot(page, 'e2e-application');
});

test('the tree shows the Deployment\'s own ReplicaSet and Pods', async (t) => {
  if (!needsBerth(t)) return;
  const nodes = async () => (await berth.api('GET', '/api/v1/applications/guestbook/resource-tree')).nodes || [];
  const k = await until('owned ReplicaSet and Pods in the resource tree', 60000, async () => {
    const s = new Set((await nodes()).map((n) => n.kind));
    return s.has('ReplicaSet') && s.has('Pod') && s;
  });
  const page = await newPage(b);
  await login(page, '/applications/guestbook');
  for (const kind of k) await page.waitForSelector(`svg.tree .node[data-kind="${kind}"]`);
  // Each owned object is drawn one column right of its owner (read from
  // the layout in one go: an event may redraw the tree at any moment).
  const columns = () => page.evaluate(() => Object.fromEntries(['Deployment', 'ReplicaSet', 'Pod'].map((k) => [k,
    Number(/translate\(([\d.]+)/.exec(document.querySelector(`svg.tree .node[data-kind="${k}"]`)?.getAttribute('transform') || '')?.[1])])));
  const c = await columns();
  assert.ok(c.Deployment < c.ReplicaSet && c.ReplicaSet < c.Pod, `Deployment → ReplicaSet → Pod (columns ${JSON.stringify(c)}, tree: ${JSON.stringify(await nodes())})`);
  await screenshot(page, 'e2e-tree');
});

test('a change pushed to Git arrives as OutOfSync without a reload', async (t) => {
  if (!needsBerth(t)) return;
  const page = await newPage(b);
  await login(page);
  await page.waitForSelector('[data-app="guestbook"] [data-status="Synced"]');
  await page.evaluate(() => { window.__noReload = true; });
  await berth.command('commit sed -i "s/replicas: 1/replicas: 2/" guestbook-ui-deployment.yaml');
  // What a Git webhook does: ask for a refresh (from outside the page).
  await berth.api('GET', '/api/v1/applications/guestbook?refresh=hard');
  await page.waitForSelector('[data-app="guestbook"] [data-status="OutOfSync"]', {timeout: 90000});
  assert.equal(await page.evaluate(() => window.__noReload), true);
  await screenshot(page, 'e2e-out-of-sync');
  // The resource panel shows what Git now wants.
  await page.click('[data-app="guestbook"] a.app-name');
  await page.click('svg.tree .node[data-kind="Deployment"]');
  await page.click('#ptab-desired');
  assert.match(await page.innerText('#desired-manifest'), /replicas: 2/);
  await screenshot(page, 'e2e-resource-panel');
  // And what runs: the live object (managed-resources liveState), still at 1.
  await page.click('#ptab-live');
  const live = await page.innerText('#live-manifest');
  assert.match(live, /replicas: 1/);
  assert.match(live, /uid: /);
  await screenshot(page, 'e2e-live-manifest');
});

test('the diff of the changed Deployment shows the new replica count', async (t) => {
  if (!needsBerth(t)) return;
  const page = await newPage(b);
  await login(page, '/applications/guestbook');
  await page.click('svg.tree .node[data-kind="Deployment"]');
  await page.waitForSelector('#diff');
  // Side by side: the live count on the left, Git's on the right, one changed row.
  const row = page.locator('#diff tr.d-chg', {hasText: 'replicas: 2'}).first();
  assert.match(await row.locator('td.l').innerText(), /replicas: 1/);
  assert.match(await row.locator('td.r').innerText(), /replicas: 2/);
  await screenshot(page, 'e2e-diff');
});

test('Sync with prune removes what Git dropped and ends Synced', async (t) => {
  if (!needsBerth(t)) return;
  await berth.command('commit git rm -q guestbook-ui-svc.yaml');
  await berth.api('GET', '/api/v1/applications/guestbook?refresh=hard');
  await until('the Service to need pruning', 90000, async () =>
    ((await app()).status?.resources || []).some((r) => r.kind === 'Service' && r.requiresPruning));
  const page = await newPage(b);
  await login(page, '/applications/guestbook');
  await page.click('#btn-sync');
  await page.check('#sync-prune');
  await page.click('#sync-go');
  await page.waitForSelector('#app-status [data-status="Synced"]', {timeout: 90000});
  await until('the Service to be gone from the tree', 30000, async () =>
    (await page.locator('svg.tree .node[data-kind="Service"]').count()) === 0);
  await screenshot(page, 'e2e-pruned');
});

test('roll back to the first deployment from History', async (t) => {
  if (!needsBerth(t)) return;
  const first = (await until('a sync in the history', 30000, async () => (await app()).status?.history?.[0]));
  const page = await newPage(b);
  await login(page, '/applications/guestbook?tab=history');
  await page.click(`button.rollback[data-id="${first.id}"]`);
  await page.click('#rollback-go');
  await until('a rollback to the first revision', 90000, async () => {
    const a = await app();
    const h = a.status?.history || [];
    return h.length > 2 && h[h.length - 1].revision === first.revision && a.status?.operationState?.phase === 'Succeeded';
  });
  await page.waitForSelector(`#last-sync:has-text("${first.revision.slice(0, 7)}")`, {timeout: 30000});
  await screenshot(page, 'e2e-rollback');
});

test('filter and search the list; javascript: and <script> stay inert', async (t) => {
  if (!needsBerth(t)) return;
  await berth.kubeCreate('/apis/berth.dev/v1alpha1/namespaces/berth/applications', {
    apiVersion: 'berth.dev/v1alpha1', kind: 'Application',
    metadata: {name: 'evil', annotations: {'link.argocd.argoproj.io/x': 'javascript:window.__xss=1', note: '<script>window.__xss=2</script>'}},
    spec: {project: 'default', source: {repoURL: 'javascript:window.__xss=3', path: '<script>window.__xss=4</script>', targetRevision: 'HEAD'},
      destination: {server: 'https://kubernetes.default.svc', namespace: 'evil'}},
  });
  const page = await newPage(b);
  await login(page);
  await page.waitForSelector('[data-app="evil"]');
  assert.match(await page.innerText('[data-app="evil"]'), /javascript:window\.__xss=3/);
  await page.fill('#search', 'guest');
  await page.waitForFunction(() => document.querySelectorAll('[data-app]').length === 1);
  await page.fill('#search', '');
  await page.fill('#filter-label', 'team=web');
  await page.waitForFunction(() => document.querySelectorAll('[data-app]').length === 1);
  await page.click('#clear-filters');
  await page.click('[data-app="evil"] a.app-name');
  await page.click('#tab-summary');
  assert.match(await page.innerText('.tab-content'), /<script>window.__xss=2<\/script>/);
  const hrefs = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href') || ''));
  assert.ok(hrefs.every((h) => !/^\s*javascript:/i.test(h)));
  assert.equal(await page.evaluate(() => window.__xss), undefined);
});

test('Delete asks for the app name typed, then the app is gone from the list', async (t) => {
  if (!needsBerth(t)) return;
  const page = await newPage(b);
  await login(page, '/applications/evil');
  await page.waitForSelector('#app-title:has-text("evil")');
  await page.click('#btn-delete');
  assert.equal(await page.isDisabled('#delete-go'), true);
  await page.fill('#delete-confirm', 'evi');
  assert.equal(await page.isDisabled('#delete-go'), true);
  await page.fill('#delete-confirm', 'evil');
  await page.click('#delete-go');
  await page.waitForURL(/\/applications$/);
  await page.waitForSelector('[data-app="guestbook"]');
  await until('evil to be gone', 30000, async () => (await page.locator('[data-app="evil"]').count()) === 0);
  await until('the API server to forget evil', 30000, async () => {
    try { await berth.api('GET', '/api/v1/applications/evil'); return false; } catch (e) { return /404/.test(e.message); }
  });
});

test('settings: add and remove a repository, a cluster and a project on the real API server', async (t) => {
  if (!needsBerth(t)) return;
  const page = await newPage(b);
  page.on('dialog', (d) => d.accept());
  await login(page, '/settings');
  await page.waitForSelector('#settings-projects:has-text("default")');
  await page.fill('#repositories-repo', 'https://git.example/settings-e2e.git');
  await page.fill('#repositories-username', 'bob');
  await page.fill('#repositories-password', 'pa55-settings-e2e');
  await page.click('#repositories-form button[type=submit]');
  await page.waitForSelector('#repositories-list:has-text("git.example/settings-e2e.git")');
  await page.fill('#clusters-name', 'far-away');
  await page.fill('#clusters-server', 'https://far-away.example:6443');
  await page.fill('#clusters-bearerToken', 'tok-settings-e2e');
  await page.click('#clusters-form button[type=submit]');
  await page.waitForSelector('#clusters-list:has-text("far-away.example")');
  await page.fill('#projects-name', 'team-e2e');
  await page.click('#projects-form button[type=submit]');
  await page.waitForSelector('#projects-list:has-text("team-e2e")');
  // Stored in the cluster, where the daemons read them.
  assert.ok((await berth.api('GET', '/api/v1/repositories')).items.some((r) => r.repo === 'https://git.example/settings-e2e.git'));
  assert.ok((await berth.api('GET', '/api/v1/projects')).items.some((p) => p.metadata?.name === 'team-e2e'));
  const html = await page.content();
  assert.ok(!html.includes('pa55-settings-e2e') && !html.includes('tok-settings-e2e'), 'credentials never come back to the page');
  await screenshot(page, 'e2e-settings');
  await page.click('button[aria-label="Remove https://git.example/settings-e2e.git"]');
  await page.click('button[aria-label="Remove https://far-away.example:6443"]');
  await page.click('button[aria-label="Remove team-e2e"]');
  await page.waitForSelector('#projects-list:not(:has-text("team-e2e"))');
  await page.waitForSelector('#clusters-list:not(:has-text("far-away.example"))');
  await page.waitForSelector('#repositories-list:not(:has-text("settings-e2e"))');
  assert.ok(!(await berth.api('GET', '/api/v1/repositories')).items.some((r) => r.repo === 'https://git.example/settings-e2e.git'));
});

test('SSO login through the real oidc-provider returns to the page asked for', async (t) => {
  if (!needsBerth(t)) return;
  await import('oidc-provider'); // test/package.json; scripts/install-deps installs it
  await berth.command('oidc');
  const res = await fetch(`${berth.env.BERTH_SERVER}/auth/login?return_url=%2F`, {redirect: 'manual'});
  assert.equal(res.status, 303, 'the API server sends the browser to the OpenID Provider');
  await b.context.clearCookies();
  const page = await newPage(b);
  await page.goto(`${berth.env.BERTH_SERVER}/settings`);
  await page.waitForSelector('#sso-login:has-text("Log in via Test IdP")');
  await screenshot(page, 'e2e-login-sso');
  await page.click('#sso-login');
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', 'alice');
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  await page.waitForSelector('button[type=submit]:has-text("Continue"), button[type=submit]');
  if (!page.url().startsWith(berth.env.BERTH_SERVER)) await page.click('button[type=submit]');
  await page.waitForURL(`${berth.env.BERTH_SERVER}/settings`);
  await page.waitForSelector('#user-name:not(:empty)');
  assert.equal(await page.innerText('#user-name'), 'alice');
  // The provider's groups claim came through; nothing claims a local issuer.
  const info = await page.innerText('#user-info');
  assert.match(info, /berth-devs/);
  assert.doesNotMatch(info, /\blocal\b/);
  await screenshot(page, 'e2e-settings-sso');
});

test('the real server sends CSP default-src self, and no page broke it or threw', async (t) => {
  if (!needsBerth(t)) return;
  const res = await fetch(`${berth.env.BERTH_SERVER}/applications`);
  assert.match(res.headers.get('content-security-policy') || '', /default-src 'self'/);
  assert.match(await res.text(), /<script type="module" src="\/js\/main.js">/);
  const bad = b.errors.filter((e) => /Refused|pageerror/.test(e));
  assert.deepEqual(bad, []);
});

// How many apps the API server lists: its remainingItemCount when it gives
// one, else counted page by page (at most every second).
let lastCount = 0;
async function listed() {
  if (Date.now() - lastCount < 1000) return 0;
  const first = await berth.api('GET', '/api/v1/applications?limit=1');
  let n = (first.items || []).length;
  if (typeof first.metadata?.remainingItemCount === 'number') return n + first.metadata.remainingItemCount;
  for (let cont = first.metadata?.continue; cont;) {
    const page = await berth.api('GET', `/api/v1/applications?limit=2000&continue=${encodeURIComponent(cont)}`);
    n += (page.items || []).length;
    cont = page.metadata?.continue !== cont ? page.metadata?.continue : null;
  }
  lastCount = Date.now();
  return n;
}

// The first screen needs only the first page of the list (100 apps); the
// rest arrives page by page after it is drawn.
test('10,000 apps created in kube-sim: first screen within 1 s', async (t) => {
  if (!needsBerth(t)) return;
  // The controller would reconcile them all; this measures the dashboard.
  await berth.command('stop app-controller');
  const N = 10000;
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      await berth.kubeCreate('/apis/berth.dev/v1alpha1/namespaces/berth/applications', {
        apiVersion: 'berth.dev/v1alpha1', kind: 'Application', metadata: {name: `load-${String(i).padStart(5, '0')}`},
        spec: {project: 'default', source: {repoURL: 'https://git.example/load.git', path: `a${i}`, targetRevision: 'HEAD'},
          destination: {server: 'https://kubernetes.default.svc', namespace: `ns${i % 50}`}},
      });
    }
  };
  await Promise.all(Array.from({length: 8}, worker));
  // Measure a server at rest: it has taken in all 10,000 (from its watch).
  await until('the API server to list every app', 120000, async () => (await listed()) >= N);
  const page = await newPage(b);
  await login(page);
  await page.waitForSelector('[data-app="guestbook"]');
  await page.reload();
  await page.waitForSelector('[data-app]');
  const ms = await page.evaluate(() => performance.getEntriesByName('berth:apps-first-screen')[0]?.startTime);
  await page.waitForFunction((n) => /^\d+ of (\d+)$/.exec(document.querySelector('#app-count')?.textContent || '')?.[1] >= n, N, {timeout: 60000});
  t.diagnostic(`first screen after ${Math.round(ms)} ms`);
  const timings = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/')).map((e) => [e.name.replace(/^.*\/api/, '/api'), Math.round(e.startTime), Math.round(e.duration)]));
  t.diagnostic(JSON.stringify(timings));
  // The event stream stays open with 10k apps (the dashboard resumes it
  // from the list's version, no snapshot) and delivers a live change: an
  // app created now raises the count without a reload.
  await page.waitForSelector('#live-state[data-state=open]', {timeout: 15000});
  const total = () => page.evaluate(() => Number(/^\d+ of (\d+)$/.exec(document.querySelector('#app-count')?.textContent || '')?.[1] || 0));
  const before = await total();
  await berth.kubeCreate('/apis/berth.dev/v1alpha1/namespaces/berth/applications', {
    apiVersion: 'berth.dev/v1alpha1', kind: 'Application', metadata: {name: 'load-live'},
    spec: {project: 'default', source: {repoURL: 'https://git.example/load.git', path: 'live', targetRevision: 'HEAD'},
      destination: {server: 'https://kubernetes.default.svc', namespace: 'live'}},
  });
  await page.waitForFunction((n) => Number(/^\d+ of (\d+)$/.exec(document.querySelector('#app-count')?.textContent || '')?.[1] || 0) === n,
    before + 1, {timeout: 20000});
  assert.equal(await page.getAttribute('#live-state', 'data-state'), 'open', `event stream with ${N} apps stays open`);
  const lists = timings.filter(([n]) => /^\/api\/v1\/applications(\?|$)/.test(n));
  assert.ok(lists.length > 1 && lists.every(([n]) => /[?&]limit=\d+/.test(n)), `the list is read page by page: ${JSON.stringify(lists)}`);
  assert.ok(ms < 1000, `first screen took ${Math.round(ms)} ms (first requests [path, start, duration]: ${JSON.stringify(timings.slice(0, 3))})`);
  await screenshot(page, 'e2e-10k');
});
