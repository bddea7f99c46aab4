import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'preact/hooks';
import { client, queryClient, unwrap, useOrganization, type Schemas } from '../api';
import { ActionForm, ConfirmButton, ErrorText, SecretOnce, Section, Time, TableHead } from '../ui';

type Capability = Schemas['CreateApiKeyRequest']['capabilities'][number];

function CreateKey({ held }: { held: readonly Capability[] }) {
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<Capability[]>(['send', 'read'].filter((capability): capability is Capability => held.includes(capability as Capability)));
  const create = useMutation({
    mutationFn: () => unwrap(client().POST('/api/v1/org/api-keys', { body: { name, capabilities: chosen } })),
    onSuccess: () => {
      setName('');
      void queryClient.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  return (
    <ActionForm class="stacked-form" onSubmit={() => create.mutate()}>
      <label>
        Name
        <input name="name" required maxLength={100} value={name} onInput={(event) => setName(event.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>Capabilities (only those you hold)</legend>
        {held.map((capability) => (
          <label key={capability} class="check">
            <input
              type="checkbox"
              name="capabilities"
              value={capability}
              checked={chosen.includes(capability)}
              onChange={(event) => setChosen(event.currentTarget.checked ? [...chosen, capability] : chosen.filter((other) => other !== capability))}
            />
            {capability}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={create.isPending || name.trim() === '' || chosen.length === 0}>
        Create key
      </button>
      {create.data ? <SecretOnce label={`Key "${create.data.name}":`} value={create.data.key} /> : null}
      <ErrorText error={create.error} />
    </ActionForm>
  );
}

export function KeysPage() {
  const org = useOrganization();
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => unwrap(client().GET('/api/v1/org/api-keys', { params: { query: { limit: 100 } } })) });
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(client().DELETE('/api/v1/org/api-keys/{key}', { params: { path: { key: id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['api-keys'] }),
  });
  const held = (org.data?.caller.capabilities ?? []) as Capability[];
  return (
    <>
      <Section title="New API key">
        <CreateKey held={held} />
      </Section>
      <Section title="API keys">
        <ErrorText error={keys.error ?? revoke.error} />
        {keys.data ? (
          <table>
            <TableHead columns={['Name', 'Prefix', 'Capabilities', 'Created', 'Last used', 'Expires']} actions />
            <tbody>
              {keys.data.data.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}</code>
                  </td>
                  <td>{key.capabilities.join(', ')}</td>
                  <td>
                    <Time iso={key.createdAt} />
                  </td>
                  <td>
                    <Time iso={key.lastUsedAt} />
                  </td>
                  <td>
                    <Time iso={key.expiresAt} />
                  </td>
                  <td>{org.data?.caller.kind === 'api_key' && org.data.caller.subject === key.id ? <span class="muted">this key</span> : <ConfirmButton label="Revoke" question={`Revoke key ${key.name}?`} onConfirm={() => revoke.mutate(key.id)} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
    </>
  );
}
