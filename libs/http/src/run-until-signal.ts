import type { INestApplication } from '@nestjs/common';
import type { Logger } from '@wagw/observability';

/**
 * Closes the app on SIGTERM/SIGINT (running every shutdown hook: drain, release, disconnect) and exits 0.
 * A second signal, or a drain longer than `graceMs`, exits 1 at once.
 */
export function runUntilSignal(app: INestApplication, logger: Logger, graceMs = 25_000): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) {
      logger.warn({ signal }, 'second signal: exiting without finishing shutdown');
      process.exit(1);
    }
    closing = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ graceMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, graceMs).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
