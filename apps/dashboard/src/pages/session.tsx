import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'preact/hooks';
import { ApiError, client, queryClient, unwrap, useCan, type Schemas } from '../api';
import { href } from '../router';
import { ActionForm, ErrorText, Section, StatusBadge, Time, TableHead } from '../ui';
import { SessionActions } from './sessions';

type Session = Schemas['Session'];
type Message = Schemas['Message'];

/** While the session waits for a scan: its QR as an image, fetched again as WhatsApp rotates it, or a pairing code. */
function LinkPanel({ session }: { session: Session }) {
  const qr = useQuery({
    queryKey: ['qr', session.id],
    queryFn: () => unwrap(client().GET('/api/v1/sessions/{session}/qr', { params: { path: { session: session.id } } })),
    // WhatsApp rotates the QR about every 20 s; the worker has the new one at once.
    refetchInterval: 2_000,
    retry: false,
  });
  const [phone, setPhone] = useState('');
  const pairing = useMutation({
    mutationFn: () => unwrap(client().POST('/api/v1/sessions/{session}/pairing-code', { params: { path: { session: session.id } }, body: { phone } })),
  });
  const waiting = qr.error instanceof ApiError && qr.error.status === 409;
  return (
    <Section title="Link a WhatsApp account">
      <div class="link-panel">
        <figure>
          {qr.data ? <img data-testid="qr" src={qr.data.pngDataUrl} width={264} height={264} alt="QR code to scan with WhatsApp: Settings, Linked devices, Link a device" /> : <div class="qr-placeholder">{waiting ? 'Waiting for a QR code…' : 'Loading…'}</div>}
          <figcaption>On the phone: WhatsApp → Settings → Linked devices → Link a device, and scan.</figcaption>
        </figure>
        <ActionForm onSubmit={() => pairing.mutate()}>
          <label>
            Or link with a code: phone number (digits, with country code)
            <input name="phone" inputMode="numeric" pattern="[0-9]{6,20}" value={phone} onInput={(event) => setPhone(event.currentTarget.value)} />
          </label>
          <button type="submit" disabled={pairing.isPending || phone === ''}>
            Get a pairing code
          </button>
          {pairing.data ? (
            <p role="status">
              Enter <code class="pairing-code">{pairing.data.pairingCode}</code> on the phone.
            </p>
          ) : null}
          <ErrorText error={pairing.error} />
        </ActionForm>
      </div>
    </Section>
  );
}

function SendResultView({ title, result }: { title: string; result: Schemas['SendResult'] }) {
  return (
    <div class="result" role="status" data-testid="send-result">
      <strong>{title}</strong>
      <dl>
        {Object.entries(result).map(([key, value]) => (
          <div key={key}>
            <dt>{key}</dt>
            <dd>
              <code>{String(value)}</code>
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

function SendForm({ session }: { session: Session }) {
  const [chat, setChat] = useState('');
  const [text, setText] = useState('');
  const send = useMutation({
    mutationFn: () =>
      unwrap(
        client().POST('/api/v1/sessions/{session}/messages', {
          params: { path: { session: session.id }, header: { 'Idempotency-Key': crypto.randomUUID() } },
          body: { chat: chat.includes('@') ? chat : `${chat.replace(/\D/g, '')}@s.whatsapp.net`, text },
        }),
      ),
    onSuccess: () => {
      setText('');
      void queryClient.invalidateQueries({ queryKey: ['messages', session.id] });
    },
  });
  return (
    <ActionForm class="send-form" onSubmit={() => send.mutate()}>
      <label>
        To (phone number or JID)
        <input name="chat" required value={chat} placeholder="15551234567" onInput={(event) => setChat(event.currentTarget.value)} />
      </label>
      <label>
        Message
        <textarea name="text" required maxLength={4096} rows={2} value={text} onInput={(event) => setText(event.currentTarget.value)} />
      </label>
      <button type="submit" disabled={send.isPending || session.status !== 'connected'}>
        Send
      </button>
      {session.status !== 'connected' ? <p class="muted">The session must be connected to send.</p> : null}
      {send.data ? <SendResultView title="Sent" result={send.data} /> : null}
      <ErrorText error={send.error} />
    </ActionForm>
  );
}

function Messages({ session }: { session: Session }) {
  const canSend = useCan('send');
  const messages = useQuery({
    queryKey: ['messages', session.id],
    queryFn: () => unwrap(client().GET('/api/v1/sessions/{session}/messages', { params: { path: { session: session.id }, query: { limit: 50 } } })),
  });
  const [lastRevoke, setLastRevoke] = useState<Schemas['SendResult'] | null>(null);
  const revoke = useMutation({
    mutationFn: (message: Message) =>
      unwrap(
        client().DELETE('/api/v1/sessions/{session}/messages/{mid}', {
          params: { path: { session: session.id, mid: message.id }, header: { 'Idempotency-Key': `dashboard-revoke-${message.id}` } },
          body: { chat: message.chat, ...(message.fromMe ? {} : message.sender ? { sender: message.sender } : {}) },
        }),
      ),
    onSuccess: (result) => {
      setLastRevoke(result);
      void queryClient.invalidateQueries({ queryKey: ['messages', session.id] });
    },
  });
  return (
    <Section title="Recent messages">
      {lastRevoke ? <SendResultView title="Revoked for everyone" result={lastRevoke} /> : null}
      <ErrorText error={revoke.error ?? messages.error} />
      {messages.data && messages.data.data.length === 0 ? <p class="muted">No messages yet.</p> : null}
      {messages.data && messages.data.data.length > 0 ? (
        <table>
          <TableHead columns={['When', 'Chat', 'From', 'Text', 'Status']} actions />
          <tbody>
            {messages.data.data.map((message) => (
              <tr key={`${message.chat}/${message.id}`} data-message={message.id} class={message.revokedAt ? 'revoked' : ''}>
                <td>
                  <Time iso={new Date(message.timestamp * 1000).toISOString()} />
                </td>
                <td>{message.chat}</td>
                <td>{message.fromMe ? 'me' : (message.sender ?? message.chat)}</td>
                <td>
                  {message.revokedAt ? <em>revoked <Time iso={message.revokedAt} /></em> : (message.text ?? <span class="muted">({message.type})</span>)}
                  {message.media ? <Attachment session={session.id} message={message} media={message.media} /> : null}
                </td>
                <td data-testid="message-ack">
                  <StatusBadge status={ACK_LABELS[message.ackName]} />
                </td>
                <td>
                  {canSend && message.fromMe && !message.revokedAt ? (
                    <button type="button" class="danger" disabled={revoke.isPending || session.status !== 'connected'} onClick={() => revoke.mutate(message)} aria-label={`Revoke for everyone: ${message.text ?? message.id}`}>
                      Revoke
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

/** Bytes as a person reads them. */
function sizeOf(bytes: number | null): string {
  if (bytes === null) return '';
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * A message's attachment: what it is, and a button that downloads it through the media endpoint (with
 * the tab's credentials, which a plain link could not carry) and saves it under its file name.
 */
function Attachment({ session, message, media }: { session: string; message: Message; media: NonNullable<Message['media']> }) {
  const download = useMutation({
    mutationFn: async () => {
      const { data, error, response } = await client().GET('/api/v1/sessions/{session}/messages/{mid}/media', {
        params: { path: { session, mid: message.id }, query: { chat: message.chat } },
        parseAs: 'blob',
      });
      if (error !== undefined || !response.ok || !(data instanceof Blob)) return unwrap(Promise.resolve({ data: undefined, error, response }));
      const url = URL.createObjectURL(data);
      const link = document.createElement('a');
      link.href = url;
      link.download = media.fileName ?? `${media.kind}-${message.id}`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      return undefined;
    },
  });
  const name = media.fileName ?? media.kind;
  return (
    <div class="attachment" data-testid="message-attachment">
      <span>
        📎 {name} <span class="muted">{[media.mimetype, sizeOf(media.size)].filter(Boolean).join(', ')}</span>
      </span>{' '}
      <button type="button" disabled={download.isPending} onClick={() => download.mutate()} aria-label={`Download ${name}`}>
        Download
      </button>
      <ErrorText error={download.error} />
    </div>
  );
}

/** A message's ack as a person says it: ours sent, delivered, read; someone else's delivered here, or read by us. */
const ACK_LABELS: Record<Schemas['Message']['ackName'], string> = { ERROR: 'failed', PENDING: 'pending', SERVER: 'sent', DEVICE: 'delivered', READ: 'read', PLAYED: 'played' };

export function SessionPage({ id }: { id: string }) {
  const session = useQuery({
    queryKey: ['session', id],
    queryFn: () => unwrap(client().GET('/api/v1/sessions/{session}', { params: { path: { session: id } } })),
  });
  const canSend = useCan('send');
  const canManage = useCan('sessions:manage');
  if (session.error) return <ErrorText error={session.error} />;
  if (!session.data) return <p class="muted">Loading…</p>;
  const current = session.data;
  return (
    <>
      <p>
        <a href={href('sessions')}>← Sessions</a>
      </p>
      <Section title={`Session ${current.name}`} actions={<SessionActions session={current} onDeleted={() => (location.hash = href('sessions'))} />}>
        <dl class="facts">
          <div>
            <dt>Status</dt>
            <dd data-testid="session-status">
              <StatusBadge status={current.status} />
            </dd>
          </div>
          <div>
            <dt>WhatsApp account</dt>
            <dd>{current.me ? `${current.me.pushName ?? ''} ${current.me.id}`.trim() : 'not linked'}</dd>
          </div>
          <div>
            <dt>Worker</dt>
            <dd>{current.worker ? `${current.worker.id} (epoch ${current.worker.epoch})` : '—'}</dd>
          </div>
          <div>
            <dt>Last error</dt>
            <dd>{current.lastError ?? '—'}</dd>
          </div>
          <div>
            <dt>Id</dt>
            <dd>
              <code>{current.id}</code>
            </dd>
          </div>
        </dl>
      </Section>
      {canManage && current.status === 'qr' ? <LinkPanel session={current} /> : null}
      {canSend ? (
        <Section title="Send a text">
          <SendForm session={current} />
        </Section>
      ) : null}
      <Messages session={current} />
    </>
  );
}
