// Applications: every app with its sync status, health, source, destination
// and last sync; filters, search, sort, list or tiles; kept current by the
// server's event stream. The list is virtualised: only the rows in view (and
// a few around them) exist in the DOM, so 10,000 apps scroll as fast as 10.
import {Api, answer} from './api.js';
import {h, mount, extLink, ago, shortRev} from './dom.js';
import {healthBadge, syncBadge, healthOf, syncOf, HEALTH_VALUES, SYNC_VALUES} from './status.js';
import {toast} from './main.js';
import {appStream} from './stream.js';

const ROW_H = 56;     // list row height (px), matches .app-row in CSS
const TILE_H = 176;   // tile row height incl. gap, matches .app-tile
const TILE_W = 320;   // minimum tile width
const OVERSCAN = 6;
const FIRST_PAGE = 100; // apps fetched for the first screen (also in boot.js)
const PAGE = 1000;      // apps per page for the rest of the list

const FILTERS = ['project', 'sync', 'health', 'cluster', 'namespace', 'label'];

export function appSource(app) {
  return app?.spec?.source || (app?.spec?.sources || [])[0] || {};
}
export function appCluster(app) {
  const d = app?.spec?.destination || {};
  return d.name || d.server || '';
}
export function lastSync(app) {
  const st = app?.status || {};
  const hist = st.history || [];
  return st.operationState?.finishedAt || (hist.length ? hist[hist.length - 1].deployedAt : '') || '';
}

function matchLabel(app, sel) {
  if (!sel) return true;
  const labels = app.metadata?.labels || {};
  return sel.split(',').map((x) => x.trim()).filter(Boolean).every((term) => {
    const i = term.indexOf('=');
    if (i < 0) return term in labels;
    return labels[term.slice(0, i).trim()] === term.slice(i + 1).trim();
  });
}

const SORTS = {
  name: (a, b) => a.metadata.name.localeCompare(b.metadata.name),
  lastSync: (a, b) => lastSync(b).localeCompare(lastSync(a)) || SORTS.name(a, b),
  health: (a, b) => HEALTH_VALUES.indexOf(healthOf(a)) - HEALTH_VALUES.indexOf(healthOf(b)) || SORTS.name(a, b),
  sync: (a, b) => SYNC_VALUES.indexOf(syncOf(b)) - SYNC_VALUES.indexOf(syncOf(a)) || SORTS.name(a, b),
};

// The first page is asked for while the router is still checking the
// session, so the two requests overlap.
let prefetched = null;
export function prefetchApps() {
  // boot.js may have asked already, before the modules had loaded.
  const early = window.berthFirstPage;
  window.berthFirstPage = null;
  prefetched = early ? answer(early, 'GET', `/api/v1/applications?limit=${FIRST_PAGE}`) : Api.apps(FIRST_PAGE);
  prefetched.catch(() => {});
}

export async function appsPage(root) {
  const params = new URLSearchParams(location.search);
  const state = {
    q: params.get('q') || '',
    sort: SORTS[params.get('sort')] ? params.get('sort') : 'name',
    view: params.get('view') === 'tiles' ? 'tiles' : 'list',
  };
  for (const f of FILTERS) state[f] = params.get(f) || '';

  const apps = new Map();
  const streamed = new Set(); // names the event stream has spoken of: newer than any list
  let shown = [];
  let loading = false; // more pages of the list to come
  let remaining = null; // how many, when the server says (remainingItemCount)
  let disposed = false;

  const count = h('span', {id: 'app-count', class: 'muted', 'aria-live': 'polite'});
  const summary = h('div', {class: 'summary', id: 'summary'});
  const scroller = h('div', {class: 'vscroll', id: 'app-list', role: 'list', 'aria-label': 'Applications', tabindex: '-1'});
  const spacer = h('div', {class: 'vspacer'});
  const windowEl = h('div', {class: 'vwindow'});
  scroller.append(spacer, windowEl);
  const live = h('span', {class: ['live', 'muted'], id: 'live-state', title: 'Live updates'}, '○ connecting');

  const selects = {};
  function filterSelect(name, label, values) {
    const sel = h('select', {id: `filter-${name}`, name, on: {change: () => { state[name] = sel.value; update(); }}});
    fillSelect(sel, values, state[name]);
    selects[name] = sel;
    return h('div', {class: 'field'}, h('label', {for: `filter-${name}`}, label), sel);
  }
  function fillSelect(sel, values, cur) {
    const vals = [...new Set(values)].filter(Boolean).sort();
    if (cur && !vals.includes(cur)) vals.push(cur);
    mount(sel, h('option', {value: ''}, 'All'), vals.map((v) => h('option', {value: v, selected: v === cur}, v)));
  }
  const labelInput = h('input', {id: 'filter-label', value: state.label, placeholder: 'key=value',
    on: {input: () => { state.label = labelInput.value; update(); }}});
  const search = h('input', {id: 'search', type: 'search', value: state.q, placeholder: 'Search applications',
    'aria-label': 'Search applications', on: {input: () => { state.q = search.value; update(); }}});
  const sortSel = h('select', {id: 'sort', 'aria-label': 'Sort by', on: {change: () => { state.sort = sortSel.value; update(); }}},
    [['name', 'Name'], ['lastSync', 'Last sync'], ['health', 'Health'], ['sync', 'Sync status']]
      .map(([v, t]) => h('option', {value: v, selected: v === state.sort}, t)));
  const viewBtn = (v, text) => h('button', {type: 'button', class: 'toggle', id: `view-${v}`, 'aria-pressed': String(state.view === v),
    on: {click: () => { state.view = v; document.querySelectorAll('.toggle').forEach((b) => b.setAttribute('aria-pressed', String(b.id === `view-${v}`))); update(); }}}, text);
  const clear = h('button', {type: 'button', id: 'clear-filters', on: {click: () => {
    for (const f of FILTERS) state[f] = '';
    state.q = ''; search.value = ''; labelInput.value = '';
    for (const s of Object.values(selects)) s.value = '';
    update();
  }}}, 'Clear filters');

  const filtersBox = h('aside', {class: 'filters', 'aria-label': 'Filters'},
    h('h2', null, 'Filters'),
    filterSelect('project', 'Project', []),
    filterSelect('sync', 'Sync status', SYNC_VALUES),
    filterSelect('health', 'Health', HEALTH_VALUES),
    filterSelect('cluster', 'Cluster', []),
    filterSelect('namespace', 'Namespace', []),
    h('div', {class: 'field'}, h('label', {for: 'filter-label'}, 'Label'), labelInput),
    clear);

  mount(root, h('div', {class: 'apps-page'},
    filtersBox,
    h('section', {class: 'apps-main'},
      h('div', {class: 'toolbar'},
        h('h1', null, 'Applications'), count, live,
        h('span', {class: 'spacer'}),
        search, sortSel,
        h('div', {class: 'group', role: 'group', 'aria-label': 'View'}, viewBtn('list', '☰ List'), viewBtn('tiles', '▦ Tiles'))),
      summary,
      scroller)));

  function refreshFilterValues() {
    const all = [...apps.values()];
    fillSelect(selects.project, all.map((a) => a.spec?.project || 'default'), state.project);
    fillSelect(selects.cluster, all.map(appCluster), state.cluster);
    fillSelect(selects.namespace, all.map((a) => a.spec?.destination?.namespace), state.namespace);
  }

  function filtered() {
    const q = state.q.trim().toLowerCase();
    const out = [];
    for (const a of apps.values()) {
      if (state.project && (a.spec?.project || 'default') !== state.project) continue;
      if (state.sync && syncOf(a) !== state.sync) continue;
      if (state.health && healthOf(a) !== state.health) continue;
      if (state.cluster && appCluster(a) !== state.cluster) continue;
      if (state.namespace && a.spec?.destination?.namespace !== state.namespace) continue;
      if (!matchLabel(a, state.label)) continue;
      if (q) {
        const src = appSource(a);
        const hay = `${a.metadata.name} ${src.repoURL || ''} ${src.path || ''} ${src.chart || ''}`.toLowerCase();
        if (!hay.includes(q)) continue;
      }
      out.push(a);
    }
    return out.sort(SORTS[state.sort]);
  }

  function saveUrl() {
    const p = new URLSearchParams();
    if (state.q) p.set('q', state.q);
    for (const f of FILTERS) if (state[f]) p.set(f, state[f]);
    if (state.sort !== 'name') p.set('sort', state.sort);
    if (state.view !== 'list') p.set('view', state.view);
    const qs = p.toString();
    history.replaceState(null, '', `/applications${qs ? `?${qs}` : ''}`);
  }

  function renderSummary() {
    const counts = {};
    for (const a of shown) {
      counts[`s:${syncOf(a)}`] = (counts[`s:${syncOf(a)}`] || 0) + 1;
      counts[`h:${healthOf(a)}`] = (counts[`h:${healthOf(a)}`] || 0) + 1;
    }
    // Labelled groups: "Unknown" is both a sync status and a health.
    const group = (label, values, prefix, badge) => {
      const present = values.filter((v) => counts[`${prefix}:${v}`]);
      return present.length ? h('span', {class: 'sum-group', 'aria-label': label}, h('span', {class: 'muted'}, `${label}:`),
        present.map((v) => h('span', {class: 'sum'}, badge(v), ` ${counts[`${prefix}:${v}`]}`))) : null;
    };
    mount(summary, group('Sync', SYNC_VALUES, 's', syncBadge), group('Health', HEALTH_VALUES, 'h', healthBadge));
  }

  function update() {
    shown = filtered();
    count.textContent = `${shown.length} of ${apps.size}${loading ? ` (loading${typeof remaining === 'number' ? ` ${remaining} more` : ''}…)` : ''}`;
    saveUrl();
    renderSummary();
    scroller.classList.toggle('tiles', state.view === 'tiles');
    paint(true);
  }

  function rowOf(app) {
    const src = appSource(app);
    const dest = app.spec?.destination || {};
    const name = app.metadata.name;
    return h('div', {class: 'app-row', role: 'listitem', 'data-app': name},
      h('a', {class: 'app-name', href: `/applications/${encodeURIComponent(name)}`, 'data-nav': ''}, name),
      h('span', {class: 'cell project', title: 'Project'}, app.spec?.project || 'default'),
      h('span', {class: 'cell status'}, syncBadge(syncOf(app)), healthBadge(healthOf(app))),
      h('span', {class: 'cell source'}, extLink(src.repoURL || ''),
        h('span', {class: 'muted'}, ` ${src.path || src.chart || ''} @ ${shortRev(src.targetRevision || 'HEAD')}`)),
      h('span', {class: 'cell dest'}, `${dest.name || dest.server || ''}`, h('span', {class: 'muted'}, ` / ${dest.namespace || ''}`)),
      h('span', {class: 'cell when muted', title: lastSync(app) || 'never synced'}, lastSync(app) ? ago(lastSync(app)) : 'never'));
  }

  function tileOf(app) {
    const src = appSource(app);
    const dest = app.spec?.destination || {};
    const name = app.metadata.name;
    return h('div', {class: 'app-tile', role: 'listitem', 'data-app': name},
      h('a', {class: 'app-name', href: `/applications/${encodeURIComponent(name)}`, 'data-nav': ''}, name),
      h('div', null, syncBadge(syncOf(app)), ' ', healthBadge(healthOf(app))),
      h('dl', null,
        h('dt', null, 'Project'), h('dd', null, app.spec?.project || 'default'),
        h('dt', null, 'Repo'), h('dd', null, extLink(src.repoURL || '')),
        h('dt', null, 'Path'), h('dd', null, `${src.path || src.chart || ''} @ ${shortRev(src.targetRevision || 'HEAD')}`),
        h('dt', null, 'Destination'), h('dd', null, `${dest.name || dest.server || ''} / ${dest.namespace || ''}`),
        h('dt', null, 'Last sync'), h('dd', null, lastSync(app) ? ago(lastSync(app)) : 'never')));
  }

  let lastRange = '';
  function paint(force) {
    const tiles = state.view === 'tiles';
    const cols = tiles ? Math.max(1, Math.floor(scroller.clientWidth / TILE_W)) : 1;
    const rowH = tiles ? TILE_H : ROW_H;
    const rows = Math.ceil(shown.length / cols);
    spacer.style.height = `${rows * rowH}px`;
    const first = Math.max(0, Math.floor(scroller.scrollTop / rowH) - OVERSCAN);
    const last = Math.min(rows, Math.ceil((scroller.scrollTop + (scroller.clientHeight || 800)) / rowH) + OVERSCAN);
    const key = `${first}:${last}:${cols}:${tiles}`;
    if (!force && key === lastRange) return;
    lastRange = key;
    windowEl.style.transform = `translateY(${first * rowH}px)`;
    windowEl.classList.toggle('grid', tiles);
    windowEl.style.gridTemplateColumns = tiles ? `repeat(${cols}, 1fr)` : '';
    const nodes = [];
    for (let i = first * cols; i < Math.min(shown.length, last * cols); i++) nodes.push(tiles ? tileOf(shown[i]) : rowOf(shown[i]));
    windowEl.replaceChildren(...nodes);
    // Marks when the first rows are on screen (the tests' first-screen budget).
    if (nodes.length && !performance.getEntriesByName('berth:apps-first-screen').length) performance.mark('berth:apps-first-screen');
    if (!shown.length) windowEl.replaceChildren(h('p', {class: 'empty muted'}, apps.size ? 'No application matches the filters.' : 'No applications yet.'));
  }
  scroller.addEventListener('scroll', () => paint(false), {passive: true});
  const onResize = () => paint(true);
  window.addEventListener('resize', onResize);

  let pending = false;
  function schedule(filtersToo) {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (disposed) return;
      if (filtersToo) refreshFilterValues();
      update();
    });
  }

  // First screen from a first page, then the rest page by page (the
  // server's continue token): with thousands of apps the first rows show
  // before the rest has arrived, and the list fills as pages come. The
  // event stream runs meanwhile; what it said about an app is newer than
  // any page.
  let first;
  try {
    first = await (prefetched || Api.apps(FIRST_PAGE));
    prefetched = null;
    for (const a of first?.items || []) apps.set(a.metadata.name, a);
  } catch (e) {
    prefetched = null;
    if (e.status === 401) return null;
    toast(e.message, 'bad');
  }
  if (disposed) return null;
  loading = !!first?.metadata?.continue;
  remaining = first?.metadata?.remainingItemCount ?? null;
  refreshFilterValues();
  update();
  const loadRest = async (cont) => {
    try {
      while (cont && !disposed) {
        const page = await Api.apps(PAGE, cont);
        if (disposed) return;
        for (const a of page?.items || []) if (!streamed.has(a.metadata.name)) apps.set(a.metadata.name, a);
        const next = page?.metadata?.continue;
        cont = next !== cont ? next : null; // a server that ignores continue would loop
        loading = !!cont;
        remaining = page?.metadata?.remainingItemCount ?? null;
        schedule(true);
      }
    } catch (e) {
      loading = false;
      schedule(true);
      if (e.status !== 401) toast(e.message, 'bad');
    }
  };
  if (loading) loadRest(first.metadata.continue);

  // From the first page's version: the stream replays what changed since
  // (later pages are newer still, and the stream's events come in order).
  const stream = appStream({
    resourceVersion: first?.metadata?.resourceVersion,
    onEvent(type, app) {
      const name = app?.metadata?.name;
      if (!name) return;
      streamed.add(name);
      if (type === 'DELETED') apps.delete(name);
      else apps.set(name, app);
      schedule(true);
    },
    onState(s) { live.textContent = s === 'open' ? '● live' : '○ reconnecting'; live.dataset.state = s; },
  });
  return () => { disposed = true; stream.close(); window.removeEventListener('resize', onResize); };
}
