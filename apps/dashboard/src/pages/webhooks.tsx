import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'preact/hooks';
import { client, queryClient, unwrap, type Schemas } from '../api';
import { href } from '../router';
import { ActionForm, ConfirmButton, ErrorText, SecretOnce, Section, StatusBadge, Time, TableHead } from '../ui';

type Endpoint = Schemas['WebhookEndpoint'];
type EventType = Schemas['CreateWebhookEndpointRequest']['events'][number];
const EVENT_TYPES: EventType[] = ['message.revoked', 'message.received', 'message.ack', 'message.reaction', 'message.edited', 'session.status'];

function EventChoice({ chosen, onChange }: { chosen: EventType[]; onChange: (events: EventType[]) => void }) {
  return (
    <fieldset>
      <legend>Events</legend>
      {EVENT_TYPES.map((type) => (
        <label key={type} class="check">
          <input type="checkbox" name="events" value={type} checked={chosen.includes(type)} onChange={(event) => onChange(event.currentTarget.checked ? [...chosen, type] : chosen.filter((other) => other !== type))} />
          {type}
        </label>
      ))}
    </fieldset>
  );
}

const sessionList = (text: string): string[] => text.split(/[\s,]+/).filter((part) => part.length > 0);

function CreateEndpoint() {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<EventType[]>([...EVENT_TYPES]);
  const [sessions, setSessions] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation({
    mutationFn: () => unwrap(client().POST('/api/v1/webhooks', { body: { url, events, sessions: sessionList(sessions), ...(description ? { description } : {}) } })),
    onSuccess: () => {
      setUrl('');
      void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
    },
  });
  return (
    <ActionForm class="stacked-form" onSubmit={() => create.mutate()}>
      <label>
        URL (https)
        <input name="url" type="url" required value={url} onInput={(event) => setUrl(event.currentTarget.value)} />
      </label>
      <EventChoice chosen={events} onChange={setEvents} />
      <label>
        Only these session ids (empty: all)
        <input name="sessions" value={sessions} onInput={(event) => setSessions(event.currentTarget.value)} />
      </label>
      <label>
        Description
        <input name="description" maxLength={200} value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
      </label>
      <button type="submit" disabled={create.isPending || events.length === 0}>
        Add endpoint
      </button>
      {create.data ? <SecretOnce label="Signing secret:" value={create.data.secret} /> : null}
      <ErrorText error={create.error} />
    </ActionForm>
  );
}

export function WebhooksPage() {
  const endpoints = useQuery({ queryKey: ['webhooks'], queryFn: () => unwrap(client().GET('/api/v1/webhooks')) });
  return (
    <>
      <Section title="Webhook endpoints">
        <ErrorText error={endpoints.error} />
        {endpoints.data && endpoints.data.data.length === 0 ? <p class="muted">No endpoints yet.</p> : null}
        {endpoints.data && endpoints.data.data.length > 0 ? (
          <table>
            <TableHead columns={['URL', 'Events', 'State']} />
            <tbody>
              {endpoints.data.data.map((endpoint) => (
                <tr key={endpoint.id}>
                  <td>
                    <a href={href('webhooks', endpoint.id)}>{endpoint.url}</a>
                  </td>
                  <td>{endpoint.events.join(', ')}</td>
                  <td>{endpoint.enabled ? <StatusBadge status="enabled" /> : <span><StatusBadge status="disabled" /> {endpoint.disabledReason}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
      <Section title="New endpoint">
        <CreateEndpoint />
      </Section>
    </>
  );
}

function EndpointSettings({ endpoint }: { endpoint: Endpoint }) {
  const [events, setEvents] = useState<EventType[]>(endpoint.events as EventType[]);
  const [sessions, setSessions] = useState(endpoint.sessions.join(', '));
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
    void queryClient.invalidateQueries({ queryKey: ['webhook', endpoint.id] });
  };
  const path = { params: { path: { webhook: endpoint.id } } };
  const update = useMutation({ mutationFn: (body: Schemas['UpdateWebhookEndpointRequest']) => unwrap(client().PATCH('/api/v1/webhooks/{webhook}', { ...path, body })), onSuccess: refresh });
  const rotate = useMutation({ mutationFn: () => unwrap(client().POST('/api/v1/webhooks/{webhook}/rotate-secret', path)), onSuccess: refresh });
  const ping = useMutation({ mutationFn: () => unwrap(client().POST('/api/v1/webhooks/{webhook}/test', path)), onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['deliveries', endpoint.id] }) });
  const remove = useMutation({ mutationFn: () => unwrap(client().DELETE('/api/v1/webhooks/{webhook}', path)), onSuccess: () => ((location.hash = href('webhooks')), refresh()) });
  return (
    <>
      <dl class="facts">
        <div>
          <dt>State</dt>
          <dd>{endpoint.enabled ? 'enabled' : `disabled${endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ''}`}</dd>
        </div>
        <div>
          <dt>Failing since</dt>
          <dd>
            <Time iso={endpoint.failingSince} />
          </dd>
        </div>
      </dl>
      <ActionForm class="stacked-form" onSubmit={() => update.mutate({ events, sessions: sessionList(sessions) })}>
        <EventChoice chosen={events} onChange={setEvents} />
        <label>
          Only these session ids (empty: all)
          <input name="sessions" value={sessions} onInput={(event) => setSessions(event.currentTarget.value)} />
        </label>
        <button type="submit" disabled={update.isPending || events.length === 0}>
          Save
        </button>
      </ActionForm>
      <div class="actions">
        <button type="button" onClick={() => update.mutate({ enabled: !endpoint.enabled })}>
          {endpoint.enabled ? 'Disable' : 'Enable'}
        </button>
        <button type="button" onClick={() => ping.mutate()}>
          Send a test ping
        </button>
        <ConfirmButton label="Rotate secret" question="Issue a new signing secret? The old one keeps signing for a grace period." onConfirm={() => rotate.mutate()} />
        <ConfirmButton label="Delete" question="Delete this endpoint?" onConfirm={() => remove.mutate()} />
      </div>
      {rotate.data ? <SecretOnce label="New signing secret:" value={rotate.data.secret} /> : null}
      <ErrorText error={update.error ?? rotate.error ?? ping.error ?? remove.error} />
    </>
  );
}

function Deliveries({ endpoint }: { endpoint: Endpoint }) {
  const deliveries = useQuery({
    queryKey: ['deliveries', endpoint.id],
    queryFn: () => unwrap(client().GET('/api/v1/webhooks/{webhook}/deliveries', { params: { path: { webhook: endpoint.id }, query: { limit: 50 } } })),
    // Attempts and retries move on without an event of their own.
    refetchInterval: 3_000,
  });
  const replay = useMutation({
    mutationFn: (delivery: string) => unwrap(client().POST('/api/v1/webhooks/{webhook}/deliveries/{delivery}/replay', { params: { path: { webhook: endpoint.id, delivery } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['deliveries', endpoint.id] }),
  });
  return (
    <Section title="Deliveries">
      <ErrorText error={deliveries.error ?? replay.error} />
      {deliveries.data && deliveries.data.data.length === 0 ? <p class="muted">No deliveries yet.</p> : null}
      {deliveries.data && deliveries.data.data.length > 0 ? (
        <table>
          <TableHead columns={['Event', 'Status', 'Attempts', 'Last code', 'Latency', 'Next attempt', 'Error']} actions />
          <tbody>
            {deliveries.data.data.map((delivery) => (
              <tr key={delivery.id} data-delivery={delivery.id} data-event={delivery.event}>
                <td>{delivery.event}</td>
                <td>
                  <StatusBadge status={delivery.status} />
                </td>
                <td>{delivery.attempts}</td>
                <td>{delivery.lastStatusCode ?? '—'}</td>
                <td>{delivery.lastLatencyMs === null ? '—' : `${delivery.lastLatencyMs} ms`}</td>
                <td>
                  <Time iso={delivery.nextAttemptAt} />
                </td>
                <td>{delivery.lastError ?? ''}</td>
                <td>
                  {delivery.status !== 'pending' ? (
                    <button type="button" disabled={replay.isPending} onClick={() => replay.mutate(delivery.id)} aria-label={`Replay delivery of ${delivery.event}`}>
                      Replay
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

export function WebhookPage({ id }: { id: string }) {
  const endpoint = useQuery({ queryKey: ['webhook', id], queryFn: () => unwrap(client().GET('/api/v1/webhooks/{webhook}', { params: { path: { webhook: id } } })) });
  if (endpoint.error) return <ErrorText error={endpoint.error} />;
  if (!endpoint.data) return <p class="muted">Loading…</p>;
  return (
    <>
      <p>
        <a href={href('webhooks')}>← Webhooks</a>
      </p>
      <Section title={`Endpoint ${endpoint.data.url}`}>
        <EndpointSettings key={endpoint.data.id} endpoint={endpoint.data} />
      </Section>
      <Deliveries endpoint={endpoint.data} />
    </>
  );
}
