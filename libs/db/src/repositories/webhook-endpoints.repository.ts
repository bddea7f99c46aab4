import type { DbClient } from '../prisma-client.js';
import type { Prisma, WebhookEndpoint } from '../generated/client.js';
import { isUuid } from './pagination.js';

export interface NewWebhookEndpoint {
  url: string;
  events: readonly string[];
  sessionIds: readonly string[];
  description: string | null;
  secretCiphertext: string;
}

export interface WebhookEndpointPatch {
  url?: string;
  events?: readonly string[];
  sessionIds?: readonly string[];
  description?: string | null;
  enabled?: boolean;
}

export class WebhookEndpointsRepository {
  constructor(private readonly db: DbClient) {}

  create(orgId: string, endpoint: NewWebhookEndpoint): Promise<WebhookEndpoint> {
    return this.db.webhookEndpoint.create({
      data: { orgId, url: endpoint.url, events: [...endpoint.events], sessionIds: [...endpoint.sessionIds], description: endpoint.description, secretCiphertext: endpoint.secretCiphertext },
    });
  }

  list(orgId: string): Promise<WebhookEndpoint[]> {
    return this.db.webhookEndpoint.findMany({ where: { orgId }, orderBy: { id: 'asc' } });
  }

  findById(orgId: string, id: string): Promise<WebhookEndpoint | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.db.webhookEndpoint.findUnique({ where: { orgId_id: { orgId, id } } });
  }

  /** Changes what an endpoint receives; re-enabling clears why it was disabled. */
  async update(orgId: string, id: string, patch: WebhookEndpointPatch): Promise<WebhookEndpoint | null> {
    if (!isUuid(id)) return null;
    const data: Prisma.WebhookEndpointUpdateManyMutationInput = {
      ...(patch.url === undefined ? {} : { url: patch.url }),
      ...(patch.events === undefined ? {} : { events: [...patch.events] }),
      ...(patch.sessionIds === undefined ? {} : { sessionIds: [...patch.sessionIds] }),
      ...(patch.description === undefined ? {} : { description: patch.description }),
      ...(patch.enabled === undefined ? {} : patch.enabled ? { enabled: true, disabledReason: null, failingSince: null } : { enabled: false, disabledReason: 'disabled by a user' }),
    };
    const { count } = await this.db.webhookEndpoint.updateMany({ where: { orgId, id }, data });
    return count === 1 ? this.findById(orgId, id) : null;
  }

  /** A new signing secret; the current one keeps signing too until `previousValidUntil`. */
  async rotateSecret(orgId: string, id: string, secretCiphertext: string, previousValidUntil: Date): Promise<WebhookEndpoint | null> {
    if (!isUuid(id)) return null;
    return this.db.$transaction(async (tx) => {
      const current = await tx.webhookEndpoint.findUnique({ where: { orgId_id: { orgId, id } }, select: { secretCiphertext: true } });
      if (!current) return null;
      return tx.webhookEndpoint.update({
        where: { orgId_id: { orgId, id } },
        data: { secretCiphertext, previousSecretCiphertext: current.secretCiphertext, previousSecretExpiresAt: previousValidUntil },
      });
    });
  }

  /** The dispatcher turns an endpoint off (410 Gone, failing for too long); a user re-enables it. */
  async disable(orgId: string, id: string, reason: string): Promise<void> {
    await this.db.webhookEndpoint.updateMany({ where: { orgId, id, enabled: true }, data: { enabled: false, disabledReason: reason } });
  }

  /** Notes the first failure of a run of failures; returns since when the endpoint has been failing. */
  async markFailing(orgId: string, id: string, now: Date = new Date()): Promise<Date> {
    await this.db.webhookEndpoint.updateMany({ where: { orgId, id, failingSince: null }, data: { failingSince: now } });
    const row = await this.db.webhookEndpoint.findUnique({ where: { orgId_id: { orgId, id } }, select: { failingSince: true } });
    return row?.failingSince ?? now;
  }

  async clearFailing(orgId: string, id: string): Promise<void> {
    await this.db.webhookEndpoint.updateMany({ where: { orgId, id, NOT: { failingSince: null } }, data: { failingSince: null } });
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const { count } = await this.db.webhookEndpoint.deleteMany({ where: { orgId, id } });
    return count === 1;
  }

  /** How many of these session ids belong to the organization: an endpoint may only name its own. */
  async countOwnSessions(orgId: string, sessionIds: readonly string[]): Promise<number> {
    if (sessionIds.length === 0) return 0;
    return this.db.whatsAppSession.count({ where: { orgId, id: { in: [...sessionIds] } } });
  }
}
