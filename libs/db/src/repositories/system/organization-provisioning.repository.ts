import type { DbClient } from '../../prisma-client.js';
import type { Organization } from '../../generated/client.js';

/** System scope (see ../../system.ts): creating an organization, which no tenant can do for itself. */
export class OrganizationProvisioningRepository {
  constructor(private readonly db: DbClient) {}

  create(name: string): Promise<Organization> {
    return this.db.organization.create({ data: { name } });
  }
}
