/** The console: sign-in, navigation, the banner, and the page the hash route names. */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { authListeners, currentKey, forgetKey } from './api.ts';
import { Banner } from './banner.ts';
import { html } from './html.ts';
import { AuditPage } from './pages/audit.ts';
import { BillingPage } from './pages/billing.ts';
import { CallPage } from './pages/call.ts';
import { CallsPage } from './pages/calls.ts';
import { LoginPage } from './pages/login.ts';
import { TransfersPage } from './pages/transfers.ts';
import { TrunkPage, TrunksPage } from './pages/trunks.ts';
import { href, type Route, useRoute } from './router.ts';

const SECTIONS = [
  ['calls', 'Calls'],
  ['transfers', 'Transfers'],
  ['trunks', 'Trunks'],
  ['billing', 'Billing'],
  ['audit', 'Audit'],
] as const;

function page(route: Route) {
  const [section = 'calls', sid] = route.path;
  if (section === 'calls' && sid) return html`<${CallPage} sid=${sid} key=${sid} />`;
  if (section === 'trunks' && sid) return html`<${TrunkPage} sid=${sid} key=${sid} />`;
  switch (section) {
    case 'calls':
      return html`<${CallsPage} route=${route} />`;
    case 'transfers':
      return html`<${TransfersPage} route=${route} />`;
    case 'trunks':
      return html`<${TrunksPage} />`;
    case 'billing':
      return html`<${BillingPage} route=${route} />`;
    case 'audit':
      return html`<${AuditPage} route=${route} />`;
    default:
      return html`<h1>Not found</h1><p>No page <code>${route.path.join('/')}</code>. <a href=${href('calls')}>Calls</a></p>`;
  }
}

function App() {
  const [key, setKey] = useState(currentKey);
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    const changed = () => setKey(currentKey());
    authListeners.add(changed);
    return () => {
      authListeners.delete(changed);
    };
  }, []);
  const section = route.path[0] ?? 'calls';
  useEffect(() => {
    const title = SECTIONS.find(([s]) => s === section)?.[1] ?? 'Console';
    document.title = `${title}${route.path[1] ? ` ${route.path[1]}` : ''} · sip-pivot`;
  }, [route]);
  const skip = (event: Event) => {
    event.preventDefault();
    main.current?.focus();
  };
  if (!key) return html`<${Banner} /><main id="main" ref=${main} tabindex="-1"><${LoginPage} /></main>`;
  return html`<a class="skip" href="#main" onClick=${skip}>Skip to content</a>
    <header class="top">
      <a class="brand" href=${href('calls')}>sip-pivot</a>
      <nav aria-label="Console">
        <ul>
          ${SECTIONS.map(
            ([s, label]) =>
              html`<li><a href=${href(s)} aria-current=${s === section ? 'page' : undefined}>${label}</a></li>`,
          )}
        </ul>
      </nav>
      <span class="who"><code title=${key.sid}>${key.sid.slice(0, 8)}…</code> <button type="button" class="secondary small" onClick=${forgetKey}>Sign out</button></span>
    </header>
    <${Banner} />
    <main id="main" ref=${main} tabindex="-1">${page(route)}</main>`;
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
