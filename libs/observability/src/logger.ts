import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. Bearer tokens, API keys, webhook secrets and connection
 * strings (which may hold passwords) are the usual leaks.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'token',
  '*.token',
  'databaseUrl',
  'DATABASE_URL',
  'REDIS_URL',
];

/** `destination` is for tests that read what was logged; processes log to stdout. */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service, pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
