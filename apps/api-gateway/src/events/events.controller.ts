import { Controller, Get, Headers, Inject, Query, Req, Res, type OnModuleDestroy } from '@nestjs/common';
import { ApiHeader, ApiProduces, ApiResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { EVENT_TYPES, GatewayError, type Principal } from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import type { ApiGatewayEnv } from '@wagw/config';
import { EventStreamRepository, type EventStreamCursor } from '@wagw/db';
import { EventStreamHub, eventFrame, keepAliveFrame, streamPreamble } from '@wagw/event-stream';
import { SECURITY_HEADERS, ZodValidationPipe } from '@wagw/http';
import { GATEWAY_ENV } from '../gateway.providers.js';
import { ApiAuthenticated, ApiErrors, ApiQueryFrom, ApiRoute } from '../openapi/api-docs.js';

/** Comments this often keep proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

/** A comma-separated query value as its non-empty parts. */
const commaSeparated = z
  .string()
  .max(4_000)
  .transform((value) => value.split(',').map((part) => part.trim()).filter((part) => part.length > 0));

const streamQuery = z.strictObject({
  types: commaSeparated.pipe(z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length)).meta({ description: `Comma-separated event types to receive (${EVENT_TYPES.join(', ')}); default: all of them.` }).optional(),
  sessions: commaSeparated.pipe(z.array(z.uuid({ message: 'must be session ids (UUIDs)' })).max(100)).meta({ description: 'Comma-separated session ids; default: every session of the organization.' }).optional(),
});
const lastEventIdHeader = z.uuid({ message: 'must be the id of an event this stream sent' });

const STREAM_DESCRIPTION = `Server-Sent Events: every event of your organization as it is committed, with the same body as its webhook (\`event: <type>\`, \`data: <body>\`, \`id: <event id>\`). An alternative to webhooks for a client that keeps a connection open, such as a dashboard.

A client that reconnects with \`Last-Event-ID\` (an \`EventSource\` does so by itself) receives exactly the events it missed, from the stored events, then the live ones. Events are in commit order; every gateway replica serves every event, whichever worker wrote it. A client that stops reading is disconnected, and resumes the same way.

### Errors

- **404 \`not_found\`** — \`Last-Event-ID\` names no event of your organization.
- **429 \`rate_limited\`** — this gateway already serves the organization's maximum of open streams (\`EVENT_STREAMS_PER_ORG\`).`;

/** The organization's live event stream (`GET /api/v1/events`). */
@ApiAuthenticated()
@Controller('api/v1/events')
export class EventsController implements OnModuleDestroy {
  constructor(
    private readonly hub: EventStreamHub,
    private readonly events: EventStreamRepository,
    @Inject(GATEWAY_ENV) private readonly env: ApiGatewayEnv,
  ) {}

  /** Ends the open streams before the server closes: they would otherwise hold the shutdown. */
  async onModuleDestroy(): Promise<void> {
    await this.hub.close();
  }

  @Get()
  @ApiRoute({ summary: 'Stream events (Server-Sent Events)', description: STREAM_DESCRIPTION })
  @RequireCapability('read')
  @ApiQueryFrom(streamQuery)
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event: the `id` of the last event received.', schema: { type: 'string', format: 'uuid' } })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'The stream: `text/event-stream`, open until the client or the gateway closes it.', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @ApiErrors('validation_failed', 'not_found', 'rate_limited')
  async stream(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(streamQuery, 'query parameters')) query: z.infer<typeof streamQuery>,
    @Headers('last-event-id') lastEventIdValue: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (this.hub.count(principal.orgId) >= this.env.EVENT_STREAMS_PER_ORG) {
      throw new GatewayError('rate_limited', `this gateway already serves ${this.env.EVENT_STREAMS_PER_ORG} event streams of your organization; close one or connect to another replica`, {
        limit: this.env.EVENT_STREAMS_PER_ORG,
        retryAfterSeconds: 5,
      });
    }
    // Taken before the client hears back: whatever it does once answered comes after this position.
    const from = lastEventIdValue === undefined ? await this.hub.head() : await this.resumePosition(principal.orgId, lastEventIdValue);
    const raw = reply.raw;
    reply.hijack();
    const headersSoFar = Object.entries(reply.getHeaders()).filter((entry): entry is [string, string | number | string[]] => entry[1] !== undefined);
    raw.writeHead(200, {
      ...SECURITY_HEADERS,
      ...Object.fromEntries(headersSoFar),
      'x-request-id': request.id,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies that buffer responses (nginx) would hold events back.
      'x-accel-buffering': 'no',
      // A stream ends only when the client goes or the gateway stops: its connection is not reused, so
      // a stopping gateway is not left waiting on it.
      connection: 'close',
    });
    raw.write(streamPreamble());
    const keepAlive = setInterval(() => raw.write(keepAliveFrame()), KEEP_ALIVE_MS);
    const unsubscribe = this.hub.subscribe(
      {
        orgId: principal.orgId,
        types: new Set(query.types ?? EVENT_TYPES),
        sessionIds: new Set(query.sessions ?? []),
        deliver: (events) => raw.write(events.map(eventFrame).join('')),
        end: () => finish(),
        pendingBytes: () => raw.writableLength,
      },
      from,
    );
    const finish = (): void => {
      clearInterval(keepAlive);
      unsubscribe();
      if (!raw.writableEnded) raw.end();
    };
    if (raw.destroyed) finish();
    else raw.once('close', finish);
  }

  private async resumePosition(orgId: string, value: string): Promise<EventStreamCursor> {
    const parsed = lastEventIdHeader.safeParse(value.trim());
    if (!parsed.success) throw new GatewayError('validation_failed', 'invalid Last-Event-ID header', { fields: { 'Last-Event-ID': parsed.error.issues[0]?.message ?? 'invalid' } });
    const position = await this.events.positionOf(orgId, parsed.data);
    if (!position) throw new GatewayError('not_found', 'Last-Event-ID names no event of your organization; reconnect without it to start from now', { lastEventId: parsed.data });
    return position;
  }
}
