// The first page of the application list, asked for while the page's
// modules are still loading (the first screen's budget: the request and
// the module graph overlap). A classic script, run before the modules;
// apps.js takes the response over (prefetchApps). Only on the list's paths,
// and only once: in-app navigation fetches for itself. The page size is
// apps.js's FIRST_PAGE.
(function () {
  var p = location.pathname;
  if (p !== '/' && p !== '/applications' && p !== '/applications/') return;
  window.berthFirstPage = fetch('/api/v1/applications?limit=100', {credentials: 'same-origin', headers: {Accept: 'application/json'}});
  window.berthFirstPage.catch(function () {});
})();
