import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { closeRedisConnection, createRedisConnection, type RedisConnection, type RedisConnectionOptions } from './redis-connection.js';

export const REDIS = Symbol('REDIS');

class RedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await closeRedisConnection(this.redis);
  }
}

@Global()
@Module({})
export class RedisModule {
  static forRoot(options: { url: string; connectionName: string; onError?: (error: Error) => void } & RedisConnectionOptions): DynamicModule {
    return {
      module: RedisModule,
      providers: [{ provide: REDIS, useFactory: () => createRedisConnection(options.url, options.connectionName, options.onError, options) }, RedisShutdown],
      exports: [REDIS],
    };
  }
}
