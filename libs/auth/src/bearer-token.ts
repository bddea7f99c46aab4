/** The token of a well-formed `Authorization: Bearer <token>` header, else null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(header);
  return match?.[1] ?? null;
}
