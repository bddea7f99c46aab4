/**
 * A time as the `timestamp` columns (no zone) hold it: UTC wall-clock, as Prisma writes them. Pass it
 * to SQL cast `::timestamp`; a `Date` parameter would be zoned and shifted by the session's time zone.
 */
export function utcTimestamp(date: Date): string;
export function utcTimestamp(date: Date | null | undefined): string | null;
export function utcTimestamp(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}
