import { Writable } from 'node:stream';
import { Controller, Get, Module, Post, Body } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@wagw/observability';
import { createHttpApp } from './create-http-app.js';

@Controller()
class FailingController {
  @Get('boom')
  boom(): never {
    throw new Error('db password hunter2 in a driver message');
  }

  @Post('echo')
  echo(@Body() body: unknown): unknown {
    return body;
  }
}

@Module({ controllers: [FailingController] })
class FailingModule {}

describe('error envelope and logging', () => {
  let app: NestFastifyApplication;
  let url: string;
  const lines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    app = await createHttpApp(FailingModule, { logger: createLogger('filter-test', 'info', sink), bodyLimitBytes: 1024 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = await app.getUrl();
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers an unexpected error with 500 internal and an errorId that is also in the log', async () => {
    const response = await fetch(`${url}/boom`, { headers: { authorization: 'Bearer wagw_secret_should_not_be_logged', 'x-request-id': 'req-42' } });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-request-id')).toBe('req-42');
    const body = (await response.json()) as { error: { code: string; message: string; details: { errorId: string } } };
    expect(body.error).toEqual({ code: 'internal', message: 'internal error', details: { errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
    expect(JSON.stringify(body)).not.toContain('hunter2');

    const logged = lines.map((line) => JSON.parse(line) as { errorId?: string; reqId?: string; msg?: string });
    expect(logged).toContainEqual(expect.objectContaining({ errorId: body.error.details.errorId, reqId: 'req-42', msg: 'unhandled error' }));
    expect(lines.join('\n')).not.toContain('wagw_secret_should_not_be_logged');
  });

  it('answers a body over the limit with 413 payload_too_large', async () => {
    const response = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'x'.repeat(5000) }) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('answers malformed JSON with 400 validation_failed', async () => {
    const response = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('answers an unsupported content type with 415', async () => {
    const response = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/x-weird' }, body: 'x' });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
  });
});
