import { z } from 'zod';
import { GatewayError } from '@wagw/contracts';

/** A user (`…@s.whatsapp.net`, `…@lid`) or group (`…@g.us`) JID. */
export const chatJid = z
  .string()
  .max(100)
  .regex(/^(\d{5,20}(:\d{1,3})?@s\.whatsapp\.net|\d{5,20}@lid|\d{5,20}(-\d{1,20})?@g\.us)$/, 'must be a WhatsApp JID such as 15551234567@s.whatsapp.net or 1203630…@g.us');

export const userJid = z
  .string()
  .max(100)
  .regex(/^(\d{5,20}(:\d{1,3})?@s\.whatsapp\.net|\d{5,20}(:\d{1,3})?@lid)$/, 'must be a user JID such as 15551234567@s.whatsapp.net');

/** WhatsApp message ids are short uppercase hex-ish tokens; anything else cannot be one. */
export const waMessageId = z.string().regex(/^[A-Za-z0-9_-]{6,128}$/, 'must be a WhatsApp message id');

/**
 * One schema per kind of id in a path. Every id is a UUID: checked as one here, a malformed id is a 400
 * naming the parameter and never reaches SQL (where Postgres would refuse it as a uuid: a 500).
 */
// eslint-disable-next-line no-restricted-syntax -- called at module load only, once per parameter below
const idOf = (kind: string): z.ZodUUID => z.uuid({ message: `must be ${kind} id (UUID)` });
export const sessionIdParam = idOf('a session');
export const webhookIdParam = idOf('a webhook endpoint');
export const deliveryIdParam = idOf('a delivery');
export const apiKeyIdParam = idOf('an API key');
export const operationIdParam = idOf('an operation (outboxId)');

const idempotencyKeyHeader = z.string().regex(/^[\x21-\x7e]{1,255}$/);

/** `Idempotency-Key` header: printable ASCII, at most 255 characters; absent means none. */
export function idempotencyKeyOf(header: unknown): string | null {
  if (header === undefined) return null;
  const parsed = idempotencyKeyHeader.safeParse(header);
  if (!parsed.success) throw new GatewayError('validation_failed', 'invalid headers', { fields: { 'Idempotency-Key': 'must be 1-255 printable ASCII characters' } });
  return parsed.data;
}
