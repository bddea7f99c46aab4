import { randomUUID } from 'node:crypto';
import type { DbClient } from '../prisma-client.js';
import type { Prisma } from '../generated/client.js';

/**
 * Domain events are written by whoever changes state, in the same transaction (see MessagesRepository
 * and SessionsRepository); the dispatcher fans them out through the system scope (EventFanOutRepository).
 */
export class DomainEventsRepository {
  constructor(private readonly db: DbClient) {}

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
