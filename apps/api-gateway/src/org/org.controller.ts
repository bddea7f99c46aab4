import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import {
  apiKeyPageSchema,
  auditLogPageSchema,
  CAPABILITIES,
  createdApiKeySchema,
  GatewayError,
  organizationViewSchema,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  sessionsOverviewSchema,
  usageSchema,
  type ApiKeyView,
  type AuditLogEntryView,
  type OrganizationView,
  type Page,
  type Principal,
  type SessionsOverviewView,
  type UsageView,
} from '@wagw/contracts';
import { ApiKeysService, CurrentPrincipal, RequireCapability } from '@wagw/auth';
import type { ApiGatewayEnv } from '@wagw/config';
import { ApiKeysRepository, AuditLogRepository, OrganizationsRepository, OrgDashboardRepository } from '@wagw/db';
import { parseInput, PathParam, ZodValidationPipe } from '@wagw/http';
import { apiKeyIdParam } from '../validation.js';
import { GATEWAY_ENV } from '../gateway.providers.js';
import { toApiKeyView, toAuditLogView, toOverviewView } from './org-views.js';
import { ApiAuthenticated, ApiErrors, ApiJsonBody, ApiJsonResponse, ApiNoContent, ApiPathParam, ApiQueryFrom, ApiRoute, apiRequestSchemas } from '../openapi/api-docs.js';

const DAY_MS = 86_400_000;
/** A usage query spans at most this many days: one year of daily rows. */
const USAGE_MAX_DAYS = 366;
const USAGE_DEFAULT_DAYS = 30;
/** "Recently disconnected" in the sessions overview. */
const RECENT_DISCONNECT_WINDOW_MS = DAY_MS;
const RECENT_DISCONNECT_LIMIT = 20;

const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT),
  cursor: z.string().min(1).max(200).optional(),
});
const listKeysQuery = pageQuery.extend({
  includeRevoked: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .meta({ description: 'Also list revoked keys.' })
    .optional(),
});
const utcDay = z.iso.date({ message: 'must be a date, YYYY-MM-DD (UTC)' });
const usageQuery = z.strictObject({
  from: utcDay.meta({ description: 'First UTC day; default: 29 days before `to`.' }).optional(),
  to: utcDay.meta({ description: 'Last UTC day, inclusive; default: today.' }).optional(),
});

const createApiKeyBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    capabilities: z
      .array(z.enum(CAPABILITIES))
      .min(1)
      .max(CAPABILITIES.length)
      .refine((list) => new Set(list).size === list.length, 'capabilities must not repeat')
      .meta({ description: 'Only capabilities the caller holds itself.' }),
    expiresAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone' }).meta({ description: 'Omitted: the key never expires.' }).optional(),
  })
  .register(apiRequestSchemas, { id: 'CreateApiKeyRequest', examples: [{ name: 'CRM sync', capabilities: ['send', 'read'], expiresAt: '2027-06-30T00:00:00Z' }] });

/** The organization dashboard: the org itself, its API keys, sessions overview, usage and audit log. */
@ApiAuthenticated()
@Controller('api/v1/org')
export class OrgController {
  constructor(
    private readonly organizations: OrganizationsRepository,
    private readonly dashboard: OrgDashboardRepository,
    private readonly apiKeys: ApiKeysRepository,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditLogRepository,
    @Inject(GATEWAY_ENV) private readonly env: ApiGatewayEnv,
  ) {}

  @Get()
  @ApiRoute({ summary: 'Get your organization', description: 'With its counts, its limits, and who is asking with which capabilities.' })
  @RequireCapability('read')
  @ApiJsonResponse(200, organizationViewSchema, 'The organization.')
  @ApiErrors()
  async get(@CurrentPrincipal() principal: Principal): Promise<OrganizationView> {
    const [organization, counts] = await Promise.all([this.organizations.findById(principal.orgId), this.dashboard.counts(principal.orgId)]);
    if (!organization) throw new GatewayError('not_found', 'organization not found');
    return {
      id: organization.id,
      name: organization.name,
      createdAt: organization.createdAt.toISOString(),
      counts,
      limits: {
        rateLimitWindowSeconds: Math.ceil(this.env.RATE_LIMIT_WINDOW_MS / 1000),
        perKey: { reads: this.env.RATE_LIMIT_KEY_READS, writes: this.env.RATE_LIMIT_KEY_WRITES },
        perOrganization: { reads: this.env.RATE_LIMIT_ORG_READS, writes: this.env.RATE_LIMIT_ORG_WRITES },
        bodyLimitBytes: this.env.BODY_LIMIT_BYTES,
        pageSizeMax: PAGE_SIZE_MAX,
        usageMaxDays: USAGE_MAX_DAYS,
      },
      caller: { kind: principal.kind, subject: principal.subject, role: principal.role ?? null, capabilities: [...principal.capabilities] },
    };
  }

  /** The key is in this response only; the gateway keeps its SHA-256. */
  @Post('api-keys')
  @ApiRoute({ summary: 'Create an API key', description: 'The key is in this response only. It can carry only capabilities the caller holds.' })
  @RequireCapability('keys:manage')
  @ApiJsonBody(createApiKeyBody)
  @ApiJsonResponse(201, createdApiKeySchema, 'The key, with its secret shown once.')
  @ApiErrors('validation_failed')
  async createApiKey(@CurrentPrincipal() principal: Principal, @Body() body: unknown): Promise<ApiKeyView & { key: string }> {
    const request = parseInput(createApiKeyBody, body, 'body');
    const { listing, key } = await this.keys.create(principal, { name: request.name, capabilities: request.capabilities, expiresAt: request.expiresAt === undefined ? null : new Date(request.expiresAt) });
    return { ...toApiKeyView(listing), key };
  }

  @Get('api-keys')
  @ApiRoute({ summary: 'List API keys', description: 'Prefix, name, capabilities, creator, last use and expiry; never the secret. Oldest first, paged by cursor.' })
  @RequireCapability('keys:manage')
  @ApiQueryFrom(listKeysQuery)
  @ApiJsonResponse(200, apiKeyPageSchema, 'A page of keys.')
  @ApiErrors('validation_failed')
  async listApiKeys(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(listKeysQuery, 'query parameters')) query: z.infer<typeof listKeysQuery>,
  ): Promise<Page<ApiKeyView>> {
    const page = await this.apiKeys.list(principal.orgId, query);
    return { data: page.rows.map(toApiKeyView), nextCursor: page.nextCursor };
  }

  /** Effective at once on this gateway and within a second on every other (a key's row is reused for at most API_KEY_ROW_REUSE_MS). */
  @Delete('api-keys/:key')
  @HttpCode(204)
  @ApiRoute({ summary: 'Revoke an API key', description: 'Effective at once on the gateway that answers, and within a second on every other. A key with capabilities the caller lacks cannot be revoked by it.' })
  @RequireCapability('keys:manage')
  @ApiPathParam('key', apiKeyIdParam, 'The API key id.')
  @ApiNoContent('Revoked.')
  @ApiErrors('not_found', 'conflict')
  async revokeApiKey(@CurrentPrincipal() principal: Principal, @PathParam('key', apiKeyIdParam) id: string): Promise<void> {
    await this.keys.revoke(principal, id);
  }

  @Get('sessions/overview')
  @ApiRoute({ summary: 'Sessions overview', description: 'Sessions by status and by worker, and those disconnected in the last 24 hours.' })
  @RequireCapability('read')
  @ApiJsonResponse(200, sessionsOverviewSchema, 'The overview.')
  @ApiErrors()
  async sessionsOverview(@CurrentPrincipal() principal: Principal): Promise<SessionsOverviewView> {
    const since = new Date(Date.now() - RECENT_DISCONNECT_WINDOW_MS);
    return toOverviewView(await this.dashboard.sessionsOverview(principal.orgId, since, RECENT_DISCONNECT_LIMIT), since);
  }

  /** Daily counts for [from, to], both UTC days and inclusive; the last 30 days by default. */
  @Get('usage')
  @ApiRoute({ summary: 'Daily usage', description: 'Per UTC day: messages sent, received and revoked; webhook deliveries delivered, failed and exhausted.' })
  @RequireCapability('read')
  @ApiQueryFrom(usageQuery)
  @ApiJsonResponse(200, usageSchema, 'One row per day in the range, zeros included.')
  @ApiErrors('validation_failed')
  async usage(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(usageQuery, 'query parameters')) query: z.infer<typeof usageQuery>,
  ): Promise<UsageView> {
    const today = new Date(new Date().toISOString().slice(0, 10));
    const to = query.to === undefined ? today : new Date(query.to);
    const from = query.from === undefined ? new Date(to.getTime() - (USAGE_DEFAULT_DAYS - 1) * DAY_MS) : new Date(query.from);
    const days = (to.getTime() - from.getTime()) / DAY_MS + 1;
    if (days < 1) throw new GatewayError('validation_failed', 'invalid query parameters', { fields: { from: 'must not be after to' } });
    if (days > USAGE_MAX_DAYS) throw new GatewayError('validation_failed', 'invalid query parameters', { fields: { from: `the range spans at most ${USAGE_MAX_DAYS} days` } });
    const data = await this.dashboard.usage(principal.orgId, from, new Date(to.getTime() + DAY_MS));
    return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10), data };
  }

  /** Who did what, newest first. Reading it is an administrator's right, like managing keys. */
  @Get('audit-log')
  @ApiRoute({ summary: 'Audit log', description: 'Who (user or API key) did what and when, newest first, paged by cursor.' })
  @RequireCapability('keys:manage')
  @ApiQueryFrom(pageQuery)
  @ApiJsonResponse(200, auditLogPageSchema, 'A page of entries.')
  @ApiErrors('validation_failed')
  async auditLog(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(pageQuery, 'query parameters')) query: z.infer<typeof pageQuery>,
  ): Promise<Page<AuditLogEntryView>> {
    const page = await this.audit.list(principal.orgId, query);
    return { data: page.rows.map(toAuditLogView), nextCursor: page.nextCursor };
  }
}
