import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export interface TestJwks {
  url: string;
  issuer: string;
  audience: string;
  kid: string;
  publicJwk: JWK;
  /** How often the JWKS document was fetched: proves caching and rate limiting. */
  readonly fetchCount: number;
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  kid?: string;
  issuer?: string;
  audience?: string;
  /** From now; null: no `exp` at all (a token that never expires). */
  expiresInSeconds?: number | null;
  /** `iat`, Unix seconds; defaults to now. */
  issuedAt?: number;
  /** Sign with a key the JWKS does not publish. */
  foreignKey?: boolean;
}

/** A frontend's JWKS endpoint on loopback with an RS256 key, and a signer for login JWTs. */
export async function startTestJwks(): Promise<TestJwks> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256');
  const kid = randomUUID();
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let fetchCount = 0;
  const server: Server = createServer((request, response) => {
    if (request.url === '/.well-known/jwks.json') {
      fetchCount += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('JWKS server has no port');
  const base = `http://127.0.0.1:${address.port}`;
  const issuer = `${base}/`;
  const audience = 'wagw-test';
  const signWith = (key: CryptoKey, claims: JWTPayload, options: SignOptions): Promise<string> => {
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? kid })
      .setIssuer(options.issuer ?? issuer)
      .setAudience(options.audience ?? audience)
      .setIssuedAt(options.issuedAt ?? Math.floor(Date.now() / 1000));
    if (options.expiresInSeconds !== null) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 300));
    return jwt.sign(key);
  };
  return {
    url: `${base}/.well-known/jwks.json`,
    issuer,
    audience,
    kid,
    publicJwk,
    get fetchCount() {
      return fetchCount;
    },
    sign: (claims, options = {}) => signWith(options.foreignKey ? foreign.privateKey : privateKey, claims, options),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
