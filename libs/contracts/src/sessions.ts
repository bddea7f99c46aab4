import type { z } from 'zod';
import type { sessionViewSchema } from './http-api.js';

export const SESSION_STATUSES = ['stopped', 'starting', 'qr', 'connected', 'disconnected', 'logged_out'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** A WhatsApp session as the REST API shows it. */
export type SessionView = z.infer<typeof sessionViewSchema>;

/** Cursor pagination: `nextCursor` is null on the last page. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 200;
