/**
 * The token the dashboard calls the API with: an API key or a login JWT, kept in this tab's
 * sessionStorage (gone when the tab closes). A sign-in link carries one in its fragment (`#key=…`),
 * which never reaches a server or a log; it is read once and removed from the address bar.
 */
const STORAGE_KEY = 'wagw.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function signIn(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token.trim());
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Takes a token from a sign-in link's fragment, if there is one, and leaves the address bar without it. */
export function consumeSignInLink(location: Location, history: History): boolean {
  const match = /^#key=([^&]+)/.exec(location.hash);
  if (!match?.[1]) return false;
  signIn(decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/sessions`);
  return true;
}
