import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createControlApi, listenControlApi, WaEmulator } from '@wagw/wa-emulator';

export const DEMO_PHONE = '15550001111';
export const DEMO_FRIEND = '15550002222';

export interface Demo {
  emulator: WaEmulator;
  controlUrl: string;
  sinkUrl: string;
  workerEnv: Record<string, string>;
  stop(): Promise<void>;
}

/** A local receiver that keeps the last webhook deliveries and shows them at `GET /`. */
function startWebhookSink(port: number): Promise<Server> {
  const received: Array<{ at: string; headers: Record<string, unknown>; body: unknown }> = [];
  const server = createServer((request, response) => {
    if (request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received }));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep it as text
      }
      received.unshift({ at: new Date().toISOString(), headers: request.headers, body });
      received.splice(100);
      response.writeHead(200).end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * `npm start -- --demo`: the WhatsApp emulator with a phone to link ("Demo Phone") and a friend to write
 * to ("Demo Friend"), plus a webhook sink, so a newcomer can pair, send and revoke without a phone.
 */
export async function startDemo(ports: { emulator: number; control: number; sink: number }): Promise<Demo> {
  const emulator = new WaEmulator();
  await emulator.start(ports.emulator);
  emulator.createAccount({ phone: DEMO_PHONE, pushName: 'Demo Phone' });
  emulator.createAccount({ phone: DEMO_FRIEND, pushName: 'Demo Friend' });
  const control = createControlApi(emulator);
  const controlUrl = await listenControlApi(control, ports.control);
  const sink = await startWebhookSink(ports.sink);
  return {
    emulator,
    controlUrl,
    sinkUrl: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    workerEnv: { WA_WEBSOCKET_URL: emulator.url, WA_TRUST_ROOT_KEY: emulator.rootPublicKey.toString('hex'), WA_MEDIA_CA: emulator.mediaCaCertificate },
    stop: async () => {
      control.close();
      sink.close();
      await emulator.stop();
    },
  };
}
