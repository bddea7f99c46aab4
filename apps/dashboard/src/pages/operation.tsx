import { useMutation } from '@tanstack/react-query';
import { useState } from 'preact/hooks';
import { client, unwrap } from '../api';
import { ActionForm, ErrorText, Section, Time } from '../ui';

/** What became of a send or revoke answered 202 or 504: looked up by its `outboxId`. */
export function OperationPage() {
  const [id, setId] = useState('');
  const lookup = useMutation({ mutationFn: () => unwrap(client().GET('/api/v1/operations/{operation}', { params: { path: { operation: id.trim() } } })) });
  return (
    <Section title="Look up an operation">
      <ActionForm class="inline-form" onSubmit={() => lookup.mutate()}>
        <label>
          outboxId
          <input name="outboxId" required value={id} onInput={(event) => setId(event.currentTarget.value)} />
        </label>
        <button type="submit">Look up</button>
      </ActionForm>
      <ErrorText error={lookup.error} />
      {lookup.data ? (
        <div role="status">
          <dl class="facts">
            {(
              [
                ['Kind', lookup.data.kind],
                ['Status', lookup.data.status],
                ['Session', <code>{lookup.data.session}</code>],
                ['Created', <Time iso={lookup.data.createdAt} />],
                ['Completed', <Time iso={lookup.data.completedAt} />],
                ['Result', <code>{lookup.data.result ? JSON.stringify(lookup.data.result) : '—'}</code>],
              ] as const
            ).map(([term, value]) => (
              <div key={term}>
                <dt>{term}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        </div>
      ) : null}
    </Section>
  );
}
