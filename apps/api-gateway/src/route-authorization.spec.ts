import { randomUUID } from 'node:crypto';
import { Controller, Get, Module, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryModule, DiscoveryService, MetadataScanner, NestFactory, Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { declaredAuthorization, RouteAuthorizationCheck } from '@wagw/auth';
import { CAPABILITIES } from '@wagw/contracts';
import { gatewayForSuite } from './test/gateway-harness.js';

/** A value of the right shape for each path parameter, so that only authorization can refuse the call. */
const PARAMETER_VALUES: Record<string, string> = { mid: '3EB0C431C26A1916E07A' };

describe('authorization is deny by default', () => {
  const suite = gatewayForSuite();

  it('every route of the running app refuses a principal without the capability it declares (403)', async () => {
    const routes = declaredAuthorization(suite.gateway.app.get(DiscoveryService), suite.gateway.app.get(MetadataScanner), suite.gateway.app.get(Reflector));
    expect(routes.length).toBeGreaterThan(30);
    const wrong: string[] = [];
    for (const route of routes) {
      if (route.isPublic) continue;
      if (route.capability === undefined) {
        wrong.push(`${route.route}: declares no capability`);
        continue;
      }
      const { key } = await suite.tenant.createApiKey(CAPABILITIES.filter((capability) => capability !== route.capability));
      const prefix = String(Reflect.getMetadata(PATH_METADATA, route.controller) ?? '');
      const path = `/${[prefix, String(Reflect.getMetadata(PATH_METADATA, route.handler))].filter((part) => part !== '' && part !== '/').join('/')}`.replace(/:([A-Za-z]+)/g, (_, name: string) => PARAMETER_VALUES[name] ?? randomUUID());
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, route.handler) as RequestMethod];
      const response = await suite.gateway.request(path, { method, token: key, ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }) });
      const body = response.body as { error?: { code?: string; details?: { required?: string } } };
      if (response.status !== 403 || body.error?.code !== 'forbidden' || body.error.details?.required !== route.capability) wrong.push(`${method} ${path} (${route.route}): ${response.status} ${JSON.stringify(body).slice(0, 120)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('an app with a route that declares neither a capability nor @Public() does not start', async () => {
    @Controller('api/v1/forgotten')
    class ForgottenController {
      @Get()
      list(): string {
        return 'open to anyone authenticated';
      }
    }
    // The check AuthModule installs, alone: the rest of AuthModule needs the stores.
    @Module({ imports: [DiscoveryModule], controllers: [ForgottenController], providers: [RouteAuthorizationCheck] })
    class ForgottenModule {}
    await expect(NestFactory.createApplicationContext(ForgottenModule, { logger: false, abortOnError: false })).rejects.toThrow(/declare neither: ForgottenController\.list/);
  });
});
