import { useQuery } from '@tanstack/react-query';
import { useState } from 'preact/hooks';
import { client, unwrap } from '../api';
import { ErrorText, Section, Time, TableHead } from '../ui';

export function AuditPage() {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const page = useQuery({
    queryKey: ['audit', cursor],
    queryFn: () => unwrap(client().GET('/api/v1/org/audit-log', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } })),
  });
  return (
    <Section title="Audit log">
      <ErrorText error={page.error} />
      {page.data ? (
        <>
          <table>
            <TableHead columns={['When', 'Who', 'Did', 'To']} />
            <tbody>
              {page.data.data.map((entry) => (
                <tr key={entry.id}>
                  <td>
                    <Time iso={entry.createdAt} />
                  </td>
                  <td>{Object.values(entry.actor).join(' ')}</td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td>{Object.values(entry.target).filter((part) => part !== null).join(' ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="audit log pages">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              Newer
            </button>
            <button type="button" disabled={!page.data.nextCursor} onClick={() => page.data.nextCursor && setCursors([...cursors, page.data.nextCursor])}>
              Older
            </button>
          </nav>
        </>
      ) : null}
    </Section>
  );
}
