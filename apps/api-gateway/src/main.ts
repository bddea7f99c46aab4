import 'reflect-metadata';
import { apiGatewayEnvSchema, loadConfigOrExit } from '@wagw/config';
import { runUntilSignal } from '@wagw/http';
import { createLogger } from '@wagw/observability';
import { createApiGateway } from './app.js';

const env = loadConfigOrExit(apiGatewayEnvSchema);
const logger = createLogger('api-gateway', env.LOG_LEVEL);
const app = await createApiGateway(env, logger);
await app.listen({ port: env.PORT, host: env.HOST });
logger.info({ port: env.PORT, jwtLogin: env.AUTH_JWKS_URL !== undefined }, 'api-gateway listening');
runUntilSignal(app, logger);
