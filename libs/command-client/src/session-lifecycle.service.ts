import { randomUUID } from 'node:crypto';
import { buildSessionStatusWebhook, GatewayError, redisKeys, type Principal, type SessionStatus } from '@wagw/contracts';
import { auditActor, type AuditLogRepository, type AuthStateRepository, type SessionsRepository, type WhatsAppSession } from '@wagw/db';
import type { RedisConnection, WebhookQueues } from '@wagw/queue';
import type { SessionCommandsService } from './session-commands.service.js';

export interface NewSessionRequest {
  name: string;
  metadata: Record<string, string>;
  /** Start connecting at once. */
  start: boolean;
}

/**
 * Creating, starting, stopping, logging out and deleting a session from the API, each with its audit
 * entry. The session's owner (the worker holding
 * its lease) is the only writer of its status while it runs: the gateway asks it (`shouldRun`, or a
 * logout command) and the worker writes the change with its `session.status` event. Only for a session
 * no worker runs does the gateway change the status itself, compare-and-set on the status it read and
 * with the event in the same transaction, so every status change has exactly one event. Each method
 * answers the session as it is afterwards.
 */
export class SessionLifecycleService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly authState: AuthStateRepository,
    private readonly audit: AuditLogRepository,
    private readonly commands: SessionCommandsService,
    private readonly webhookQueues: WebhookQueues,
    private readonly redis: RedisConnection,
  ) {}

  /** A new, stopped session (names are unique per organization), started at once if asked. */
  async create(principal: Principal, request: NewSessionRequest): Promise<WhatsAppSession> {
    if (await this.sessions.findByName(principal.orgId, request.name)) {
      throw new GatewayError('conflict', 'a session with this name exists', { fields: { name: 'already used in this organization' } });
    }
    const session = await this.sessions.create(principal.orgId, { name: request.name, createdBy: principal.subject, metadata: request.metadata });
    await this.record(principal, 'session.created', session);
    return request.start ? this.start(principal, session) : session;
  }

  /** Marks the session to run; a worker takes it and reports `starting`, then `qr` or `connected`. Already running: unchanged. */
  async start(principal: Principal, session: WhatsAppSession): Promise<WhatsAppSession> {
    if (session.shouldRun) return session;
    // One write: no worker can take the session (it needs `shouldRun`) between the status and the flag.
    const applied = session.status !== 'connected' && session.status !== 'starting' && (await this.transition(session, { status: 'starting', lastError: null, shouldRun: true }));
    if (!applied) await this.sessions.update(session.orgId, session.id, { shouldRun: true });
    await this.record(principal, 'session.started', session);
    await this.nudgeWorkers(session.id);
    return this.current(session);
  }

  /** Closes the socket and keeps the login: the owner writes `stopped`; without one, the gateway does. */
  async stop(principal: Principal, session: WhatsAppSession): Promise<WhatsAppSession> {
    await this.sessions.update(session.orgId, session.id, { shouldRun: false });
    if (!(await this.commands.ownerWorker(session.id)) && session.status !== 'stopped' && session.status !== 'logged_out') {
      await this.transition(session, { status: 'stopped', lastDisconnectedAt: new Date() });
    }
    await this.record(principal, 'session.stopped', session);
    await this.nudgeWorkers(session.id);
    return this.current(session);
  }

  /**
   * Unlinks the device and wipes the login. A connected session is logged out by its owner (WhatsApp
   * is told); one that is not connected has nothing to tell WhatsApp, and its login is wiped here.
   */
  async logout(principal: Principal, session: WhatsAppSession): Promise<WhatsAppSession> {
    if (session.status === 'connected' && (await this.commands.ownerWorker(session.id))) {
      // The owner answers once it has written `logged_out`.
      await this.commands.dispatchControl(principal, session, { type: 'logout' });
    } else {
      await this.authState.wipe(session.orgId, session.id);
      await this.sessions.update(session.orgId, session.id, { shouldRun: false, meJid: null, mePushName: null, linkedEndpoint: null });
      if (session.status !== 'logged_out') await this.transition({ ...session, meJid: null, mePushName: null }, { status: 'logged_out' });
      await this.nudgeWorkers(session.id);
    }
    await this.record(principal, 'session.logged_out', session);
    return this.current(session);
  }

  /**
   * Deletes the session with its login and stored messages. A connected device is unlinked first (its
   * owner logs it out, with the `logged_out` event); otherwise the deletion itself ends the session with
   * one `session.status` `logged_out` (the login is gone with it), unless it was already logged out.
   */
  async delete(principal: Principal, session: WhatsAppSession): Promise<void> {
    if (session.status === 'connected' && (await this.commands.ownerWorker(session.id))) {
      // Nothing should stay linked to an account we forgot; an owner that cannot be reached does not stop the deletion.
      await this.commands.dispatchControl(principal, session, { type: 'logout' }).catch(() => undefined);
    }
    await this.record(principal, 'session.deleted', session);
    const final = this.statusEvent({ ...session, meJid: null, mePushName: null }, 'logged_out', null);
    if (await this.sessions.deleteWithEvent(session.orgId, session.id, 'logged_out', final)) await this.announce();
    await this.nudgeWorkers(session.id);
  }

  /** The status change with its event, if the status is still what was read; then handed to the dispatcher. */
  private async transition(session: WhatsAppSession, patch: { status: SessionStatus; lastError?: string | null; lastDisconnectedAt?: Date; shouldRun?: boolean }): Promise<boolean> {
    const event = this.statusEvent(session, patch.status, patch.lastError ?? session.lastError);
    const applied = await this.sessions.transitionWithEvent(session.orgId, session.id, session.status, patch, event);
    if (applied) await this.announce();
    return applied;
  }

  private statusEvent(session: WhatsAppSession, status: SessionStatus, lastError: string | null): { id: string; type: 'session.status'; payload: object } {
    const id = randomUUID();
    const metadata = session.metadata && typeof session.metadata === 'object' && !Array.isArray(session.metadata) ? (session.metadata as Record<string, string>) : {};
    const payload = buildSessionStatusWebhook({
      eventId: id,
      session: { id: session.id, createdBy: session.createdBy, metadata, meJid: session.meJid ?? '', mePushName: session.mePushName ?? '' },
      status,
      lastError,
    });
    return { id, type: 'session.status', payload };
  }

  /** A lost announcement only delays the event: the dispatchers also read committed events periodically. */
  private async announce(): Promise<void> {
    await this.webhookQueues.announceEvents().catch(() => undefined);
  }

  private async current(session: WhatsAppSession): Promise<WhatsAppSession> {
    const found = await this.sessions.findById(session.orgId, session.id);
    if (!found) throw new GatewayError('not_found', 'session not found', { session: session.id });
    return found;
  }

  private async record(principal: Principal, action: string, session: WhatsAppSession): Promise<void> {
    await this.audit.record(principal.orgId, { ...auditActor(principal), action, targetType: 'session', targetId: session.id });
  }

  /** Tells the workers to look at a session now instead of at their next placement tick. */
  private async nudgeWorkers(sessionId: string): Promise<void> {
    await this.redis.publish(redisKeys.sessionChanged, sessionId);
  }
}
