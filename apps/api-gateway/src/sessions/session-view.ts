import type { SessionView } from '@wagw/contracts';
import type { WhatsAppSession } from '@wagw/db';

function stringRecord(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export function toSessionView(session: WhatsAppSession): SessionView {
  return {
    id: session.id,
    name: session.name,
    status: session.status,
    me: session.meJid === null ? null : { id: session.meJid, pushName: session.mePushName },
    metadata: stringRecord(session.metadata),
    createdBy: session.createdBy,
    worker: session.ownerWorkerId === null ? null : { id: session.ownerWorkerId, epoch: Number(session.ownerEpoch) },
    lastError: session.lastError,
    lastConnectedAt: session.lastConnectedAt?.toISOString() ?? null,
    lastDisconnectedAt: session.lastDisconnectedAt?.toISOString() ?? null,
    createdAt: session.createdAt.toISOString(),
    updatedAt: session.updatedAt.toISOString(),
  };
}
