import type { DbClient } from '../prisma-client.js';
import type { WebhookEndpoint } from '../generated/client.js';
import { isUuid } from './pagination.js';

export interface NewWebhookEndpoint {
  url: string;
  events: readonly string[];
  sessionIds: readonly string[];
  description: string | null;
  secretCiphertext: string;
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
