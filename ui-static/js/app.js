// One application: status header (sync, health, operation, last sync
// result), actions (Sync, Refresh, Hard refresh, Delete, Terminate), the
// resource tree, history with rollback, conditions, and a per-resource
// panel with live and desired manifests and a side-by-side diff.
import {Api} from './api.js';
import {h, mount, extLink, fmtTime, ago, shortRev} from './dom.js';
import {healthBadge, syncBadge, phaseBadge, healthOf, syncOf} from './status.js';
import {navigate, toast} from './main.js';
import {appStream} from './stream.js';
import {appSource} from './apps.js';
import {drawTree, resKey} from './tree.js';
import {maskSecret, parseState, toYaml, sideBySide, unifiedRows} from './manifest.js';

function dialog(title, body, actions) {
  const dlg = h('dialog', {class: 'dialog', 'aria-label': title},
    h('form', {method: 'dialog'},
      h('h2', null, title), body,
      h('div', {class: 'actions'}, actions, h('button', {value: 'cancel', type: 'submit', class: 'cancel'}, 'Cancel'))));
  document.body.appendChild(dlg);
  dlg.addEventListener('close', () => dlg.remove());
  dlg.showModal();
  return dlg;
}

export async function appPage(root, name) {
  let app = null, tree = null, managed = null;
  let tab = new URLSearchParams(location.search).get('tab') || 'tree';
  let disposed = false;
  let selected = null;
  const treeView = {}; // pan and zoom, kept across redraws

  const header = h('section', {class: 'app-header', id: 'app-header'});
  const body = h('section', {class: 'app-body'});
  const panel = h('aside', {class: 'panel', id: 'resource-panel', hidden: true, 'aria-label': 'Resource'});

  async function load(refresh) {
    try {
      const [a, t, m] = await Promise.all([Api.app(name, refresh), Api.tree(name).catch(() => null), Api.managed(name).catch(() => null)]);
      app = a; tree = t; managed = m;
    } catch (e) {
      if (e.status === 401) return false;
      mount(root, h('h1', null, name), h('p', {class: 'error', role: 'alert'}, e.message),
        h('a', {href: '/applications', 'data-nav': ''}, '← Applications'));
      return false;
    }
    return true;
  }

  async function act(label, fn) {
    try { await fn(); toast(`${label}: done`, 'ok'); await load(); render(); }
    catch (e) { toast(`${label}: ${e.message}`, 'bad'); }
  }

  function syncDialog() {
    const src = appSource(app);
    const resources = app.status?.resources || [];
    const prune = h('input', {type: 'checkbox', id: 'sync-prune'});
    const dry = h('input', {type: 'checkbox', id: 'sync-dry-run'});
    const rev = h('input', {id: 'sync-revision', value: src.targetRevision || 'HEAD'});
    const boxes = resources.map((r) => ({r, box: h('input', {type: 'checkbox', checked: true, 'data-key': resKey(r)})}));
    const all = h('input', {type: 'checkbox', checked: true, id: 'sync-all', on: {change: () => boxes.forEach((b) => { b.box.checked = all.checked; })}});
    const go = h('button', {type: 'button', class: 'primary', id: 'sync-go'}, 'Synchronize');
    const dlg = dialog(`Sync ${name}`, h('div', {class: 'form'},
      h('label', {for: 'sync-revision'}, 'Revision'), rev,
      h('label', {class: 'check'}, prune, ' Prune (delete resources no longer in Git)'),
      h('label', {class: 'check'}, dry, ' Dry run'),
      h('fieldset', {class: 'res-list'}, h('legend', null, 'Resources'),
        h('label', {class: 'check'}, all, ' All'),
        boxes.map(({r, box}) => h('label', {class: 'check'}, box, ` ${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`)))), go);
    go.addEventListener('click', () => {
      const chosen = boxes.filter((b) => b.box.checked).map(({r}) => ({group: r.group || '', kind: r.kind, name: r.name, namespace: r.namespace || ''}));
      const req = {revision: rev.value.trim(), prune: prune.checked, dryRun: dry.checked};
      if (chosen.length !== boxes.length) req.resources = chosen;
      dlg.close();
      act('Sync', () => Api.sync(name, req));
    });
  }

  function deleteDialog() {
    const input = h('input', {id: 'delete-confirm', autocomplete: 'off', 'aria-describedby': 'delete-help'});
    const cascade = h('input', {type: 'checkbox', id: 'delete-cascade', checked: true});
    const go = h('button', {type: 'button', class: 'danger', id: 'delete-go', disabled: true}, 'Delete');
    input.addEventListener('input', () => { go.disabled = input.value !== name; });
    const dlg = dialog(`Delete ${name}`, h('div', {class: 'form'},
      h('p', {id: 'delete-help'}, 'Type the application name ', h('strong', {class: 'mono'}, name), ' to confirm.'),
      input, h('label', {class: 'check'}, cascade, ' Also delete its resources (cascade)')), go);
    go.addEventListener('click', async () => {
      if (input.value !== name) return;
      dlg.close();
      try { await Api.deleteApp(name, cascade.checked); toast(`Deleted ${name}`, 'ok'); navigate('/applications'); }
      catch (e) { toast(`Delete: ${e.message}`, 'bad'); }
    });
  }

  function rollbackDialog(entry) {
    const go = h('button', {type: 'button', class: 'primary', id: 'rollback-go'}, 'Roll back');
    const dlg = dialog(`Roll back ${name}`, h('p', null, `Sync to history entry ${entry.id}, revision ${shortRev(entry.revision)}?`,
      app.spec?.syncPolicy?.automated ? h('span', {class: 'error'}, ' Auto-sync is on: the server will refuse a rollback.') : null), go);
    go.addEventListener('click', () => { dlg.close(); act('Rollback', () => Api.rollback(name, entry.id)); });
  }

  function renderHeader() {
    const st = app.status || {};
    const op = st.operationState;
    const src = appSource(app);
    const dest = app.spec?.destination || {};
    const running = op && (op.phase === 'Running' || op.phase === 'Terminating');
    const btn = (id, text, fn, extra = {}) => h('button', {type: 'button', id, on: {click: fn}, ...extra}, text);
    mount(header,
      h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, h('a', {href: '/applications', 'data-nav': ''}, 'Applications'), ' / '),
      h('div', {class: 'title-row'},
        h('h1', {id: 'app-title'}, name),
        h('span', {class: 'status-pair', id: 'app-status'}, syncBadge(syncOf(app)), healthBadge(healthOf(app))),
        h('span', {class: 'spacer'}),
        h('div', {class: 'actions', role: 'toolbar', 'aria-label': 'Actions'},
          btn('btn-sync', '⟳ Sync', syncDialog, {class: 'primary'}),
          btn('btn-refresh', 'Refresh', () => act('Refresh', () => Api.app(name, 'normal'))),
          btn('btn-hard-refresh', 'Hard refresh', () => act('Hard refresh', () => Api.app(name, 'hard'))),
          btn('btn-terminate', 'Terminate', () => act('Terminate', () => Api.terminate(name)), {disabled: !running}),
          btn('btn-delete', 'Delete', deleteDialog, {class: 'danger'}))),
      h('dl', {class: 'facts'},
        h('dt', null, 'Project'), h('dd', null, app.spec?.project || 'default'),
        h('dt', null, 'Repository'), h('dd', null, extLink(src.repoURL || '')),
        h('dt', null, 'Path'), h('dd', {class: 'mono'}, src.path || src.chart || '—'),
        h('dt', null, 'Target'), h('dd', {class: 'mono'}, src.targetRevision || 'HEAD'),
        h('dt', null, 'Synced to'), h('dd', {class: 'mono', id: 'synced-rev'}, shortRev(st.sync?.revision)),
        h('dt', null, 'Destination'), h('dd', null, `${dest.name || dest.server || ''} / ${dest.namespace || ''}`),
        h('dt', null, 'Operation'), h('dd', {id: 'op-state'}, op ? [phaseBadge(op.phase), ' ', op.message || ''] : 'none'),
        h('dt', null, 'Last sync'), h('dd', {id: 'last-sync'}, op?.finishedAt
          ? `${op.phase || ''} ${ago(op.finishedAt)} (${fmtTime(op.finishedAt)}) to ${shortRev(op.syncResult?.revision)}` : 'never'),
        st.health?.message ? [h('dt', null, 'Health message'), h('dd', null, st.health.message)] : null),
      (st.conditions || []).length ? h('p', {class: 'warn-line'}, `⚠ ${st.conditions.length} condition(s) — see Conditions`) : null);
  }

  function tabs() {
    const t = (id, text) => h('button', {type: 'button', role: 'tab', id: `tab-${id}`, 'aria-selected': String(tab === id),
      on: {click: () => { tab = id; history.replaceState(null, '', `?tab=${id}`); renderBody(); }}}, text);
    return h('div', {class: 'tabs', role: 'tablist'}, t('tree', 'Resource tree'), t('history', 'History'),
      t('conditions', `Conditions (${(app.status?.conditions || []).length})`), t('summary', 'Summary'));
  }

  function renderBody() {
    const content = h('div', {class: 'tab-content', role: 'tabpanel'});
    mount(body, tabs(), content);
    if (tab === 'tree') {
      drawTree(content, {appName: name, app, nodes: tree?.nodes || [], resources: app.status?.resources || [], onSelect: openPanel, view: treeView});
    } else if (tab === 'history') {
      const hist = [...(app.status?.history || [])].reverse();
      mount(content, hist.length ? h('table', {class: 'grid', id: 'history'},
        h('thead', null, h('tr', null, ['ID', 'Revision', 'Deployed', 'Initiated by', ''].map((c) => h('th', null, c)))),
        h('tbody', null, hist.map((e, i) => h('tr', null,
          h('td', null, String(e.id)), h('td', {class: 'mono'}, shortRev(e.revision)),
          h('td', null, fmtTime(e.deployedAt)), h('td', null, e.initiatedBy?.username || (e.initiatedBy?.automated ? 'automated' : '—')),
          h('td', null, i === 0 ? h('span', {class: 'muted'}, 'current') : h('button', {type: 'button', class: 'rollback', 'data-id': String(e.id),
            on: {click: () => rollbackDialog(e)}}, 'Roll back')))))) : h('p', {class: 'muted'}, 'No sync yet.'));
    } else if (tab === 'conditions') {
      const c = app.status?.conditions || [];
      mount(content, c.length ? h('ul', {class: 'conditions'}, c.map((x) => h('li', null, h('strong', null, `⚠ ${x.type}`), ' ', x.message || '',
        h('span', {class: 'muted'}, ` ${fmtTime(x.lastTransitionTime)}`)))) : h('p', {class: 'muted'}, 'No conditions.'));
    } else {
      mount(content, h('pre', {class: 'code'}, toYaml({metadata: {name, labels: app.metadata?.labels, annotations: app.metadata?.annotations}, spec: app.spec})));
    }
  }

  // Desired manifests straight from the repo server (GET …/manifests), for
  // resources whose managed-resources item carries no targetState. Asked
  // for once per synced-to revision: a new commit brings new manifests.
  let rendered = null, renderedRev = null;
  function renderedFor(res) {
    const rev = app?.status?.sync?.revision || '';
    if (!rendered || rev !== renderedRev) {
      renderedRev = rev;
      rendered = Api.manifests(name).then((r) => r?.manifests || []).catch(() => []);
    }
    return rendered.then((list) => list.map(parseState).find((m) => m && m.kind === res.kind && m.metadata?.name === res.name &&
      (m.apiVersion || '').split('/').slice(0, -1).join('/') === (res.group || '') &&
      (!m.metadata?.namespace || !res.namespace || m.metadata.namespace === res.namespace)) || null);
  }

  // The per-resource panel. From the managed-resources item: liveState
  // and targetState (JSON text, null when the object is not in the cluster
  // or not in Git), predictedLiveState (optional) and diff (the server's
  // masked unified diff of normalised live against predicted). The diff
  // tab shows the server's diff side by side when there is one, else
  // compares live with predicted (or desired) here.
  let ptab = 'diff';
  async function openPanel(res) {
    const fresh = res !== selected || panel.hidden;
    if (fresh) ptab = 'diff'; // a re-render keeps the tab the user chose, and the focus
    selected = res;
    const item = (managed?.items || []).find((m) => resKey(m) === resKey(res));
    const live = maskSecret(parseState(item?.liveState));
    let desired = maskSecret(parseState(item?.targetState));
    // null means "not in Git"; absent means the server did not say.
    if (!desired && item?.targetState === undefined) desired = maskSecret(await renderedFor(res));
    if (selected !== res) return;
    // Argo CD's shape also has normalizedLiveState: compared when given.
    const left = maskSecret(parseState(item?.normalizedLiveState)) || live;
    const right = maskSecret(parseState(item?.predictedLiveState)) || desired;
    const content = h('div', {class: 'panel-content'});
    const show = () => {
      panel.querySelectorAll('[role=tab]').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === ptab)));
      if (ptab === 'live') {
        mount(content, live ? h('pre', {class: 'code', id: 'live-manifest'}, toYaml(live))
          : h('p', {class: 'muted'}, item?.liveState === null ? 'Not in the cluster.' : 'The server sent no live manifest for this resource.'));
      } else if (ptab === 'desired') {
        mount(content, desired ? h('pre', {class: 'code', id: 'desired-manifest'}, toYaml(desired)) : h('p', {class: 'muted'}, 'Not in Git (extraneous).'));
      } else if (typeof item?.diff === 'string') {
        mount(content, diffView(unifiedRows(item.diff), 'left live, right desired (as the server compared them)'));
      } else if (left || (item?.liveState === null && right)) {
        mount(content, diffView(sideBySide(toYaml(left), toYaml(right)), 'left live, right desired'));
      } else {
        mount(content, h('p', {class: 'muted', id: 'diff-summary'}, 'The server has no compared live state for this resource; its sync status is shown on the node. See Desired manifest.'));
      }
    };
    const pt = (id, text) => h('button', {type: 'button', role: 'tab', 'data-tab': id, id: `ptab-${id}`, on: {click: () => { ptab = id; show(); }}}, text);
    mount(panel,
      h('div', {class: 'panel-head'},
        h('h2', null, `${res.kind} ${res.name}`),
        h('button', {type: 'button', id: 'panel-close', 'aria-label': 'Close', on: {click: () => { panel.hidden = true; selected = null; }}}, '✕')),
      h('p', {class: 'muted'}, `${res.group || 'core'}/${res.version || ''} · ${res.namespace || 'cluster-scoped'}`),
      h('div', {class: 'tabs', role: 'tablist'}, pt('diff', 'Diff'), pt('live', 'Live manifest'), pt('desired', 'Desired manifest')),
      content);
    panel.hidden = false;
    show();
    if (fresh) panel.querySelector('#ptab-diff').focus();
  }

  function render() {
    if (disposed || !app) return;
    renderHeader();
    renderBody();
    if (selected && !panel.hidden) openPanel(selected);
  }

  if (!(await load())) return null;
  mount(root, h('div', {class: 'app-page'}, header, h('div', {class: 'app-split'}, body, panel)));
  render();

  let timer = null;
  const stream = appStream({name, onEvent: (type, a) => {
    if (type === 'DELETED') { toast(`${name} was deleted`, 'warn'); return; }
    app = a;
    renderHeader();
    clearTimeout(timer);
    timer = setTimeout(async () => { if (!disposed && await load()) render(); }, 300);
  }});
  return () => { disposed = true; clearTimeout(timer); stream.close(); document.querySelectorAll('dialog').forEach((d) => d.remove()); };
}

// rows: {left, right, op} from sideBySide or unifiedRows.
function diffView(rows, sides) {
  const changed = rows.filter((r) => r.op !== 'same' && r.op !== 'gap').length;
  const mark = {same: ' ', del: '−', add: '+', chg: '~', gap: '⋯'};
  return h('div', {class: 'diff-wrap'},
    h('p', {class: 'muted', id: 'diff-summary'}, changed ? `${changed} changed line(s): ${sides}` : 'No difference.'),
    h('table', {class: 'diff', id: 'diff'},
      h('thead', null, h('tr', null, h('th', null, ''), h('th', null, 'Live'), h('th', null, ''), h('th', null, 'Desired'))),
      h('tbody', null, rows.map((r) => h('tr', {class: `d-${r.op}`},
        h('td', {class: 'mark', 'aria-label': r.op}, r.op === 'add' ? ' ' : mark[r.op]),
        h('td', {class: 'l'}, r.left ?? ''),
        h('td', {class: 'mark'}, r.op === 'del' ? ' ' : mark[r.op]),
        h('td', {class: 'r'}, r.right ?? ''))))));
}
