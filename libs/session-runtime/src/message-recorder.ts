import type { EventSession, EventType } from '@wagw/contracts';
import type { MessagesRepository, NewStoredMessage, RevokeOutcome, SentOutcome, SessionFence } from '@wagw/db';
import type { Logger } from '@wagw/observability';
import { buildMessageAckWebhook, buildMessageEditedWebhook, buildMessageReactionWebhook, buildMessageReceivedWebhook, buildMessageRevokedWebhook, RecentIds, type InboundEvent } from '@wagw/whatsapp';

/** Receipts held for messages not stored yet, at most this many (the oldest go first). */
const EARLY_ACKS_CAPACITY = 1_000;

export interface RecorderDependencies {
  messages: MessagesRepository;
  logger: Logger;
  /** After the commit: hands the event to the dispatcher (a lost call only delays it, see RunnerDependencies). */
  publish: (eventId: string, type: EventType) => Promise<void>;
}

/**
 * What one session sent and heard, in our message store: each message once, each revoke once with the
 * original marked revoked, and the `message.*` events in the same transaction as the rows they describe.
 */
export class MessageRecorder {
  /**
   * Revokes recorded here, by the revoke's id and by the original's id. A peer's revoke is reported twice
   * (the protocol message, then a revoke update of the original), and WhatsApp may deliver one again;
   * the repeats find it recorded and skip the database. Bounded: one forgotten is checked there again.
   */
  private readonly recordedRevokes = new RecentIds(2_000);
  /**
   * Receipts that came before the message they are for was stored (WhatsApp can deliver a message and
   * send its receipt while our send is still committing), by message id: applied once it is.
   */
  private readonly earlyAcks = new Map<string, number>();

  constructor(
    /** The session at this runner's epoch: every row written carries it, and a stale one writes nothing. */
    private readonly fence: SessionFence,
    private readonly deps: RecorderDependencies,
    /** Who the session is, as its events name it, at the time of each event. */
    private readonly session: () => EventSession,
  ) {}

  /** A stored message as it was stored (`raw`): to quote it, or for Baileys to answer a retry request. */
  async storedRaw(chat: string, waMessageId: string): Promise<unknown> {
    return (await this.deps.messages.find(this.fence.orgId, this.fence.sessionId, waMessageId, chat))?.raw;
  }

  /** A message this session's phone sent: stored, no event. */
  async recordOwn(message: NewStoredMessage): Promise<void> {
    await this.deps.messages.store(this.fence, message);
    await this.applyEarlyAck(message.waMessageId);
  }

  /** A message our send command sent: stored with its operation's outcome, in one commit; answers whether the outcome was recorded. */
  async recordSent(message: NewStoredMessage, outcome: SentOutcome): Promise<boolean> {
    const recorded = await this.deps.messages.storeSent(this.fence, message, outcome);
    await this.applyEarlyAck(message.waMessageId);
    return recorded;
  }

  /**
   * A receipt for one of our messages: its stored ack raised, with one `message.ack` event per step. One
   * for a message not stored yet is held until it is (checked again once held, so that a commit between
   * the lookup and the hold is not missed).
   */
  async recordAck(waMessageId: string, ack: number): Promise<void> {
    const recorded = await this.writeAck(waMessageId, ack);
    if (recorded !== 'not_stored') return;
    this.earlyAcks.set(waMessageId, Math.max(ack, this.earlyAcks.get(waMessageId) ?? ack));
    if (this.earlyAcks.size > EARLY_ACKS_CAPACITY) this.earlyAcks.delete(this.earlyAcks.keys().next().value ?? '');
    await this.applyEarlyAck(waMessageId);
  }

  private async applyEarlyAck(waMessageId: string): Promise<void> {
    if (this.earlyAcks.size === 0) return;
    const ack = this.earlyAcks.get(waMessageId);
    if (ack === undefined) return;
    if ((await this.writeAck(waMessageId, ack)) !== 'not_stored') this.earlyAcks.delete(waMessageId);
  }

  private async writeAck(waMessageId: string, ack: number): Promise<'not_stored' | 'done'> {
    const recorded = await this.deps.messages.recordAck(this.fence, waMessageId, ack, (eventId, message) => buildMessageAckWebhook({ eventId, session: this.session(), message }));
    if (recorded === 'not_stored') return recorded;
    if (recorded) await this.deps.publish(recorded.eventId, 'message.ack');
    return 'done';
  }

  /**
   * A revoke (the protocol message), whoever sent it: stored with the original marked revoked and a
   * `message.revoked` event, in one transaction, once. Our revoke command passes its `outcome`, finished
   * in that transaction; answers whether it was (not when the revoke was recorded before, by an earlier
   * run of the same command: the caller then finishes the operation itself).
   */
  async recordRevoke(revoke: { message: NewStoredMessage; target: string; fromMe: boolean; author: string | null }, outcome?: RevokeOutcome): Promise<boolean> {
    const { message: fields, target } = revoke;
    if (this.recordedRevokes.has(`revoke:${fields.waMessageId}`)) return false;
    const session = this.session();
    const revokedBy = revoke.fromMe ? session.meJid : revoke.author;
    const recorded = await this.deps.messages.recordRevoke(this.fence, fields, { waMessageId: target, chatJid: fields.chatJid, revokedBy }, (eventId, original) =>
      buildMessageRevokedWebhook({ eventId, session, revoke: fields, original }),
      new Date(),
      outcome,
    );
    this.recordedRevokes.add(`revoke:${fields.waMessageId}`);
    this.recordedRevokes.add(`original:${target}`);
    if (recorded) await this.deps.publish(recorded.eventId, 'message.revoked');
    return recorded?.outcomeRecorded ?? false;
  }

  /** Messages someone sent in `chat` that this session marked read: their stored ack is READ (no event: the receipt is ours). */
  async recordRead(chat: string, waMessageIds: string[]): Promise<void> {
    await this.deps.messages.markReceivedRead(this.fence, chat, waMessageIds);
  }

  /** What WhatsApp reported, in the order it came; one failure is logged and does not stop the rest. */
  async recordInbound(events: InboundEvent[]): Promise<void> {
    for (const event of events) {
      try {
        if (event.kind === 'revoke') await this.recordRevoke(event);
        else if (event.kind === 'received') await this.recordReceived(event.message);
        else if (event.kind === 'own') await this.recordOwn(event.message);
        else if (event.kind === 'ack') await this.recordAck(event.id, event.ack);
        else if (event.kind === 'reaction') await this.recordReaction(event);
        else if (event.kind === 'edit') await this.recordEdit(event);
        else if (!this.recordedRevokes.has(`original:${event.id}`)) await this.deps.messages.markRevoked(this.fence, event.chat, event.id, event.by).catch(() => undefined);
      } catch (error) {
        this.deps.logger.error({ err: error, sessionId: this.fence.sessionId }, 'storing a message failed');
      }
    }
  }

  /** A reaction (someone's, or one the phone sent): stored, with its `message.reaction` event, once. */
  async recordReaction(reaction: { message: NewStoredMessage; target: string; emoji: string }): Promise<void> {
    const { message: fields, target, emoji } = reaction;
    const recorded = await this.deps.messages.storeReceived(this.fence, fields, (eventId) => buildMessageReactionWebhook({ eventId, session: this.session(), message: fields, target, emoji }), new Date(), 'message.reaction');
    if (recorded) await this.deps.publish(recorded.eventId, 'message.reaction');
  }

  /** An edit (its author's): the original's stored text replaced, with one `message.edited` event. */
  async recordEdit(edit: { message: NewStoredMessage; target: string; text: string }): Promise<void> {
    const { message: fields, target, text } = edit;
    const recorded = await this.deps.messages.recordEdit(this.fence, fields, { waMessageId: target, text }, (eventId) => buildMessageEditedWebhook({ eventId, session: this.session(), message: fields, target, text }));
    if (recorded) await this.deps.publish(recorded.eventId, 'message.edited');
  }

  /** A message someone else sent: stored, with its `message.received` event, once. */
  private async recordReceived(fields: NewStoredMessage): Promise<void> {
    const recorded = await this.deps.messages.storeReceived(this.fence, fields, (eventId) => buildMessageReceivedWebhook({ eventId, session: this.session(), message: fields }));
    if (recorded) await this.deps.publish(recorded.eventId, 'message.received');
  }
}
