import type { DbClient } from '../prisma-client.js';
import type { Organization } from '../generated/client.js';
import { isUuid } from './pagination.js';

export class OrganizationsRepository {
  constructor(private readonly db: DbClient) {}

  /** An organization is its own tenant: the id is the scope. */
  findById(orgId: string): Promise<Organization | null> {
    if (!isUuid(orgId)) return Promise.resolve(null);
    return this.db.organization.findUnique({ where: { id: orgId } });
  }
}
