import type { INestApplication } from '@nestjs/common';
import type { Logger } from '@wagw/observability';

/**
 * Closes the app on SIGTERM/SIGINT (running every shutdown hook: drain, release, disconnect) and exits 0.
 * The same signal again (Ctrl-C twice), or a drain longer than `graceMs`, exits 1 at once. A different
 * second signal is expected and ignored: Ctrl-C reaches the whole process group, so a supervised app gets
 * SIGINT from the terminal and SIGTERM from its supervisor.
 */
export function runUntilSignal(app: INestApplication, logger: Logger, graceMs = 25_000): void {
  let firstSignal: NodeJS.Signals | null = null;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (firstSignal !== null) {
      if (signal !== firstSignal) return;
      logger.warn({ signal }, 'signal repeated: exiting without finishing shutdown');
      process.exit(1);
    }
    firstSignal = signal;
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
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
