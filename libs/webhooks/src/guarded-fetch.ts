import http from 'node:http';
import https from 'node:https';
import { BlockedDestinationError, checkLiteralHost, guardedLookup, type DestinationPolicy } from './ssrf-guard.js';

/** Why a guarded download did not return a file. */
export type GuardedFetchFailure = 'invalid_url' | 'blocked' | 'too_large' | 'status' | 'redirect' | 'network';

export class GuardedFetchError extends Error {
  constructor(
    readonly failure: GuardedFetchFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'GuardedFetchError';
  }
}

export interface GuardedFetchOptions {
  policy: DestinationPolicy;
  maxBytes: number;
  timeoutMs: number;
}

export interface FetchedFile {
  bytes: Buffer;
  /** The response's `Content-Type` without parameters, lower case; null when it sent none. */
  contentType: string | null;
}

/**
 * GETs a file from a URL a caller gave us, as the webhook client POSTs: the address actually connected
 * to is checked against the SSRF policy (a public name pointed at the cluster is refused at connect
 * time, not at a lookup made earlier), redirects are not followed, and the whole download ends within
 * `timeoutMs` and `maxBytes` (a declared length over it is refused before reading).
 */
export function fetchGuarded(rawUrl: string, options: GuardedFetchOptions): Promise<FetchedFile> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return Promise.reject(new GuardedFetchError('invalid_url', `not a URL: ${rawUrl}`));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new GuardedFetchError('invalid_url', 'only http and https URLs are fetched'));
  if (url.username || url.password) return Promise.reject(new GuardedFetchError('invalid_url', 'credentials in the URL are not allowed'));
  try {
    checkLiteralHost(url, options.policy);
  } catch (error) {
    return Promise.reject(new GuardedFetchError('blocked', (error as Error).message));
  }
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<FetchedFile>((resolve, reject) => {
    let settled = false;
    const fail = (error: GuardedFetchError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outgoing.destroy();
      reject(error);
    };
    const outgoing = transport.request(url, { method: 'GET', lookup: guardedLookup(options.policy), headers: { accept: '*/*' } }, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400) return fail(new GuardedFetchError('redirect', `the URL answered ${status}, a redirect, which is not followed`, status));
      if (status !== 200) return fail(new GuardedFetchError('status', `the URL answered ${status}`, status));
      const declared = Number(response.headers['content-length'] ?? Number.NaN);
      if (declared > options.maxBytes) return fail(new GuardedFetchError('too_large', `the file is ${declared} bytes; at most ${options.maxBytes} are taken`));
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) fail(new GuardedFetchError('too_large', `the file is over ${options.maxBytes} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const type = response.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
        resolve({ bytes: Buffer.concat(chunks), contentType: type ? type : null });
      });
      response.on('error', (error) => fail(new GuardedFetchError('network', error.message)));
    });
    const timer = setTimeout(() => fail(new GuardedFetchError('network', `no complete answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    outgoing.on('error', (error) => fail(error instanceof BlockedDestinationError ? new GuardedFetchError('blocked', error.message) : new GuardedFetchError('network', error.message)));
    outgoing.end();
  });
}
