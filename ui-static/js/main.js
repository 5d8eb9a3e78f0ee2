// The dashboard's entry: a small router over the History API. Paths:
//   /login?return=PATH   /applications[?filters]   /applications/NAME   /settings
// The API server serves index.html for every non-API path, so a reload or
// a bookmarked URL lands on the same page.
import {setUnauthorizedHandler, Api} from './api.js';
import {mount, h} from './dom.js';
import {loginPage} from './login.js';
import {appsPage, prefetchApps} from './apps.js';
import {appPage} from './app.js';
import {settingsPage} from './settings.js';

const view = () => document.getElementById('view');
let cleanup = null;
let me = null;

export function navigate(path, {replace = false} = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

export function toast(msg, tone = 'info') {
  const t = document.getElementById('toast');
  const el = h('div', {class: ['toast', `tone-${tone}`]}, msg);
  t.appendChild(el);
  setTimeout(() => el.remove(), 6000);
}

export function currentPath() {
  return location.pathname + location.search;
}

// Only same-origin relative paths are followed after login (open redirect).
export function safeReturn(p) {
  if (typeof p !== 'string' || !/^\/(?![/\\])/.test(p) || /[\r\n]/.test(p) || p.startsWith('/login')) return '/applications';
  return p;
}

setUnauthorizedHandler(() => {
  if (location.pathname === '/login') return;
  me = null;
  navigate(`/login?return=${encodeURIComponent(currentPath())}`, {replace: true});
});

async function whoami() {
  if (me) return me;
  try {
    me = await Api.userinfo();
  } catch { me = null; }
  // The server answers {loggedIn: false} (200) to a missing or dead session.
  if (me && me.loggedIn === false) {
    me = null;
    navigate(`/login?return=${encodeURIComponent(currentPath())}`, {replace: true});
  }
  return me;
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* page already gone */ } cleanup = null; }
  const path = location.pathname;
  const root = view();
  const top = document.getElementById('top');
  document.querySelectorAll('header nav a').forEach((a) => {
    a.toggleAttribute('aria-current', path.startsWith(a.getAttribute('href')));
  });
  if (path === '/login') {
    top.hidden = true;
    me = null;
    cleanup = await loginPage(root);
    return;
  }
  top.hidden = false;
  const listing = path === '/' || path === '/applications' || path === '/applications/';
  if (listing && !me) prefetchApps();
  const user = await whoami();
  if (!user) return; // the 401 handler went to /login
  mount(document.getElementById('whoami'), user.username ? `Signed in as ${user.username}` : '');
  let m;
  if (listing) {
    cleanup = await appsPage(root);
  } else if ((m = path.match(/^\/applications\/([^/]+)$/))) {
    cleanup = await appPage(root, decodeURIComponent(m[1]));
  } else if (path === '/settings') {
    cleanup = await settingsPage(root, user);
  } else {
    mount(root, h('h1', null, 'Not found'), h('p', null, h('a', {href: '/applications', 'data-nav': ''}, 'Applications')));
  }
}

export function forgetUser() { me = null; }

// In-app links carry data-nav and are routed without a page load.
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[data-nav]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', route);
route();
