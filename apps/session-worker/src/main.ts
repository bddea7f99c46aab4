import 'reflect-metadata';
import { sessionWorkerEnvSchema, loadConfigOrExit } from '@wagw/config';
import { runUntilSignal } from '@wagw/http';
import { createLogger } from '@wagw/observability';
import { createSessionWorker } from './app.js';

const env = loadConfigOrExit(sessionWorkerEnvSchema);
const logger = createLogger('session-worker', env.LOG_LEVEL);
const app = await createSessionWorker(env, logger);
await app.listen({ port: env.HEALTH_PORT, host: env.HOST });
logger.info({ port: env.HEALTH_PORT }, 'session-worker listening (health only)');
runUntilSignal(app, logger);
