import { lidJid, pnJid, type LinkedDevice } from './accounts.js';
import { child, children, node, SERVER_JID, type BinaryNode } from './binary-node.js';
import type { EmulatorDirectory } from './directory.js';
import type { EmulatorConnection } from './emulator-connection.js';
import type { MessageRelay } from './message-relay.js';

/**
 * WhatsApp's side of app-state sync (the account's data in app-state.ts): the phone's key share to a
 * newly linked device, `server_sync` notifications when a collection changed, and the
 * `w:sync:app:state` answers with the patches a device has not seen.
 */
export class AppStateServer {
  constructor(
    private readonly directory: EmulatorDirectory,
    private readonly relay: MessageRelay,
  ) {}

  /**
   * The phone's first words to a newly linked device: its app-state sync key, self-addressed and
   * encrypted like any message between the account's own devices; once the device has it, the server
   * tells it which collections to sync.
   */
  async shareAppState(device: LinkedDevice, connection: EmulatorConnection): Promise<void> {
    const phone = device.account.devices.get(0);
    if (!phone) return;
    const id = this.directory.newMessageId();
    const { type, ciphertext } = await this.relay.encryptFromPhone(phone, device, device.account.appState.keyShareMessage());
    const self = pnJid(device.account.phone);
    connection.send(
      node('message', { from: self, id, t: String(Math.floor(Date.now() / 1000)), type: 'text', category: 'peer', sender_lid: lidJid(device.account.lid) }, [
        node('enc', { v: '2', type }, ciphertext),
      ]),
    );
    await connection.waitForReceipts([id], 5_000);
    if (!connection.isOpen) return;
    device.appStateKeyShared = true;
    for (const name of device.account.appState.writtenCollections) this.notifyCollectionChanged(device, name);
    this.directory.log('app-state-shared', { phone: device.account.phone, deviceId: device.deviceId });
  }

  private notifyCollectionChanged(device: LinkedDevice, collection: string): void {
    if (!device.connection?.isOpen) return;
    device.connection.send(
      node('notification', { from: SERVER_JID, type: 'server_sync', id: this.directory.newMessageId(), t: String(Math.floor(Date.now() / 1000)) }, [node('collection', { name: collection })]),
    );
  }

  /** The phone renames the account: WhatsApp syncs the new push name to every linked device. */
  async setPushName(phone: string, pushName: string): Promise<void> {
    const account = this.directory.account(phone);
    account.pushName = pushName;
    const collection = await account.appState.setPushName(pushName);
    for (const device of account.companions.values()) if (device.appStateKeyShared && !device.loggedOut) this.notifyCollectionChanged(device, collection);
  }

  async onAppStateSync(connection: EmulatorConnection, iq: BinaryNode): Promise<void> {
    const device = this.directory.deviceOf(connection);
    if (!device) {
      connection.replyError(iq, 401, 'not-authorized');
      return;
    }
    const requested = children(child(iq, 'sync'), 'collection');
    const answers = await Promise.all(requested.map((collection) => device.account.appState.collectionNode(collection.attrs['name'] ?? '', Number(collection.attrs['version'] ?? 0) || 0)));
    connection.reply(iq, [node('sync', {}, answers)]);
  }
}
