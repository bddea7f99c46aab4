import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { GatewayError, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, type Page, type Principal, type SendResult } from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import { SessionCommandsService } from '@wagw/command-client';
import { MessagesRepository, type StoredMessage } from '@wagw/db';
import { parseInput } from '@wagw/http';
import { chatJid, idempotencyKeyOf, sessionIdParam, userJid, waMessageId } from '../validation.js';

const revokeBody = z.strictObject({
  chat: chatJid.optional(),
  sender: z.union([z.literal(''), userJid]).optional(),
});
const sendBody = z.strictObject({
  chat: chatJid,
  text: z.string().min(1).max(4096),
  replyTo: waMessageId.optional(),
});
const listQuery = z.strictObject({
  chat: chatJid.optional(),
  limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT),
  cursor: z.string().min(1).max(200).optional(),
});

export interface MessageView {
  id: string;
  chat: string;
  sender: string | null;
  fromMe: boolean;
  type: string;
  text: string | null;
  timestamp: number;
  ack: number;
  revokedAt: string | null;
}

function toMessageView(message: StoredMessage): MessageView {
  return {
    id: message.waMessageId,
    chat: message.chatJid,
    sender: message.senderJid,
    fromMe: message.fromMe,
    type: message.messageType,
    text: message.revokedAt ? null : message.text,
    timestamp: Number(message.timestamp),
    ack: message.ack,
    revokedAt: message.revokedAt?.toISOString() ?? null,
  };
}

@Controller('api/v1/sessions/:session/messages')
export class MessagesController {
  constructor(
    private readonly commands: SessionCommandsService,
    private readonly messages: MessagesRepository,
  ) {}

  /** Revoke a message (delete for everyone), exactly as the API reference describes it. */
  @Delete(':mid')
  @HttpCode(200)
  @RequireCapability('send')
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('session') session: string,
    @Param('mid') mid: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: unknown,
  ): Promise<SendResult> {
    const params = parseInput(z.object({ session: sessionIdParam, mid: waMessageId }), { session, mid }, 'path parameters');
    const request = parseInput(revokeBody, body ?? {}, 'body');
    return this.commands.revoke(principal, params.session, params.mid, request, idempotencyKeyOf(key));
  }

  /** Send a text and wait for WhatsApp to take it; with `Prefer: respond-async`, 202 at once. */
  @Post()
  @RequireCapability('send')
  async send(
    @CurrentPrincipal() principal: Principal,
    @Param('session') session: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: unknown,
    @Headers('prefer') prefer: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SendResult> {
    const sessionId = parseInput(sessionIdParam, session, 'path parameters');
    const request = parseInput(sendBody, body, 'body');
    const respondAsync = typeof prefer === 'string' && /(^|[\s,;])respond-async($|[\s,;])/i.test(prefer);
    const result = await this.commands.sendText(principal, sessionId, request, idempotencyKeyOf(key), respondAsync);
    void reply.status(result.mode === 'async' && !result.replayed ? 202 : 200);
    if (respondAsync) void reply.header('preference-applied', 'respond-async');
    return result;
  }

  @Get()
  @RequireCapability('read')
  async list(@CurrentPrincipal() principal: Principal, @Param('session') session: string, @Query() query: unknown): Promise<Page<MessageView>> {
    const sessionId = parseInput(sessionIdParam, session, 'path parameters');
    const page = parseInput(listQuery, query, 'query parameters');
    await this.commands.requireSession(principal, sessionId);
    const { rows, nextCursor } = await this.messages.list(principal.orgId, sessionId, page);
    return { data: rows.map(toMessageView), nextCursor };
  }

  @Get(':mid')
  @RequireCapability('read')
  async get(@CurrentPrincipal() principal: Principal, @Param('session') session: string, @Param('mid') mid: string): Promise<MessageView> {
    const params = parseInput(z.object({ session: sessionIdParam, mid: waMessageId }), { session, mid }, 'path parameters');
    await this.commands.requireSession(principal, params.session);
    const message = await this.messages.find(principal.orgId, params.session, params.mid);
    if (!message) throw new GatewayError('not_found', 'message not found', { message: params.mid });
    return toMessageView(message);
  }
}
