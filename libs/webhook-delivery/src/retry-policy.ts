/** A Retry-After longer than this is not honoured as such (a day): the schedule goes on instead. */
export const RETRY_AFTER_MAX_MS = 24 * 3_600_000;

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; null when absent, invalid
 * or unreasonably far away.
 */
export function parseRetryAfter(header: string | undefined, now: number): number | null {
  if (header === undefined) return null;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1_000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return null;
  const clamped = Math.max(0, ms);
  return clamped > RETRY_AFTER_MAX_MS ? null : clamped;
}

/**
 * How long after attempt number `attemptsMade` (1-based: the attempt that just failed) the next one
 * goes, or null when the schedule is used up. Jitter spreads a burst of failures (±`jitter` of the step)
 * so a recovering endpoint is not hit by all retries at once.
 */
export function nextRetryDelay(schedule: readonly number[], attemptsMade: number, jitter: number, random: () => number = Math.random): number | null {
  const step = schedule[attemptsMade];
  if (step === undefined) return null;
  return Math.max(0, Math.round(step * (1 + jitter * (2 * random() - 1))));
}

export type AttemptVerdict =
  | { result: 'delivered' }
  /** 410 Gone: the subscriber asked us to stop; the endpoint is disabled. */
  | { result: 'gone' }
  /** Never retried: the destination is refused by the SSRF guard. */
  | { result: 'refused'; reason: string }
  | { result: 'retry'; reason: string; retryAfterMs: number | null };

/** What one attempt's outcome means for the delivery. */
export function judgeAttempt(outcome: AttemptOutcome): AttemptVerdict {
  if (outcome.kind === 'blocked') return { result: 'refused', reason: outcome.reason };
  if (outcome.kind === 'error') return { result: 'retry', reason: outcome.message, retryAfterMs: null };
  const { statusCode } = outcome;
  if (statusCode >= 200 && statusCode < 300) return { result: 'delivered' };
  if (statusCode === 410) return { result: 'gone' };
  if (statusCode >= 300 && statusCode < 400) return { result: 'retry', reason: `answered ${statusCode}; redirects are not followed`, retryAfterMs: null };
  const honoursRetryAfter = statusCode === 429 || statusCode === 503;
  return { result: 'retry', reason: `answered ${statusCode}`, retryAfterMs: honoursRetryAfter ? outcome.retryAfterMs : null };
}

export type AttemptOutcome =
  | { kind: 'response'; statusCode: number; latencyMs: number; retryAfterMs: number | null }
  /** Refused before connecting: the URL or the address it resolved to is not allowed. */
  | { kind: 'blocked'; reason: string; latencyMs: number }
  /** No response: connection refused or reset, DNS failure, timeout. */
  | { kind: 'error'; message: string; latencyMs: number };
