import { Prisma } from '../../generated/client.js';
import { hotSql, type DbClient, type HotSql } from '../../prisma-client.js';
import { utcTimestamp } from '../sql-time.js';
import { limitLiteral } from '../pagination.js';

/** One event the fan-out read, with the deliveries it made for it (none when no endpoint wants it). */
export interface FannedOutEvent {
  eventId: string;
  /** When the event was committed: the fan-out lag is `now - createdAt`. */
  createdAt: Date;
  deliveryIds: string[];
}

/** What one fan-out pass did. */
export interface FanOutPass {
  /** False when another dispatcher is fanning out right now: this pass read nothing. */
  held: boolean;
  /** The events read, in fan-out order; as many as the limit when more may be waiting. */
  events: FannedOutEvent[];
}

/** Distinguishes the fan-out's advisory lock from any other the database may hold. */
const FAN_OUT_LOCK = 0x7761_6677; // 'waff'

/**
 * System scope (see ../../system.ts): the dispatcher's reads over every organization's events. They
 * only move rows along: each delivery stays within its event's organization.
 */
export class EventFanOutRepository {
  private readonly sql: HotSql;

  constructor(db: DbClient) {
    // Through pg: a pass runs on every announcement of committed events and on the periodic read.
    this.sql = hotSql(db);
  }

  /**
   * Fans out up to `limit` events committed after the fan-out cursor: one delivery per enabled endpoint
   * of the event's organization that subscribes to its type (and to its session, when the endpoint names
   * sessions), due at `firstAttemptAt` (the relay re-publishes deliveries left pending past it), and
   * moves the cursor past them, in one transaction. Events are read in (txId, id) order and only from
   * transactions older than every one still running, so an event committed later always sorts after the
   * cursor and none is skipped. One dispatcher at a time holds the pass (an advisory lock); another
   * answers `held: false` at once rather than waiting.
   *
   * No event row is written: marking each one published cost an index-changing update per event.
   */
  async fanOutNext(limit: number, { now = new Date(), firstAttemptAt = now }: { now?: Date; firstAttemptAt?: Date } = {}): Promise<FanOutPass> {
    const at = utcTimestamp(now);
    const due = utcTimestamp(firstAttemptAt);
    return this.sql.transaction(async (tx) => {
      // Its own statement: the read below must see the cursor as the previous holder committed it.
      const [lock] = await tx.rows<{ held: boolean }>(Prisma.sql`SELECT pg_try_advisory_xact_lock(${FAN_OUT_LOCK}::bigint) AS held`);
      if (!lock?.held) return { held: false, events: [] };
      const events = await tx.rows<FannedOutEvent>(Prisma.sql`
        WITH batch AS (
          SELECT event.id, event.org_id, event.session_id, event.type, event.created_at, event.tx_id, event.published_at
            FROM domain_events event, event_fan_out_cursor cursor
           WHERE cursor.id = 1
             AND (event.tx_id, event.id) > (cursor.tx_id, cursor.event_id)
             AND event.tx_id < pg_snapshot_xmin(pg_current_snapshot())
           ORDER BY event.tx_id, event.id
           LIMIT ${limitLiteral(limit)}
        ), moved AS (
          UPDATE event_fan_out_cursor SET tx_id = last.tx_id, event_id = last.id, updated_at = ${at}::timestamp
            FROM (SELECT tx_id, id FROM batch ORDER BY tx_id DESC, id DESC LIMIT 1) last
           WHERE event_fan_out_cursor.id = 1
        ), created AS (
          INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_id, next_attempt_at, created_at, updated_at)
          SELECT gen_random_uuid(), event.org_id, endpoint.id, event.id, ${due}::timestamp, ${at}::timestamp, ${at}::timestamp
            FROM batch event JOIN webhook_endpoints endpoint ON endpoint.org_id = event.org_id
           WHERE event.published_at IS NULL AND endpoint.enabled AND event.type = ANY(endpoint.events)
             AND (event.session_id IS NULL OR cardinality(endpoint.session_ids) = 0 OR event.session_id::text = ANY(endpoint.session_ids))
          ON CONFLICT DO NOTHING
          RETURNING id, event_id
        )
        SELECT batch.id::text AS "eventId", batch.created_at AT TIME ZONE 'UTC' AS "createdAt",
               ARRAY(SELECT created.id::text FROM created WHERE created.event_id = batch.id) AS "deliveryIds"
          FROM batch
         ORDER BY batch.tx_id, batch.id`);
      return { held: true, events };
    });
  }
}
