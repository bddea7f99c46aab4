import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { decodeBinaryNode, encodeBinaryNode, NOISE_WA_HEADER, type proto } from '@whiskeysockets/baileys';
import { node, SERVER_JID, type BinaryNode } from './binary-node.js';
import type { KeyPair } from './certificates.js';
import { NoiseResponder, type NoiseTransport } from './noise-responder.js';

export interface ConnectionHandlers {
  onAuthenticated(connection: EmulatorConnection, clientStaticKey: Buffer, payload: proto.ClientPayload): void;
  onNode(connection: EmulatorConnection, stanza: BinaryNode): void;
  onClose(connection: EmulatorConnection): void;
}

type Phase = 'intro' | 'hello' | 'finish' | 'transport';

let nextConnectionId = 1;

/**
 * One client socket: the intro bytes, the Noise handshake, then encrypted binary nodes in 3-byte
 * length-prefixed frames. Queries the server sends wait for the answer with the same `id`.
 */
export class EmulatorConnection extends EventEmitter {
  readonly id = nextConnectionId++;
  /** Set after a successful login: `PN:DEVICE@s.whatsapp.net`. */
  deviceJid: string | null = null;
  /** Stops answering queries when set (failure injection). */
  silent = false;
  private phase: Phase = 'intro';
  private inbox = Buffer.alloc(0);
  private readonly responder: NoiseResponder;
  private transport: NoiseTransport | null = null;
  private queue: Promise<void> = Promise.resolve();
  private nextQueryId = 1;
  private readonly pending = new Map<string, (answer: BinaryNode) => void>();
  private readonly receipted = new Set<string>();

  constructor(
    private readonly socket: WebSocket,
    serverStatic: KeyPair,
    certChain: Uint8Array,
    private readonly handlers: ConnectionHandlers,
  ) {
    super();
    this.responder = new NoiseResponder(serverStatic, certChain);
    socket.on('message', (data: Buffer) => {
      // Frames are handled strictly in order: decoding is asynchronous.
      this.queue = this.queue.then(() => this.receive(data)).catch((error: unknown) => this.fail(error));
    });
    socket.on('close', () => this.handlers.onClose(this));
    socket.on('error', () => undefined);
  }

  get isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  private fail(error: unknown): void {
    this.emit('protocol-error', error);
    this.socket.terminate();
  }

  private async receive(data: Buffer): Promise<void> {
    this.inbox = Buffer.concat([this.inbox, data]);
    if (this.phase === 'intro') {
      if (this.inbox.length < NOISE_WA_HEADER.length) return;
      if (!this.inbox.subarray(0, NOISE_WA_HEADER.length).equals(Buffer.from(NOISE_WA_HEADER))) {
        throw new Error('unexpected intro (routing info is not supported)');
      }
      this.inbox = this.inbox.subarray(NOISE_WA_HEADER.length);
      this.phase = 'hello';
    }
    while (this.inbox.length >= 3) {
      const size = this.inbox.readUIntBE(0, 3);
      if (this.inbox.length < size + 3) return;
      const frame = this.inbox.subarray(3, size + 3);
      this.inbox = this.inbox.subarray(size + 3);
      await this.handleFrame(frame);
    }
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    switch (this.phase) {
      case 'hello':
        this.sendFrame(this.responder.respondToHello(frame));
        this.phase = 'finish';
        return;
      case 'finish': {
        const result = this.responder.finish(frame);
        this.transport = result.transport;
        this.phase = 'transport';
        this.handlers.onAuthenticated(this, result.clientStaticKey, result.clientPayload);
        return;
      }
      case 'transport': {
        if (!this.transport) throw new Error('no transport');
        const stanza = await decodeBinaryNode(this.transport.decrypt(frame));
        const answerTo = stanza.attrs['id'];
        const waiting = answerTo === undefined ? undefined : this.pending.get(answerTo);
        if (waiting && stanza.tag === 'iq' && (stanza.attrs['type'] === 'result' || stanza.attrs['type'] === 'error')) {
          this.pending.delete(answerTo as string);
          waiting(stanza);
          return;
        }
        this.handlers.onNode(this, stanza);
        return;
      }
      case 'intro':
        throw new Error('frame before intro');
    }
  }

  private sendFrame(payload: Uint8Array): void {
    const frame = Buffer.alloc(3 + payload.length);
    frame.writeUIntBE(payload.length, 0, 3);
    frame.set(payload, 3);
    if (this.isOpen) this.socket.send(frame);
  }

  send(stanza: BinaryNode): void {
    if (!this.transport) throw new Error('handshake not finished');
    this.sendFrame(this.transport.encrypt(encodeBinaryNode(stanza)));
  }

  /** Answers a client IQ. Does nothing while `silent` (the "stop answering queries" failure). */
  reply(request: BinaryNode, content?: BinaryNode[], extraAttrs: Record<string, string> = {}): void {
    if (this.silent) return;
    this.send(node('iq', { from: SERVER_JID, type: 'result', id: request.attrs['id'] ?? '', ...extraAttrs }, content));
  }

  replyError(request: BinaryNode, code: number, text: string): void {
    if (this.silent) return;
    this.send(node('iq', { from: SERVER_JID, type: 'error', id: request.attrs['id'] ?? '' }, [node('error', { code: String(code), text })]));
  }

  /** Sends a server-initiated IQ and resolves with the client's answer. */
  query(stanza: BinaryNode, timeoutMs = 10_000): Promise<BinaryNode> {
    const id = `emu-${this.id}-${this.nextQueryId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${stanza.tag} ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.send({ ...stanza, attrs: { ...stanza.attrs, id } });
    });
  }

  /** Ends the stream with an error node, as WhatsApp does (`<stream:error code=515/>`, `conflict`). */
  endWithStreamError(attrs: Record<string, string>, content?: BinaryNode[]): void {
    if (this.transport && this.isOpen) this.send(node('stream:error', attrs, content));
    setTimeout(() => this.socket.close(), 50).unref();
  }

  endWithFailure(reason: number): void {
    if (this.transport && this.isOpen) this.send(node('failure', { reason: String(reason), location: 'emulator' }));
    setTimeout(() => this.socket.close(), 50).unref();
  }

  /** Records the message ids a client receipt covers (`id` plus any `<list><item id>`). */
  noteReceipt(receipt: BinaryNode): void {
    const id = receipt.attrs['id'];
    if (id) this.receipted.add(id);
    const list = Array.isArray(receipt.content) ? receipt.content.find((item) => item.tag === 'list') : undefined;
    if (Array.isArray(list?.content)) for (const item of list.content) if (item.attrs['id']) this.receipted.add(item.attrs['id']);
  }

  /** Resolves once every id was receipted, or after `timeoutMs` (a client may decline to receipt). */
  async waitForReceipts(ids: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (ids.some((id) => !this.receipted.has(id)) && Date.now() < deadline && this.isOpen) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Drops the TCP connection without a goodbye. */
  drop(): void {
    this.socket.terminate();
  }
}
