import { Injectable, type CanActivate, type ExecutionContext, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { GatewayError, type Capability, type Principal } from '@wagw/contracts';
import { IS_PUBLIC } from '@wagw/http';
import { REQUIRED_CAPABILITY } from './decorators.js';

/**
 * Runs after the bearer guard: the route's `@RequireCapability` must be among the principal's. Deny by
 * default: a route that is neither `@Public()` nor declares a capability is refused (and the app does
 * not even start with one, see RouteAuthorizationCheck).
 */
@Injectable()
export class CapabilityGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const required = this.reflector.getAllAndOverride<Capability | undefined>(REQUIRED_CAPABILITY, targets);
    if (required === undefined) throw new GatewayError('forbidden', 'this route declares no capability, so nobody may call it');
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (!principal?.capabilities.includes(required)) {
      throw new GatewayError('forbidden', `this action needs the '${required}' capability`, { required });
    }
    return true;
  }
}

export interface DeclaredRoute {
  /** `Controller.method`, for messages. */
  route: string;
  controller: object;
  handler: (...args: unknown[]) => unknown;
  capability: Capability | undefined;
  isPublic: boolean;
}

/** Every route of the app, with what it declares: a capability, `@Public()`, or neither. */
export function declaredAuthorization(discovery: DiscoveryService, scanner: MetadataScanner, reflector: Reflector): DeclaredRoute[] {
  const routes: DeclaredRoute[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype;
    const instance: unknown = wrapper.instance;
    if (!controller || !instance || typeof instance !== 'object') continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
      const method = handler as (...args: unknown[]) => unknown;
      routes.push({
        route: `${controller.name}.${name}`,
        controller,
        handler: method,
        capability: reflector.getAllAndOverride<Capability | undefined>(REQUIRED_CAPABILITY, [method, controller]),
        isPublic: reflector.getAllAndOverride<boolean>(IS_PUBLIC, [method, controller]) === true,
      });
    }
  }
  return routes;
}

/** Refuses to start an app with a route that declares neither a capability nor `@Public()`. */
@Injectable()
export class RouteAuthorizationCheck implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onApplicationBootstrap(): void {
    const undeclared = declaredAuthorization(this.discovery, this.scanner, this.reflector).filter((route) => !route.isPublic && route.capability === undefined);
    if (undeclared.length > 0) {
      throw new Error(`every route must declare a capability (@RequireCapability) or @Public(); these declare neither: ${undeclared.map((route) => route.route).join(', ')}`);
    }
  }
}
