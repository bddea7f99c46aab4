import type { ApiKeyView, AuditLogEntryView, Capability, SessionsOverviewView } from '@wagw/contracts';
import { isCapability } from '@wagw/contracts';
import type { ApiKeyListing, AuditLogEntry, SessionsOverview } from '@wagw/db';

export function toApiKeyView(key: ApiKeyListing): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    capabilities: key.capabilities.filter((capability): capability is Capability => isCapability(capability)),
    createdBy: key.createdBy,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

export function toOverviewView(overview: SessionsOverview, since: Date): SessionsOverviewView {
  return {
    byStatus: {
      stopped: overview.byStatus.stopped ?? 0,
      starting: overview.byStatus.starting ?? 0,
      qr: overview.byStatus.qr ?? 0,
      connected: overview.byStatus.connected ?? 0,
      disconnected: overview.byStatus.disconnected ?? 0,
      logged_out: overview.byStatus.logged_out ?? 0,
    },
    byWorker: overview.byWorker,
    recentlyDisconnected: overview.recentlyDisconnected.map((session) => ({ ...session, lastDisconnectedAt: session.lastDisconnectedAt.toISOString() })),
    since: since.toISOString(),
  };
}

export function toAuditLogView(entry: AuditLogEntry): AuditLogEntryView {
  return {
    id: entry.id,
    actor: { kind: entry.actorKind === 'user' ? 'user' : 'api_key', id: entry.actorId },
    action: entry.action,
    target: { type: entry.targetType, id: entry.targetId },
    details: entry.details,
    createdAt: entry.createdAt.toISOString(),
  };
}
