// DOM helpers. Every piece of data reaches the page as a text node or an
// attribute set with setAttribute: nothing is ever parsed as HTML, so names,
// annotations and URLs from Git or the cluster stay inert. Links are made
// only for http(s) URLs (safeHref).

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach((c) => append(el, c)); return; }
  if (child instanceof Node) { el.appendChild(child); return; }
  el.appendChild(document.createTextNode(String(child)));
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'href') {
      const safe = safeHref(v);
      if (safe) el.setAttribute('href', safe);
    } else if (k === 'value' && 'value' in el) {
      el.value = v;
    } else if (k === 'checked' || k === 'disabled' || k === 'selected') {
      el[k] = !!v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

// h('div', {class: 'x', on: {click: fn}}, 'text', child, [more]) -> element
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// The same for SVG elements.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// Replace all children of el.
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A URL fit for href: absolute http(s) URLs, or same-origin paths starting
// with a single "/". Anything else (javascript:, data:, //evil) -> null.
export function safeHref(url) {
  if (typeof url !== 'string') return null;
  const u = url.trim();
  if (/^\/(?![/\\])/.test(u)) return u;
  try {
    const p = new URL(u);
    if (p.protocol === 'http:' || p.protocol === 'https:') return p.href;
  } catch { /* not a URL */ }
  return null;
}

// A link when the URL is safe, plain text otherwise.
export function extLink(url, text) {
  const safe = safeHref(url);
  if (!safe || safe.startsWith('/')) return h('span', {class: 'mono'}, text ?? url ?? '');
  return h('a', {href: safe, target: '_blank', rel: 'noopener noreferrer', class: 'mono'}, text ?? url);
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  return d.toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'short'});
}

export function ago(iso) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (isNaN(t)) return String(iso);
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function shortRev(r) {
  return typeof r === 'string' && /^[0-9a-f]{40}$/.test(r) ? r.slice(0, 7) : (r || '—');
}
