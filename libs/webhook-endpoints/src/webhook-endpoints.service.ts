import { GatewayError, TEST_EVENT_TYPE, type Principal, type TestWebhook } from '@wagw/contracts';
import {
  auditActor,
  type AuditEntry,
  type AuditLogRepository,
  type DomainEventsRepository,
  type WebhookDeliveriesRepository,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEndpointsRepository,
} from '@wagw/db';
import type { WebhookQueues } from '@wagw/queue';
import { generateWebhookSecret, sealSecret } from '@wagw/webhooks';

export interface NewEndpointRequest {
  url: string;
  events: readonly string[];
  /** Only events of these sessions; empty: all. */
  sessions: readonly string[];
  description: string | null;
}

export interface EndpointChanges {
  url?: string;
  events?: readonly string[];
  sessions?: readonly string[];
  description?: string | null;
  enabled?: boolean;
}

export interface WebhookEndpointSettings {
  /** The key that seals signing secrets at rest; null when the operator has not set WEBHOOK_SECRET_KEY. */
  secretKey: Buffer | null;
  /** How long a rotated-out secret keeps signing beside the new one. */
  rotationGraceMs: number;
}

export type DeliveryWithEvent = WebhookDelivery & { event: { type: string } };

/**
 * An organization's webhook endpoints as its members manage them: signing secrets generated here and
 * stored sealed (shown to the caller once), session filters limited to the organization's own
 * sessions, test pings and replays queued for the dispatcher, and every change in the audit log.
 */
export class WebhookEndpointsService {
  constructor(
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly events: DomainEventsRepository,
    private readonly audit: AuditLogRepository,
    private readonly queues: WebhookQueues,
    private readonly settings: WebhookEndpointSettings,
  ) {}

  async create(principal: Principal, request: NewEndpointRequest): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const secretKey = this.requireSecretKey();
    const sessions = unique(request.sessions);
    await this.requireOwnSessions(principal.orgId, sessions);
    const secret = generateWebhookSecret();
    const endpoint = await this.endpoints.create(principal.orgId, {
      url: request.url,
      events: unique(request.events),
      sessionIds: sessions,
      description: request.description,
      secretCiphertext: sealSecret(secret, secretKey),
    });
    await this.record(principal, 'webhook.created', endpoint.id, { url: endpoint.url });
    return { endpoint, secret };
  }

  list(orgId: string): Promise<WebhookEndpoint[]> {
    return this.endpoints.list(orgId);
  }

  async get(orgId: string, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.endpoints.findById(orgId, id);
    if (!endpoint) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    return endpoint;
  }

  async update(principal: Principal, id: string, changes: EndpointChanges): Promise<WebhookEndpoint> {
    await this.get(principal.orgId, id);
    const sessions = changes.sessions === undefined ? undefined : unique(changes.sessions);
    if (sessions) await this.requireOwnSessions(principal.orgId, sessions);
    const updated = await this.endpoints.update(principal.orgId, id, {
      ...(changes.url === undefined ? {} : { url: changes.url }),
      ...(changes.events === undefined ? {} : { events: unique(changes.events) }),
      ...(sessions === undefined ? {} : { sessionIds: sessions }),
      ...(changes.description === undefined ? {} : { description: changes.description }),
      ...(changes.enabled === undefined ? {} : { enabled: changes.enabled }),
    });
    if (!updated) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    await this.record(principal, 'webhook.updated', id, { fields: Object.keys(changes) });
    return updated;
  }

  /** A new secret; the old one keeps signing beside it for the grace period, so receivers can switch without losing a delivery. */
  async rotateSecret(principal: Principal, id: string): Promise<{ endpoint: WebhookEndpoint; secret: string; previousSecretValidUntil: Date }> {
    const secretKey = this.requireSecretKey();
    const secret = generateWebhookSecret();
    const previousSecretValidUntil = new Date(Date.now() + this.settings.rotationGraceMs);
    const endpoint = await this.endpoints.rotateSecret(principal.orgId, id, sealSecret(secret, secretKey), previousSecretValidUntil);
    if (!endpoint) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    await this.record(principal, 'webhook.secret_rotated', id, { previousSecretValidUntil: previousSecretValidUntil.toISOString() });
    return { endpoint, secret, previousSecretValidUntil };
  }

  /** A `webhook.test` ping to this endpoint only, signed and retried like any delivery. */
  async sendTest(principal: Principal, id: string): Promise<DeliveryWithEvent> {
    await this.requireEnabled(principal.orgId, id);
    const { deliveryId } = await this.events.createTestDelivery(principal.orgId, id, TEST_EVENT_TYPE, (eventId): TestWebhook => ({
      event: TEST_EVENT_TYPE,
      data: { id: eventId, event: TEST_EVENT_TYPE, metadata: [], me: { id: '', pushName: '' }, payload: { message: 'This is a test delivery from your WhatsApp gateway.' }, instanceId: '', userId: principal.subject },
    }));
    // Losing this enqueue only delays the ping: the dispatcher's relay picks up overdue deliveries.
    await this.queues.scheduleDelivery(deliveryId, 0);
    const created = await this.deliveries.find(principal.orgId, id, deliveryId);
    if (!created) throw new GatewayError('internal', 'the test delivery was not recorded');
    return created;
  }

  async listDeliveries(orgId: string, id: string, query: Parameters<WebhookDeliveriesRepository['list']>[2]): Promise<{ rows: DeliveryWithEvent[]; nextCursor: string | null }> {
    await this.get(orgId, id);
    return this.deliveries.list(orgId, id, query);
  }

  /** One more attempt, now, of any delivery (exhausted, failed, or delivered and lost by the receiver). */
  async replay(principal: Principal, id: string, deliveryId: string): Promise<DeliveryWithEvent> {
    await this.requireEnabled(principal.orgId, id);
    const delivery = await this.deliveries.replay(principal.orgId, id, deliveryId);
    if (!delivery) throw new GatewayError('not_found', 'delivery not found', { webhook: id, delivery: deliveryId });
    await this.queues.scheduleDelivery(delivery.id, delivery.attempts);
    await this.record(principal, 'webhook.delivery_replayed', id, { delivery: delivery.id });
    return delivery;
  }

  /** The endpoint goes with its deliveries. */
  async delete(principal: Principal, id: string): Promise<void> {
    if (!(await this.endpoints.delete(principal.orgId, id))) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    await this.record(principal, 'webhook.deleted', id);
  }

  private requireSecretKey(): Buffer {
    if (this.settings.secretKey === null) {
      throw new GatewayError('not_configured', 'webhooks are not configured on this gateway: its operator must set WEBHOOK_SECRET_KEY', { setting: 'WEBHOOK_SECRET_KEY' });
    }
    return this.settings.secretKey;
  }

  private async requireOwnSessions(orgId: string, sessions: readonly string[]): Promise<void> {
    if ((await this.endpoints.countOwnSessions(orgId, sessions)) !== sessions.length) {
      throw new GatewayError('not_found', 'session not found', { fields: { sessions: 'every session must belong to your organization' } });
    }
  }

  private async requireEnabled(orgId: string, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.get(orgId, id);
    if (!endpoint.enabled) {
      throw new GatewayError('conflict', 'the endpoint is disabled; enable it first (PATCH {"enabled": true})', { webhook: id, disabledReason: endpoint.disabledReason });
    }
    return endpoint;
  }

  private record(principal: Principal, action: string, targetId: string, details: AuditEntry['details'] = {}): Promise<void> {
    return this.audit.record(principal.orgId, { ...auditActor(principal), action, targetType: 'webhook', targetId, details });
  }
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
