import { GatewayError } from '@wagw/contracts';
import { Prisma } from '../generated/client.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Cursors are opaque to clients: the base64url of the last row's id. Ids are UUIDv7, so id order is
 * creation order and a cursor stays valid while rows are added.
 */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw new GatewayError('validation_failed', 'invalid query parameters', { fields: { cursor: 'not a cursor this API returned' } });
  return id;
}

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** Fetches one row more than asked to learn whether another page exists. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): { rows: T[]; nextCursor: string | null } {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return { rows: pageRows, nextCursor: hasMore && last ? encodeCursor(last.id) : null };
}

/**
 * A row limit written into the statement instead of bound as a parameter. The gateway, worker and
 * dispatcher plan every statement once (`plan_cache_mode=force_generic_plan`), and a generic plan
 * assumes a bound LIMIT keeps a tenth of the table, which on a large table can trade an index walk for
 * a full scan and sort. Limits are our own constants, so each statement still gets one plan.
 */
export function limitLiteral(limit: number): Prisma.Sql {
  if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`a row limit must be a positive integer, not ${String(limit)}`);
  return Prisma.raw(String(limit));
}
