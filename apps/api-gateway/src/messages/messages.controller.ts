import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ApiHeader, ApiProduces, ApiResponse } from '@nestjs/swagger';
import { ackName, GatewayError, markReadResultSchema, mediaPath, storedMediaSchema, messagePageSchema, messageViewSchema, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, sendResultSchema, type MarkReadResult, type MessageView, type Page, type Principal, type SendResult } from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import { MediaDownloadsService, SessionCommandsService } from '@wagw/command-client';
import { MessagesRepository, type StoredMessage } from '@wagw/db';
import { parseInput, PathParam } from '@wagw/http';
import { chatJid, idempotencyKeyOf, sessionIdParam, userJid, waMessageId } from '../validation.js';
import { ApiAuthenticated, ApiErrors, ApiIdempotencyKey, ApiJsonBody, ApiJsonResponse, ApiPathParam, ApiQueryFrom, ApiRoute, apiRequestSchemas } from '../openapi/api-docs.js';

// Schemas are built once, here: zod compiles each schema's fast path on its first parse, so a schema
// built per request is compiled again for every request (measured: a tenth of the gateway's CPU).
const messagePathParams = z.object({ session: sessionIdParam, mid: waMessageId });
const revokeBody = z
  .strictObject({
    chat: chatJid
      .meta({ description: 'The JID of the chat the message lives in (e.g. "123...@s.whatsapp.net" for a direct chat or "123...@g.us" for a group).' })
      .optional(),
    sender: z
      .union([z.literal(''), userJid])
      .meta({
        description:
          "The JID of the original sender of the message. Leave empty (\"\") when revoking your own message; set it to the author's JID when revoking another participant's message (e.g. as a group admin).",
      })
      .optional(),
  })
  .register(apiRequestSchemas, { id: 'RevokeMessageRequest', examples: [{}, { chat: '120363025246125888@g.us', sender: '15551234567@s.whatsapp.net' }] });
/** What a message sends: text, or one attachment. */
const MESSAGE_CONTENTS = ['text', 'image', 'video', 'audio', 'document'] as const;
const caption = z.string().max(4096).meta({ description: 'Shown under the attachment.' }).optional();
const mediaData = z.base64().meta({ description: 'The file, base64 (the whole request within the gateway\'s body limit, BODY_LIMIT_BYTES). Give `data` or `url`.' });
const mediaUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((value) => !/^[a-z]+:\/\/[^/]*@/i.test(value), 'credentials in the URL are not allowed')
  .meta({ description: "Where the worker fetches the file (http or https; no redirects followed, never a private or loopback address, within the worker's MEDIA_MAX_BYTES). Give `data` or `url`." })
  .optional();
const mimetype = z.string().min(3).max(100);
/** Exactly one source per attachment, and a declared type with base64 (a fetched file's bytes can say it). */
const oneSource = (media: { data?: string | undefined; url?: string | undefined; mimetype?: string | undefined }): boolean => (media.data === undefined) !== (media.url === undefined) && (media.url !== undefined || media.mimetype !== undefined);
const ONE_SOURCE = { message: 'give the file as data (base64, with its mimetype) or as url' };
const sendBody = z
  .strictObject({
    chat: chatJid.meta({ description: 'The chat to send to: a user or group JID.' }),
    text: z.string().min(1).max(4096).optional(),
    image: z.strictObject({ data: mediaData.optional(), url: mediaUrl, mimetype: mimetype.meta({ description: 'image/jpeg, image/png or image/webp, as the bytes are.' }).optional(), caption }).refine(oneSource, ONE_SOURCE).optional(),
    video: z.strictObject({ data: mediaData.optional(), url: mediaUrl, mimetype: mimetype.meta({ description: 'video/mp4 or video/3gpp, as the bytes are.' }).optional(), caption }).refine(oneSource, ONE_SOURCE).optional(),
    audio: z
      .strictObject({ data: mediaData.optional(), url: mediaUrl, mimetype: mimetype.meta({ description: 'audio/ogg (a voice note wants Opus in Ogg), audio/mpeg, audio/mp4 or audio/aac, as the bytes are.' }).optional(), voiceNote: z.boolean().meta({ description: 'Send it as a voice note rather than an audio file.' }).optional() })
      .refine(oneSource, ONE_SOURCE)
      .optional(),
    document: z.strictObject({ data: mediaData.optional(), url: mediaUrl, mimetype: mimetype.meta({ description: 'Any type; shown as a file. With `url` and none given, what the server says.' }).optional(), fileName: z.string().min(1).max(255), caption }).refine(oneSource, ONE_SOURCE).optional(),
    replyTo: waMessageId.meta({ description: 'Quote this message (its WhatsApp id) in the reply.' }).optional(),
  })
  .refine((body) => MESSAGE_CONTENTS.filter((content) => body[content] !== undefined).length === 1, { message: `give exactly one of ${MESSAGE_CONTENTS.join(', ')}` })
  .register(apiRequestSchemas, {
    id: 'SendMessageRequest',
    examples: [
      { chat: '15551234567@s.whatsapp.net', text: 'Your order has shipped.' },
      { chat: '15551234567@s.whatsapp.net', document: { data: 'JVBERi0xLjQK…', mimetype: 'application/pdf', fileName: 'invoice-42.pdf', caption: 'Your invoice' } },
      { chat: '15551234567@s.whatsapp.net', image: { url: 'https://shop.example.com/receipts/42.png', caption: 'Your receipt' } },
    ],
  });
const reactBody = z
  .strictObject({
    emoji: z.string().max(16).meta({ description: 'One emoji; "" takes our reaction back.' }),
    chat: chatJid.meta({ description: 'The chat the message lives in, when the same id is in several.' }).optional(),
  })
  .register(apiRequestSchemas, { id: 'ReactRequest', examples: [{ emoji: '👍' }, { emoji: '' }] });
const editBody = z
  .strictObject({
    text: z.string().min(1).max(4096).meta({ description: 'The new text.' }),
    chat: chatJid.meta({ description: 'The chat the message lives in, when the same id is in several.' }).optional(),
  })
  .register(apiRequestSchemas, { id: 'EditMessageRequest', examples: [{ text: 'Your order ships tomorrow.' }] });
const markReadBody = z
  .strictObject({ chat: chatJid.meta({ description: 'The chat the message lives in, when the same id is in several.' }).optional() })
  .register(apiRequestSchemas, { id: 'MarkReadRequest', examples: [{}, { chat: '15551234567@s.whatsapp.net' }] });
const mediaQuery = z.strictObject({ chat: chatJid.meta({ description: 'The chat the message lives in, when the same id is in several.' }).optional() });
const listQuery = z.strictObject({
  chat: chatJid.meta({ description: 'Only messages of this chat.' }).optional(),
  limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT),
  cursor: z.string().min(1).max(200).optional(),
});

const SESSION_PARAM = 'The WhatsApp session id (UUID) of a session your organization owns.';
const REVOKE_DESCRIPTION = `Deletes the message identified by \`mid\` in the path **for everyone** in the chat — not just on your own device. Located by \`chat\` (and \`sender\`) in the body. Use the \`sender\` body field to revoke another participant's message (e.g. as a group admin); leave it empty to revoke your own message. This is a synchronous operation and returns **200** with a \`SendResult\`. WhatsApp enforces its own time/role limits on who may revoke what.

### Preconditions & errors

- Requires the **\`send\`** capability.
- **404 \`not_found\`** — the session or message does not exist or is not owned by your organization.`;

/**
 * A `Content-Disposition` naming the file: the name as given (RFC 5987, UTF-8) and an ASCII fallback,
 * so that no quote, control character or path in a sender's file name reaches the header as such.
 */
function attachmentDisposition(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const ascii = base.replace(/[^\w.\- ]/g, '_').slice(0, 150) || 'file';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base.slice(0, 150))}`;
}

function toMessageView(message: StoredMessage): MessageView {
  const media = storedMediaSchema.safeParse(message.media);
  return {
    id: message.waMessageId,
    chat: message.chatJid,
    sender: message.senderJid,
    fromMe: message.fromMe,
    type: message.messageType,
    text: message.revokedAt ? null : message.text,
    timestamp: Number(message.timestamp),
    ack: message.ack,
    ackName: ackName(message.ack),
    media: media.success && !message.revokedAt ? { ...media.data, url: mediaPath(message.sessionId, message.waMessageId) } : null,
    revokedAt: message.revokedAt?.toISOString() ?? null,
  };
}

@ApiAuthenticated()
@Controller('api/v1/sessions/:session/messages')
export class MessagesController {
  constructor(
    private readonly commands: SessionCommandsService,
    private readonly messages: MessagesRepository,
    private readonly mediaDownloads: MediaDownloadsService,
  ) {}

  /** Revoke a message (delete for everyone), exactly as the API reference describes it. */
  @Delete(':mid')
  @HttpCode(200)
  @ApiRoute({ summary: 'Revoke a message (delete for everyone)', description: REVOKE_DESCRIPTION })
  @RequireCapability('send')
  @ApiPathParam('session', sessionIdParam, 'The WhatsApp session id used to issue the revoke. Must be a connected session your organization owns.')
  @ApiPathParam('mid', waMessageId, 'The WhatsApp message id (the per-message stable id assigned by WhatsApp) of the message to delete for everyone.')
  @ApiIdempotencyKey()
  @ApiJsonBody(revokeBody, { required: false })
  @ApiJsonResponse(200, sendResultSchema, 'The revoke was sent (or, with a reused Idempotency-Key, had been): a `SendResult`.')
  @ApiErrors('not_found', 'validation_failed', 'session_not_connected', 'conflict', 'idempotency_key_reused', 'session_unavailable', 'timeout', 'whatsapp_rejected')
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('session') session: string,
    @Param('mid') mid: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: unknown,
  ): Promise<SendResult> {
    const params = parseInput(messagePathParams, { session, mid }, 'path parameters');
    const request = parseInput(revokeBody, body ?? {}, 'body');
    return this.commands.revoke(principal, params.session, params.mid, request, idempotencyKeyOf(key));
  }

  /** Send a text and wait for WhatsApp to take it; with `Prefer: respond-async`, 202 at once. */
  @Post()
  @ApiRoute({
    summary: 'Send a message: text, image, video, audio or document',
    description:
      'Exactly one of `text`, `image`, `video`, `audio`, `document`. An attachment is base64 in the body; images, video and audio must be of a type WhatsApp shows as such, and their bytes must be of the declared type (else 415). Waits until WhatsApp has taken the message (200). With `Prefer: respond-async` it answers 202 at once; the outcome is then readable by `outboxId`.',
  })
  @RequireCapability('send')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiIdempotencyKey()
  @ApiHeader({ name: 'Prefer', required: false, description: '`respond-async`: answer 202 once the send is queued.', schema: { type: 'string' } })
  @ApiJsonBody(sendBody)
  @ApiJsonResponse(200, sendResultSchema, 'Sent (or replayed from an earlier request with the same Idempotency-Key).')
  @ApiJsonResponse(202, sendResultSchema, 'Queued (`Prefer: respond-async`).')
  @ApiErrors('not_found', 'validation_failed', 'payload_too_large', 'unsupported_media_type', 'session_not_connected', 'conflict', 'idempotency_key_reused', 'session_unavailable', 'timeout', 'whatsapp_rejected')
  async send(
    @CurrentPrincipal() principal: Principal,
    @PathParam('session', sessionIdParam) session: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: unknown,
    @Headers('prefer') prefer: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SendResult> {
    const sessionId = session;
    const request = parseInput(sendBody, body, 'body');
    const respondAsync = typeof prefer === 'string' && /(^|[\s,;])respond-async($|[\s,;])/i.test(prefer);
    const result = await this.sendOne(principal, sessionId, request, idempotencyKeyOf(key), respondAsync);
    void reply.status(result.mode === 'async' && !result.replayed ? 202 : 200);
    if (respondAsync) void reply.header('preference-applied', 'respond-async');
    return result;
  }

  @Put(':mid/reaction')
  @HttpCode(200)
  @ApiRoute({ summary: 'React to a message', description: 'Sends a reaction to a stored message (ours or someone else\'s); `emoji: ""` takes our reaction back. An outbox operation like a send: idempotent with `Idempotency-Key`, answering a `SendResult`.' })
  @RequireCapability('send')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiPathParam('mid', waMessageId, 'The WhatsApp message id of the message to react to.')
  @ApiIdempotencyKey()
  @ApiJsonBody(reactBody)
  @ApiJsonResponse(200, sendResultSchema, 'The reaction was sent: a `SendResult` (its `waMessageId` is the reaction\'s own).')
  @ApiErrors('not_found', 'validation_failed', 'session_not_connected', 'conflict', 'idempotency_key_reused', 'session_unavailable', 'timeout', 'whatsapp_rejected')
  react(@CurrentPrincipal() principal: Principal, @Param('session') session: string, @Param('mid') mid: string, @Body() body: unknown, @Headers('idempotency-key') key: unknown): Promise<SendResult> {
    const params = parseInput(messagePathParams, { session, mid }, 'path parameters');
    const request = parseInput(reactBody, body, 'body');
    return this.commands.react(principal, params.session, params.mid, request, idempotencyKeyOf(key));
  }

  @Patch(':mid')
  @HttpCode(200)
  @ApiRoute({ summary: 'Edit a message', description: 'Replaces the text of one of our own text messages for everyone in the chat. WhatsApp takes edits within 15 minutes of the send (`conflict` after that, for a revoked message, or for one that is not text). Idempotent with `Idempotency-Key`.' })
  @RequireCapability('send')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiPathParam('mid', waMessageId, 'The WhatsApp message id of our message to edit.')
  @ApiIdempotencyKey()
  @ApiJsonBody(editBody)
  @ApiJsonResponse(200, sendResultSchema, 'The edit was sent: a `SendResult` (its `waMessageId` is the edit\'s own).')
  @ApiErrors('not_found', 'validation_failed', 'session_not_connected', 'conflict', 'idempotency_key_reused', 'session_unavailable', 'timeout', 'whatsapp_rejected')
  edit(@CurrentPrincipal() principal: Principal, @Param('session') session: string, @Param('mid') mid: string, @Body() body: unknown, @Headers('idempotency-key') key: unknown): Promise<SendResult> {
    const params = parseInput(messagePathParams, { session, mid }, 'path parameters');
    const request = parseInput(editBody, body, 'body');
    return this.commands.edit(principal, params.session, params.mid, request, idempotencyKeyOf(key));
  }

  @Post(':mid/read')
  @HttpCode(200)
  @ApiRoute({
    summary: 'Mark a message read',
    description: "Sends WhatsApp's read receipt (blue ticks) for a message someone else sent, and sets its stored ack to `READ`. The message must be in our store; `chat` in the body picks it when the same id is in several chats.",
  })
  @RequireCapability('send')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiPathParam('mid', waMessageId, 'The WhatsApp message id of a message someone sent to the session.')
  @ApiJsonBody(markReadBody, { required: false })
  @ApiJsonResponse(200, markReadResultSchema, 'WhatsApp was told the message was read.')
  @ApiErrors('not_found', 'validation_failed', 'session_not_connected', 'conflict', 'session_unavailable', 'timeout')
  async markRead(@CurrentPrincipal() principal: Principal, @Param('session') session: string, @Param('mid') mid: string, @Body() body: unknown): Promise<MarkReadResult> {
    const params = parseInput(messagePathParams, { session, mid }, 'path parameters');
    const request = parseInput(markReadBody, body ?? {}, 'body');
    return this.commands.markRead(principal, params.session, params.mid, request.chat);
  }

  private sendOne(principal: Principal, sessionId: string, request: z.infer<typeof sendBody>, key: string | null, respondAsync: boolean): Promise<SendResult> {
    const { chat, replyTo } = request;
    if (request.text !== undefined) return this.commands.sendText(principal, sessionId, { chat, text: request.text, replyTo }, key, respondAsync);
    const [kind, media] = request.image
      ? (['image', request.image] as const)
      : request.video
        ? (['video', request.video] as const)
        : request.audio
          ? (['audio', request.audio] as const)
          : (['document', request.document] as const);
    if (!media) throw new GatewayError('validation_failed', `give exactly one of ${MESSAGE_CONTENTS.join(', ')}`);
    return this.commands.sendMedia(principal, sessionId, { chat, replyTo, kind, ...media }, key, respondAsync);
  }

  @Get()
  @ApiRoute({ summary: "List a session's stored messages", description: 'Newest first, paged by cursor.' })
  @RequireCapability('read')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiQueryFrom(listQuery)
  @ApiJsonResponse(200, messagePageSchema, 'A page of messages.')
  @ApiErrors('not_found', 'validation_failed')
  async list(@CurrentPrincipal() principal: Principal, @PathParam('session', sessionIdParam) session: string, @Query() query: unknown): Promise<Page<MessageView>> {
    const sessionId = session;
    const page = parseInput(listQuery, query, 'query parameters');
    await this.commands.requireSession(principal, sessionId);
    const { rows, nextCursor } = await this.messages.list(principal.orgId, sessionId, page);
    return { data: rows.map(toMessageView), nextCursor };
  }

  @Get(':mid/media')
  @ApiRoute({
    summary: "Download a message's attachment",
    description:
      "The decrypted file of an image, video, audio, document or sticker message, with its type as `Content-Type`. The first request downloads it from WhatsApp (through the worker holding the session, which must be connected) into the gateway's media cache; later ones are served from there until it is evicted (least recently read first, MEDIA_CACHE_MAX_BYTES). The download is checked against the hashes and MAC the sender put in the message.",
  })
  @RequireCapability('read')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiPathParam('mid', waMessageId, 'The WhatsApp message id of a message with an attachment.')
  @ApiQueryFrom(mediaQuery)
  @ApiProduces('application/octet-stream')
  @ApiResponse({ status: 200, description: 'The file, with `Content-Type`, `Content-Length` and `Content-Disposition`.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } })
  @ApiErrors('not_found', 'validation_failed', 'conflict', 'session_not_connected', 'payload_too_large', 'media_unavailable', 'session_unavailable', 'timeout')
  async media(
    @CurrentPrincipal() principal: Principal,
    @Param('session') session: string,
    @Param('mid') mid: string,
    @Query() query: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const params = parseInput(messagePathParams, { session, mid }, 'path parameters');
    const { chat } = parseInput(mediaQuery, query, 'query parameters');
    const { file, media } = await this.mediaDownloads.fetch(principal, params.session, params.mid, chat);
    void reply
      .header('content-type', file.mimetype)
      .header('content-length', String(file.bytes.length))
      .header('content-disposition', attachmentDisposition(media.fileName ?? params.mid))
      // A sender chose these bytes: never let a browser reinterpret them, and keep them out of shared caches.
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, max-age=3600');
    return file.bytes;
  }

  @Get(':mid')
  @ApiRoute({ summary: 'Get a stored message' })
  @RequireCapability('read')
  @ApiPathParam('session', sessionIdParam, SESSION_PARAM)
  @ApiPathParam('mid', waMessageId, 'The WhatsApp message id.')
  @ApiJsonResponse(200, messageViewSchema, 'The message; its text is null once revoked.')
  @ApiErrors('not_found', 'validation_failed')
  async get(@CurrentPrincipal() principal: Principal, @Param('session') session: string, @Param('mid') mid: string): Promise<MessageView> {
    const params = parseInput(messagePathParams, { session, mid }, 'path parameters');
    await this.commands.requireSession(principal, params.session);
    const message = await this.messages.find(principal.orgId, params.session, params.mid);
    if (!message) throw new GatewayError('not_found', 'message not found', { message: params.mid });
    return toMessageView(message);
  }
}
