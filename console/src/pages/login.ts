/** Sign in with an API key (`pivot keys create`); it is kept for this browser tab only. */
import { useState } from 'preact/hooks';
import { type ApiError, request, saveKey } from '../api.ts';
import { html } from '../html.ts';

export function LoginPage() {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const sid = String(form.get('sid') ?? '').trim();
    const secret = String(form.get('secret') ?? '');
    if (!/^SK[0-9a-f]{32}$/.test(sid)) {
      setProblem('The key sid is SK followed by 32 hexadecimal digits.');
      document.getElementById('login-sid')?.focus();
      return;
    }
    if (!secret) {
      setProblem('Enter the key secret (printed once by pivot keys create).');
      document.getElementById('login-secret')?.focus();
      return;
    }
    setBusy(true);
    try {
      await request('/v1/Trunks', { key: { sid, secret } });
      saveKey({ sid, secret });
    } catch (error) {
      const e = error as ApiError;
      setProblem(e.status === 401 ? 'This key is unknown, revoked, or the secret is wrong.' : e.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="login">
    <h1>sip-pivot console</h1>
    <p>Sign in with an API key. Make one with <code>npx pivot keys create --role read</code> (or <code>admin</code> to change trunks).
      The key stays in this tab only and is sent to this server's API with each request.</p>
    <form onSubmit=${submit} novalidate>
      <div class="field">
        <label for="login-sid">Key sid</label>
        <input id="login-sid" name="sid" autocomplete="username" spellcheck="false" placeholder="SK…" required aria-describedby=${problem ? 'login-problem' : undefined} />
      </div>
      <div class="field">
        <label for="login-secret">Secret</label>
        <input id="login-secret" name="secret" type="password" autocomplete="current-password" required />
      </div>
      <div class="field actions"><button type="submit" disabled=${busy}>${busy ? 'Checking…' : 'Sign in'}</button></div>
      ${problem ? html`<p id="login-problem" class="note error" role="alert">${problem}</p>` : null}
    </form>
  </div>`;
}
