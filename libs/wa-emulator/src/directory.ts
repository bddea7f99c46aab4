import { randomInt } from 'node:crypto';
import { createAccount, lidJid, pnJid, type LinkedDevice, type SimulatedAccount } from './accounts.js';
import { node, type BinaryNode } from './binary-node.js';
import type { EmulatorConnection } from './emulator-connection.js';

export type GroupRole = 'superadmin' | 'admin' | 'member';

export interface SimulatedGroup {
  /** `123-456@g.us` */
  jid: string;
  subject: string;
  creator: string;
  creation: number;
  /** phone → role */
  members: Map<string, GroupRole>;
}

/**
 * Who is on the emulated WhatsApp: its accounts (simulated phones and the real clients linked to them),
 * its groups and its open sockets. The parts of the emulator (pairing, message relay, app state, IQs)
 * share this one directory.
 */
export class EmulatorDirectory {
  readonly accounts = new Map<string, SimulatedAccount>();
  readonly groups = new Map<string, SimulatedGroup>();
  readonly connections = new Set<EmulatorConnection>();
  private nextMessageNumber = 1;

  constructor(readonly log: (event: string, details?: Record<string, unknown>) => void) {}

  createAccount(options: { phone: string; lid?: string; pushName?: string; extraDevices?: number }): SimulatedAccount {
    if (!/^\d{6,15}$/.test(options.phone)) throw new Error('phone must be 6-15 digits');
    if (this.accounts.has(options.phone)) throw new Error(`account ${options.phone} exists`);
    const lid = options.lid ?? String(randomInt(10 ** 13, 10 ** 14));
    const account = createAccount(options.phone, lid, options.pushName ?? `User ${options.phone.slice(-4)}`, options.extraDevices ?? 0);
    this.accounts.set(options.phone, account);
    return account;
  }

  account(phone: string): SimulatedAccount {
    const account = this.accounts.get(phone);
    if (!account) throw new Error(`no account ${phone}`);
    return account;
  }

  /** Live sockets of one linked device: WhatsApp allows at most one. */
  liveSocketCount(phone: string, deviceId: number): number {
    const jid = pnJid(phone, deviceId);
    return [...this.connections].filter((connection) => connection.deviceJid === jid && connection.isOpen).length;
  }

  linkedDevices(phone: string): LinkedDevice[] {
    return [...this.account(phone).companions.values()];
  }

  /** A group of existing accounts; the first admin (or first member) is its creator. */
  createGroup(options: { subject: string; members: string[]; admins?: string[] }): SimulatedGroup {
    const admins = new Set(options.admins ?? []);
    for (const phone of [...options.members, ...admins]) this.account(phone);
    const creator = options.admins?.[0] ?? options.members[0];
    if (!creator) throw new Error('a group needs members');
    const jid = `${randomInt(10 ** 11, 10 ** 12)}-${Math.floor(Date.now() / 1000)}@g.us`;
    const members = new Map<string, GroupRole>();
    for (const phone of new Set([...options.members, ...admins])) members.set(phone, phone === creator ? 'superadmin' : admins.has(phone) ? 'admin' : 'member');
    const group: SimulatedGroup = { jid, subject: options.subject, creator, creation: Math.floor(Date.now() / 1000), members };
    this.groups.set(jid, group);
    return group;
  }

  groupNode(group: SimulatedGroup): BinaryNode {
    const creator = this.account(group.creator);
    return node(
      'group',
      { id: group.jid.replace(/@g\.us$/, ''), subject: group.subject, s_t: String(group.creation), s_o: lidJid(creator.lid), creation: String(group.creation), creator: lidJid(creator.lid), creator_pn: pnJid(creator.phone), addressing_mode: 'lid', size: String(group.members.size) },
      [...group.members].map(([phone, role]) => {
        const account = this.account(phone);
        return node('participant', { jid: lidJid(account.lid), phone_number: pnJid(account.phone), ...(role === 'member' ? {} : { type: role }) });
      }),
    );
  }

  /** Finds the account behind a user or device jid, PN (`s.whatsapp.net`) or LID (`lid`). */
  resolveJid(jid: string): { account: SimulatedAccount; deviceId: number } | undefined {
    const match = /^(\d+)(?::(\d+))?@(s\.whatsapp\.net|lid)$/.exec(jid);
    if (!match) return undefined;
    const [, user = '', device, server] = match;
    const account = server === 'lid' ? [...this.accounts.values()].find((candidate) => candidate.lid === user) : this.accounts.get(user);
    return account ? { account, deviceId: Number(device ?? 0) } : undefined;
  }

  deviceOf(connection: EmulatorConnection): LinkedDevice | undefined {
    for (const account of this.accounts.values()) {
      for (const device of account.companions.values()) if (device.connection === connection) return device;
    }
    return undefined;
  }

  newMessageId(): string {
    return `EMU${Date.now().toString(16).toUpperCase()}${(this.nextMessageNumber++).toString(16).toUpperCase().padStart(6, '0')}`;
  }
}
