// The resource tree (app → resources → owned ReplicaSets and Pods) drawn as
// SVG, left to right. Nodes carry health and sync as icon + text; the view
// pans (drag, arrow keys) and zooms (wheel, +/−, fit) for large apps. Each
// node is focusable and opens the resource panel on click or Enter.
import {h, s} from './dom.js';
import {iconOf, toneOf} from './status.js';

const W = 250, H = 70, GX = 310, GY = 86;

export function resKey(r) {
  return `${r.group || ''}/${r.kind}/${r.namespace || ''}/${r.name}`;
}

// nodes: resource-tree nodes; resources: app.status.resources (sync status).
function build(appName, nodes, resources) {
  const byKey = new Map();
  const syncByKey = new Map((resources || []).map((r) => [resKey(r), r]));
  for (const n of nodes || []) byKey.set(resKey(n), {res: n, children: []});
  for (const r of resources || []) {
    if (!byKey.has(resKey(r))) byKey.set(resKey(r), {res: r, children: []});
  }
  const root = {res: {kind: 'Application', name: appName, app: true}, children: []};
  const byUid = new Map([...byKey.values()].filter((n) => n.res.uid).map((n) => [n.res.uid, n]));
  for (const node of byKey.values()) {
    node.sync = syncByKey.get(resKey(node.res));
    // Argo CD's parentRefs[] (by uid, else by key), or a bare parentUid.
    const refs = [...(node.res.parentRefs || []), ...(node.res.parentUid ? [{uid: node.res.parentUid}] : [])];
    const parents = refs.map((p) => (p.uid && byUid.get(p.uid)) || (p.kind && byKey.get(resKey(p)))).filter((p) => p && p !== node);
    if (parents.length) parents[0].children.push(node);
    else root.children.push(node);
  }
  const order = (a, b) => `${a.res.kind}/${a.res.name}`.localeCompare(`${b.res.kind}/${b.res.name}`, undefined, {numeric: true});
  const sortRec = (n) => { n.children.sort(order); n.children.forEach(sortRec); };
  sortRec(root);
  return root;
}

function layout(root) {
  let slot = 0;
  const placed = [];
  const walk = (n, depth) => {
    n.x = depth * GX;
    if (!n.children.length) { n.y = slot++ * GY; }
    else {
      n.children.forEach((c) => walk(c, depth + 1));
      n.y = (n.children[0].y + n.children[n.children.length - 1].y) / 2;
    }
    placed.push(n);
  };
  walk(root, 0);
  return placed;
}

function clip(t, n) { return t.length > n ? `${t.slice(0, n - 1)}…` : t; }

// view: an object the caller keeps between draws ({x, y, k, moved}), so a
// redraw (the app changed) keeps where the user panned and zoomed to.
export function drawTree(container, {appName, app, nodes, resources, onSelect, view = {}}) {
  const root = build(appName, nodes, resources);
  const placed = layout(root);
  const maxX = Math.max(...placed.map((n) => n.x)) + W;
  const maxY = Math.max(...placed.map((n) => n.y)) + H;

  const g = s('g', {class: 'viewport'});
  const edges = s('g', {class: 'edges'});
  g.appendChild(edges);
  for (const n of placed) {
    for (const c of n.children) {
      const x1 = n.x + W, y1 = n.y + H / 2, x2 = c.x, y2 = c.y + H / 2, mx = (x1 + x2) / 2;
      edges.appendChild(s('path', {d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, class: 'edge'}));
    }
  }
  for (const n of placed) {
    const r = n.res;
    const health = n.res.app ? app?.status?.health?.status : r.health?.status || n.sync?.health?.status;
    const sync = n.res.app ? app?.status?.sync?.status : n.sync?.status;
    const label = `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}${health ? `, health ${health}` : ''}${sync ? `, sync ${sync}` : ''}`;
    const node = s('g', {class: ['node', `tone-${toneOf('health', health)}`, n.res.app ? 'app-node' : ''],
      transform: `translate(${n.x},${n.y})`, tabindex: '0', role: 'button', 'aria-label': label,
      'data-kind': r.kind, 'data-name': r.name},
    s('title', null, label),
    s('rect', {width: W, height: H, rx: 8, class: 'box'}),
    s('text', {x: 12, y: 19, class: 'kind'}, r.kind),
    s('text', {x: 12, y: 39, class: 'name'}, clip(r.name, 30)));
    const status = s('text', {x: 12, y: 60, class: 'icon'});
    if (health) {
      status.appendChild(s('tspan', {class: `tone-${toneOf('health', health)}`}, s('title', null, `Health: ${health}`), `${iconOf('health', health)} ${health}`));
    }
    if (sync) {
      status.appendChild(s('tspan', {class: `tone-${toneOf('sync', sync)}`, dx: health ? 14 : 0}, s('title', null, `Sync: ${sync}`), `${iconOf('sync', sync)} ${sync}`));
    }
    node.appendChild(status);
    if (r.requiresPruning || n.sync?.requiresPruning) status.appendChild(s('tspan', {class: 'prune', dx: 14}, '✂ prune'));
    if (!n.res.app) {
      const open = () => onSelect(r);
      node.addEventListener('click', open);
      node.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
    }
    g.appendChild(node);
  }

  const svg = s('svg', {class: 'tree', role: 'group', 'aria-label': 'Resource tree', tabindex: '0'}, g);
  if (!view.moved) Object.assign(view, {x: 20, y: 20, k: 1});
  const apply = () => g.setAttribute('transform', `translate(${view.x},${view.y}) scale(${view.k})`);
  const zoom = (f, cx = svg.clientWidth / 2, cy = svg.clientHeight / 2) => {
    view.moved = true;
    const k = Math.min(3, Math.max(0.1, view.k * f));
    view.x = cx - (cx - view.x) * (k / view.k);
    view.y = cy - (cy - view.y) * (k / view.k);
    view.k = k;
    apply();
  };
  const fit = () => {
    const w = svg.clientWidth || 1000, hh = svg.clientHeight || 500;
    // The whole width; the whole height only down to a readable size (a
    // tall app is then panned through rather than shrunk to dots).
    view.k = Math.max(0.1, Math.min(1, (w - 40) / maxX, Math.max((hh - 40) / maxY, 0.45)));
    view.x = 20; view.y = 20;
    // Taller than the view: start with the application (drawn at the
    // middle of its children) in view rather than the first leaves.
    if (maxY * view.k + 40 > hh) view.y = Math.min(20, hh / 2 - (root.y + H / 2) * view.k);
    apply();
  };
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const b = svg.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - b.left, e.clientY - b.top);
  }, {passive: false});
  let drag = null;
  svg.addEventListener('pointerdown', (e) => {
    if (e.target.closest('.node')) return;
    drag = {x: e.clientX - view.x, y: e.clientY - view.y};
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener('pointermove', (e) => { if (drag) { view.moved = true; view.x = e.clientX - drag.x; view.y = e.clientY - drag.y; apply(); } });
  svg.addEventListener('pointerup', () => { drag = null; });
  svg.addEventListener('keydown', (e) => {
    if (e.target !== svg) return;
    const step = 60;
    const moves = {ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step]};
    if (moves[e.key]) { e.preventDefault(); view.moved = true; view.x += moves[e.key][0]; view.y += moves[e.key][1]; apply(); }
    else if (e.key === '+' || e.key === '=') zoom(1.2);
    else if (e.key === '-') zoom(1 / 1.2);
  });

  const controls = h('div', {class: 'tree-controls', role: 'group', 'aria-label': 'Zoom'},
    h('button', {type: 'button', id: 'zoom-in', 'aria-label': 'Zoom in', on: {click: () => zoom(1.2)}}, '+'),
    h('button', {type: 'button', id: 'zoom-out', 'aria-label': 'Zoom out', on: {click: () => zoom(1 / 1.2)}}, '−'),
    h('button', {type: 'button', id: 'zoom-fit', on: {click: () => { view.moved = false; fit(); }}}, 'Fit'),
    h('span', {class: 'muted'}, `${placed.length - 1} resources · drag to pan, wheel to zoom`));
  container.replaceChildren(controls, svg);
  // Fitted when first drawn and again when the view changes size (the
  // resource panel opening beside it), until the user pans or zooms.
  const autoFit = () => { if (maxY + 40 > (svg.clientHeight || 0) || maxX + 40 > (svg.clientWidth || 0)) fit(); else { view.k = 1; view.x = 20; view.y = 20; apply(); } };
  requestAnimationFrame(() => { if (view.moved) apply(); else autoFit(); });
  if (typeof ResizeObserver === 'function') {
    const ro = new ResizeObserver(() => { if (!svg.isConnected) ro.disconnect(); else if (!view.moved) autoFit(); });
    ro.observe(svg);
  }
}
