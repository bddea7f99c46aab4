import { Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';

/** `/healthz` and `/readyz`; needs the global DbModule and RedisModule. */
@Module({ controllers: [HealthController] })
export class HealthModule {}
