import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { EVENT_TYPES, GatewayError, type Principal } from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import type { ApiGatewayEnv } from '@wagw/config';
import { AuditLogRepository, WebhookEndpointsRepository, type WebhookEndpoint } from '@wagw/db';
import { parseInput } from '@wagw/http';
import { generateWebhookSecret, parseSecretKey, sealSecret, webhookUrlProblem } from '@wagw/webhooks';
import { GATEWAY_ENV } from '../command-client.providers.js';

const createEndpointBody = z.strictObject({
  url: z
    .string()
    .max(2048)
    .superRefine((value, context) => {
      const problem = webhookUrlProblem(value);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
  events: z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length),
  sessions: z.array(z.uuid()).max(100).optional(),
  description: z.string().max(500).optional(),
});

export interface WebhookEndpointView {
  id: string;
  url: string;
  events: string[];
  sessions: string[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
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
    createdAt: endpoint.createdAt.toISOString(),
  };
}

@Controller('api/v1/webhooks')
export class WebhooksController {
  private readonly secretKey: Buffer | null;

  constructor(
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly audit: AuditLogRepository,
    @Inject(GATEWAY_ENV) env: ApiGatewayEnv,
  ) {
    this.secretKey = env.WEBHOOK_SECRET_KEY === undefined ? null : parseSecretKey(env.WEBHOOK_SECRET_KEY);
  }

  /** The signing secret is shown here, once; only its ciphertext is stored. */
  @Post()
  @RequireCapability('webhooks:manage')
  async create(@CurrentPrincipal() principal: Principal, @Body() body: unknown): Promise<WebhookEndpointView & { secret: string }> {
    if (this.secretKey === null) throw new GatewayError('session_unavailable', 'webhooks are not configured on this gateway (WEBHOOK_SECRET_KEY is unset)');
    const request = parseInput(createEndpointBody, body, 'body');
    const sessions = [...new Set(request.sessions ?? [])];
    if ((await this.endpoints.countOwnSessions(principal.orgId, sessions)) !== sessions.length) {
      throw new GatewayError('not_found', 'session not found', { fields: { sessions: 'every session must belong to your organization' } });
    }
    const secret = generateWebhookSecret();
    const endpoint = await this.endpoints.create(principal.orgId, {
      url: request.url,
      events: [...new Set(request.events)],
      sessionIds: sessions,
      description: request.description ?? null,
      secretCiphertext: sealSecret(secret, this.secretKey),
    });
    await this.audit.record(principal.orgId, { actorKind: principal.kind, actorId: principal.subject, action: 'webhook.created', targetType: 'webhook', targetId: endpoint.id, details: { url: endpoint.url } });
    return { ...toView(endpoint), secret };
  }

  @Get()
  @RequireCapability('webhooks:manage')
  async list(@CurrentPrincipal() principal: Principal): Promise<{ data: WebhookEndpointView[] }> {
    return { data: (await this.endpoints.list(principal.orgId)).map(toView) };
  }

  @Get(':webhook')
  @RequireCapability('webhooks:manage')
  async get(@CurrentPrincipal() principal: Principal, @Param('webhook') id: string): Promise<WebhookEndpointView> {
    const endpoint = await this.endpoints.findById(principal.orgId, id);
    if (!endpoint) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    return toView(endpoint);
  }

  @Delete(':webhook')
  @HttpCode(204)
  @RequireCapability('webhooks:manage')
  async remove(@CurrentPrincipal() principal: Principal, @Param('webhook') id: string): Promise<void> {
    if (!(await this.endpoints.delete(principal.orgId, id))) throw new GatewayError('not_found', 'webhook endpoint not found', { webhook: id });
    await this.audit.record(principal.orgId, { actorKind: principal.kind, actorId: principal.subject, action: 'webhook.deleted', targetType: 'webhook', targetId: id });
  }
}
