import 'reflect-metadata';
import { webhookDispatcherEnvSchema, loadConfigOrExit } from '@wagw/config';
import { runUntilSignal } from '@wagw/http';
import { createLogger } from '@wagw/observability';
import { createWebhookDispatcher } from './app.js';

const env = loadConfigOrExit(webhookDispatcherEnvSchema);
const logger = createLogger('webhook-dispatcher', env.LOG_LEVEL);
const app = await createWebhookDispatcher(env, logger);
await app.listen({ port: env.HEALTH_PORT, host: env.HOST });
logger.info({ port: env.HEALTH_PORT }, 'webhook-dispatcher delivering; health on this port');
runUntilSignal(app, logger);
