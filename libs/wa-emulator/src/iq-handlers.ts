import { lidJid, takeLinkedBundle } from './accounts.js';
import type { AppStateServer } from './app-state-server.js';
import { bytes, child, children, node, uintBE, type BinaryNode } from './binary-node.js';
import type { EmulatorDirectory } from './directory.js';
import type { EmulatorConnection } from './emulator-connection.js';
import { MAX_MEDIA_BYTES, type MediaServer } from './media-server.js';
import type { Pairing } from './pairing.js';
import { bundleToNode } from './simulated-device.js';

/** What a connected client asks of the server (`<iq>`): keys, devices, groups, linking, app state. */
/** The privacy settings every simulated account has, as WhatsApp's defaults are. */
const PRIVACY_DEFAULTS: ReadonlyArray<[string, string]> = [
  ['readreceipts', 'all'],
  ['last', 'all'],
  ['online', 'all'],
  ['profile', 'all'],
  ['status', 'contacts'],
  ['groupadd', 'all'],
];

export class IqHandlers {
  constructor(
    private readonly directory: EmulatorDirectory,
    private readonly pairing: Pairing,
    private readonly appState: AppStateServer,
    private readonly media: MediaServer,
  ) {}

  handle(connection: EmulatorConnection, iq: BinaryNode): void {
    const xmlns = iq.attrs['xmlns'];
    const first = children(iq)[0];
    if (xmlns === 'encrypt') {
      this.onEncryptIq(connection, iq, first);
      return;
    }
    const removal = child(iq, 'remove-companion-device');
    if (xmlns === 'md' && removal) {
      // The client unlinks itself (logout): its creds never log in again.
      const device = this.directory.deviceOf(connection);
      if (device) device.loggedOut = true;
      this.directory.log('unlinked', { phone: device?.account.phone, deviceId: device?.deviceId });
      connection.reply(iq);
      return;
    }
    const linkCodeReg = child(iq, 'link_code_companion_reg');
    if (xmlns === 'md' && linkCodeReg) {
      this.pairing.onLinkCodeIq(connection, iq, linkCodeReg).catch((error: unknown) => this.directory.log('link-code-error', { error: String(error) }));
      return;
    }
    if (xmlns === 'w:g2') {
      const group = this.directory.groups.get(iq.attrs['to'] ?? '');
      if (group) connection.reply(iq, [this.directory.groupNode(group)]);
      else connection.replyError(iq, 404, 'item-not-found');
      return;
    }
    if (xmlns === 'usync') {
      this.onUsync(connection, iq);
      return;
    }
    if (xmlns === 'w:sync:app:state') {
      this.appState.onAppStateSync(connection, iq).catch((error: unknown) => this.directory.log('app-state-error', { error: String(error) }));
      return;
    }
    if (xmlns === 'w:m' && first?.tag === 'media_conn') {
      // Where to upload media, and the token that authorizes it.
      const host = node('host', { hostname: this.media.hostname, maxContentLengthBytes: String(MAX_MEDIA_BYTES) });
      connection.reply(iq, [node('media_conn', { auth: this.media.authToken, ttl: '3600', auth_ttl: '21600', max_buckets: '1' }, [host])]);
      return;
    }
    if (xmlns === 'privacy' && iq.attrs['type'] === 'get' && first?.tag === 'privacy') {
      // Everyone's defaults: with read receipts on, a client's read receipt goes to the sender (off, it says `read-self`).
      connection.reply(iq, [node('privacy', {}, PRIVACY_DEFAULTS.map(([name, value]) => node('category', { name, value })))]);
      return;
    }
    if (xmlns === 'w:p' || xmlns === 'passive') {
      connection.reply(iq);
      return;
    }
    this.directory.log('iq-default', { xmlns, child: first?.tag, type: iq.attrs['type'] });
    connection.reply(iq);
  }

  /** Device lists and LIDs of the users a client asks about. */
  private onUsync(connection: EmulatorConnection, iq: BinaryNode): void {
    const usync = child(iq, 'usync');
    const users = children(child(usync, 'list'), 'user');
    const result = users.map((user) => {
      const jid = user.attrs['jid'] ?? '';
      const found = this.directory.resolveJid(jid);
      if (!found) return node('user', { jid }, [node('devices', {}, [node('device-list', {}, [])])]);
      const { account } = found;
      const deviceNodes = [
        ...[...account.devices.keys()].map((id) => node('device', { id: String(id), ...(id === 0 ? {} : { 'key-index': String(id) }) })),
        ...[...account.companions.values()].filter((device) => !device.loggedOut).map((device) => node('device', { id: String(device.deviceId), 'key-index': String(device.keyIndex) })),
      ];
      // The PN→LID mapping only for users asked for by phone number.
      const lid = jid.endsWith('@s.whatsapp.net') ? [node('lid', { val: lidJid(account.lid) })] : [];
      return node('user', { jid }, [node('devices', {}, [node('device-list', {}, deviceNodes)]), ...lid]);
    });
    connection.reply(iq, [node('usync', { sid: usync?.attrs['sid'] ?? '', mode: 'query', last: 'true', index: '0', context: usync?.attrs['context'] ?? 'message' }, [node('list', {}, result)])]);
  }

  private async onKeyFetch(connection: EmulatorConnection, iq: BinaryNode, keyNode: BinaryNode): Promise<void> {
    const bundles: BinaryNode[] = [];
    for (const user of children(keyNode, 'user')) {
      const jid = user.attrs['jid'] ?? '';
      const found = this.directory.resolveJid(jid);
      const simulated = found?.account.devices.get(found.deviceId);
      if (simulated) {
        bundles.push(await simulated.bundleNode(jid));
        continue;
      }
      const linked = found?.account.companions.get(found.deviceId);
      if (linked) {
        bundles.push(bundleToNode(jid, takeLinkedBundle(linked)));
        continue;
      }
      bundles.push(node('user', { jid }, [node('error', { code: '404', text: 'item-not-found' })]));
    }
    connection.reply(iq, [node('list', {}, bundles)]);
  }

  private onEncryptIq(connection: EmulatorConnection, iq: BinaryNode, first: BinaryNode | undefined): void {
    if (first?.tag === 'key') {
      this.onKeyFetch(connection, iq, first).catch((error: unknown) => this.directory.log('key-fetch-error', { error: String(error) }));
      return;
    }
    const device = this.directory.deviceOf(connection);
    if (first?.tag === 'count') {
      connection.reply(iq, [node('count', { value: String(device?.preKeys.size ?? 0) })]);
      return;
    }
    if (first?.tag === 'digest') {
      connection.reply(iq, [node('digest', {})]);
      return;
    }
    const list = child(iq, 'list');
    if (list && device) {
      for (const key of children(list, 'key')) device.preKeys.set(uintBE(bytes(child(key, 'id'))), bytes(child(key, 'value')));
      this.directory.log('prekeys-uploaded', { deviceId: device.deviceId, count: device.preKeys.size });
    }
    connection.reply(iq);
  }
}
