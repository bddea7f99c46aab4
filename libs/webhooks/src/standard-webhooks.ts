import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Secrets are `whsec_` + base64 of the key, as Standard Webhooks defines them. */
const SECRET_PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length < 16) throw new Error('a webhook secret must hold at least 16 bytes');
  return key;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  /** `v1,<base64>` per secret, space-separated: two during a secret rotation. */
  'webhook-signature': string;
}

/**
 * Standard Webhooks signature headers: HMAC-SHA256 over `id.timestamp.body` with each active secret.
 * `id` is the event id and stays the same across retries, so receivers can drop duplicates.
 */
export function signWebhook(input: { id: string; timestamp: number; body: string; secrets: readonly string[] }): SignedHeaders {
  if (input.secrets.length === 0) throw new Error('at least one secret is needed to sign');
  const signed = `${input.id}.${input.timestamp}.${input.body}`;
  const signatures = input.secrets.map((secret) => `v1,${createHmac('sha256', keyOf(secret)).update(signed).digest('base64')}`);
  return { 'webhook-id': input.id, 'webhook-timestamp': String(input.timestamp), 'webhook-signature': signatures.join(' ') };
}

/** Receiver side, for our own tests and for users without a library: any listed signature may match. */
export function verifyWebhook(input: { headers: SignedHeaders; body: string; secret: string; toleranceSeconds?: number; now?: number }): boolean {
  const timestamp = Number(input.headers['webhook-timestamp']);
  const now = input.now ?? Math.floor(Date.now() / 1000);
  if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > (input.toleranceSeconds ?? 300)) return false;
  const expected = signWebhook({ id: input.headers['webhook-id'], timestamp, body: input.body, secrets: [input.secret] })['webhook-signature'];
  return input.headers['webhook-signature'].split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    const wanted = Buffer.from(expected);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  });
}
