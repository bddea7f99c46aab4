import { Controller, Get, Param } from '@nestjs/common';
import type { Principal } from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import { SessionCommandsService } from '@wagw/command-client';

export interface OperationView {
  id: string;
  session: string;
  kind: string;
  status: string;
  result: unknown;
  error: unknown;
  createdAt: string;
  completedAt: string | null;
}

/** The outcome of a send or revoke by its `outboxId`: for asynchronous sends and for 504 answers. */
@Controller('api/v1/operations')
export class OperationsController {
  constructor(private readonly commands: SessionCommandsService) {}

  @Get(':operation')
  @RequireCapability('read')
  async get(@CurrentPrincipal() principal: Principal, @Param('operation') operationId: string): Promise<OperationView> {
    const operation = await this.commands.operation(principal, operationId);
    return {
      id: operation.id,
      session: operation.sessionId,
      kind: operation.kind,
      status: operation.status,
      result: operation.result,
      error: operation.error,
      createdAt: operation.createdAt.toISOString(),
      completedAt: operation.completedAt?.toISOString() ?? null,
    };
  }
}
