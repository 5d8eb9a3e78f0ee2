// Settings: repositories, clusters and projects (list, add, remove), who
// is signed in, and logout. Credentials typed here go to the API server
// only; lists never show them.
import {Api} from './api.js';
import {h, mount, extLink} from './dom.js';
import {navigate, toast, forgetUser} from './main.js';

const KINDS = {
  repositories: {
    title: 'Repositories', key: (r) => r.repo,
    cols: [['Repository', (r) => extLink(r.repo)], ['Type', (r) => r.type || 'git'], ['User', (r) => r.username || '—']],
    fields: [['repo', 'Repository URL', 'url', true], ['username', 'Username'], ['password', 'Password', 'password'], ['insecure', 'Skip TLS verification', 'checkbox']],
  },
  clusters: {
    title: 'Clusters', key: (c) => c.server,
    // The control-plane cluster is always there (DESIGN.md §3): nothing to remove.
    fixed: (c) => c.server === 'https://kubernetes.default.svc',
    cols: [['Name', (c) => c.name || '—'], ['Server', (c) => h('span', {class: 'mono'}, c.server)]],
    fields: [['name', 'Name', 'text', true], ['server', 'Server URL', 'url', true], ['bearerToken', 'Bearer token', 'password'], ['insecure', 'Skip TLS verification', 'checkbox']],
    body: (v) => ({name: v.name, server: v.server, config: {bearerToken: v.bearerToken || undefined, tlsClientConfig: {insecure: !!v.insecure}}}),
  },
  projects: {
    title: 'Projects', key: (p) => p.metadata?.name,
    cols: [['Name', (p) => p.metadata?.name], ['Description', (p) => p.spec?.description || '—'],
      ['Sources', (p) => (p.spec?.sourceRepos || []).join(', ') || '—'],
      ['Destinations', (p) => (p.spec?.destinations || []).map((d) => `${d.name || d.server}/${d.namespace}`).join(', ') || '—']],
    fields: [['name', 'Name', 'text', true], ['description', 'Description']],
    // The AppProject itself (DESIGN.md §9: Berth's bodies are the resources).
    body: (v) => ({apiVersion: 'berth.dev/v1alpha1', kind: 'AppProject', metadata: {name: v.name}, spec: {description: v.description || '',
      sourceRepos: ['*'], destinations: [{server: '*', namespace: '*'}]}}),
  },
};

function section(kind) {
  const k = KINDS[kind];
  const list = h('div', {id: `${kind}-list`});
  const inputs = {};
  const form = h('form', {class: ['inline-form'], id: `${kind}-form`, 'aria-label': `Add to ${k.title}`, on: {submit: async (e) => {
    e.preventDefault();
    const v = {};
    for (const [name, inp] of Object.entries(inputs)) v[name] = inp.type === 'checkbox' ? inp.checked : inp.value.trim();
    const body = k.body ? k.body(v) : v;
    try { await Api.create(kind, body); toast(`Added to ${k.title.toLowerCase()}`, 'ok'); form.reset(); await load(); }
    catch (x) { toast(`${k.title}: ${x.message}`, 'bad'); }
  }}},
  k.fields.map(([name, label, type = 'text', req]) => {
    const id = `${kind}-${name}`;
    const inp = inputs[name] = h('input', {id, name, type, required: !!req, autocomplete: type === 'password' ? 'new-password' : 'off'});
    return type === 'checkbox' ? h('label', {class: 'check'}, inp, ` ${label}`) : h('span', {class: 'field'}, h('label', {for: id}, label), inp);
  }),
  h('button', {type: 'submit', class: 'primary'}, 'Add'));

  async function load() {
    try {
      const r = await Api.list(kind);
      const items = r?.items || [];
      mount(list, items.length ? h('table', {class: 'grid'},
        h('thead', null, h('tr', null, k.cols.map(([c]) => h('th', null, c)), h('th', null, ''))),
        h('tbody', null, items.map((it) => h('tr', null, k.cols.map(([, f]) => h('td', null, f(it))),
          h('td', null, k.fixed?.(it) ? h('span', {class: 'muted'}, 'built in') : h('button', {type: 'button', class: 'danger', 'aria-label': `Remove ${k.key(it)}`, on: {click: async () => {
            if (!confirm(`Remove ${k.key(it)}?`)) return;
            try { await Api.remove(kind, k.key(it)); toast('Removed', 'ok'); await load(); }
            catch (x) { toast(`${k.title}: ${x.message}`, 'bad'); }
          }}}, 'Remove')))))) : h('p', {class: 'muted'}, 'None yet.'));
    } catch (x) {
      mount(list, h('p', {class: 'error'}, x.message));
    }
  }
  load();
  return h('section', {class: 'card', id: `settings-${kind}`}, h('h2', null, k.title), list, h('h3', null, 'Add'), form);
}

export async function settingsPage(root, user) {
  const logout = h('button', {type: 'button', id: 'logout', on: {click: async () => {
    try { await Api.logout(); } catch { /* the session is gone either way */ }
    forgetUser();
    navigate('/login', {replace: true});
  }}}, 'Log out');
  mount(root, h('div', {class: 'settings'},
    h('h1', null, 'Settings'),
    h('section', {class: 'card', id: 'user-info'}, h('h2', null, 'User'),
      h('dl', {class: 'facts'},
        h('dt', null, 'Username'), h('dd', {id: 'user-name'}, user.username || '—'),
        // Only when the server says (Argo CD's userinfo has iss; guessing "local" misled SSO users).
        user.iss ? [h('dt', null, 'Issuer'), h('dd', {id: 'user-iss'}, user.iss)] : null,
        h('dt', null, 'Groups'), h('dd', null, (user.groups || []).join(', ') || '—')),
      logout),
    section('repositories'), section('clusters'), section('projects')));
  return null;
}
