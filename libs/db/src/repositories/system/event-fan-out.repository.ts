import type { DbClient } from '../../prisma-client.js';
import { utcTimestamp } from '../sql-time.js';

/** What a committed event turned into: one pending delivery per endpoint that wanted it. */
export interface FanOutResult {
  /** False when the event was fanned out before (by the relay or another dispatcher): nothing was created. */
  fannedOut: boolean;
  deliveryIds: string[];
  /** When the event was committed (when it was fanned out now): the publish lag is `now - createdAt`. */
  createdAt?: Date;
}

/**
 * System scope (see ../../system.ts): the dispatcher's queries over every organization's events. They
 * only move rows along: each delivery stays within its event's organization.
 */
export class EventFanOutRepository {
  constructor(private readonly db: DbClient) {}

  /** Events committed before `before` that no dispatcher has fanned out yet (their enqueue was lost). */
  async listUnpublished(before: Date, limit: number): Promise<string[]> {
    const rows = await this.db.domainEvent.findMany({ where: { publishedAt: null, createdAt: { lt: before } }, orderBy: { createdAt: 'asc' }, take: limit, select: { id: true } });
    return rows.map((row) => row.id);
  }

  /**
   * Creates one delivery per enabled endpoint of the event's organization that subscribes to its type
   * (and to its session, when the endpoint names sessions), due at `firstAttemptAt` (now by default: the
   * relay re-publishes deliveries left pending past it), and marks the event published, atomically.
   * The row lock makes two dispatchers racing on one event produce one set of deliveries.
   */
  async fanOut(eventId: string, { now = new Date(), firstAttemptAt = now }: { now?: Date; firstAttemptAt?: Date } = {}): Promise<FanOutResult> {
    // One statement (this runs for every event): lock the unpublished event, mark it published, and
    // create its deliveries. A racing fan-out waits for the lock, then finds it published and does
    // nothing.
    const at = utcTimestamp(now);
    const due = utcTimestamp(firstAttemptAt);
    const [result] = await this.db.$queryRaw<Array<{ createdAt: Date | null; published: boolean; deliveryIds: string[] }>>`
      WITH event AS (
        SELECT id, org_id, session_id, type, created_at FROM domain_events
         WHERE id = ${eventId}::uuid AND published_at IS NULL
           FOR UPDATE
      ), published AS (
        UPDATE domain_events SET published_at = ${at}::timestamp WHERE id IN (SELECT id FROM event) RETURNING id
      ), created AS (
        INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_id, next_attempt_at, created_at, updated_at)
        SELECT gen_random_uuid(), event.org_id, endpoint.id, event.id, ${due}::timestamp, ${at}::timestamp, ${at}::timestamp
          FROM event JOIN webhook_endpoints endpoint ON endpoint.org_id = event.org_id
         WHERE endpoint.enabled AND event.type = ANY(endpoint.events)
           AND (event.session_id IS NULL OR cardinality(endpoint.session_ids) = 0 OR event.session_id::text = ANY(endpoint.session_ids))
        ON CONFLICT DO NOTHING
        RETURNING id
      )
      SELECT (SELECT created_at FROM event) AS "createdAt", EXISTS (SELECT 1 FROM published) AS published,
             ARRAY(SELECT id::text FROM created) AS "deliveryIds"`;
    if (!result?.published || result.createdAt === null) return { fannedOut: false, deliveryIds: [] };
    return { fannedOut: true, deliveryIds: result.deliveryIds, createdAt: result.createdAt };
  }
}
