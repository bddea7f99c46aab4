import { createPublicKey } from 'node:crypto';

export interface JwksKeyCacheOptions {
  url: string;
  /** Keys older than this are fetched again in the background, and served meanwhile. */
  maxAgeMs: number;
  /**
   * Fetches in this interval, for all callers together: at most one because of a `kid` we do not have,
   * and apart from it, at most one to refresh aged keys. A flood of made-up kids spends only the first.
   */
  refetchIntervalMs: number;
  timeoutMs: number;
  /** Told when a fetch fails (the cached keys, if any, keep being served). */
  onFetchError?: (error: unknown) => void;
  now?: () => number;
}

type PublicKeys = ReadonlyMap<string, string>;

/** The JWKS document's signing keys by `kid`, as PEM; keys we cannot use (encryption, unknown types) are left out. */
function parseJwks(body: unknown): PublicKeys {
  const keys = new Map<string, string>();
  const list = body && typeof body === 'object' && 'keys' in body && Array.isArray(body.keys) ? (body.keys as unknown[]) : [];
  for (const jwk of list) {
    if (!jwk || typeof jwk !== 'object' || !('kid' in jwk) || typeof jwk.kid !== 'string') continue;
    if ('use' in jwk && jwk.use !== 'sig') continue;
    try {
      keys.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString());
    } catch {
      // not a public key Node can read: skipped, as an unknown kid would be
    }
  }
  return keys;
}

/**
 * The login JWTs' public keys from the frontend's JWKS, kept so that no caller can deny them to others:
 * a known key is always answered from memory (aged keys are refreshed in the background and served
 * until the refresh succeeds: stale-while-revalidate), unknown kids share one fetch per interval, and
 * refreshing known keys has a budget of its own that unknown kids cannot spend.
 */
export class JwksKeyCache {
  private keys: PublicKeys = new Map();
  private loadedAt: number | null = null;
  private lastUnknownKidFetchAt = Number.NEGATIVE_INFINITY;
  private lastRefreshAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: JwksKeyCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The PEM of the key `kid` names (or of the only key, when the token names none); null if there is none. */
  async keyFor(kid: string | undefined): Promise<string | null> {
    const now = this.now();
    if (this.loadedAt !== null && now - this.loadedAt > this.options.maxAgeMs && now - this.lastRefreshAt >= this.options.refetchIntervalMs) {
      this.lastRefreshAt = now;
      void this.fetchKeys();
    }
    const cached = this.lookup(kid);
    if (cached !== null) return cached;
    // Not cached (or nothing is yet): one fetch per interval for every caller together. Callers that
    // arrive while it runs wait for it rather than start another.
    if (this.inFlight === null && now - this.lastUnknownKidFetchAt >= this.options.refetchIntervalMs) {
      this.lastUnknownKidFetchAt = now;
      void this.fetchKeys();
    }
    if (this.inFlight !== null) await this.inFlight;
    return this.lookup(kid);
  }

  private lookup(kid: string | undefined): string | null {
    if (kid !== undefined) return this.keys.get(kid) ?? null;
    const [only, ...others] = [...this.keys.values()];
    return others.length === 0 ? (only ?? null) : null;
  }

  /** One fetch at a time; it never rejects (a failure is reported and the cached keys stay). */
  private fetchKeys(): Promise<void> {
    this.inFlight ??= (async () => {
      try {
        const response = await fetch(this.options.url, { signal: AbortSignal.timeout(this.options.timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
        if (!response.ok) throw new Error(`the JWKS endpoint answered ${response.status}`);
        const keys = parseJwks(await response.json());
        if (keys.size === 0) throw new Error('the JWKS has no signing key we can use');
        this.keys = keys;
        this.loadedAt = this.now();
      } catch (error) {
        this.options.onFetchError?.(error);
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }
}
