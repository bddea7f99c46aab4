import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './openapi-types.js';

export type { components, paths };
export type Schemas = components['schemas'];
export type GatewayClient = Client<paths>;

export interface GatewayClientOptions {
  /** The gateway's origin, e.g. `http://127.0.0.1:3000` (paths start with `/api/v1`). */
  baseUrl: string;
  /** An API key (`wagw_…`) or a login JWT. */
  token: string;
  fetch?: typeof globalThis.fetch;
}

/**
 * A client whose paths, parameters, bodies and answers are typed from the gateway's OpenAPI document:
 * `client.DELETE('/api/v1/sessions/{session}/messages/{mid}', { params: { path: { session, mid } }, body: {} })`
 * resolves to `{ data: SendResult }` or `{ error: ErrorEnvelope }`, with `response` for headers and status.
 */
export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${options.token}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/** The error envelope's `code` and `message` as one line, for an answer that was not 2xx. */
export function describeError(error: unknown, status?: number): string {
  const envelope = error as Partial<Schemas['ErrorEnvelope']> | undefined;
  const code = envelope?.error?.code;
  const message = envelope?.error?.message;
  if (code !== undefined) return `${code}: ${message ?? ''}`.trim();
  return status === undefined ? 'the gateway could not be reached' : `HTTP ${status}`;
}
