import { connect } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorEnvelopeSchema } from '@wagw/contracts';
import { createTestTenant, type TestTenant } from '@wagw/testing';
import { startTestGateway, type TestGateway } from './test/gateway-harness.js';

const isEnvelope = new Ajv2020({ strict: false }).compile(z.toJSONSchema(errorEnvelopeSchema, { target: 'draft-2020-12', io: 'output' }));

/** Sends bytes as they are (no client library tidies them up) and reads the answer until the server closes or answers. */
function rawRequest(url: string, bytes: Buffer, options: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${options.timeoutMs ?? 5_000} ms; got ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
    }, options.timeoutMs ?? 5_000);
    const finish = (): void => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, headers: head, body: rest.join('\r\n\r\n') });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('latin1');
      const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
      const bodyStart = text.indexOf('\r\n\r\n');
      if (length !== undefined && bodyStart >= 0 && Buffer.byteLength(text.slice(bodyStart + 4), 'latin1') >= Number(length)) {
        socket.destroy();
        finish();
      }
    });
    socket.on('close', finish);
    socket.on('error', () => undefined);
    socket.write(bytes);
    if (options.halfClose) socket.end();
  });
}

describe('answers to requests that are not valid HTTP, or not authenticated, are in the envelope', () => {
  let gateway: TestGateway;
  let tenant: TestTenant;

  beforeAll(async () => {
    gateway = await startTestGateway({ env: { BODY_LIMIT_BYTES: '2048' } });
    tenant = await createTestTenant(gateway.db);
  });
  afterAll(async () => {
    await gateway.close();
  });

  it.each([
    ['Content-Length together with chunked encoding', Buffer.from('POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')],
    ['a raw non-ASCII byte in the path', Buffer.concat([Buffer.from('GET /api/v1/sessions/'), Buffer.from([0xc3, 0xbc]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')])],
    ['a header line without a colon', Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n')],
    ['not HTTP at all', Buffer.from('HELLO THERE\r\n\r\n')],
  ])('%s: a 4xx envelope', async (_, bytes) => {
    const answer = await rawRequest(gateway.url, bytes);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(isEnvelope(JSON.parse(answer.body)), answer.body).toBe(true);
  });

  it.each([
    ['no Authorization header', {}],
    ['a made-up API key', { authorization: 'Bearer wagw_000000000000_notarealsecretnotarealsecretnotarealsecret0' }],
  ])('with %s, a bad body is answered 401, not what the body would have earned', async (_, auth: Record<string, string>) => {
    const bodies: Array<{ headers: Record<string, string>; body: string }> = [
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(4096) }) },
      { headers: { 'content-type': 'text/plain' }, body: 'hello' },
      { headers: { 'content-type': 'application/json' }, body: '{"name": ' },
      { headers: { 'content-type': 'application/json; charset=utf-16' }, body: '{}' },
    ];
    for (const { headers, body } of bodies) {
      const response = await gateway.request('/api/v1/sessions', { method: 'POST', headers: { ...headers, ...auth }, body });
      expect(response.status, `${headers['content-type']}: ${JSON.stringify(response.body)}`).toBe(401);
      expect(response.body).toMatchObject({ error: { code: 'unauthorized' } });
    }
    // Authenticated, the same bodies earn what they earn.
    const tooLarge = await gateway.request('/api/v1/sessions', { method: 'POST', token: tenant.apiKey, headers: bodies[0]?.headers ?? {}, body: bodies[0]?.body ?? '' });
    expect(tooLarge.status).toBe(413);
  });

  it('a CORS preflight needs no credentials', async () => {
    const response = await gateway.request('/api/v1/sessions', { method: 'OPTIONS', headers: { origin: 'https://dashboard.example.com', 'access-control-request-method': 'POST' } });
    expect(response.status).not.toBe(401);
  });

  it('a Content-Length larger than the body sent: a 4xx envelope once the client stops sending', async () => {
    const answer = await rawRequest(gateway.url, Buffer.from(`POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tenant.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"x"}`), { halfClose: true });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(isEnvelope(JSON.parse(answer.body)), answer.body).toBe(true);
  });
});

describe('a request arriving while the gateway shuts down', () => {
  it('is answered 503 in the envelope, with Retry-After', async () => {
    const gateway = await startTestGateway();
    const tenant = await createTestTenant(gateway.db);
    const { hostname, port } = new URL(gateway.url);
    const socket = connect({ host: hostname, port: Number(port) });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    // One request in flight on a keep-alive connection while the gateway starts closing, a second behind it.
    const request = `GET /api/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tenant.apiKey}\r\n\r\n`;
    const closed = gateway.close();
    socket.write(request);
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    const text = Buffer.concat(received).toString('utf8');
    if (text === '') return expect.fail('the connection was closed without an answer');
    expect(text).toMatch(/^HTTP\/1\.1 503/);
    expect(text.toLowerCase()).toContain('retry-after: 1');
    expect(isEnvelope(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)))).toBe(true);
  });
});
