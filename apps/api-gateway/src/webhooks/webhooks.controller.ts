import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import {
  deliveryPageSchema,
  deliveryViewSchema,
  EVENT_TYPES,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  rotatedWebhookSecretSchema,
  webhookEndpointListSchema,
  webhookEndpointViewSchema,
  webhookEndpointWithSecretSchema,
  type DeliveryView,
  type Page,
  type Principal,
  type WebhookEndpointView,
} from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import type { WebhookEndpoint } from '@wagw/db';
import { parseInput, PathParam, ZodValidationPipe } from '@wagw/http';
import { WebhookEndpointsService, type DeliveryWithEvent } from '@wagw/webhook-endpoints';
import { webhookUrlProblem } from '@wagw/webhooks';
import { deliveryIdParam, webhookIdParam } from '../validation.js';
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

function toDeliveryView(delivery: DeliveryWithEvent): DeliveryView {
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
  constructor(private readonly webhooks: WebhookEndpointsService) {}

  /** The signing secret is shown here, once; only its ciphertext is stored. */
  @Post()
  @ApiRoute({ summary: 'Register a webhook endpoint', description: 'Deliveries are signed (Standard Webhooks) with the secret in this response, which is shown only here.' })
  @RequireCapability('webhooks:manage')
  @ApiJsonBody(createEndpointBody)
  @ApiJsonResponse(201, webhookEndpointWithSecretSchema, 'The endpoint and its signing secret.')
  @ApiErrors('validation_failed', 'not_found', 'not_configured')
  async create(@CurrentPrincipal() principal: Principal, @Body() body: unknown): Promise<WebhookEndpointView & { secret: string }> {
    const request = parseInput(createEndpointBody, body, 'body');
    const { endpoint, secret } = await this.webhooks.create(principal, { url: request.url, events: request.events, sessions: request.sessions ?? [], description: request.description ?? null });
    return { ...toView(endpoint), secret };
  }

  @Get()
  @ApiRoute({ summary: 'List webhook endpoints' })
  @RequireCapability('webhooks:manage')
  @ApiJsonResponse(200, webhookEndpointListSchema, 'Every endpoint of your organization.')
  @ApiErrors()
  async list(@CurrentPrincipal() principal: Principal): Promise<{ data: WebhookEndpointView[] }> {
    return { data: (await this.webhooks.list(principal.orgId)).map(toView) };
  }

  @Get(':webhook')
  @ApiRoute({ summary: 'Get a webhook endpoint' })
  @RequireCapability('webhooks:manage')
  @ApiPathParam('webhook', webhookIdParam, 'The webhook endpoint id.')
  @ApiJsonResponse(200, webhookEndpointViewSchema, 'The endpoint (never its secret).')
  @ApiErrors('not_found')
  async get(@CurrentPrincipal() principal: Principal, @PathParam('webhook', webhookIdParam) id: string): Promise<WebhookEndpointView> {
    return toView(await this.webhooks.get(principal.orgId, id));
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
    // An unknown endpoint answers 404 before its body is judged.
    await this.webhooks.get(principal.orgId, id);
    return toView(await this.webhooks.update(principal, id, parseInput(updateEndpointBody, body, 'body')));
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
    const { endpoint, secret, previousSecretValidUntil } = await this.webhooks.rotateSecret(principal, id);
    return { ...toView(endpoint), secret, previousSecretValidUntil: previousSecretValidUntil.toISOString() };
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
    return toDeliveryView(await this.webhooks.sendTest(principal, id));
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
    const page = await this.webhooks.listDeliveries(principal.orgId, id, query);
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
    return toDeliveryView(await this.webhooks.replay(principal, id, deliveryId));
  }

  @Delete(':webhook')
  @HttpCode(204)
  @ApiRoute({ summary: 'Delete a webhook endpoint' })
  @RequireCapability('webhooks:manage')
  @ApiPathParam('webhook', webhookIdParam, 'The webhook endpoint id.')
  @ApiNoContent('Deleted, with its deliveries.')
  @ApiErrors('not_found')
  async remove(@CurrentPrincipal() principal: Principal, @PathParam('webhook', webhookIdParam) id: string): Promise<void> {
    await this.webhooks.delete(principal, id);
  }
}
