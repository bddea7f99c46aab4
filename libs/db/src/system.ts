/*
 * System scope: queries over every organization, for the processes that work for all of them (the
 * session workers placing sessions, the webhook dispatcher moving events and deliveries along) and for
 * tooling that provisions organizations. Everything a tenant reaches goes through the repositories of
 * `@wagw/db`, each method scoped by `orgId`; the gateway never imports this entry point (lint-enforced).
 */
import type { Provider } from '@nestjs/common';
import type { DbClient } from './prisma-client.js';
import { DB_CLIENT } from './db.module.js';
import { DeliveryAttemptsRepository } from './repositories/system/delivery-attempts.repository.js';
import { EventFanOutRepository } from './repositories/system/event-fan-out.repository.js';
import { OrganizationProvisioningRepository } from './repositories/system/organization-provisioning.repository.js';
import { SessionPlacementRepository } from './repositories/system/session-placement.repository.js';

export * from './database-probe.js';
export * from './repositories/system/delivery-attempts.repository.js';
export * from './repositories/system/event-fan-out.repository.js';
export * from './repositories/system/organization-provisioning.repository.js';
export * from './repositories/system/session-placement.repository.js';

/** The system-scope repositories as Nest providers, on the client `DbModule` provides. */
export function systemRepositoryProviders(): Provider[] {
  return [DeliveryAttemptsRepository, EventFanOutRepository, OrganizationProvisioningRepository, SessionPlacementRepository].map((repository) => ({
    provide: repository,
    useFactory: (db: DbClient) => new repository(db),
    inject: [DB_CLIENT],
  }));
}
