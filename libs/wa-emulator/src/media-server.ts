import { createCipheriv, createHash, createHmac, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { getMediaKeys, type MediaType, type proto } from '@whiskeysockets/baileys';
import { generate } from 'selfsigned';

/** The largest upload the media host takes (WhatsApp's own limit for documents is about 2 GB). */
export const MAX_MEDIA_BYTES = 64 * 1024 * 1024;

/** The media types a message can carry, by the message field that carries them. */
const MEDIA_FIELDS = { imageMessage: 'image', videoMessage: 'video', audioMessage: 'audio', documentMessage: 'document', stickerMessage: 'sticker' } as const satisfies Record<string, MediaType>;

/** One media attachment of a message as WhatsApp describes it (the fields Baileys fills). */
interface MediaFields {
  url?: string | null;
  directPath?: string | null;
  mediaKey?: Uint8Array | null;
  fileSha256?: Uint8Array | null;
  fileEncSha256?: Uint8Array | null;
}

/** What a phone puts in its message after uploading an attachment: where it is and how to open it. */
export interface UploadedMedia {
  url: string;
  directPath: string;
  mediaKey: Buffer;
  fileSha256: Buffer;
  fileEncSha256: Buffer;
  fileLength: number;
}

/**
 * WhatsApp's media host for the emulator: an HTTPS server on loopback with a certificate of its own
 * authority (`caCertificate`, which a client must trust explicitly), taking the encrypted uploads
 * clients make after the `media_conn` query and serving them back by their direct path. It never sees a
 * plaintext: `decrypt` opens an attachment with the message's media key, as the recipient's phone does.
 */
export class MediaServer {
  private server: Server | null = null;
  private port = 0;
  private certificateAuthority = '';
  /** Encrypted files by direct path. */
  private readonly files = new Map<string, Buffer>();
  /** How often each file was downloaded, by direct path: shows whether a client fetched it again. */
  private readonly downloadCounts = new Map<string, number>();
  /** The `auth` token media_conn hands out; uploads without it are refused. */
  readonly authToken = randomBytes(16).toString('base64url');

  /** `127.0.0.1:port`, as media_conn names the host. */
  get hostname(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The PEM certificate of the host's own authority: trusted by a client only when it is told to. */
  get caCertificate(): string {
    return this.certificateAuthority;
  }

  async start(): Promise<void> {
    const authority = await generate([{ name: 'commonName', value: 'WhatsApp emulator media CA' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
    });
    const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      ca: { key: authority.private, cert: authority.cert },
      extensions: [
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
        { name: 'extKeyUsage', serverAuth: true },
      ],
    });
    this.certificateAuthority = authority.cert;
    const server = createServer({ key: leaf.private, cert: leaf.cert }, (request, response) => {
      const url = new URL(request.url ?? '/', 'https://localhost');
      if (request.method === 'POST' && url.pathname.startsWith('/mms/')) {
        if (url.searchParams.get('auth') !== this.authToken) return void response.writeHead(401).end();
        const chunks: Buffer[] = [];
        let size = 0;
        request.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_MEDIA_BYTES) request.destroy();
          else chunks.push(chunk);
        });
        request.on('end', () => {
          const directPath = `/v/emu/${randomBytes(12).toString('hex')}.enc`;
          this.files.set(directPath, Buffer.concat(chunks));
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: `https://${this.hostname}${directPath}`, direct_path: directPath }));
        });
        return;
      }
      const file = request.method === 'GET' ? this.files.get(url.pathname) : undefined;
      if (!file) return void response.writeHead(404).end();
      this.downloadCounts.set(url.pathname, (this.downloadCounts.get(url.pathname) ?? 0) + 1);
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.length) }).end(file);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** How often the file at `directPath` was downloaded. */
  downloads(directPath: string): number {
    return this.downloadCounts.get(directPath) ?? 0;
  }

  /**
   * An attachment as a phone sends it: encrypted under a fresh media key (AES-256-CBC, the HMAC's first
   * 10 bytes appended), stored on this host, and described by the fields its message carries.
   */
  async upload(bytes: Buffer, type: MediaType): Promise<UploadedMedia> {
    const mediaKey = randomBytes(32);
    const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, type);
    if (!macKey) throw new Error('no MAC key derived from the media key');
    const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
    const ciphertext = Buffer.concat([cipher.update(bytes), cipher.final()]);
    const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, 10);
    const encrypted = Buffer.concat([ciphertext, mac]);
    const directPath = `/v/emu/${randomBytes(12).toString('hex')}.enc`;
    this.files.set(directPath, encrypted);
    return {
      url: `https://${this.hostname}${directPath}`,
      directPath,
      mediaKey,
      fileSha256: createHash('sha256').update(bytes).digest(),
      fileEncSha256: createHash('sha256').update(encrypted).digest(),
      fileLength: bytes.length,
    };
  }

  /** Forgets an uploaded file, as WhatsApp's host does once media expires: its downloads answer 404. */
  expire(directPath: string): void {
    this.files.delete(directPath);
  }

  /**
   * The plaintext of the attachment a message carries, as its recipient's phone opens it: the
   * encrypted file by its direct path, its hash and MAC checked, decrypted with the message's media key.
   * Throws when the message has no attachment, the file was never uploaded, or it does not verify.
   */
  async decrypt(message: proto.IMessage): Promise<{ type: MediaType; bytes: Buffer }> {
    const field = (Object.keys(MEDIA_FIELDS) as Array<keyof typeof MEDIA_FIELDS>).find((name) => message[name]);
    const media = field ? (message[field] as MediaFields) : undefined;
    if (!field || !media?.mediaKey || !media.directPath) throw new Error('the message carries no media');
    const type = MEDIA_FIELDS[field];
    const encrypted = this.files.get(media.directPath);
    if (!encrypted) throw new Error(`no upload at ${media.directPath}`);
    if (media.fileEncSha256 && !createHash('sha256').update(encrypted).digest().equals(Buffer.from(media.fileEncSha256))) throw new Error('fileEncSha256 does not match the upload');
    const { iv, cipherKey, macKey } = await getMediaKeys(media.mediaKey, type);
    if (!macKey) throw new Error('no MAC key derived from the media key');
    const ciphertext = encrypted.subarray(0, encrypted.length - 10);
    const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, 10);
    if (!timingSafeEqual(mac, encrypted.subarray(encrypted.length - 10))) throw new Error('the media MAC does not verify');
    const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
    const bytes = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    if (media.fileSha256 && !createHash('sha256').update(bytes).digest().equals(Buffer.from(media.fileSha256))) throw new Error('fileSha256 does not match the plaintext');
    return { type, bytes };
  }
}
