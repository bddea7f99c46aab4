import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
// Called at module load only, once per URL setting.
const url = (protocols: readonly string[]) =>
  // eslint-disable-next-line no-restricted-syntax
  z
    .string()
    .trim()
    .min(1)
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, `must be a URL (${protocols.join(' or ')})`);
const commaList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0));

/** Shared by every process. */
export const baseEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: url(['postgres:', 'postgresql:']),
  REDIS_URL: url(['redis:', 'rediss:']),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** Unset: the pool's own default (POOL_IDLE_TIMEOUT_MS in libs/db); 0 keeps idle connections open. */
  DATABASE_POOL_IDLE_MS: z.coerce.number().int().min(0).max(86_400_000).optional(),
});

/** How login JWTs minted by the tenant's frontend are verified. Without a JWKS URL only API keys work. */
export const jwtEnvSchema = z.object({
  AUTH_JWKS_URL: url(['http:', 'https:']).optional(),
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  AUTH_JWT_ALGORITHMS: commaList
    .pipe(z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'])).min(1))
    .default(['RS256', 'ES256']),
  AUTH_CLAIM_ORG: z.string().min(1).default('org_id'),
  AUTH_CLAIM_ROLE: z.string().min(1).default('role'),
  AUTH_CLAIM_SUBJECT: z.string().min(1).default('sub'),
  /**
   * Cap on JWKS fetches caused by unknown `kid`s, for all callers together (refreshing aged keys has a
   * budget of its own): a flood of made-up kids can neither hammer the frontend nor lock valid tokens out.
   */
  AUTH_JWKS_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(600).default(5),
  /** Keys older than this are fetched again in the background; they keep being used until that succeeds. */
  AUTH_JWKS_CACHE_MAX_AGE_MS: z.coerce.number().int().min(1_000).default(10 * 60_000),
  /** Longest lifetime (`exp` − `iat`) a login JWT may have; a token without `exp` is refused. */
  AUTH_JWT_MAX_LIFETIME_S: z.coerce.number().int().min(60).max(30 * 86_400).default(86_400),
});

/** 32 bytes, base64: encrypts webhook signing secrets at rest (gateway writes them, dispatcher reads them). */
const webhookSecretKey = z
  .string()
  .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)')
  .optional();

const perWindow = z.coerce.number().int().min(0).max(10_000_000);

/** Requests per window per API key (or login user) and per organization; 0 turns a limit off. */
export const rateLimitEnvSchema = z.object({
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  RATE_LIMIT_KEY_READS: perWindow.default(6_000),
  RATE_LIMIT_KEY_WRITES: perWindow.default(3_000),
  RATE_LIMIT_ORG_READS: perWindow.default(30_000),
  RATE_LIMIT_ORG_WRITES: perWindow.default(12_000),
});

export const apiGatewayEnvSchema = baseEnvSchema.extend(jwtEnvSchema.shape).extend(rateLimitEnvSchema.shape).extend({
  /** Browser origins allowed to call the API (comma-separated); empty: no CORS headers at all. */
  CORS_ORIGINS: commaList.default([]),
  WEBHOOK_SECRET_KEY: webhookSecretKey,
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.default(3000),
  /** Bound on how long a synchronous command waits for its session worker. */
  COMMAND_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1_024).max(50 * 1024 * 1024).default(1024 * 1024),
  /** After a secret rotation, the old secret keeps signing (beside the new one) this long. */
  WEBHOOK_SECRET_ROTATION_GRACE_MS: z.coerce.number().int().min(0).max(30 * 86_400_000).default(86_400_000),
  /** Open event streams (`GET /api/v1/events`) one gateway serves per organization; more are answered 429. */
  EVENT_STREAMS_PER_ORG: z.coerce.number().int().min(1).max(10_000).default(50),
});

export const sessionWorkerEnvSchema = baseEnvSchema
  .extend({
    HOST: z.string().min(1).default('0.0.0.0'),
    /** Internal port: health and metrics only. */
    HEALTH_PORT: port.default(3001),
    WORKER_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, _ . - only').optional(),
    /** How long a session's lease outlives a dead worker: failover happens within about this long. */
    SESSION_LEASE_TTL_MS: z.coerce.number().int().min(3_000).max(120_000).default(15_000),
    /** Connect to this WhatsApp Web endpoint instead of WhatsApp's (the emulator, for tests and the demo). */
    WA_WEBSOCKET_URL: url(['ws:', 'wss:']).optional(),
    /** Trust this root key for the endpoint's certificates; only with WA_WEBSOCKET_URL. Never in production. */
    WA_TRUST_ROOT_KEY: z.string().regex(/^[0-9a-f]{64}$/i, 'must be 64 hex characters').optional(),
    /** Trust this certificate authority (PEM) for the endpoint's media host; only with WA_WEBSOCKET_URL. Never in production. */
    WA_MEDIA_CA: z.string().regex(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, 'must be a PEM certificate').optional(),
    /** The largest received attachment downloaded for `GET …/messages/{mid}/media` (413 beyond it). */
    MEDIA_MAX_BYTES: z.coerce.number().int().min(1024).max(2 * 1024 ** 3).default(64 * 1024 ** 2),
    /** What the shared media cache (Postgres) holds at most, over every organization; least recently read files go first. */
    MEDIA_CACHE_MAX_BYTES: z.coerce.number().int().min(1024).max(1024 ** 4).default(512 * 1024 ** 2),
    /** Hosts (as written in the URL) a media URL may name although private or loopback: local development and tests only. */
    MEDIA_URL_ALLOW_PRIVATE_HOSTS: commaList.default([]),
    /** How long one download (from WhatsApp's media host, or of a media URL) may take. */
    MEDIA_DOWNLOAD_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(60_000),
    /** End-to-end tests only: make the worker die at a chosen point, as a crash would. */
    FAULT_INJECTION: z.enum(['exit-after-revoke-commit']).optional(),
  })
  .refine((env) => env.FAULT_INJECTION === undefined || env.NODE_ENV === 'test', {
    path: ['FAULT_INJECTION'],
    message: 'is only honoured with NODE_ENV=test',
  })
  .refine((env) => env.WA_TRUST_ROOT_KEY === undefined || env.WA_WEBSOCKET_URL !== undefined, {
    path: ['WA_TRUST_ROOT_KEY'],
    message: 'is only honoured together with WA_WEBSOCKET_URL',
  })
  .refine((env) => env.WA_MEDIA_CA === undefined || env.WA_WEBSOCKET_URL !== undefined, {
    path: ['WA_MEDIA_CA'],
    message: 'is only honoured together with WA_WEBSOCKET_URL',
  })
  .refine((env) => env.MEDIA_MAX_BYTES <= env.MEDIA_CACHE_MAX_BYTES, {
    path: ['MEDIA_MAX_BYTES'],
    message: 'must not exceed MEDIA_CACHE_MAX_BYTES (a downloaded file must fit the cache)',
  });

const milliseconds = z.coerce.number().int().min(0);

export const webhookDispatcherEnvSchema = baseEnvSchema.extend({
  /** Required here: the dispatcher cannot sign without opening the endpoints' secrets. */
  WEBHOOK_SECRET_KEY: webhookSecretKey.unwrap(),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Internal port: health and metrics only. */
  HEALTH_PORT: port.default(3002),
  /** Delay before each attempt, comma-separated milliseconds; past the last the delivery is exhausted. The default is the contract's schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
  WEBHOOK_RETRY_SCHEDULE_MS: commaList
    .pipe(z.array(z.string().regex(/^\d+$/, "milliseconds").transform(Number).pipe(z.number().max(7 * 86_400_000))).min(1).max(50))
    .default([0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
  /** Each retry lands within ± this fraction of its step. */
  WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).max(0.5).default(0.1),
  WEBHOOK_TIMEOUT_MS: milliseconds.min(100).max(120_000).default(15_000),
  /** Attempts in flight per endpoint, across every dispatcher: one slow endpoint cannot take them all. */
  WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(4),
  /** Attempts in flight per dispatcher process: first attempts made at fan-out and queued ones together. */
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(2_000).default(64),
  /** An endpoint failing without a success for this long is disabled (default 5 days). */
  WEBHOOK_DISABLE_AFTER_MS: milliseconds.min(1_000).default(5 * 86_400_000),
  /** Events and attempts left unqueued this long (a crash between commit and enqueue) are re-published. */
  WEBHOOK_RELAY_DELAY_MS: milliseconds.min(100).max(600_000).default(5_000),
  /**
   * Hosts (as written in the URL) that may be private or loopback: local development and tests only.
   * Everything else is checked at connect time against loopback, private, link-local, metadata, …
   */
  WEBHOOK_ALLOW_PRIVATE_HOSTS: commaList.default([]),
});

export type BaseEnv = z.infer<typeof baseEnvSchema>;
export type JwtEnv = z.infer<typeof jwtEnvSchema>;
export type RateLimitEnv = z.infer<typeof rateLimitEnvSchema>;
export type ApiGatewayEnv = z.infer<typeof apiGatewayEnvSchema>;
export type SessionWorkerEnv = z.infer<typeof sessionWorkerEnvSchema>;
export type WebhookDispatcherEnv = z.infer<typeof webhookDispatcherEnvSchema>;
