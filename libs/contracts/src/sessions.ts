export const SESSION_STATUSES = ['stopped', 'starting', 'qr', 'connected', 'disconnected', 'logged_out'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** A WhatsApp session as the REST API shows it. */
export interface SessionView {
  id: string;
  name: string;
  status: SessionStatus;
  me: { id: string; pushName: string | null } | null;
  metadata: Record<string, string>;
  createdBy: string;
  worker: { id: string; epoch: number } | null;
  /** Why the session last dropped or stopped, when it did. */
  lastError: string | null;
  lastConnectedAt: string | null;
  lastDisconnectedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Cursor pagination: `nextCursor` is null on the last page. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 200;
