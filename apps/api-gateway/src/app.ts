import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ApiGatewayEnv } from '@wagw/config';
import { authenticateBeforeBody } from '@wagw/auth';
import { createHttpApp } from '@wagw/http';
import { createMetricsRegistry, type Logger } from '@wagw/observability';
import { ApiGatewayModule } from './app.module.js';
import { DOCS_PATH, serveOpenApiDocument } from './openapi/openapi-document.js';
import { DASHBOARD_PATH, serveDashboard } from './dashboard/serve-dashboard.js';

export async function createApiGateway(env: ApiGatewayEnv, logger: Logger): Promise<NestFastifyApplication> {
  const metrics = createMetricsRegistry('api-gateway');
  if (env.WEBHOOK_SECRET_KEY === undefined) {
    logger.warn('WEBHOOK_SECRET_KEY is unset: webhook endpoints cannot be created or changed on this gateway (answered 503 not_configured)');
  }
  const app = await createHttpApp(ApiGatewayModule.forRoot(env, logger, metrics), {
    metrics,
    logger,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    corsOrigins: env.CORS_ORIGINS,
    documentationPaths: [`/${DOCS_PATH}`],
    dashboardPath: DASHBOARD_PATH,
    // Every route under /api/ needs a bearer token (the OpenAPI test checks none is public).
    beforeBody: authenticateBeforeBody('/api/'),
  });
  serveOpenApiDocument(app);
  await serveDashboard(app, logger);
  return app;
}
