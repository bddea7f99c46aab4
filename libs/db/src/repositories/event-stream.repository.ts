import type { DbClient } from '../prisma-client.js';
import { Prisma } from '../generated/client.js';
import { limitLiteral } from './pagination.js';

/**
 * A position in an organization's event stream: after the event `eventId` of the transaction `txId`.
 * Events are read in (txId, id) order and only from transactions older than every transaction still
 * running, so the order is final when read: an event committed later always sorts after the cursor.
 */
export interface EventStreamCursor {
  /** The writing transaction's id (xid8), as a decimal string. */
  txId: string;
  /** The last event read within that transaction; `MAX_EVENT_ID` stands after all of its events. */
  eventId: string;
}

/** Sorts after every event id of a transaction (UUIDs compare bytewise in Postgres). */
export const MAX_EVENT_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

export interface StreamedEvent {
  id: string;
  txId: string;
  sessionId: string | null;
  type: string;
  /** The webhook body of the event, as subscribers receive it. */
  payload: unknown;
}

/** Orders two cursors (or an event and a cursor) as the stream does: by transaction, then by event id. */
export function compareStreamPositions(a: EventStreamCursor, b: EventStreamCursor): number {
  const byTx = BigInt(a.txId) - BigInt(b.txId);
  if (byTx !== 0n) return byTx < 0n ? -1 : 1;
  return a.eventId === b.eventId ? 0 : a.eventId < b.eventId ? -1 : 1;
}

/** An organization's committed domain events in commit-safe order, for the live event stream (`GET /api/v1/events`). */
export class EventStreamRepository {
  constructor(private readonly db: DbClient) {}

  /**
   * Where a new subscriber starts: after everything already final. Events of transactions still running
   * at this moment are read, so an event committed just before the subscription may arrive; none after
   * it is missed.
   */
  async head(): Promise<EventStreamCursor> {
    const [row] = await this.db.$queryRaw<Array<{ txId: string }>>`SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::numeric - 1)::text AS "txId"`;
    if (!row) throw new Error('no snapshot');
    return { txId: row.txId, eventId: MAX_EVENT_ID };
  }

  /** The position right after the organization's event `eventId`, or null when it has no such event. */
  async positionOf(orgId: string, eventId: string): Promise<EventStreamCursor | null> {
    const [row] = await this.db.$queryRaw<Array<{ txId: string }>>`
      SELECT tx_id::text AS "txId" FROM domain_events WHERE org_id = ${orgId}::uuid AND id = ${eventId}::uuid`;
    return row ? { txId: row.txId, eventId } : null;
  }

  /** Up to `limit` events of the organization after `cursor`, oldest first, from finished transactions only. */
  async readAfter(orgId: string, cursor: EventStreamCursor, limit: number): Promise<StreamedEvent[]> {
    return this.db.$queryRaw<StreamedEvent[]>(Prisma.sql`
      SELECT id::text AS id, tx_id::text AS "txId", session_id::text AS "sessionId", type, payload
        FROM domain_events
       WHERE org_id = ${orgId}::uuid
         AND (tx_id, id) > (${cursor.txId}::xid8, ${cursor.eventId}::uuid)
         AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY tx_id, id
       LIMIT ${limitLiteral(limit)}`);
  }
}
