import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'preact/hooks';
import { client, queryClient, unwrap, useCan, type Schemas } from '../api';
import { href } from '../router';
import { ActionForm, ConfirmButton, ErrorText, Section, StatusBadge, Time, TableHead } from '../ui';

type Session = Schemas['Session'];

export function useSessions() {
  return useQuery({ queryKey: ['sessions'], queryFn: () => unwrap(client().GET('/api/v1/sessions', { params: { query: { limit: 100 } } })) });
}

/** Start, stop, log out and delete, as buttons; what the caller may not do is not offered. */
export function SessionActions({ session, onDeleted }: { session: Session; onDeleted?: () => void }) {
  const canManage = useCan('sessions:manage');
  const act = useMutation({
    mutationFn: async (action: 'start' | 'stop' | 'logout' | 'delete') => {
      const path = { params: { path: { session: session.id } } };
      if (action === 'delete') return unwrap(client().DELETE('/api/v1/sessions/{session}', path));
      if (action === 'start') return unwrap(client().POST('/api/v1/sessions/{session}/start', path));
      if (action === 'stop') return unwrap(client().POST('/api/v1/sessions/{session}/stop', path));
      return unwrap(client().POST('/api/v1/sessions/{session}/logout', path));
    },
    onSuccess: (_result, action) => {
      void queryClient.invalidateQueries({ queryKey: ['sessions'] });
      void queryClient.invalidateQueries({ queryKey: ['session', session.id] });
      if (action === 'delete') onDeleted?.();
    },
  });
  if (!canManage) return null;
  const running = session.status !== 'stopped' && session.status !== 'logged_out';
  return (
    <div class="actions" aria-label={`actions for ${session.name}`}>
      {running ? (
        <button type="button" disabled={act.isPending} onClick={() => act.mutate('stop')}>
          Stop
        </button>
      ) : (
        <button type="button" disabled={act.isPending} onClick={() => act.mutate('start')}>
          Start
        </button>
      )}
      {session.me ? <ConfirmButton label="Log out" question="Unlink this WhatsApp account?" disabled={act.isPending} onConfirm={() => act.mutate('logout')} /> : null}
      <ConfirmButton label="Delete" question={`Delete session ${session.name}?`} disabled={act.isPending} onConfirm={() => act.mutate('delete')} />
      <ErrorText error={act.error} />
    </div>
  );
}

function CreateSession() {
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => unwrap(client().POST('/api/v1/sessions', { body: { name, start: true } })),
    onSuccess: (session) => {
      setName('');
      void queryClient.invalidateQueries({ queryKey: ['sessions'] });
      location.hash = href('sessions', session.id);
    },
  });
  return (
    <ActionForm class="inline-form" onSubmit={() => create.mutate()}>
      <label>
        New session
        <input name="name" required maxLength={100} value={name} placeholder="e.g. support" onInput={(event) => setName(event.currentTarget.value)} />
      </label>
      <button type="submit" disabled={create.isPending || name.trim() === ''}>
        Create and link
      </button>
      <ErrorText error={create.error} />
    </ActionForm>
  );
}

export function SessionsPage() {
  const sessions = useSessions();
  const canManage = useCan('sessions:manage');
  return (
    <Section title="Sessions">
      {canManage ? <CreateSession /> : null}
      <ErrorText error={sessions.error} />
      {sessions.data && sessions.data.data.length === 0 ? <p class="muted">No sessions yet: create one and scan its QR with WhatsApp.</p> : null}
      {sessions.data && sessions.data.data.length > 0 ? (
        <table>
          <TableHead columns={['Name', 'Status', 'WhatsApp account', 'Worker', 'Last connected']} actions />
          <tbody>
            {sessions.data.data.map((session) => (
              <tr key={session.id} data-session={session.id}>
                <td>
                  <a href={href('sessions', session.id)}>{session.name}</a>
                </td>
                <td>
                  <StatusBadge status={session.status} />
                </td>
                <td>{session.me ? `${session.me.pushName || ''} ${session.me.id}`.trim() : <span class="muted">not linked</span>}</td>
                <td>{session.worker?.id ?? <span class="muted">—</span>}</td>
                <td>
                  <Time iso={session.lastConnectedAt} />
                </td>
                <td>
                  <SessionActions session={session} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}
