// The real Berth for browser tests: runs berth-env.sh (test-lib.sh's
// start_berth + a git daemon with the guestbook example), and talks to it
// and to the API server and kube-sim directly for set-up.
import {spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import https from 'node:https';
import {createInterface} from 'node:readline';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

// Starts Berth. Resolves {skip: reason} when the daemons are not there yet,
// else an object with env, command(), api(), kubeCreate(), stop().
export async function startBerth({timeoutMs = 120000} = {}) {
  const child = spawn('bash', [join(HERE, 'berth-env.sh')], {stdio: ['pipe', 'pipe', 'pipe'], env: process.env});
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-8000); });
  const lines = createInterface({input: child.stdout});
  const waiting = [];
  const queue = [];
  lines.on('line', (l) => { const w = waiting.shift(); if (w) w(l); else queue.push(l); });
  lines.on('close', () => { while (waiting.length) waiting.shift()(null); });
  const next = (ms) => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    const t = setTimeout(() => reject(new Error(`berth-env.sh: no answer in ${ms} ms; stderr: ${stderr}`)), ms);
    waiting.push((l) => { clearTimeout(t); resolve(l); });
  });
  const env = {};
  for (;;) {
    const l = await next(timeoutMs);
    if (l === null) throw new Error(`berth-env.sh ended early: ${stderr}`);
    if (l.startsWith('skip ')) { child.stdin.end(); return {skip: l.slice(5)}; }
    if (l.startsWith('fail ')) { child.stdin.end(); throw new Error(`${l}\n${stderr}`); }
    if (l.startsWith('env ')) { const i = l.indexOf('='); env[l.slice(4, i)] = l.slice(i + 1); }
    if (l === 'ready') break;
  }
  const kubeconfig = readFileSync(env.BERTH_KUBECONFIG, 'utf8');
  const ca = /certificate-authority-data:\s*(\S+)/.exec(kubeconfig);
  const agent = new https.Agent({keepAlive: true, maxSockets: 8, ca: ca ? Buffer.from(ca[1], 'base64') : undefined});

  let token = null;
  const berth = {
    env,
    async command(line, ms = 60000) {
      child.stdin.write(`${line}\n`);
      const l = await next(ms);
      if (l !== 'done 0') throw new Error(`berth-env.sh ${line}: ${l}; stderr: ${stderr}`);
    },
    async api(method, path, body) {
      if (!token && path !== '/api/v1/session') {
        token = (await berth.api('POST', '/api/v1/session', {username: 'admin', password: env.BERTH_ADMIN_PASSWORD})).token;
      }
      const res = await fetch(env.BERTH_SERVER + path, {method,
        headers: {'Content-Type': 'application/json', ...(token ? {Authorization: `Bearer ${token}`} : {})},
        body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30000)});
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    // POST an object straight to kube-sim (path like /apis/g/v/namespaces/ns/things).
    kubeCreate(path, obj) {
      const u = new URL(env.KUBE_SIM_URL + path);
      const data = JSON.stringify(obj);
      return new Promise((resolve, reject) => {
        const req = https.request({host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, timeout: 30000,
          headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), Authorization: `Bearer ${env.KUBE_SIM_TOKEN}`}},
        (res) => {
          let b = '';
          res.on('data', (c) => { b += c; });
          res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`kube-sim ${res.statusCode}: ${b}`))));
        });
        req.on('timeout', () => req.destroy(new Error('kube-sim: timeout')));
        req.on('error', reject);
        req.end(data);
      });
    },
    async stop() {
      child.stdin.end();
      agent.destroy();
      await new Promise((r) => { if (child.exitCode !== null) r(); else child.on('exit', r); });
    },
    logs: () => stderr,
  };
  return berth;
}

// Polls fn until it returns a truthy value or ms pass.
export async function until(desc, ms, fn) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { const v = await fn(); if (v) return v; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${desc}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
