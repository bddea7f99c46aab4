import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from '@wagw/observability';

export const DASHBOARD_PATH = '/dashboard';

/** `npm run build` writes the dashboard here (apps/dashboard/dist), beside this app in source and in dist alike. */
export const DASHBOARD_BUILD_DIR = resolve(import.meta.dirname, '..', '..', '..', 'dashboard', 'dist');

/**
 * Serves the web dashboard's static build at /dashboard/ (same origin as the API it calls, so it needs
 * no CORS). A gateway started without a build says so once and answers 404 there; the API is unaffected.
 */
export async function serveDashboard(app: NestFastifyApplication, logger: Logger, root = DASHBOARD_BUILD_DIR): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  if (!existsSync(join(root, 'index.html'))) {
    logger.warn({ root }, 'the dashboard is not built (npm run build): /dashboard/ answers 404');
    return;
  }
  await fastify.register(fastifyStatic, { root, prefix: `${DASHBOARD_PATH}/`, decorateReply: false, cacheControl: false, etag: true, lastModified: false });
  fastify.get(DASHBOARD_PATH, async (_request, reply) => reply.redirect(`${DASHBOARD_PATH}/`, 308));
}
