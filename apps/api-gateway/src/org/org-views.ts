import type { PrincipalKind, Role, SessionStatus } from '@wagw/contracts';
import type { ApiKeyListing, AuditLogEntry, OrganizationCounts, SessionsOverview, UsageDay } from '@wagw/db';

export interface OrganizationView {
  id: string;
  name: string;
  createdAt: string;
  counts: OrganizationCounts;
  limits: {
    rateLimitWindowSeconds: number;
    /** Requests per window per API key or login user; 0 means unlimited. */
    perKey: { reads: number; writes: number };
    perOrganization: { reads: number; writes: number };
    bodyLimitBytes: number;
    pageSizeMax: number;
    usageMaxDays: number;
  };
  /** Who is asking, and what they may do: lets a dashboard hide what the caller cannot use. */
  caller: { kind: PrincipalKind; subject: string; role: Role | null; capabilities: string[] };
}

export interface ApiKeyView {
  id: string;
  name: string;
  /** The visible start of the key (`wagw_3f9a1c0b7e2d`), to recognise it; never the secret. */
  prefix: string;
  capabilities: string[];
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export function toApiKeyView(key: ApiKeyListing): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    capabilities: key.capabilities,
    createdBy: key.createdBy,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

export interface SessionsOverviewView {
  byStatus: Record<SessionStatus, number>;
  byWorker: Array<{ workerId: string; sessions: number; connected: number }>;
  recentlyDisconnected: Array<{ id: string; name: string; status: SessionStatus; lastError: string | null; lastDisconnectedAt: string }>;
  /** Start of the "recently disconnected" window. */
  since: string;
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

export interface UsageView {
  from: string;
  to: string;
  data: UsageDay[];
}

export interface AuditLogEntryView {
  id: string;
  actor: { kind: string; id: string };
  action: string;
  target: { type: string; id: string | null };
  details: unknown;
  createdAt: string;
}

export function toAuditLogView(entry: AuditLogEntry): AuditLogEntryView {
  return {
    id: entry.id,
    actor: { kind: entry.actorKind, id: entry.actorId },
    action: entry.action,
    target: { type: entry.targetType, id: entry.targetId },
    details: entry.details,
    createdAt: entry.createdAt.toISOString(),
  };
}
