import { Agent } from 'node:https';
import { pino } from 'pino';
import makeWASocket, {
  DisconnectReason,
  type BaileysEventMap,
  type ConnectionState,
  type WASocket,
} from '@whiskeysockets/baileys';
import { createMemoryAuthState, type MemoryAuthState } from '../memory-auth-state.js';
import type { WaEmulator } from '../wa-emulator.js';

type Upsert = BaileysEventMap['messages.upsert'];
type MessageUpdate = BaileysEventMap['messages.update'][number];

function statusCode(error: Error | undefined): number | undefined {
  return (error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
}

/**
 * A genuine Baileys client as a test drives it: it reconnects after "restart required" (what an app must
 * do after pairing) and records what it saw.
 */
export class TestClient {
  socket!: WASocket;
  readonly auth: MemoryAuthState;
  readonly closeCodes: number[] = [];
  readonly qrs: string[] = [];
  readonly upserts: Upsert[] = [];
  readonly updates: MessageUpdate[] = [];
  state: Partial<ConnectionState> = {};
  private readonly logger = pino({ level: process.env['BAILEYS_LOG'] ?? 'silent' });

  constructor(
    private readonly emulator: WaEmulator,
    auth?: MemoryAuthState,
    private readonly queryTimeoutMs = 5_000,
  ) {
    this.auth = auth ?? createMemoryAuthState();
  }

  connect(): void {
    const socket = makeWASocket({
      auth: this.auth.state,
      waWebSocketUrl: this.emulator.url,
      logger: this.logger,
      shouldSyncHistoryMessage: () => false,
      markOnlineOnConnect: false,
      connectTimeoutMs: 5_000,
      defaultQueryTimeoutMs: this.queryTimeoutMs,
      // Media goes to the emulator's own HTTPS host: trust its authority (and only here).
      fetchAgent: new Agent({ ca: this.emulator.mediaCaCertificate }),
    });
    this.socket = socket;
    socket.ev.on('creds.update', this.auth.applyCredsUpdate);
    socket.ev.on('messages.upsert', (upsert) => this.upserts.push(upsert));
    socket.ev.on('messages.update', (updates) => this.updates.push(...updates));
    socket.ev.on('connection.update', (update) => {
      if (socket !== this.socket) return;
      this.state = { ...this.state, ...update };
      if (update.qr) this.qrs.push(update.qr);
      if (update.connection === 'close') {
        const code = statusCode(update.lastDisconnect?.error) ?? -1;
        this.closeCodes.push(code);
        if (code === DisconnectReason.restartRequired) this.connect();
      }
    });
  }

  async waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  waitForOpen(): Promise<true> {
    return this.waitFor(() => this.state.connection === 'open' || undefined, 'connection open');
  }

  waitForClose(code: number): Promise<true> {
    return this.waitFor(() => this.closeCodes.includes(code) || undefined, `close with ${code}`);
  }

  /** Pairs by QR as `phone` and waits until the client has logged in. */
  async pairByQr(phone: string): Promise<void> {
    this.connect();
    const qr = await this.waitFor(() => this.qrs[0], 'a QR code');
    await this.emulator.scanQr(qr, phone);
    await this.waitForOpen();
  }

  close(): void {
    void this.socket.end(undefined);
  }
}
