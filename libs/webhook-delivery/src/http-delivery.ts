import http from 'node:http';
import https from 'node:https';
import { BlockedDestinationError, checkLiteralHost, guardedLookup, type DestinationPolicy } from '@wagw/webhooks';
import { parseRetryAfter, type AttemptOutcome } from './retry-policy.js';

/** Enough of a response body to free the connection for reuse; the rest is not read. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/**
 * POSTs webhooks: redirects are never followed, the address connected to is checked against the SSRF
 * policy (so DNS cannot point a public name at the cluster), and every attempt ends within `timeoutMs`.
 */
export class WebhookHttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly lookup;

  constructor(private readonly policy: DestinationPolicy) {
    this.lookup = guardedLookup(policy);
  }

  async post(request: WebhookRequest): Promise<AttemptOutcome> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = new URL(request.url);
      checkLiteralHost(url, this.policy);
    } catch (error) {
      if (error instanceof BlockedDestinationError) return { kind: 'blocked', reason: error.message, latencyMs: 0 };
      return { kind: 'blocked', reason: `not a valid URL: ${request.url}`, latencyMs: 0 };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'blocked', reason: `only http and https URLs are allowed`, latencyMs: 0 };
    const transport = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    return new Promise<AttemptOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: AttemptOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const outgoing = transport.request(
        url,
        { method: 'POST', agent, lookup: this.lookup, headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) } },
        (response) => {
          const outcome: AttemptOutcome = {
            kind: 'response',
            statusCode: response.statusCode ?? 0,
            latencyMs: elapsed(),
            retryAfterMs: parseRetryAfter(firstHeader(response.headers['retry-after']), Date.now()),
          };
          let received = 0;
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > MAX_RESPONSE_BYTES) response.destroy();
          });
          response.on('end', () => finish(outcome));
          response.on('close', () => finish(outcome));
          response.on('error', () => finish(outcome));
        },
      );
      const timer = setTimeout(() => {
        outgoing.destroy();
        finish({ kind: 'error', message: `no response within ${request.timeoutMs} ms`, latencyMs: elapsed() });
      }, request.timeoutMs);
      outgoing.on('error', (error: Error) => {
        if (error instanceof BlockedDestinationError) finish({ kind: 'blocked', reason: error.message, latencyMs: elapsed() });
        else finish({ kind: 'error', message: describeNetworkError(error), latencyMs: elapsed() });
      });
      outgoing.end(request.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function describeNetworkError(error: Error & { code?: string }): string {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
