import { Injectable } from '@nestjs/common';
import { OrganizationsRepository } from '@wagw/db';

/** Positive answers only, briefly: a JWT for a deleted organization stops working within this time. */
const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

/** Whether a JWT's organization exists, without a database round trip on every request. */
@Injectable()
export class KnownOrganizations {
  private readonly seen = new Map<string, number>();

  constructor(private readonly organizations: OrganizationsRepository) {}

  async exists(orgId: string, now: number = Date.now()): Promise<boolean> {
    const seenAt = this.seen.get(orgId);
    if (seenAt !== undefined && now - seenAt < TTL_MS) return true;
    const found = (await this.organizations.findById(orgId)) !== null;
    if (found) {
      if (this.seen.size >= MAX_ENTRIES) this.seen.clear();
      this.seen.set(orgId, now);
    }
    return found;
  }
}
