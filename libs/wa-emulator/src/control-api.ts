import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WaEmulator } from './wa-emulator.js';

/** A control request that cannot be carried out: answered in the gateway's error envelope. */
class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Body = Record<string, unknown>;
type Handler = (params: string[], body: Body) => Promise<unknown> | unknown;

/** Enough for a peer's attachment (base64) in `POST /accounts/{phone}/media`. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MEDIA_KINDS = ['image', 'video', 'audio', 'document'] as const;

function text(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) throw new ControlError(400, 'validation_failed', `"${field}" must be a non-empty string`);
  return value;
}

function strings(body: Body, field: string): string[] {
  const value = body[field];
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new ControlError(400, 'validation_failed', `"${field}" must be an array of strings`);
  return value;
}

async function readBody(request: IncomingMessage): Promise<Body> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ControlError(413, 'payload_too_large', 'body over 16 MiB');
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Body;
  } catch {
    throw new ControlError(400, 'validation_failed', 'body must be a JSON object');
  }
}

/**
 * The emulator's control surface over HTTP, for the local demo and for people poking at it with curl:
 * accounts, scanning a QR, typing a pairing code, peers writing, revoking and receipting, groups, what peers
 * received, live sockets and failure injection.
 */
export function createControlApi(emulator: WaEmulator): Server {
  const failures: Record<string, (phone: string, deviceId: number) => void> = {
    logout: (phone, deviceId) => emulator.logOut(phone, deviceId),
    replace: (phone, deviceId) => emulator.replaceConnection(phone, deviceId),
    restart: (phone, deviceId) => emulator.requireRestart(phone, deviceId),
    drop: (phone, deviceId) => emulator.dropSocket(phone, deviceId),
    silence: (phone, deviceId) => emulator.stopAnsweringQueries(phone, deviceId, true),
    unsilence: (phone, deviceId) => emulator.stopAnsweringQueries(phone, deviceId, false),
  };
  const accountView = (phone: string): unknown => {
    const account = emulator.account(phone);
    return {
      phone: account.phone,
      lid: account.lid,
      pushName: account.pushName,
      simulatedDevices: [...account.devices.keys()],
      linkedDevices: emulator.linkedDevices(phone).map((device) => ({
        deviceId: device.deviceId,
        loggedOut: device.loggedOut,
        liveSockets: emulator.liveSocketCount(phone, device.deviceId),
      })),
    };
  };
  const routes: Array<[string, RegExp, Handler]> = [
    ['GET', /^\/health$/, () => ({ status: 'ok', websocketUrl: emulator.url, rootPublicKey: emulator.rootPublicKey.toString('hex'), mediaCaCertificate: emulator.mediaCaCertificate })],
    ['POST', /^\/accounts$/, (_, body) => {
      const extraDevices = body['extraDevices'];
      emulator.createAccount({
        phone: text(body, 'phone'),
        ...(typeof body['lid'] === 'string' ? { lid: body['lid'] } : {}),
        ...(typeof body['pushName'] === 'string' ? { pushName: body['pushName'] } : {}),
        ...(typeof extraDevices === 'number' ? { extraDevices } : {}),
      });
      return accountView(text(body, 'phone'));
    }],
    ['GET', /^\/accounts\/(\d+)$/, ([phone = '']) => accountView(phone)],
    ['POST', /^\/accounts\/(\d+)\/scan$/, async ([phone = ''], body) => {
      const device = await emulator.scanQr(text(body, 'qr'), phone);
      return { phone, deviceId: device.deviceId };
    }],
    ['POST', /^\/accounts\/(\d+)\/pairing-code$/, async ([phone = ''], body) => {
      const device = await emulator.enterPairingCode(phone, text(body, 'code'));
      return { phone, deviceId: device.deviceId };
    }],
    ['POST', /^\/accounts\/(\d+)\/messages$/, async ([phone = ''], body) => ({
      id: await emulator.peerSendText({ from: phone, to: text(body, 'to'), text: text(body, 'text') }),
    })],
    ['POST', /^\/accounts\/(\d+)\/media$/, async ([phone = ''], body) => {
      const kind = MEDIA_KINDS.find((candidate) => candidate === body['kind']);
      if (kind === undefined) throw new ControlError(400, 'validation_failed', `"kind" must be one of ${MEDIA_KINDS.join(', ')}`);
      const bytes = Buffer.from(text(body, 'data'), 'base64');
      if (bytes.length === 0) throw new ControlError(400, 'validation_failed', '"data" must be the file, base64');
      const caption = typeof body['caption'] === 'string' ? body['caption'] : undefined;
      const fileName = typeof body['fileName'] === 'string' ? body['fileName'] : undefined;
      return emulator.peerSendMedia({ from: phone, to: text(body, 'to'), kind, bytes, mimetype: text(body, 'mimetype'), caption, fileName });
    }],
    ['POST', /^\/accounts\/(\d+)\/revoke$/, async ([phone = ''], body) => ({
      id: await emulator.peerRevoke({ from: phone, to: text(body, 'to'), messageId: text(body, 'messageId') }),
    })],
    ['POST', /^\/accounts\/(\d+)\/reactions$/, async ([phone = ''], body) => {
      const emoji = body['emoji'];
      if (typeof emoji !== 'string' || emoji.length > 16) throw new ControlError(400, 'validation_failed', '"emoji" must be a string ("" takes the reaction back)');
      return { id: await emulator.peerReact({ from: phone, to: text(body, 'to'), messageId: text(body, 'messageId'), emoji, fromMe: body['fromMe'] === true }) };
    }],
    ['POST', /^\/accounts\/(\d+)\/edits$/, async ([phone = ''], body) => ({
      id: await emulator.peerEdit({ from: phone, to: text(body, 'to'), messageId: text(body, 'messageId'), text: text(body, 'text') }),
    })],
    ['POST', /^\/accounts\/(\d+)\/receipts$/, ([phone = ''], body) => {
      const type = body['type'] ?? 'delivery';
      if (type !== 'delivery' && type !== 'read' && type !== 'played') throw new ControlError(400, 'validation_failed', '"type" must be delivery, read or played');
      const messageIds = strings(body, 'messageIds');
      if (messageIds.length === 0) throw new ControlError(400, 'validation_failed', '"messageIds" must name at least one message');
      const group = typeof body['group'] === 'string' ? body['group'] : undefined;
      emulator.peerReceipt({ from: phone, to: text(body, 'to'), messageIds, type, group });
      return { phone, to: text(body, 'to'), messageIds, type, ...(group === undefined ? {} : { group }) };
    }],
    ['POST', /^\/accounts\/(\d+)\/push-name$/, async ([phone = ''], body) => {
      await emulator.setPushName(phone, text(body, 'pushName'));
      return accountView(phone);
    }],
    ['GET', /^\/accounts\/(\d+)\/received$/, ([phone = '']) => ({ messages: emulator.received(phone), undecryptable: emulator.undecryptable(phone), receipts: emulator.receiptsFor(phone) })],
    ['POST', /^\/accounts\/(\d+)\/fail-next-message$/, ([phone = ''], body) => {
      const error = body['error'];
      if (typeof error !== 'number' || !Number.isInteger(error)) throw new ControlError(400, 'validation_failed', '"error" must be an error code such as 463');
      emulator.failNextMessage(phone, error);
      return { phone, error };
    }],
    ['POST', /^\/accounts\/(\d+)\/devices\/(\d+)\/(logout|replace|restart|drop|silence|unsilence)$/, ([phone = '', device = '', kind = '']) => {
      failures[kind]?.(phone, Number(device));
      return { phone, deviceId: Number(device), injected: kind };
    }],
    ['POST', /^\/groups$/, (_, body) => {
      const group = emulator.createGroup({ subject: text(body, 'subject'), members: strings(body, 'members'), admins: strings(body, 'admins') });
      return { jid: group.jid, subject: group.subject, members: Object.fromEntries(group.members) };
    }],
    ['POST', /^\/groups\/([\d-]+@g\.us)\/messages$/, async ([group = ''], body) => ({
      id: await emulator.peerSendGroupText({ from: text(body, 'from'), group, text: text(body, 'text') }),
    })],
  ];

  const send = (response: ServerResponse, status: number, payload: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
  };

  return createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      const route = routes.find(([method, pattern]) => method === request.method && pattern.test(path));
      if (!route) throw new ControlError(404, 'not_found', `no route ${request.method ?? ''} ${path}`);
      const params = (route[1].exec(path) ?? []).slice(1).map(decodeURIComponent);
      const body = request.method === 'POST' ? await readBody(request) : {};
      send(response, request.method === 'POST' ? 201 : 200, await route[2](params, body));
    })().catch((error: unknown) => {
      const known = error instanceof ControlError ? error : new ControlError(409, 'conflict', error instanceof Error ? error.message : String(error));
      send(response, known.status, { error: { code: known.code, message: known.message, details: {} } });
    });
  });
}

export async function listenControlApi(server: Server, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
