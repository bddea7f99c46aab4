import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy as PassportBaseStrategy } from 'passport-strategy';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '@wagw/contracts';
import { ApiKeyAuthenticator } from '../api-key-authenticator.js';
import { bearerToken } from '../bearer-token.js';

export const API_KEY_STRATEGY = 'api-key';

type Verify = (token: string, done: (error: Error | null, principal?: Principal | false) => void) => void;

/** A passport strategy reading `Authorization: Bearer <api key>`. */
class BearerApiKeyStrategy extends PassportBaseStrategy {
  name = API_KEY_STRATEGY;

  constructor(private readonly verify: Verify) {
    super();
  }

  override authenticate(request: { headers: IncomingHttpHeaders }): void {
    const token = bearerToken(request.headers.authorization);
    if (token === null) {
      this.fail(401);
      return;
    }
    this.verify(token, (error, principal) => {
      if (error) this.error(error);
      else if (principal) this.success(principal);
      else this.fail(401);
    });
  }
}

@Injectable()
export class ApiKeyStrategy extends PassportStrategy(BearerApiKeyStrategy, API_KEY_STRATEGY) {
  constructor(private readonly authenticator: ApiKeyAuthenticator) {
    super();
  }

  async validate(token: string): Promise<Principal | false> {
    return (await this.authenticator.authenticate(token)) ?? false;
  }
}
