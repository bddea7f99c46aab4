import type { ReceivedMessage, UndecryptableMessage } from './wa-emulator.js';

/**
 * What arrived of what was answered `sent`, counted per message id at one simulated device: a `sent`
 * answer is a promise, and this is how a test or benchmark checks it was kept.
 */
export interface DeliveryReport {
  /** Distinct ids answered `sent`. */
  sent: number;
  /** Of those, how many the device decrypted (at least once). */
  received: number;
  /** Answered `sent`, never decrypted. */
  lost: number;
  /** Decrypted more than once. */
  duplicated: number;
  /** Stanzas the device could not decrypt at all (each one a message lost on the way). */
  undecryptable: number;
  lostIds: string[];
  duplicatedIds: string[];
}

export function deliveryReport(
  sentIds: readonly string[],
  received: readonly ReceivedMessage[],
  undecryptable: readonly UndecryptableMessage[] = [],
  device: { phone: string; deviceId: number } = { phone: received[0]?.to.phone ?? '', deviceId: 0 },
): DeliveryReport {
  const counts = new Map<string, number>();
  for (const message of received) {
    if (message.to.phone !== device.phone || message.to.deviceId !== device.deviceId) continue;
    counts.set(message.id, (counts.get(message.id) ?? 0) + 1);
  }
  const unique = [...new Set(sentIds)];
  const lostIds = unique.filter((id) => !counts.has(id));
  const duplicatedIds = unique.filter((id) => (counts.get(id) ?? 0) > 1);
  return {
    sent: unique.length,
    received: unique.length - lostIds.length,
    lost: lostIds.length,
    duplicated: duplicatedIds.length,
    undecryptable: undecryptable.filter((message) => message.to.phone === device.phone && message.to.deviceId === device.deviceId).length,
    lostIds,
    duplicatedIds,
  };
}

