import type { DbClient } from '../prisma-client.js';
import type { DeliveryStatus, Prisma, WebhookDelivery } from '../generated/client.js';
import { decodeCursor, isUuid, toPage, type PageRequest } from './pagination.js';

export class WebhookDeliveriesRepository {
  constructor(private readonly db: DbClient) {}

  /** One of an endpoint's deliveries, with its event's type; another org's is not found. */
  find(orgId: string, endpointId: string, deliveryId: string): Promise<(WebhookDelivery & { event: { type: string } }) | null> {
    if (!isUuid(deliveryId) || !isUuid(endpointId)) return Promise.resolve(null);
    return this.db.webhookDelivery.findFirst({ where: { orgId, endpointId, id: deliveryId }, include: { event: { select: { type: true } } } });
  }

  async list(
    orgId: string,
    endpointId: string,
    page: PageRequest & { status?: DeliveryStatus | undefined },
  ): Promise<{ rows: Array<WebhookDelivery & { event: { type: string } }>; nextCursor: string | null }> {
    const afterId = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const where: Prisma.WebhookDeliveryWhereInput = {
      orgId,
      endpointId,
      ...(page.status === undefined ? {} : { status: page.status }),
      ...(afterId === undefined ? {} : { id: { lt: afterId } }),
    };
    const rows = await this.db.webhookDelivery.findMany({ where, orderBy: { id: 'desc' }, take: page.limit + 1, include: { event: { select: { type: true } } } });
    return toPage(rows, page.limit);
  }

  /** Puts a delivery back in line for one more attempt, now. Returns it (its `attempts` is the attempt to schedule), or null when it is not this endpoint's. */
  async replay(orgId: string, endpointId: string, deliveryId: string, now: Date = new Date()): Promise<(WebhookDelivery & { event: { type: string } }) | null> {
    if (!isUuid(deliveryId)) return null;
    // A delivery still pending is left as it is: its next attempt is scheduled already.
    await this.db.webhookDelivery.updateMany({
      where: { orgId, endpointId, id: deliveryId, status: { not: 'pending' } },
      data: { status: 'pending', nextAttemptAt: now, lastError: null },
    });
    return this.find(orgId, endpointId, deliveryId);
  }
}
