import type { WAMessageKey } from '@whiskeysockets/baileys';

/*
 * JIDs and stored message keys in our terms, without loading Baileys: the gateway imports this file alone
 * (`@wagw/whatsapp/jids`) to check a revoke's sender before anything is written or enqueued.
 */

/** A JID without its device: `15551234567:12@s.whatsapp.net` → `15551234567@s.whatsapp.net`. */
export function bareJid(jid: string): string {
  return jid.replace(/:\d+@/, '@');
}

/**
 * The participant a revoke of a stored group message must name, when the caller says the message is
 * `given`'s: that sender as WhatsApp addressed it (its LID in a LID group), or null when `given` is not
 * who sent it (by any of its JIDs, with or without device).
 */
export function revokeSenderOf(stored: { senderJid: string | null; raw: unknown }, given: string): string | null {
  const key = (stored.raw as { key?: Pick<WAMessageKey, 'participant' | 'participantAlt'> } | null)?.key;
  const known = [stored.senderJid, key?.participant, key?.participantAlt].filter((jid): jid is string => typeof jid === 'string' && jid.length > 0);
  if (!known.some((jid) => bareJid(jid) === bareJid(given))) return null;
  return key?.participant || stored.senderJid;
}
