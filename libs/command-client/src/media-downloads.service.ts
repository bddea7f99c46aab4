import { GatewayError, storedMediaSchema, type Principal, type StoredMedia } from '@wagw/contracts';
import type { CachedFile, MediaCacheRepository, MessagesRepository } from '@wagw/db';
import type { SessionCommandsService } from './session-commands.service.js';

/**
 * How long the gateway waits for a worker to download an attachment: longer than a send (a large
 * file from WhatsApp's host), and longer than the worker's own download limit (MEDIA_DOWNLOAD_TIMEOUT_MS,
 * 60 s by default) so that its error, not ours, is what the caller reads.
 */
export const MEDIA_COMMAND_TIMEOUT_MS = 75_000;

/** A stored message's attachment, ready to serve. */
export interface ServedMedia {
  file: CachedFile;
  media: StoredMedia;
}

/**
 * Received (and sent) attachments, served from the shared media cache; on the first request the worker
 * holding the session downloads the file from WhatsApp into that cache. Org-scoped like every read:
 * another organization's session or message is `not_found`.
 */
export class MediaDownloadsService {
  constructor(
    private readonly commands: SessionCommandsService,
    private readonly messages: MessagesRepository,
    private readonly cache: MediaCacheRepository,
  ) {}

  async fetch(principal: Principal, sessionId: string, messageId: string, chat: string | undefined): Promise<ServedMedia> {
    const session = await this.commands.requireSession(principal, sessionId);
    const stored = await this.messages.find(principal.orgId, session.id, messageId, chat);
    if (!stored) throw new GatewayError('not_found', 'message not found', { session: sessionId, message: messageId });
    const media = storedMediaSchema.safeParse(stored.media);
    if (!media.success) throw new GatewayError('not_found', 'the message carries no attachment', { message: messageId, type: stored.messageType });
    // Deleted for everyone: its sender took it back, so we no longer hand it out either.
    if (stored.revokedAt) throw new GatewayError('conflict', 'the message was revoked', { message: messageId });
    const cached = await this.cache.read(principal.orgId, stored.id);
    if (cached) return { file: cached, media: media.data };
    this.commands.requireConnected(session);
    await this.commands.dispatchControl(principal, session, { type: 'download_media', chat: stored.chatJid, messageId }, MEDIA_COMMAND_TIMEOUT_MS);
    const downloaded = await this.cache.read(principal.orgId, stored.id);
    // Only when other downloads pushed it out of the cache in the meantime.
    if (!downloaded) throw new GatewayError('service_unavailable', 'the attachment was evicted from the media cache before it could be served; MEDIA_CACHE_MAX_BYTES is small for this load', { message: messageId });
    return { file: downloaded, media: media.data };
  }
}
