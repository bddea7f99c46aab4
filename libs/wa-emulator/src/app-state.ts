import { randomBytes } from 'node:crypto';
import { chatModificationToAppPatch, encodeSyncdPatch, newLTHashState, proto, type BinaryNode, type LTHashState, type WAPatchName } from '@whiskeysockets/baileys';
import { node } from './binary-node.js';

interface Collection {
  state: LTHashState;
  /** Encoded `SyncdPatch`es in version order: patch `i` takes the collection to version `i + 1`. */
  patches: Uint8Array[];
}

/**
 * An account's app state (WA-PROTOCOL: settings and chat state synced between a user's devices), as its
 * phone writes it and WhatsApp's servers keep it. The phone encrypts each change with its app-state
 * sync key and shares that key with every device it links (a self-addressed `appStateSyncKeyShare`);
 * the server stores the patches, tells linked devices a collection changed (`server_sync`) and serves
 * them on `w:sync:app:state`. Only what the emulator's phone ever changes is modelled: its push name.
 */
export class PhoneAppState {
  private readonly keyId = randomBytes(6);
  private readonly keyData = proto.Message.AppStateSyncKeyData.create({
    keyData: randomBytes(32),
    fingerprint: { rawId: randomBytes(4).readUInt32BE(0), currentIndex: 0, deviceIndexes: [0] },
    timestamp: Date.now(),
  });
  private readonly collections = new Map<WAPatchName, Collection>();
  /** Writes are encoded one at a time: each patch's MACs chain from the state the previous one left. */
  private writes: Promise<unknown> = Promise.resolve();

  /** The protocol message the phone sends a newly linked device so it can read the collections. */
  keyShareMessage(): proto.IMessage {
    return {
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
        appStateSyncKeyShare: { keys: [{ keyId: { keyId: this.keyId }, keyData: this.keyData }] },
      },
    };
  }

  /** The phone sets the account's push name; resolves with the collection that changed. */
  setPushName(name: string): Promise<WAPatchName> {
    const written = this.writes.then(() => this.write(chatModificationToAppPatch({ pushNameSetting: name }, '')));
    this.writes = written.catch(() => undefined);
    return written;
  }

  /** The collections that hold anything: the ones a newly linked device is told to sync. */
  get writtenCollections(): WAPatchName[] {
    return [...this.collections.keys()];
  }

  /** The `<collection>` answer to a device that has `fromVersion` of it: every later patch. */
  async collectionNode(name: string, fromVersion: number): Promise<BinaryNode> {
    await this.writes;
    const collection = this.collections.get(name as WAPatchName);
    const version = collection?.state.version ?? 0;
    const patches = collection?.patches.slice(fromVersion) ?? [];
    const content = patches.length === 0 ? undefined : [node('patches', {}, patches.map((patch) => node('patch', {}, patch)))];
    return node('collection', { name, version: String(version), has_more_patches: 'false' }, content);
  }

  private async write(change: ReturnType<typeof chatModificationToAppPatch>): Promise<WAPatchName> {
    const collection = this.collections.get(change.type) ?? { state: newLTHashState(), patches: [] };
    const encodedKeyId = this.keyId.toString('base64');
    const { patch, state } = await encodeSyncdPatch(change, encodedKeyId, collection.state, async (id) => (id === encodedKeyId ? this.keyData : null));
    const encoded = proto.SyncdPatch.encode({ ...patch, version: { version: state.version } }).finish();
    this.collections.set(change.type, { state, patches: [...collection.patches, encoded] });
    return change.type;
  }
}
