import { createGatewayClient } from '@wagw/sdk';

/**
 * The token the dashboard calls the API with: an API key or a login JWT, kept in this tab's
 * sessionStorage (gone when the tab closes).
 */
const STORAGE_KEY = 'wagw.token';
/** Set when the stored key was issued to this tab (from a sign-in link): signing out revokes it. */
const ISSUED_KEY = 'wagw.issued-key-id';
/** How long a tab's own key works: a tab left open longer signs in again. */
const TAB_KEY_LIFETIME_MS = 12 * 60 * 60 * 1000;

export function storedToken(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function signIn(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token.trim());
  sessionStorage.removeItem(ISSUED_KEY);
}

/** Forgets the token; a key issued to this tab is revoked first (best effort: it expires anyway). */
export async function signOut(): Promise<void> {
  const token = storedToken();
  const issued = sessionStorage.getItem(ISSUED_KEY);
  sessionStorage.removeItem(STORAGE_KEY);
  sessionStorage.removeItem(ISSUED_KEY);
  if (token && issued) await createGatewayClient({ baseUrl: location.origin, token }).DELETE('/api/v1/org/api-keys/{key}', { params: { path: { key: issued } } }).catch(() => undefined);
}

/**
 * Signs in with a sign-in link's key (`#key=…` in the fragment, which never reaches a server or a log),
 * and makes the link single-use: the key is exchanged for one of this tab's own, with the same
 * capabilities, and revoked. The address bar is left without it either way. A link key that may not
 * manage keys is used as it is.
 */
export async function consumeSignInLink(): Promise<void> {
  const match = /^#key=([^&]+)/.exec(location.hash);
  if (!match?.[1]) return;
  history.replaceState(null, '', `${location.pathname}${location.search}#/sessions`);
  const linkKey = decodeURIComponent(match[1]);
  const api = createGatewayClient({ baseUrl: location.origin, token: linkKey });
  const org = await api.GET('/api/v1/org');
  if (!org.data) {
    // Used before, expired or revoked: the sign-in page says so.
    signIn(linkKey);
    return;
  }
  const caller = org.data.caller;
  if (caller.kind !== 'api_key' || !caller.capabilities.includes('keys:manage')) {
    signIn(linkKey);
    return;
  }
  const issued = await api.POST('/api/v1/org/api-keys', {
    body: { name: 'dashboard sign-in (browser tab)', capabilities: caller.capabilities, expiresAt: new Date(Date.now() + TAB_KEY_LIFETIME_MS).toISOString() },
  });
  if (!issued.data) {
    signIn(linkKey);
    return;
  }
  signIn(issued.data.key);
  sessionStorage.setItem(ISSUED_KEY, issued.data.id);
  await createGatewayClient({ baseUrl: location.origin, token: issued.data.key }).DELETE('/api/v1/org/api-keys/{key}', { params: { path: { key: caller.subject } } });
}
