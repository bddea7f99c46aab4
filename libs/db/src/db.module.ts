import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { createDbClient, type DbClient, type DbClientOptions } from './prisma-client.js';
import { ApiKeysRepository } from './repositories/api-keys.repository.js';
import { AuditLogRepository } from './repositories/audit-log.repository.js';
import { OrganizationsRepository } from './repositories/organizations.repository.js';
import { SessionsRepository } from './repositories/sessions.repository.js';
import { AuthStateRepository } from './repositories/auth-state.repository.js';
import { MessagesRepository } from './repositories/messages.repository.js';
import { OutboxRepository } from './repositories/outbox.repository.js';
import { WebhookEndpointsRepository } from './repositories/webhook-endpoints.repository.js';
import { WebhookDeliveriesRepository } from './repositories/webhook-deliveries.repository.js';
import { DomainEventsRepository } from './repositories/domain-events.repository.js';
import { OrgDashboardRepository } from './repositories/org-dashboard.repository.js';
import { EventStreamRepository } from './repositories/event-stream.repository.js';
import { MediaCacheRepository } from './repositories/media-cache.repository.js';

export const DB_CLIENT = Symbol('DB_CLIENT');

class DbShutdown implements OnApplicationShutdown {
  constructor(@Inject(DB_CLIENT) private readonly db: DbClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.$disconnect();
  }
}

const repositories = [OrganizationsRepository, ApiKeysRepository, SessionsRepository, AuditLogRepository, AuthStateRepository, MessagesRepository, OutboxRepository, WebhookEndpointsRepository, WebhookDeliveriesRepository, DomainEventsRepository, OrgDashboardRepository, EventStreamRepository, MediaCacheRepository] as const;

@Global()
@Module({})
export class DbModule {
  static forRoot(options: DbClientOptions): DynamicModule {
    return {
      module: DbModule,
      providers: [
        { provide: DB_CLIENT, useFactory: () => createDbClient(options) },
        DbShutdown,
        ...repositories.map((repository) => ({
          provide: repository,
          useFactory: (db: DbClient) => new repository(db),
          inject: [DB_CLIENT],
        })),
      ],
      exports: [DB_CLIENT, ...repositories],
    };
  }
}
