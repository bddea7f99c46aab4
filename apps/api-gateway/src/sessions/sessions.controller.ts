import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import QRCode from 'qrcode';
import { z } from 'zod';
import { GatewayError, markReadResultSchema, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, pairingCodeSchema, qrCodeSchema, redisKeys, sessionPageSchema, sessionViewSchema, type MarkReadResult, type Page, type Principal, type SessionView } from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import { SessionCommandsService, SessionLifecycleService } from '@wagw/command-client';
import { SessionsRepository } from '@wagw/db';
import { parseInput, PathParam, ZodValidationPipe } from '@wagw/http';
import { REDIS, type RedisConnection } from '@wagw/queue';
import { chatJid, sessionIdParam } from '../validation.js';
import { toSessionView } from './session-view.js';
import { ApiAuthenticated, ApiErrors, ApiJsonBody, ApiJsonResponse, ApiNoContent, ApiPathParam, ApiQueryFrom, ApiRoute, apiRequestSchemas } from '../openapi/api-docs.js';

const listSessionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT),
  cursor: z.string().min(1).max(200).optional(),
});
const createSessionBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).meta({ description: 'Unique within your organization.' }),
    metadata: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'metadata keys: letters, digits, _ . - (max 64)'), z.string().max(1024))
      .refine((value) => Object.keys(value).length <= 50, 'at most 50 metadata entries')
      .optional(),
    start: z.boolean().meta({ description: 'Start connecting at once (the answer is then the started session).' }).optional(),
  })
  .register(apiRequestSchemas, { id: 'CreateSessionRequest', examples: [{ name: 'support-line', metadata: { team: 'support' }, start: true }] });
const pairingCodeBody = z
  .strictObject({ phone: z.string().regex(/^\d{6,15}$/, 'the phone number in international format, digits only').meta({ description: 'The phone number to link, international format, digits only.' }) })
  .register(apiRequestSchemas, { id: 'PairingCodeRequest', examples: [{ phone: '15551234567' }] });
const SESSION_PARAM = 'The WhatsApp session id (UUID) of a session your organization owns.';

@ApiAuthenticated()
@Controller('api/v1/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly commands: SessionCommandsService,
    private readonly lifecycle: SessionLifecycleService,
    @Inject(REDIS) private readonly redis: RedisConnection,
  ) {}

  @Get()
  @ApiRoute({ summary: "List your organization's sessions", description: 'Oldest first, paged by cursor.' })
  @RequireCapability('read')
  @ApiQueryFrom(listSessionsQuery)
  @ApiJsonResponse(200, sessionPageSchema, 'A page of sessions.')
  @ApiErrors('validation_failed')
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(listSessionsQuery, 'query parameters')) query: z.infer<typeof listSessionsQuery>,
  ): Promise<Page<SessionView>> {
    const { rows, nextCursor } = await this.sessions.list(principal.orgId, query);
    return { data: rows.map(toSessionView), nextCursor };
  }

  @Post()
  @ApiRoute({ summary: 'Create a session', description: 'A WhatsApp session to link to a phone: start it, then scan its QR or ask for a pairing code.' })
  @RequireCapability('sessions:manage')
  @ApiJsonBody(createSessionBody)
  @ApiJsonResponse(201, sessionViewSchema, 'The session.')
  @ApiErrors('validation_failed', 'conflict')
  async create(@CurrentPrincipal() principal: Principal, @Body() body: unknown): Promise<SessionView> {
    const request = parseInput(createSessionBody, body, 'body');
    return toSessionView(await this.lifecycle.create(principal, { name: request.name, metadata: request.metadata ?? {}, start: request.start ?? false }));
  }

  @Get(':session')
  @ApiRoute({ summary: 'Get a session' })
  @RequireCapability('read')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiJsonResponse(200, sessionViewSchema, 'The session, with its status and owning worker.')
  @ApiErrors('not_found', 'validation_failed')
  async get(@CurrentPrincipal() principal: Principal, @PathParam('session', sessionIdParam) session: string): Promise<SessionView> {
    return toSessionView(await this.commands.requireSession(principal, session));
  }

  @Post(':session/start')
  @HttpCode(200)
  @ApiRoute({ summary: 'Start a session', description: 'A worker takes it and connects; a new session then waits for a QR scan (`status: qr`).' })
  @RequireCapability('sessions:manage')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiJsonResponse(200, sessionViewSchema, 'The session (already running: unchanged).')
  @ApiErrors('not_found', 'validation_failed')
  async start(@CurrentPrincipal() principal: Principal, @PathParam('session', sessionIdParam) session: string): Promise<SessionView> {
    return toSessionView(await this.lifecycle.start(principal, await this.commands.requireSession(principal, session)));
  }

  /** Closes the socket and keeps the login: start again without a new QR. */
  @Post(':session/stop')
  @HttpCode(200)
  @ApiRoute({ summary: 'Stop a session', description: 'Closes the socket and keeps the login: start it again without a new QR.' })
  @RequireCapability('sessions:manage')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiJsonResponse(200, sessionViewSchema, 'The session.')
  @ApiErrors('not_found', 'validation_failed')
  async stop(@CurrentPrincipal() principal: Principal, @PathParam('session', sessionIdParam) session: string): Promise<SessionView> {
    return toSessionView(await this.lifecycle.stop(principal, await this.commands.requireSession(principal, session)));
  }

  /** Unlinks the device from the phone and wipes the login. */
  @Post(':session/logout')
  @HttpCode(200)
  @ApiRoute({ summary: 'Log a session out', description: 'Unlinks the device from the phone and wipes the login.' })
  @RequireCapability('sessions:manage')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiJsonResponse(200, sessionViewSchema, 'The session, now `logged_out`.')
  @ApiErrors('not_found', 'validation_failed', 'session_unavailable', 'timeout')
  async logout(@CurrentPrincipal() principal: Principal, @PathParam('session', sessionIdParam) session: string): Promise<SessionView> {
    return toSessionView(await this.lifecycle.logout(principal, await this.commands.requireSession(principal, session)));
  }

  @Delete(':session')
  @HttpCode(204)
  @ApiRoute({ summary: 'Delete a session', description: 'Unlinks a connected device first, then deletes the session and its stored messages.' })
  @RequireCapability('sessions:manage')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiNoContent('Deleted.')
  @ApiErrors('not_found', 'validation_failed')
  async remove(@CurrentPrincipal() principal: Principal, @PathParam('session', sessionIdParam) session: string): Promise<void> {
    await this.lifecycle.delete(principal, await this.commands.requireSession(principal, session));
  }

  @Get(':session/qr')
  @ApiRoute({ summary: "Get a session's current QR code", description: 'Only while the session waits for a scan (`status: qr`); the QR changes every few seconds.' })
  @RequireCapability('sessions:manage')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiJsonResponse(200, qrCodeSchema, 'The QR payload and a PNG of it.')
  @ApiErrors('not_found', 'validation_failed', 'conflict')
  async qr(@CurrentPrincipal() principal: Principal, @PathParam('session', sessionIdParam) session: string): Promise<{ qr: string; pngDataUrl: string }> {
    const found = await this.commands.requireSession(principal, session);
    const qr = found.status === 'qr' ? await this.redis.get(redisKeys.qr(found.id)) : null;
    if (qr === null) throw new GatewayError('conflict', `the session is not waiting for a QR scan (it is ${found.status})`, { status: found.status });
    return { qr, pngDataUrl: await QRCode.toDataURL(qr, { errorCorrectionLevel: 'M', margin: 2 }) };
  }

  @Post(':session/pairing-code')
  @HttpCode(200)
  @ApiRoute({ summary: 'Link by pairing code instead of QR', description: 'The code to type on the phone under Linked devices → Link with phone number.' })
  @RequireCapability('sessions:manage')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiJsonBody(pairingCodeBody)
  @ApiJsonResponse(200, pairingCodeSchema, 'The pairing code.')
  @ApiErrors('not_found', 'validation_failed', 'conflict', 'session_unavailable', 'timeout')
  async pairingCode(@CurrentPrincipal() principal: Principal, @PathParam('session', sessionIdParam) session: string, @Body() body: unknown): Promise<{ pairingCode: string }> {
    const found = await this.commands.requireSession(principal, session);
    const request = parseInput(pairingCodeBody, body, 'body');
    if (found.status !== 'qr') throw new GatewayError('conflict', `the session is not waiting to be linked (it is ${found.status})`, { status: found.status });
    return (await this.commands.dispatchControl(principal, found, { type: 'pairing_code', phone: request.phone })) as { pairingCode: string };
  }

  @Post(':session/chats/:chat/read')
  @HttpCode(200)
  @ApiRoute({ summary: 'Mark a chat read', description: 'Read receipts for the newest 100 messages someone sent in the chat that were not marked read yet, and their stored ack `READ`. With none unread, nothing is sent and `read` is empty.' })
  @RequireCapability('send')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiPathParam('chat', chatJid, 'The chat JID, e.g. 15551234567@s.whatsapp.net or 120363025246125888@g.us.')
  @ApiJsonResponse(200, markReadResultSchema, 'The messages WhatsApp was told were read.')
  @ApiErrors('not_found', 'validation_failed', 'session_not_connected', 'session_unavailable', 'timeout')
  async markChatRead(@CurrentPrincipal() principal: Principal, @PathParam('session', sessionIdParam) session: string, @PathParam('chat', chatJid) chat: string): Promise<MarkReadResult> {
    return this.commands.markChatRead(principal, session, chat);
  }
}
