// A stand-in API server for the dashboard's own browser tests: serves
// ui-static/ with the real server's security headers (CSP default-src
// 'self') and answers the REST and SSE calls of DESIGN.md §9 from memory,
// recording every state-changing request so tests can assert what the UI
// sent. It is not Berth: the end-to-end tests use the real daemons.
import http from 'node:http';
import {readFile} from 'node:fs/promises';
import {join, normalize, extname} from 'node:path';
import {randomBytes} from 'node:crypto';
import {UI_STATIC} from './browser.mjs';

const MIME = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.json': 'application/json'};

export function makeApp(name, o = {}) {
  return {
    apiVersion: 'berth.dev/v1alpha1', kind: 'Application',
    metadata: {name, namespace: 'berth', labels: o.labels || {}, annotations: o.annotations || {}},
    spec: {
      project: o.project || 'default',
      source: {repoURL: o.repoURL || 'https://git.example/apps.git', path: o.path || name, targetRevision: 'HEAD'},
      destination: {server: o.server || 'https://kubernetes.default.svc', namespace: o.namespace || 'default'},
      syncPolicy: o.syncPolicy,
    },
    status: {
      sync: {status: o.sync || 'Synced', revision: 'a'.repeat(40)},
      health: {status: o.health || 'Healthy'},
      resources: o.resources || [],
      history: o.history || [],
      operationState: o.operationState,
      conditions: o.conditions || [],
    },
  };
}

// pageDelayMs: added to every list page after the first (a slow server's
// later pages must not hold up the first screen).
export async function startFakeApi({apps = [], trees = {}, managed = {}, oidc = null, users = {admin: 'secret'}, pageDelayMs = 0} = {}) {
  const state = {apps: new Map(apps.map((a) => [a.metadata.name, a])), tokens: new Set(), requests: [], clients: new Set(), seq: 0};
  const json = (res, code, body) => { res.writeHead(code, {'Content-Type': 'application/json'}); res.end(JSON.stringify(body)); };
  const authed = (req) => {
    const m = /(?:^|;\s*)berth\.token=([^;]+)/.exec(req.headers.cookie || '');
    return m && state.tokens.has(m[1]);
  };
  const readBody = (req) => new Promise((resolve) => {
    let b = '';
    req.on('data', (c) => { b += c; });
    req.on('end', () => { try { resolve(b ? JSON.parse(b) : null); } catch { resolve(null); } });
  });
  const emit = (type, app) => {
    const frame = `id: ${++state.seq}\ndata: ${JSON.stringify({result: {type, application: app}})}\n\n`;
    for (const c of state.clients) c.write(frame);
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    const method = req.method;
    try {
      if (p.startsWith('/api/')) {
        if (method !== 'GET' && method !== 'DELETE' && !(req.headers['content-type'] || '').startsWith('application/json')) {
          return json(res, 415, {error: 'content type must be application/json', code: 415});
        }
        if (p === '/api/v1/settings') return json(res, 200, {url: '', localLoginEnabled: true, ...(oidc ? {oidcConfig: oidc} : {})});
        if (p === '/api/v1/session' && method === 'POST') {
          const b = await readBody(req);
          if (!b || users[b.username] !== b.password) return json(res, 401, {error: 'invalid username or password', code: 401});
          const t = randomBytes(16).toString('hex');
          state.tokens.add(t);
          res.setHeader('Set-Cookie', `berth.token=${t}; Path=/; HttpOnly; SameSite=Strict`);
          return json(res, 200, {token: t});
        }
        if (p === '/api/v1/session/userinfo' && !authed(req)) return json(res, 200, {loggedIn: false});
        if (!authed(req)) return json(res, 401, {error: 'unauthenticated', code: 401});
        const body = method === 'POST' || method === 'PUT' ? await readBody(req) : null;
        if (method !== 'GET' || url.searchParams.has('refresh')) state.requests.push({method, path: p + url.search, body});
        if (p === '/api/v1/session' && method === 'DELETE') {
          state.tokens.clear();
          res.setHeader('Set-Cookie', 'berth.token=; Path=/; Max-Age=0');
          return json(res, 200, {});
        }
        if (p === '/api/v1/session/userinfo') return json(res, 200, {loggedIn: true, username: 'admin', iss: 'berth'});
        if (p === '/api/v1/applications') {
          // Name order; the continue token is the last name of the page before.
          const cont = url.searchParams.get('continue') || '';
          if (cont && pageDelayMs) await new Promise((r) => setTimeout(r, pageDelayMs));
          // Sorted once per change, as a server's cache would keep it (the
          // 10k test measures the page, not this stand-in).
          state.sorted = state.sorted || [...state.apps.values()].sort((x, y) => (x.metadata.name < y.metadata.name ? -1 : 1));
          const from = cont ? state.sorted.findIndex((a) => a.metadata.name > cont) : 0;
          const all = from < 0 ? [] : state.sorted.slice(from);
          (state.listQueries = state.listQueries || []).push(url.search);
          const limit = Number(url.searchParams.get('limit')) || all.length;
          const items = all.slice(0, limit);
          const more = items.length < all.length;
          return json(res, 200, {items, metadata: more ? {continue: items[items.length - 1].metadata.name, remainingItemCount: all.length - items.length} : {}});
        }
        if (p === '/api/v1/stream/applications') {
          res.writeHead(200, {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'});
          res.write(': hello\n\n');
          state.clients.add(res);
          req.on('close', () => state.clients.delete(res));
          return;
        }
        let m = p.match(/^\/api\/v1\/applications\/([^/]+)(\/.*)?$/);
        if (m) {
          const name = decodeURIComponent(m[1]);
          const app = state.apps.get(name);
          if (!app) return json(res, 404, {error: 'not found', code: 404});
          const sub = m[2] || '';
          if (sub === '' && method === 'GET') return json(res, 200, app);
          if (sub === '' && method === 'DELETE') { state.apps.delete(name); state.sorted = null; emit('DELETED', app); return json(res, 200, {}); }
          if (sub === '/resource-tree') return json(res, 200, trees[name] || {nodes: []});
          if (sub === '/managed-resources') return json(res, 200, managed[name] || {items: []});
          if (sub === '/manifests') return json(res, 200, {revision: 'a'.repeat(40), manifests: (managed[name]?.rendered || []).map((m) => JSON.stringify(m))});
          if (sub === '/sync' || sub === '/rollback') return json(res, 200, app);
          if (sub === '/operation') return json(res, 200, {});
        }
        m = p.match(/^\/api\/v1\/(repositories|clusters|projects)(?:\/(.+))?$/);
        if (m) {
          state.lists = state.lists || {repositories: [], clusters: [{name: 'in-cluster', server: 'https://kubernetes.default.svc'}], projects: [{metadata: {name: 'default'}, spec: {sourceRepos: ['*']}}]};
          const list = state.lists[m[1]];
          if (method === 'GET') return json(res, 200, {items: list});
          if (method === 'POST') { list.push(body); return json(res, 200, body); }
          if (method === 'DELETE') {
            const key = decodeURIComponent(m[2]);
            state.lists[m[1]] = list.filter((x) => (x.repo || x.server || x.metadata?.name) !== key);
            return json(res, 200, {});
          }
        }
        return json(res, 404, {error: 'not found', code: 404});
      }
      if (p === '/auth/login' && oidc) {
        // Stands in for the IdP round trip: issues a session and returns.
        const t = randomBytes(16).toString('hex');
        state.tokens.add(t);
        const ret = url.searchParams.get('return_url') || '/';
        res.writeHead(303, {'Set-Cookie': `berth.token=${t}; Path=/; HttpOnly; SameSite=Strict`, Location: /^\/(?![/\\])/.test(ret) ? ret : '/'});
        return res.end();
      }
      // static files, index.html for every other path (single-page app)
      let file = normalize(join(UI_STATIC, decodeURIComponent(p)));
      if (!file.startsWith(UI_STATIC) || !extname(file)) file = join(UI_STATIC, 'index.html');
      let data;
      try { data = await readFile(file); } catch { res.writeHead(404); return res.end('not found'); }
      res.writeHead(200, {'Content-Type': MIME[extname(file)] || 'application/octet-stream',
        'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'", 'X-Content-Type-Options': 'nosniff'});
      res.end(data);
    } catch (e) {
      json(res, 500, {error: String(e), code: 500});
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url, state, trees, managed,
    set(app) { const t = state.apps.has(app.metadata.name) ? 'MODIFIED' : 'ADDED'; state.apps.set(app.metadata.name, app); state.sorted = null; emit(t, app); },
    expireSessions() { state.tokens.clear(); },
    close: () => new Promise((r) => { for (const c of state.clients) c.destroy(); server.closeAllConnections?.(); server.close(r); }),
  };
}
