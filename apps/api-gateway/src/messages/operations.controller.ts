import { Controller, Get } from '@nestjs/common';
import { PathParam } from '@wagw/http';
import { operationViewSchema, storedSendResult, type OperationView, type Principal } from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import { SessionCommandsService } from '@wagw/command-client';
import { ApiAuthenticated, ApiErrors, ApiJsonResponse, ApiPathParam, ApiRoute } from '../openapi/api-docs.js';
import { operationIdParam } from '../validation.js';

/** The outcome of a send or revoke by its `outboxId`: for asynchronous sends and for 504 answers. */
@ApiAuthenticated()
@Controller('api/v1/operations')
export class OperationsController {
  constructor(private readonly commands: SessionCommandsService) {}

  @Get(':operation')
  @ApiRoute({ summary: 'Get the outcome of a send or revoke', description: 'By the `outboxId` of a `SendResult`, or of a 504 answer.' })
  @RequireCapability('read')
  @ApiPathParam('operation', operationIdParam, 'The `outboxId`.')
  @ApiJsonResponse(200, operationViewSchema, 'The operation: pending, sent (with its `SendResult`), failed or expired.')
  @ApiErrors('not_found')
  async get(@CurrentPrincipal() principal: Principal, @PathParam('operation', operationIdParam) operationId: string): Promise<OperationView> {
    const operation = await this.commands.operation(principal, operationId);
    return {
      id: operation.id,
      session: operation.sessionId,
      kind: operation.kind,
      status: operation.status,
      // Written only by the worker, from this same schema.
      result: operation.result === null ? null : storedSendResult(operation.result),
      error: operation.error,
      createdAt: operation.createdAt.toISOString(),
      completedAt: operation.completedAt?.toISOString() ?? null,
    };
  }
}
