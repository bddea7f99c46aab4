import { QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useState } from 'preact/hooks';
import { queryClient, useCan, useOrganization, whenSignedOut } from './api';
import { signOut, storedToken } from './credentials';
import { useLiveUpdates } from './live';
import { href, useRoute } from './router';
import { AuditPage } from './pages/audit';
import { KeysPage } from './pages/keys';
import { OperationPage } from './pages/operation';
import { SessionPage } from './pages/session';
import { SessionsPage } from './pages/sessions';
import { SignInPage } from './pages/sign-in';
import { UsagePage } from './pages/usage';
import { WebhookPage, WebhooksPage } from './pages/webhooks';

interface NavItem {
  route: string;
  label: string;
  visible: boolean;
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const [page, id] = useRoute();
  const org = useOrganization();
  const live = useLiveUpdates(true);
  const canKeys = useCan('keys:manage');
  const canWebhooks = useCan('webhooks:manage');
  const nav: NavItem[] = [
    { route: 'sessions', label: 'Sessions', visible: true },
    { route: 'webhooks', label: 'Webhooks', visible: canWebhooks },
    { route: 'keys', label: 'API keys', visible: canKeys },
    { route: 'audit', label: 'Audit log', visible: canKeys },
    { route: 'usage', label: 'Usage', visible: true },
    { route: 'operations', label: 'Operations', visible: true },
  ];
  useEffect(() => {
    const item = nav.find((candidate) => candidate.route === page);
    document.title = `${item?.label ?? 'Dashboard'} · WhatsApp Gateway`;
  });
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header>
        <strong class="brand">WhatsApp Gateway</strong>
        <nav aria-label="main">
          {nav
            .filter((item) => item.visible)
            .map((item) => (
              <a key={item.route} href={href(item.route)} aria-current={page === item.route ? 'page' : undefined}>
                {item.label}
              </a>
            ))}
        </nav>
        <span class="org">
          {org.data ? `${org.data.name} · ${org.data.caller.role ?? org.data.caller.kind}` : ''}
          <span class={live ? 'live on' : 'live'} role="status" aria-label={live ? 'live updates on' : 'live updates off'}>
            {live ? 'live' : 'offline'}
          </span>
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page === 'sessions' && id ? <SessionPage id={id} /> : null}
        {page === 'sessions' && !id ? <SessionsPage /> : null}
        {page === 'webhooks' && id ? <WebhookPage id={id} /> : null}
        {page === 'webhooks' && !id ? <WebhooksPage /> : null}
        {page === 'keys' ? <KeysPage /> : null}
        {page === 'audit' ? <AuditPage /> : null}
        {page === 'usage' ? <UsagePage /> : null}
        {page === 'operations' ? <OperationPage /> : null}
      </main>
    </>
  );
}

export function App() {
  const [signedIn, setSignedIn] = useState(storedToken() !== null);
  const [expired, setExpired] = useState(false);
  useEffect(() => {
    whenSignedOut(() => {
      setExpired(true);
      setSignedIn(false);
    });
  }, []);
  if (!signedIn) {
    return (
      <SignInPage
        expired={expired}
        onSignedIn={() => {
          setExpired(false);
          setSignedIn(true);
          if (!location.hash.startsWith('#/')) location.hash = href('sessions');
        }}
      />
    );
  }
  return (
    <QueryClientProvider client={queryClient}>
      <Shell
        onSignOut={() => {
          void signOut().finally(() => {
            queryClient.clear();
            setSignedIn(false);
          });
        }}
      />
    </QueryClientProvider>
  );
}
