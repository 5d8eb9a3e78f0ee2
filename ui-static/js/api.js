// The API server's REST calls (DESIGN.md §9). Same-origin, the session is
// the berth.token cookie. Bodies are JSON (the server refuses other types
// on state-changing requests: CSRF). A 401 sends the user to the login page
// with the current location to return to.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function api(method, path, body, opts = {}) {
  const init = {method, credentials: 'same-origin', headers: {Accept: 'application/json'}};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return answer(fetch(path, init), method, path, opts);
}

// The decoded body of a fetch() response promise (the JSON, or an ApiError).
export async function answer(responsePromise, method, path, opts = {}) {
  let res;
  try {
    res = await responsePromise;
  } catch (e) {
    throw new ApiError(0, `cannot reach the API server: ${e.message}`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (res.status === 401 && !opts.noRedirect) {
    onUnauthorized();
    throw new ApiError(401, 'session expired');
  }
  if (!res.ok) {
    const msg = (data && (data.error || data.message)) || `${method} ${path}: HTTP ${res.status}`;
    throw new ApiError(res.status, msg);
  }
  return data;
}

export const enc = encodeURIComponent;

export const Api = {
  settings: () => api('GET', '/api/v1/settings', undefined, {noRedirect: true}),
  login: (username, password) => api('POST', '/api/v1/session', {username, password}, {noRedirect: true}),
  logout: () => api('DELETE', '/api/v1/session', undefined, {noRedirect: true}),
  userinfo: () => api('GET', '/api/v1/session/userinfo'),
  // One page of the list: limit apps after the continue token (both optional).
  apps: (limit, cont) => api('GET', `/api/v1/applications${limit ? `?limit=${limit}${cont ? `&continue=${enc(cont)}` : ''}` : ''}`),
  app: (name, refresh) => api('GET', `/api/v1/applications/${enc(name)}${refresh ? `?refresh=${enc(refresh)}` : ''}`),
  tree: (name) => api('GET', `/api/v1/applications/${enc(name)}/resource-tree`),
  manifests: (name) => api('GET', `/api/v1/applications/${enc(name)}/manifests`),
  managed: (name) => api('GET', `/api/v1/applications/${enc(name)}/managed-resources`),
  sync: (name, body) => api('POST', `/api/v1/applications/${enc(name)}/sync`, body),
  rollback: (name, id) => api('POST', `/api/v1/applications/${enc(name)}/rollback`, {id}),
  terminate: (name) => api('DELETE', `/api/v1/applications/${enc(name)}/operation`),
  deleteApp: (name, cascade) => api('DELETE', `/api/v1/applications/${enc(name)}?cascade=${cascade ? 'true' : 'false'}`),
  list: (what) => api('GET', `/api/v1/${what}`),
  create: (what, body) => api('POST', `/api/v1/${what}`, body),
  remove: (what, key) => api('DELETE', `/api/v1/${what}/${enc(key)}`),
};
