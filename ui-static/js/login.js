// Login: local username/password, and "Log in via SSO" when the server has
// an OIDC provider configured. After login the user returns to the page the
// session expired on (?return=, same-origin paths only).
import {Api} from './api.js';
import {h, mount} from './dom.js';
import {navigate, safeReturn, forgetUser} from './main.js';

export async function loginPage(root) {
  const params = new URLSearchParams(location.search);
  const ret = safeReturn(params.get('return'));
  let settings = {};
  try { settings = await Api.settings() || {}; } catch { settings = {}; }
  forgetUser();

  const err = h('p', {class: 'error', role: 'alert', id: 'login-error'});
  const user = h('input', {id: 'username', name: 'username', autocomplete: 'username', required: true});
  const pass = h('input', {id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Log in');
  const form = h('form', {class: 'login-form', on: {submit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    submit.disabled = true;
    try {
      await Api.login(user.value, pass.value);
      navigate(ret, {replace: true});
    } catch (x) {
      err.textContent = x.status === 401 || x.status === 403 ? 'Invalid username or password' : x.message;
      submit.disabled = false;
      pass.select();
    }
  }}},
  h('label', {for: 'username'}, 'Username'), user,
  h('label', {for: 'password'}, 'Password'), pass,
  submit);

  const oidc = settings.oidcConfig;
  const sso = oidc ? h('div', {class: 'sso'},
    h('p', {class: 'muted'}, 'or'),
    h('a', {class: ['button', 'sso-button'], id: 'sso-login',
      href: `/auth/login?return_url=${encodeURIComponent(ret)}`},
    `Log in via ${oidc.name || 'SSO'}`)) : null;
  const urlErr = params.get('error');
  if (urlErr) err.textContent = `Login failed: ${urlErr}`;

  mount(root, h('section', {class: 'login'},
    h('h1', null, '⚓ Berth'),
    h('p', {class: 'muted'}, 'GitOps continuous delivery'),
    settings.localLoginEnabled === false ? null : form,
    sso, err));
  (settings.localLoginEnabled === false ? document.getElementById('sso-login') : user)?.focus();
  return null;
}
