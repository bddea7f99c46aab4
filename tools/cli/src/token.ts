#!/usr/bin/env node
// `npm run token -- --role admin`: a login JWT for the bootstrap organization, signed by the development
// JWKS that `npm start` serves. Development only.
import { parseArgs } from 'node:util';
import { isRole, ROLES } from '@wagw/contracts';
import { readBootstrap } from './bootstrap.js';
import { signDevLoginJwt } from './dev-jwks.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', default: 'admin' },
      org: { type: 'string' },
      sub: { type: 'string', default: 'dev-user' },
      ttl: { type: 'string', default: '3600' },
    },
  });
  if (!isRole(values.role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  const ttlSeconds = Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error('--ttl must be a positive number of seconds');
  const orgId = values.org ?? readBootstrap().orgId;
  process.stdout.write(`${await signDevLoginJwt({ orgId, role: values.role, subject: values.sub, ttlSeconds })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
