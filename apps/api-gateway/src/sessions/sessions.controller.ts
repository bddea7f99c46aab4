import { Controller, Get, Query } from '@nestjs/common';
import { z } from 'zod';
import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, type Page, type Principal, type SessionView } from '@wagw/contracts';
import { CurrentPrincipal, RequireCapability } from '@wagw/auth';
import { SessionsRepository } from '@wagw/db';
import { ZodValidationPipe } from '@wagw/http';
import { toSessionView } from './session-view.js';

const listSessionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT),
  cursor: z.string().min(1).max(200).optional(),
});

@Controller('api/v1/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsRepository) {}

  @Get()
  @RequireCapability('read')
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(listSessionsQuery, 'query parameters')) query: z.infer<typeof listSessionsQuery>,
  ): Promise<Page<SessionView>> {
    const { rows, nextCursor } = await this.sessions.list(principal.orgId, query);
    return { data: rows.map(toSessionView), nextCursor };
  }
}
