import { Body, Controller, Delete, Get, HttpCode, Inject, Patch, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import {
  deliveryPageSchema,
  deliveryViewSchema,
  EVENT_TYPES,
  GatewayError,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  rotatedWebhookSecretSchema,
  TEST_EVENT_TYPE,
  webhookEndpointListSchema,
  webhookEndpointViewSchema,
  webhookEndpointWithSecretSchema,
  type DeliveryView,
  type Page,
  type Principal,
  type TestWebhook,
  type WebhookEndpointView,
} from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import type { ApiGatewayEnv } from '@wagw/config';
import { AuditLogRepository, auditActor, DomainEventsRepository, type AuditEntry, WebhookDeliveriesRepository, WebhookEndpointsRepository, type WebhookDelivery, type WebhookEndpoint } from '@wagw/db';
import { parseInput, PathParam, ZodValidationPipe } from '@wagw/http';
import { deliveryIdParam, webhookIdParam } from '../validation.js';
import { WebhookQueues } from '@wagw/queue';
import { generateWebhookSecret, parseSecretKey, sealSecret, webhookUrlProblem } from '@wagw/webhooks';
import { GATEWAY_ENV } from '../command-client.providers.js';
import { ApiAuthenticated, ApiErrors, ApiJsonBody, ApiJsonResponse, ApiNoContent, ApiPathParam, ApiQueryFrom, ApiRoute, apiRequestSchemas } from '../openapi/api-docs.js';

const endpointUrl = z
  .string()
  .max(2048)
  .superRefine((value, context) => {
    const problem = webhookUrlProblem(value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });
const eventList = z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length);
const sessionList = z.array(z.uuid()).max(100);
const description = z.string().max(500);

const createEndpointBody = z
  .strictObject({
    url: endpointUrl.meta({ description: 'http(s) only; private, loopback and metadata addresses are refused when connecting.' }),
    events: eventList,
    sessions: sessionList.meta({ description: 'Only events of these sessions; omitted or empty means all.' }).optional(),
    description: description.optional(),
  })
  .register(apiRequestSchemas, { id: 'CreateWebhookEndpointRequest', examples: [{ url: 'https://crm.example.com/hooks/whatsapp', events: ['message.revoked', 'message.received'] }] });

const updateEndpointBody = z
  .strictObject({
    url: endpointUrl.optional(),
    events: eventList.optional(),
    sessions: sessionList.optional(),
    description: description.nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'name at least one field to change' })
  .register(apiRequestSchemas, { id: 'UpdateWebhookEndpointRequest', examples: [{ enabled: true }] });

const listDeliveriesQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'failed', 'exhausted']).optional(),
  limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT),
  cursor: z.string().max(200).optional(),
});

function toDeliveryView(delivery: WebhookDelivery & { event: { type: string } }): DeliveryView {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    event: delivery.event.type,
    status: delivery.status,
    attempts: delivery.attempts,
    lastStatusCode: delivery.lastStatusCode,
    lastLatencyMs: delivery.lastLatencyMs,
    lastError: delivery.lastError,
    nextAttemptAt: delivery.nextAttemptAt?.toISOString() ?? null,
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    createdAt: delivery.createdAt.toISOString(),
  };
}

function toView(endpoint: WebhookEndpoint): WebhookEndpointView {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    sessions: endpoint.sessionIds,
    description: endpoint.description,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    failingSince: endpoint.failingSince?.toISOString() ?? null,
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}

@ApiAuthenticated()
@Controller('api/v1/webhooks')
export class WebhooksController {
  private readonly secretKey: Buffer | null;
  private readonly rotationGraceMs: number;

  constructor(
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly events: DomainEventsRepository,
    private readonly audit: AuditLogRepository,
    private readonly queues: WebhookQueues,
    @Inject(GATEWAY_ENV) env: ApiGatewayEnv,
  ) {
    this.secretKey = env.WEBHOOK_SECRET_KEY === undefined ? null : parseSecretKey(env.WEBHOOK_SECRET_KEY);
    this.rotationGraceMs = env.WEBHOOK_SECRET_ROTATION_GRACE_MS;
  }

  private requireSecretKey(): Buffer {
    if (this.secretKey === null) throw new GatewayError('not_configured', 'webhooks are not configured on this gateway: its operator must set WEBHOOK_SECRET_KEY', { setting: 'WEBHOOK_SECRET_KEY' });
    return this.secretKey;
  }

  private async requireOwnSessions(orgId: string, sessions: readonly string[]): Promise<void> {
    if ((await this.endpoints.countOwnSessions(orgId, sessions)) !== sessions.length) {
      throw new GatewayError('not_found', 'session not found', { fields: { sessions: 'every session must belong to your organization' } });
    }
  }

  private async requireEndpoint(orgId: string, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.endpoints.findById(orgId, id);
    if (!endpoint) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    return endpoint;
  }

  private async requireEnabled(orgId: string, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.requireEndpoint(orgId, id);
    if (!endpoint.enabled) {
      throw new GatewayError('conflict', 'the endpoint is disabled; enable it first (PATCH {"enabled": true})', { webhook: id, disabledReason: endpoint.disabledReason });
    }
    return endpoint;
  }

  private record(principal: Principal, action: string, targetId: string, details: AuditEntry['details'] = {}): Promise<void> {
    return this.audit.record(principal.orgId, { ...auditActor(principal), action, targetType: 'webhook', targetId, details });
  }

  /** The signing secret is shown here, once; only its ciphertext is stored. */
  @Post()
  @ApiRoute({ summary: 'Register a webhook endpoint', description: 'Deliveries are signed (Standard Webhooks) with the secret in this response, which is shown only here.' })
  @RequireCapability('webhooks:manage')
  @ApiJsonBody(createEndpointBody)
  @ApiJsonResponse(201, webhookEndpointWithSecretSchema, 'The endpoint and its signing secret.')
  @ApiErrors('validation_failed', 'not_found', 'not_configured')
  async create(@CurrentPrincipal() principal: Principal, @Body() body: unknown): Promise<WebhookEndpointView & { secret: string }> {
    const secretKey = this.requireSecretKey();
    const request = parseInput(createEndpointBody, body, 'body');
    const sessions = [...new Set(request.sessions ?? [])];
    await this.requireOwnSessions(principal.orgId, sessions);
    const secret = generateWebhookSecret();
    const endpoint = await this.endpoints.create(principal.orgId, {
      url: request.url,
      events: [...new Set(request.events)],
      sessionIds: sessions,
      description: request.description ?? null,
      secretCiphertext: sealSecret(secret, secretKey),
    });
    await this.record(principal, 'webhook.created', endpoint.id, { url: endpoint.url });
    return { ...toView(endpoint), secret };
  }

  @Get()
  @ApiRoute({ summary: 'List webhook endpoints' })
  @RequireCapability('webhooks:manage')
  @ApiJsonResponse(200, webhookEndpointListSchema, 'Every endpoint of your organization.')
  @ApiErrors()
  async list(@CurrentPrincipal() principal: Principal): Promise<{ data: WebhookEndpointView[] }> {
    return { data: (await this.endpoints.list(principal.orgId)).map(toView) };
  }

  @Get(':webhook')
  @ApiRoute({ summary: 'Get a webhook endpoint' })
  @RequireCapability('webhooks:manage')
  @ApiPathParam('webhook', webhookIdParam, 'The webhook endpoint id.')
  @ApiJsonResponse(200, webhookEndpointViewSchema, 'The endpoint (never its secret).')
  @ApiErrors('not_found')
  async get(@CurrentPrincipal() principal: Principal, @PathParam('webhook', webhookIdParam) id: string): Promise<WebhookEndpointView> {
    return toView(await this.requireEndpoint(principal.orgId, id));
  }

  /** Changes the URL, events, sessions or description; `enabled: true` re-enables a disabled endpoint. */
  @Patch(':webhook')
  @ApiRoute({ summary: 'Change a webhook endpoint', description: 'URL, events, sessions or description; `enabled: true` re-enables a disabled endpoint.' })
  @RequireCapability('webhooks:manage')
  @ApiPathParam('webhook', webhookIdParam, 'The webhook endpoint id.')
  @ApiJsonBody(updateEndpointBody)
  @ApiJsonResponse(200, webhookEndpointViewSchema, 'The changed endpoint.')
  @ApiErrors('not_found', 'validation_failed')
  async update(@CurrentPrincipal() principal: Principal, @PathParam('webhook', webhookIdParam) id: string, @Body() body: unknown): Promise<WebhookEndpointView> {
    await this.requireEndpoint(principal.orgId, id);
    const request = parseInput(updateEndpointBody, body, 'body');
    const sessions = request.sessions === undefined ? undefined : [...new Set(request.sessions)];
    if (sessions) await this.requireOwnSessions(principal.orgId, sessions);
    const updated = await this.endpoints.update(principal.orgId, id, {
      ...(request.url === undefined ? {} : { url: request.url }),
      ...(request.events === undefined ? {} : { events: [...new Set(request.events)] }),
      ...(sessions === undefined ? {} : { sessionIds: sessions }),
      ...(request.description === undefined ? {} : { description: request.description }),
      ...(request.enabled === undefined ? {} : { enabled: request.enabled }),
    });
    if (!updated) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    await this.record(principal, 'webhook.updated', id, { fields: Object.keys(request) });
    return toView(updated);
  }

  /** A new secret, shown once; the old one keeps signing beside it for the grace period, so receivers can switch without losing a delivery. */
  @Post(':webhook/rotate-secret')
  @HttpCode(200)
  @ApiRoute({ summary: "Rotate an endpoint's signing secret", description: 'The old secret keeps signing beside the new one for the grace period, so receivers can switch without losing a delivery.' })
  @RequireCapability('webhooks:manage')
  @ApiPathParam('webhook', webhookIdParam, 'The webhook endpoint id.')
  @ApiJsonResponse(200, rotatedWebhookSecretSchema, 'The endpoint, its new secret (shown only here), and until when the old one still signs.')
  @ApiErrors('not_found', 'not_configured')
  async rotateSecret(@CurrentPrincipal() principal: Principal, @PathParam('webhook', webhookIdParam) id: string): Promise<WebhookEndpointView & { secret: string; previousSecretValidUntil: string }> {
    const secretKey = this.requireSecretKey();
    const secret = generateWebhookSecret();
    const previousValidUntil = new Date(Date.now() + this.rotationGraceMs);
    const rotated = await this.endpoints.rotateSecret(principal.orgId, id, sealSecret(secret, secretKey), previousValidUntil);
    if (!rotated) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    await this.record(principal, 'webhook.secret_rotated', id, { previousSecretValidUntil: previousValidUntil.toISOString() });
    return { ...toView(rotated), secret, previousSecretValidUntil: previousValidUntil.toISOString() };
  }

  /** Sends a `webhook.test` ping to this endpoint only, signed and retried like any delivery. */
  @Post(':webhook/test')
  @HttpCode(202)
  @ApiRoute({ summary: 'Send a test delivery', description: 'A signed `webhook.test` event to this endpoint only, retried like any delivery.' })
  @RequireCapability('webhooks:manage')
  @ApiPathParam('webhook', webhookIdParam, 'The webhook endpoint id.')
  @ApiJsonResponse(202, deliveryViewSchema, 'The delivery, queued.')
  @ApiErrors('not_found', 'conflict')
  async test(@CurrentPrincipal() principal: Principal, @PathParam('webhook', webhookIdParam) id: string): Promise<DeliveryView> {
    await this.requireEnabled(principal.orgId, id);
    const { deliveryId } = await this.events.createTestDelivery(principal.orgId, id, TEST_EVENT_TYPE, (eventId): TestWebhook => ({
      event: TEST_EVENT_TYPE,
      data: { id: eventId, event: TEST_EVENT_TYPE, metadata: [], me: { id: '', pushName: '' }, payload: { message: 'This is a test delivery from your WhatsApp gateway.' }, instanceId: '', userId: principal.subject },
    }));
    // Losing this enqueue only delays the ping: the dispatcher's relay picks up overdue deliveries.
    await this.queues.scheduleDelivery(deliveryId, 0);
    const created = await this.deliveries.find(principal.orgId, id, deliveryId);
    if (!created) throw new GatewayError('internal', 'the test delivery was not recorded');
    return toDeliveryView(created);
  }

  @Get(':webhook/deliveries')
  @ApiRoute({ summary: "List an endpoint's deliveries", description: 'Newest first, paged by cursor.' })
  @RequireCapability('webhooks:manage')
  @ApiPathParam('webhook', webhookIdParam, 'The webhook endpoint id.')
  @ApiQueryFrom(listDeliveriesQuery)
  @ApiJsonResponse(200, deliveryPageSchema, 'A page of deliveries.')
  @ApiErrors('not_found', 'validation_failed')
  async listDeliveries(
    @CurrentPrincipal() principal: Principal,
    @PathParam('webhook', webhookIdParam) id: string,
    @Query(new ZodValidationPipe(listDeliveriesQuery, 'query parameters')) query: z.infer<typeof listDeliveriesQuery>,
  ): Promise<Page<DeliveryView>> {
    await this.requireEndpoint(principal.orgId, id);
    const page = await this.deliveries.list(principal.orgId, id, query);
    return { data: page.rows.map(toDeliveryView), nextCursor: page.nextCursor };
  }

  /** One more attempt, now, of any delivery (exhausted, failed, or delivered and lost by the receiver). */
  @Post(':webhook/deliveries/:delivery/replay')
  @HttpCode(202)
  @ApiRoute({ summary: 'Replay a delivery', description: 'One more attempt, now, of any delivery: exhausted, failed, or delivered and lost by the receiver.' })
  @RequireCapability('webhooks:manage')
  @ApiPathParam('webhook', webhookIdParam, 'The webhook endpoint id.')
  @ApiPathParam('delivery', deliveryIdParam, 'The delivery id.')
  @ApiJsonResponse(202, deliveryViewSchema, 'The delivery, queued again.')
  @ApiErrors('not_found', 'conflict')
  async replay(@CurrentPrincipal() principal: Principal, @PathParam('webhook', webhookIdParam) id: string, @PathParam('delivery', deliveryIdParam) deliveryId: string): Promise<DeliveryView> {
    await this.requireEnabled(principal.orgId, id);
    const delivery = await this.deliveries.replay(principal.orgId, id, deliveryId);
    if (!delivery) throw new GatewayError('not_found', 'delivery not found', { webhook: id, delivery: deliveryId });
    await this.queues.scheduleDelivery(delivery.id, delivery.attempts);
    await this.record(principal, 'webhook.delivery_replayed', id, { delivery: delivery.id });
    return toDeliveryView(delivery);
  }

  @Delete(':webhook')
  @HttpCode(204)
  @ApiRoute({ summary: 'Delete a webhook endpoint' })
  @RequireCapability('webhooks:manage')
  @ApiPathParam('webhook', webhookIdParam, 'The webhook endpoint id.')
  @ApiNoContent('Deleted, with its deliveries.')
  @ApiErrors('not_found')
  async remove(@CurrentPrincipal() principal: Principal, @PathParam('webhook', webhookIdParam) id: string): Promise<void> {
    if (!(await this.endpoints.delete(principal.orgId, id))) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    await this.record(principal, 'webhook.deleted', id);
  }
}
