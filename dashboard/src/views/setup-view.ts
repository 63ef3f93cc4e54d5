// First start without EMS_ADMIN_PASSWORD: the EMS printed a one-time setup token; this page turns
// it into the admin account and logs in.
import { ApiError, type ApiClient } from '../api-client.ts';
import type { LoginResult } from '../api-types.ts';
import { h, setText } from '../dom.ts';

export function setupView(api: ApiClient, onDone: (result: LoginResult) => void): HTMLElement {
  const token = h('input', { id: 'setup-token', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false', autocapitalize: 'none' });
  const password = h('input', { id: 'setup-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 12 });
  const repeat = h('input', { id: 'setup-repeat', name: 'repeat', type: 'password', autocomplete: 'new-password', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Create admin');
  const form = h(
    'form',
    { class: 'login-card', 'aria-labelledby': 'setup-title', novalidate: true },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '⚡'), h('span', {}, 'Site energy')),
    h('h1', { id: 'setup-title' }, 'First start: create the admin'),
    h('p', { class: 'muted small' }, 'The EMS printed a one-time setup token on its terminal (stdout) when it started. Paste it here and choose the admin password (12 characters or more). The user name is admin.'),
    h('div', { class: 'field' }, h('label', { for: 'setup-token' }, 'Setup token'), token),
    h('div', { class: 'field' }, h('label', { for: 'setup-password' }, 'New admin password'), password),
    h('div', { class: 'field' }, h('label', { for: 'setup-repeat' }, 'Repeat the password'), repeat),
    error,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!token.value.trim()) return setText(error, 'Paste the setup token from the EMS log.');
    if (password.value.length < 12) return setText(error, 'The password needs at least 12 characters.');
    if (password.value !== repeat.value) return setText(error, 'The two passwords differ.');
    button.disabled = true;
    setText(error, '');
    try {
      onDone(await api.setupAdmin(token.value.trim(), password.value));
    } catch (e) {
      const message = e instanceof ApiError && e.issues.length ? e.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : (e as Error).message;
      setText(error, message);
    } finally {
      button.disabled = false;
    }
  });
  queueMicrotask(() => token.focus());
  return h('main', { class: 'login-page' }, form);
}
