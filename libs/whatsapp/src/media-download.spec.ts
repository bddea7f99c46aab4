import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { BufferJSON, getMediaKeys } from '@whiskeysockets/baileys';
import { generate } from 'selfsigned';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadAttachment } from './media-download.js';

/** A media host of the test's own: encrypted files by path, each GET counted. */
const files = new Map<string, Buffer>();
const requested: string[] = [];
let server: Server;
let host: string;
let dispatcher: Agent;

beforeAll(async () => {
  const authority = await generate([{ name: 'commonName', value: 'test media CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, critical: true }],
  });
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ca: { key: authority.private, cert: authority.cert },
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  server = createServer({ key: leaf.private, cert: leaf.cert }, (request, response) => {
    requested.push(request.url ?? '');
    const file = files.get(request.url ?? '');
    if (!file) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-length': String(file.length) }).end(file);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  dispatcher = new Agent({ connect: { ca: authority.cert } });
});

afterAll(async () => {
  await dispatcher.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** What a phone does: encrypt under a fresh media key, upload, and describe it in an image message (stored as the worker stores it). */
async function uploadedImage(bytes: Buffer, tamper: (encrypted: Buffer) => Buffer = (encrypted) => encrypted): Promise<{ raw: unknown; path: string }> {
  const mediaKey = randomBytes(32);
  const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, 'image');
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const ciphertext = Buffer.concat([cipher.update(bytes), cipher.final()]);
  const encrypted = Buffer.concat([ciphertext, createHmac('sha256', macKey ?? Buffer.alloc(0)).update(iv).update(ciphertext).digest().subarray(0, 10)]);
  const path = `/v/t/${randomBytes(6).toString('hex')}.enc`;
  files.set(path, tamper(encrypted));
  const imageMessage = {
    // The sender chose this URL: the download must not follow it.
    url: 'https://169.254.169.254/latest/meta-data',
    directPath: path,
    mediaKey,
    mimetype: 'image/png',
    fileLength: bytes.length,
    fileSha256: createHash('sha256').update(bytes).digest(),
    fileEncSha256: createHash('sha256').update(encrypted).digest(),
  };
  return { raw: JSON.parse(JSON.stringify({ key: { id: 'M1' }, message: { imageMessage } }, BufferJSON.replacer)), path };
}

const limits = (maxBytes = 1_000_000) => ({ maxBytes, timeoutMs: 5_000, dispatcher });

describe('downloadAttachment (a real HTTPS media host of its own authority)', () => {
  it('downloads by direct path from the given host (never the URL the sender put in the message) and decrypts byte for byte', async () => {
    const bytes = randomBytes(5_000);
    const { raw, path } = await uploadedImage(bytes);
    const downloaded = await downloadAttachment(raw, host, limits());
    expect(downloaded.mimetype).toBe('image/png');
    expect(downloaded.bytes.equals(bytes)).toBe(true);
    expect(requested.at(-1)).toBe(path);
  });

  it('refuses a file whose MAC, hash or plaintext does not verify, as media_unavailable', async () => {
    const bytes = randomBytes(1_000);
    const flipped = await uploadedImage(bytes, (encrypted) => Buffer.concat([encrypted.subarray(0, 20), Buffer.from([encrypted[20]! ^ 1]), encrypted.subarray(21)]));
    await expect(downloadAttachment(flipped.raw, host, limits())).rejects.toMatchObject({ code: 'media_unavailable', message: 'the downloaded attachment does not match its hash' });
    // The same file under a message whose declared hashes were made to fit it, but not its MAC.
    const forged = await uploadedImage(bytes);
    const message = (forged.raw as { message: { imageMessage: Record<string, unknown> } }).message.imageMessage;
    const encrypted = files.get(forged.path) ?? Buffer.alloc(0);
    const badMac = Buffer.concat([encrypted.subarray(0, -10), Buffer.alloc(10)]);
    files.set(forged.path, badMac);
    message['fileEncSha256'] = JSON.parse(JSON.stringify(createHash('sha256').update(badMac).digest(), BufferJSON.replacer));
    await expect(downloadAttachment(forged.raw, host, limits())).rejects.toMatchObject({ code: 'media_unavailable', message: 'the downloaded attachment fails its MAC check' });
    const otherPlaintext = await uploadedImage(bytes);
    (otherPlaintext.raw as { message: { imageMessage: Record<string, unknown> } }).message.imageMessage['fileSha256'] = JSON.parse(JSON.stringify(createHash('sha256').update('other').digest(), BufferJSON.replacer));
    await expect(downloadAttachment(otherPlaintext.raw, host, limits())).rejects.toMatchObject({ code: 'media_unavailable', message: 'the decrypted attachment does not match the hash its sender declared' });
  });

  it('answers media_unavailable with the status when the host no longer has the file', async () => {
    const { raw, path } = await uploadedImage(randomBytes(100));
    files.delete(path);
    await expect(downloadAttachment(raw, host, limits())).rejects.toMatchObject({ code: 'media_unavailable', details: { status: 404 } });
  });

  it('refuses an attachment over the limit before downloading (declared size) and while downloading (a size that lied)', async () => {
    const declared = await uploadedImage(randomBytes(3_000));
    const before = requested.length;
    await expect(downloadAttachment(declared.raw, host, limits(2_000))).rejects.toMatchObject({ code: 'payload_too_large', details: { size: 3_000, limit: 2_000 } });
    expect(requested).toHaveLength(before);
    const lying = await uploadedImage(randomBytes(3_000));
    (lying.raw as { message: { imageMessage: Record<string, unknown> } }).message.imageMessage['fileLength'] = 10;
    await expect(downloadAttachment(lying.raw, host, limits(2_000))).rejects.toMatchObject({ code: 'payload_too_large' });
  });

  it('is not_found for a message without an attachment', async () => {
    await expect(downloadAttachment({ key: { id: 'T1' }, message: { conversation: 'hi' } }, host, limits())).rejects.toMatchObject({ code: 'not_found' });
  });
});
