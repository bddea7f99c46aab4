import { hotSql, type DbClient, type HotSql } from '../../prisma-client.js';
import { Prisma, type DeliveryStatus, type DomainEvent, type WebhookEndpoint } from '../../generated/client.js';
import { utcTimestamp } from '../sql-time.js';
import { isUuid, limitLiteral } from '../pagination.js';

/** What one attempt needs: the delivery's state, where and how to sign, and what to send. */
export interface DeliveryForAttempt {
  id: string;
  orgId: string;
  endpointId: string;
  eventId: string;
  status: DeliveryStatus;
  attempts: number;
  endpoint: Pick<WebhookEndpoint, 'url' | 'enabled' | 'disabledReason' | 'failingSince' | 'secretCiphertext' | 'previousSecretCiphertext' | 'previousSecretExpiresAt'>;
  event: Pick<DomainEvent, 'id' | 'type' | 'payload'>;
}

/** The joined row `findForAttempts` reads: the delivery's fields, its endpoint's beside them. */
type DeliveryForAttemptRow = Omit<DeliveryForAttempt, 'endpoint' | 'event'> & DeliveryForAttempt['endpoint'] & { eventType: string; payload: DomainEvent['payload'] };

/** The outcome of one attempt, written only if nobody recorded that attempt already. */
export interface AttemptRecord {
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  deliveredAt?: Date;
}

/** A successful attempt number `attempt` (0-based), for `recordDelivered`. */
export interface DeliveredAttempt {
  deliveryId: string;
  attempt: number;
  statusCode: number;
  latencyMs: number;
  deliveredAt: Date;
}

/**
 * System scope (see ../../system.ts): the dispatcher's side of webhook deliveries, across every
 * organization. A delivery is addressed by its id alone; each stays within its event's organization.
 */
export class DeliveryAttemptsRepository {
  private readonly sql: HotSql;

  constructor(private readonly db: DbClient) {
    this.sql = hotSql(db);
  }

  /**
   * The deliveries with what an attempt needs, in one statement written in SQL (this runs for every
   * attempt; the dispatcher gathers concurrent lookups). Unknown or malformed ids are left out.
   */
  async findForAttempts(deliveryIds: readonly string[]): Promise<Map<string, DeliveryForAttempt>> {
    const ids = deliveryIds.filter(isUuid);
    if (ids.length === 0) return new Map();
    const rows = await this.db.$queryRaw<DeliveryForAttemptRow[]>`
      SELECT d.id, d.org_id AS "orgId", d.endpoint_id AS "endpointId", d.event_id AS "eventId", d.status::text AS status, d.attempts,
             e.url, e.enabled, e.disabled_reason AS "disabledReason", e.failing_since AS "failingSince",
             e.secret_ciphertext AS "secretCiphertext", e.previous_secret_ciphertext AS "previousSecretCiphertext",
             e.previous_secret_expires_at AS "previousSecretExpiresAt", v.type AS "eventType", v.payload
        FROM webhook_deliveries d
        JOIN webhook_endpoints e ON e.org_id = d.org_id AND e.id = d.endpoint_id
        JOIN domain_events v ON v.org_id = d.org_id AND v.id = d.event_id
       WHERE d.id = ANY(${ids}::uuid[])`;
    return new Map(
      rows.map(({ url, enabled, disabledReason, failingSince, secretCiphertext, previousSecretCiphertext, previousSecretExpiresAt, eventType, payload, ...delivery }) => [
        delivery.id,
        {
          ...delivery,
          endpoint: { url, enabled, disabledReason, failingSince, secretCiphertext, previousSecretCiphertext, previousSecretExpiresAt },
          event: { id: delivery.eventId, type: eventType, payload },
        },
      ]),
    );
  }

  /**
   * Records attempt number `attempt` (0-based). Conditional on the row still expecting that attempt:
   * a duplicate job for the same attempt records nothing and learns so (false).
   */
  async recordAttempt(deliveryId: string, attempt: number, record: AttemptRecord): Promise<boolean> {
    // One statement per attempt, written in SQL: this runs for every delivery.
    const count = await this.db.$executeRaw`
      UPDATE webhook_deliveries
         SET status = ${record.status}::"DeliveryStatus", attempts = ${attempt + 1},
             next_attempt_at = ${utcTimestamp(record.nextAttemptAt)}::timestamp, last_status_code = ${record.lastStatusCode},
             last_latency_ms = ${record.lastLatencyMs}, last_error = ${record.lastError},
             delivered_at = COALESCE(${utcTimestamp(record.deliveredAt)}::timestamp, delivered_at),
             updated_at = now() AT TIME ZONE 'UTC'
       WHERE id = ${deliveryId}::uuid AND attempts = ${attempt} AND status = 'pending'`;
    return count === 1;
  }

  /**
   * Records successful attempts of many deliveries in one statement (the dispatcher gathers them under
   * load). Like `recordAttempt`, each only if its row still expects that attempt; returns, per entry in
   * order, whether it was recorded.
   */
  async recordDelivered(entries: readonly DeliveredAttempt[]): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const rows = await this.db.$queryRaw<Array<{ id: string; attempts: number }>>`
      UPDATE webhook_deliveries AS d
         SET status = 'delivered', attempts = v.attempt + 1, next_attempt_at = NULL, last_status_code = v.status_code,
             last_latency_ms = v.latency_ms, last_error = NULL, delivered_at = v.delivered_at::timestamp,
             updated_at = now() AT TIME ZONE 'UTC'
        FROM unnest(${entries.map((entry) => entry.deliveryId)}::uuid[], ${entries.map((entry) => entry.attempt)}::int[],
                    ${entries.map((entry) => entry.statusCode)}::int[], ${entries.map((entry) => entry.latencyMs)}::int[],
                    ${entries.map((entry) => utcTimestamp(entry.deliveredAt))}::text[]) AS v(id, attempt, status_code, latency_ms, delivered_at)
       WHERE d.id = v.id AND d.attempts = v.attempt AND d.status = 'pending'
      RETURNING d.id, d.attempts`;
    const recorded = new Set(rows.map((row) => `${row.id}/${row.attempts - 1}`));
    return entries.map((entry) => recorded.has(`${entry.deliveryId}/${entry.attempt}`));
  }

  /** Ends a delivery without an attempt (its endpoint was disabled meanwhile). */
  async abandon(deliveryId: string, attempt: number, reason: string): Promise<void> {
    await this.db.webhookDelivery.updateMany({ where: { id: deliveryId, attempts: attempt, status: 'pending' }, data: { status: 'failed', nextAttemptAt: null, lastError: reason } });
  }

  /** Pending deliveries whose attempt is overdue: their job was lost with a process, or never enqueued. */
  async listOverdue(before: Date, limit: number): Promise<Array<{ id: string; attempts: number }>> {
    // Through pg: every dispatcher runs it every few seconds, traffic or not.
    return this.sql.rows<{ id: string; attempts: number }>(Prisma.sql`
      SELECT id::text AS id, attempts FROM webhook_deliveries
       WHERE status = 'pending' AND next_attempt_at < ${utcTimestamp(before)}::timestamp
       ORDER BY next_attempt_at
       LIMIT ${limitLiteral(limit)}`);
  }
}
