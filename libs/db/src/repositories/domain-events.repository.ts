import { randomUUID } from 'node:crypto';
import type { DbClient } from '../prisma-client.js';
import type { DomainEvent, Prisma } from '../generated/client.js';

/** What a committed event turned into: one pending delivery per endpoint that wanted it. */
export interface FanOutResult {
  /** False when the event was fanned out before (by the relay or another dispatcher): nothing was created. */
  fannedOut: boolean;
  deliveryIds: string[];
  /** When the event was committed (when it was fanned out now): the publish lag is `now - createdAt`. */
  createdAt?: Date;
}

/**
 * Domain events are written by whoever changes state, in the same transaction (see MessagesRepository
 * and SessionsRepository), and read here by the dispatcher. The dispatcher's queries span
 * organizations on purpose: they only move rows along, each delivery stays within its event's org.
 */
export class DomainEventsRepository {
  constructor(private readonly db: DbClient) {}

  /** Events committed before `before` that no dispatcher has fanned out yet (their enqueue was lost). */
  async listUnpublished(before: Date, limit: number): Promise<string[]> {
    const rows = await this.db.domainEvent.findMany({ where: { publishedAt: null, createdAt: { lt: before } }, orderBy: { createdAt: 'asc' }, take: limit, select: { id: true } });
    return rows.map((row) => row.id);
  }

  /**
   * Creates one delivery per enabled endpoint of the event's organization that subscribes to its type
   * (and to its session, when the endpoint names sessions), and marks the event published, atomically.
   * The row lock makes two dispatchers racing on one event produce one set of deliveries.
   */
  async fanOut(eventId: string, now: Date = new Date()): Promise<FanOutResult> {
    return this.db.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<Array<Pick<DomainEvent, 'id' | 'orgId' | 'sessionId' | 'type' | 'publishedAt' | 'createdAt'>>>`
        SELECT id, org_id AS "orgId", session_id AS "sessionId", type, published_at AS "publishedAt", created_at AS "createdAt"
        FROM domain_events WHERE id = ${eventId}::uuid FOR UPDATE`;
      const event = locked[0];
      if (!event || event.publishedAt !== null) return { fannedOut: false, deliveryIds: [] };
      const endpoints = await tx.webhookEndpoint.findMany({
        where: {
          orgId: event.orgId,
          enabled: true,
          events: { has: event.type },
          ...(event.sessionId === null ? {} : { OR: [{ sessionIds: { isEmpty: true } }, { sessionIds: { has: event.sessionId } }] }),
        },
        select: { id: true },
      });
      const deliveries = endpoints.map((endpoint) => ({ id: randomUUID(), orgId: event.orgId, endpointId: endpoint.id, eventId: event.id, nextAttemptAt: now }));
      if (deliveries.length > 0) await tx.webhookDelivery.createMany({ data: deliveries, skipDuplicates: true });
      await tx.domainEvent.update({ where: { id: event.id }, data: { publishedAt: now } });
      return { fannedOut: true, deliveryIds: deliveries.map((delivery) => delivery.id), createdAt: event.createdAt };
    });
  }

  /**
   * A ping for one endpoint (`POST /webhooks/{id}/test`): the event and its single delivery in one
   * transaction, published at once (it is never fanned out to other endpoints).
   */
  async createTestDelivery(orgId: string, endpointId: string, type: string, buildPayload: (eventId: string) => object): Promise<{ eventId: string; deliveryId: string }> {
    const eventId = randomUUID();
    const deliveryId = randomUUID();
    const now = new Date();
    await this.db.$transaction([
      this.db.domainEvent.create({ data: { id: eventId, orgId, type, payload: buildPayload(eventId) as Prisma.InputJsonValue, publishedAt: now } }),
      this.db.webhookDelivery.create({ data: { id: deliveryId, orgId, endpointId, eventId, nextAttemptAt: now } }),
    ]);
    return { eventId, deliveryId };
  }
}
