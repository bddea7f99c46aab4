import { GatewayError, messageIdFor, OPERATION_COMMAND_TYPES, sentResult, storedOperationError, storedSendResult, type CommandJob, type CommandOutcome } from '@wagw/contracts';
import type { AuditEntry, OutboxRepository } from '@wagw/db';
import type { Logger } from '@wagw/observability';
import type { SessionRunner } from './session-runner.js';

/** The audit entry of a revoke, written with its outcome: who asked, which message, through which operation. */
function revokeAudit(actor: NonNullable<CommandJob['actor']>, messageId: string, sessionId: string, outboxId: string): AuditEntry {
  return { actorKind: actor.kind, actorId: actor.id, action: 'message.revoked', targetType: 'message', targetId: messageId, details: { session: sessionId, outboxId } };
}

function failure(code: GatewayError['code'], message: string, details: Record<string, unknown> = {}): CommandOutcome {
  return { ok: false, error: { code, message, details } };
}

/**
 * Failures that do not end an operation: it stays pending, so that a retry with the same key runs it
 * again under the same WhatsApp message id (which WhatsApp drops if it had it). `timeout`: WhatsApp
 * never acknowledged the message, so nobody knows whether it arrived. `session_not_connected`: the
 * socket was between connections (a restart, a takeover) and nothing was sent. Every other failure is
 * final.
 */
const OUTCOME_STAYS_OPEN: ReadonlySet<GatewayError['code']> = new Set(['timeout', 'session_not_connected']);

/**
 * Runs a command job on this worker. Refuses a stale epoch (`session_moved`, the gateway re-routes),
 * drops a job past its deadline (`expired`), and answers a job whose operation already finished with
 * the stored outcome: a re-run never acts twice.
 */
export class CommandExecutor {
  /** The run of each operation in progress here: a second job for it waits, then finds it finished. */
  private readonly running = new Map<string, Promise<CommandOutcome>>();

  constructor(
    private readonly runnerOf: (sessionId: string) => SessionRunner | undefined,
    private readonly outbox: OutboxRepository,
    private readonly logger: Logger,
  ) {}

  /**
   * One operation runs at most once at a time on this worker: a retry routed here and the same command
   * taken over from a dead worker's queue (SessionHost) run one after the other, the second answered
   * from the outbox.
   */
  async handle(job: CommandJob, now?: number): Promise<CommandOutcome> {
    const previous = this.running.get(job.commandId);
    const run = (previous ?? Promise.resolve()).catch(() => undefined).then(() => this.handleNow(job, now ?? Date.now()));
    this.running.set(job.commandId, run);
    try {
      return await run;
    } finally {
      if (this.running.get(job.commandId) === run) this.running.delete(job.commandId);
    }
  }

  private async handleNow(job: CommandJob, now: number): Promise<CommandOutcome> {
    // A send's or revoke's command id is its outbox operation's.
    const { orgId, commandId: outboxId, sessionId, command } = job;
    const isOperation = OPERATION_COMMAND_TYPES.has(command.type);
    if (now > job.deadline) {
      // Fenced on the job's epoch: a worker that lost the session must not expire what its new owner may be sending.
      if (isOperation) await this.outbox.finish({ orgId, sessionId, epoch: job.epoch }, outboxId, { status: 'expired', error: { code: 'timeout', message: 'expired before a worker ran it', details: {} } });
      return failure('timeout', 'the command expired before a worker ran it', { outboxId });
    }
    const runner = this.runnerOf(sessionId);
    if (!runner || runner.lease.epoch !== job.epoch) {
      return failure('session_moved', 'the session is held by another worker now', { expectedEpoch: job.epoch, heldEpoch: runner?.lease.epoch ?? null });
    }
    if (isOperation) {
      const operation = await this.outbox.outcomeOf(orgId, outboxId);
      if (!operation) return failure('not_found', 'unknown operation', { outboxId });
      if (operation.status === 'sent' && operation.result !== null) return { ok: true, result: storedSendResult(operation.result) };
      if (operation.status === 'failed' || operation.status === 'expired') return { ok: false, error: storedOperationError(operation.error) };
    }
    try {
      const audit = command.type === 'revoke' && job.actor ? revokeAudit(job.actor, command.messageId, sessionId, outboxId) : undefined;
      const result = await runner.execute(command, messageIdFor(outboxId), isOperation ? { outboxId, ...(audit ? { audit } : {}) } : undefined);
      if (!('sent' in result)) return { ok: true, result };
      const sendResult = sentResult(outboxId, result.sent);
      if (!result.outcomeRecorded) await this.outbox.finish(runner.fence, outboxId, { status: 'sent', result: { ...sendResult }, waMessageId: sendResult.waMessageId }, new Date(), audit);
      return { ok: true, result: sendResult };
    } catch (error) {
      const known = error instanceof GatewayError ? error : new GatewayError('internal', 'WhatsApp did not accept the command', { reason: error instanceof Error ? error.message : String(error) });
      if (!(error instanceof GatewayError)) this.logger.error({ err: error, outboxId, sessionId }, 'command failed');
      if (isOperation && !OUTCOME_STAYS_OPEN.has(known.code)) await this.outbox.finish(runner.fence, outboxId, { status: 'failed', error: { code: known.code, message: known.message, details: known.details as object } });
      return failure(known.code, known.message, known.details);
    }
  }
}
