// The login page: Username, Password, "Log in" (DESIGN.md external contract).
import { ApiError, type ApiClient } from '../api-client.ts';
import type { LoginResult } from '../api-types.ts';
import { h, setText } from '../dom.ts';

export function loginView(api: ApiClient, onLoggedIn: (result: LoginResult, username: string) => void, notice?: string): HTMLElement {
  const username = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'form-error', role: 'alert', 'aria-live': 'assertive' });
  if (notice) setText(error, notice);
  const button = h('button', { type: 'submit', class: 'primary' }, 'Log in');

  const form = h(
    'form',
    { class: 'login-card', 'aria-labelledby': 'login-title', novalidate: true },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '⚡'), h('span', {}, 'Site energy')),
    h('h1', { id: 'login-title' }, 'Sign in to the site dashboard'),
    h('div', { class: 'field' }, h('label', { for: 'login-username' }, 'Username'), username),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
    error,
    button,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!username.value || !password.value) {
      setText(error, 'Enter your username and password.');
      return;
    }
    button.disabled = true;
    setText(button, 'Logging in…');
    setText(error, '');
    try {
      const result = await api.login(username.value.trim(), password.value);
      onLoggedIn(result, username.value.trim());
    } catch (e) {
      const message =
        e instanceof ApiError && e.status === 401
          ? 'Wrong username or password.'
          : e instanceof ApiError && e.status === 429
            ? 'Too many attempts. Wait a minute and try again.'
            : (e as Error).message;
      setText(error, message);
      password.select();
    } finally {
      button.disabled = false;
      setText(button, 'Log in');
    }
  });

  queueMicrotask(() => username.focus());
  return h('main', { class: 'login-page' }, form);
}
