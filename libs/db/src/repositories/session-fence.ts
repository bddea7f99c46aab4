import { Prisma } from '../generated/client.js';

/**
 * Who writes for a session from a worker: the holder of its lease at `epoch`. Every such write carries
 * the fence in its own statement, so a worker that lost the session (a partition, a takeover) changes
 * nothing however late its write arrives.
 */
export interface SessionFence {
  orgId: string;
  sessionId: string;
  epoch: number;
}

/**
 * The session row while `fence.epoch` still owns it, locked FOR SHARE until the statement's commit: a
 * takeover (which raises `owner_epoch`) waits for a fenced write in progress, and a fenced write that
 * starts after the takeover finds no row. For a CTE named `fence`; gate each write on
 * `EXISTS (SELECT 1 FROM fence)`.
 */
export function fenceRow(fence: SessionFence): Prisma.Sql {
  return Prisma.sql`SELECT 1 FROM whatsapp_sessions WHERE org_id = ${fence.orgId}::uuid AND id = ${fence.sessionId}::uuid AND owner_epoch = ${BigInt(fence.epoch)} FOR SHARE`;
}
