import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { DEV_JWT_KEY_FILE } from './paths.js';

/** Development only: stands in for a tenant frontend's login. Production takes the frontend's JWKS URL. */
export const DEV_JWT_ISSUER = 'wagw-dev-login';
export const DEV_JWT_AUDIENCE = 'wagw-gateway';

interface DevKeyFile {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

async function loadOrCreateKey(): Promise<DevKeyFile> {
  if (existsSync(DEV_JWT_KEY_FILE)) return JSON.parse(readFileSync(DEV_JWT_KEY_FILE, 'utf8')) as DevKeyFile;
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const key: DevKeyFile = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
  writeFileSync(DEV_JWT_KEY_FILE, JSON.stringify(key), { mode: 0o600 });
  return key;
}

export async function serveDevJwks(port: number): Promise<{ url: string; close(): Promise<void> }> {
  const key = await loadOrCreateKey();
  const body = JSON.stringify({ keys: [key.publicJwk] });
  const server: Server = createServer((request, response) => {
    if (request.url === '/.well-known/jwks.json') response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  const boundPort = address !== null && typeof address === 'object' ? address.port : port;
  return {
    url: `http://127.0.0.1:${boundPort}/.well-known/jwks.json`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function signDevLoginJwt(claims: { orgId: string; role: string; subject: string; ttlSeconds: number }): Promise<string> {
  if (!existsSync(DEV_JWT_KEY_FILE)) throw new Error('no development signing key yet: run `npm start` once first');
  const key = JSON.parse(readFileSync(DEV_JWT_KEY_FILE, 'utf8')) as DevKeyFile;
  return new SignJWT({ org_id: claims.orgId, role: claims.role })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setSubject(claims.subject)
    .setIssuer(DEV_JWT_ISSUER)
    .setAudience(DEV_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + claims.ttlSeconds)
    .sign(await importJWK(key.privateJwk, 'RS256'));
}
