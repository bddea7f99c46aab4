import type { DbClient } from '../prisma-client.js';
import type { SessionStatus } from '../generated/client.js';
import { utcTimestamp } from './sql-time.js';

export interface OrganizationCounts {
  sessions: number;
  connectedSessions: number;
  activeApiKeys: number;
  webhookEndpoints: number;
  enabledWebhookEndpoints: number;
}

export interface SessionsOverview {
  byStatus: Partial<Record<SessionStatus, number>>;
  /** Sessions with an owning worker, per worker id. */
  byWorker: Array<{ workerId: string; sessions: number; connected: number }>;
  recentlyDisconnected: Array<{ id: string; name: string; status: SessionStatus; lastError: string | null; lastDisconnectedAt: Date }>;
}

export interface UsageDay {
  /** UTC day, YYYY-MM-DD. */
  date: string;
  messagesSent: number;
  messagesReceived: number;
  messagesRevoked: number;
  deliveriesDelivered: number;
  deliveriesFailed: number;
  deliveriesExhausted: number;
}

interface DayCount {
  day: string;
  kind: string;
  count: bigint;
}

/** Read-only aggregates for the org dashboard. Every query is scoped by `orgId`. */
export class OrgDashboardRepository {
  constructor(private readonly db: DbClient) {}

  async counts(orgId: string, now: Date = new Date()): Promise<OrganizationCounts> {
    const [sessions, connectedSessions, activeApiKeys, webhookEndpoints, enabledWebhookEndpoints] = await Promise.all([
      this.db.whatsAppSession.count({ where: { orgId } }),
      this.db.whatsAppSession.count({ where: { orgId, status: 'connected' } }),
      this.db.apiKey.count({ where: { orgId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } }),
      this.db.webhookEndpoint.count({ where: { orgId } }),
      this.db.webhookEndpoint.count({ where: { orgId, enabled: true } }),
    ]);
    return { sessions, connectedSessions, activeApiKeys, webhookEndpoints, enabledWebhookEndpoints };
  }

  async sessionsOverview(orgId: string, disconnectedSince: Date, recentLimit: number): Promise<SessionsOverview> {
    const [statuses, workers, recentlyDisconnected] = await Promise.all([
      this.db.whatsAppSession.groupBy({ by: ['status'], where: { orgId }, _count: { _all: true } }),
      this.db.whatsAppSession.groupBy({ by: ['ownerWorkerId', 'status'], where: { orgId, ownerWorkerId: { not: null } }, _count: { _all: true } }),
      this.db.whatsAppSession.findMany({
        where: { orgId, lastDisconnectedAt: { gte: disconnectedSince } },
        orderBy: { lastDisconnectedAt: 'desc' },
        take: recentLimit,
        select: { id: true, name: true, status: true, lastError: true, lastDisconnectedAt: true },
      }),
    ]);
    const byStatus: Partial<Record<SessionStatus, number>> = {};
    for (const row of statuses) byStatus[row.status] = row._count._all;
    const perWorker = new Map<string, { workerId: string; sessions: number; connected: number }>();
    for (const row of workers) {
      if (row.ownerWorkerId === null) continue;
      const entry = perWorker.get(row.ownerWorkerId) ?? { workerId: row.ownerWorkerId, sessions: 0, connected: 0 };
      entry.sessions += row._count._all;
      if (row.status === 'connected') entry.connected += row._count._all;
      perWorker.set(row.ownerWorkerId, entry);
    }
    return {
      byStatus,
      byWorker: [...perWorker.values()].sort((a, b) => a.workerId.localeCompare(b.workerId)),
      recentlyDisconnected: recentlyDisconnected.flatMap((row) => (row.lastDisconnectedAt === null ? [] : [{ ...row, lastDisconnectedAt: row.lastDisconnectedAt }])),
    };
  }

  /**
   * Per UTC day in [from, to): messages stored as sent (ours) or received, messages revoked that day,
   * and webhook deliveries created that day by their current outcome. Days without activity are included
   * with zeros, so a chart needs no gap filling.
   */
  async usage(orgId: string, from: Date, to: Date): Promise<UsageDay[]> {
    const [fromUtc, toUtc] = [utcTimestamp(from), utcTimestamp(to)];
    const rows = await this.db.$queryRaw<DayCount[]>`
      SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD') AS day,
             CASE WHEN from_me THEN 'sent' ELSE 'received' END AS kind, count(*) AS count
        FROM messages
       WHERE org_id = ${orgId}::uuid AND created_at >= ${fromUtc}::timestamp AND created_at < ${toUtc}::timestamp
       GROUP BY 1, 2
      UNION ALL
      SELECT to_char(date_trunc('day', revoked_at), 'YYYY-MM-DD'), 'revoked', count(*)
        FROM messages
       WHERE org_id = ${orgId}::uuid AND revoked_at >= ${fromUtc}::timestamp AND revoked_at < ${toUtc}::timestamp
       GROUP BY 1
      UNION ALL
      SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD'), status::text, count(*)
        FROM webhook_deliveries
       WHERE org_id = ${orgId}::uuid AND created_at >= ${fromUtc}::timestamp AND created_at < ${toUtc}::timestamp AND status <> 'pending'
       GROUP BY 1, 2`;
    const days = new Map<string, UsageDay>();
    for (let day = startOfUtcDay(from); day < to; day = new Date(day.getTime() + 86_400_000)) {
      const date = day.toISOString().slice(0, 10);
      days.set(date, { date, messagesSent: 0, messagesReceived: 0, messagesRevoked: 0, deliveriesDelivered: 0, deliveriesFailed: 0, deliveriesExhausted: 0 });
    }
    for (const row of rows) {
      const day = days.get(row.day);
      const field = USAGE_FIELD[row.kind];
      if (day && field) day[field] = Number(row.count);
    }
    return [...days.values()];
  }
}

const USAGE_FIELD: Readonly<Record<string, Exclude<keyof UsageDay, 'date'> | undefined>> = {
  sent: 'messagesSent',
  received: 'messagesReceived',
  revoked: 'messagesRevoked',
  delivered: 'deliveriesDelivered',
  failed: 'deliveriesFailed',
  exhausted: 'deliveriesExhausted',
};

function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}
