import 'reflect-metadata';
import { sessionWorkerEnvSchema, loadConfigOrExit } from '@wagw/config';
import { runUntilSignal } from '@wagw/http';
import { createLogger } from '@wagw/observability';
import { createSessionWorker } from './app.js';

const env = loadConfigOrExit(sessionWorkerEnvSchema);
const logger = createLogger('session-worker', env.LOG_LEVEL);
// libsignal (under Baileys) prints whole Signal session records, private keys included, with console.*:
// only the leading text of such a line may reach the logs, at debug level.
for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
  console[method] = (first?: unknown) => logger.debug({ source: 'console' }, typeof first === 'string' ? first.slice(0, 200) : 'console output dropped');
}
const app = await createSessionWorker(env, logger);
await app.listen({ port: env.HEALTH_PORT, host: env.HOST });
logger.info({ port: env.HEALTH_PORT }, 'session-worker listening (health only)');
runUntilSignal(app, logger);
