import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { client, unwrap, type Schemas } from '../api';
import { ErrorText, Section } from '../ui';

type UsageDay = Schemas['UsageDay'];
type Series = { label: string; field: keyof Omit<UsageDay, 'date'>; stroke: string };

const MESSAGE_SERIES: Series[] = [
  { label: 'sent', field: 'messagesSent', stroke: '#1f6feb' },
  { label: 'received', field: 'messagesReceived', stroke: '#2da44e' },
  { label: 'revoked', field: 'messagesRevoked', stroke: '#cf222e' },
];
const DELIVERY_SERIES: Series[] = [
  { label: 'delivered', field: 'deliveriesDelivered', stroke: '#2da44e' },
  { label: 'failed', field: 'deliveriesFailed', stroke: '#bf8700' },
  { label: 'exhausted', field: 'deliveriesExhausted', stroke: '#cf222e' },
];

/** A daily chart (uPlot: small, canvas-drawn); the same numbers follow in a table for screen readers. */
function DailyChart({ title, days, series }: { title: string; days: UsageDay[]; series: Series[] }) {
  const target = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!target.current) return;
    const data: uPlot.AlignedData = [days.map((day) => Date.parse(`${day.date}T00:00:00Z`) / 1000), ...series.map((line) => days.map((day) => day[line.field]))];
    const chart = new uPlot(
      {
        width: Math.min(900, target.current.clientWidth || 900),
        height: 220,
        series: [{}, ...series.map((line) => ({ label: line.label, stroke: line.stroke, width: 2, points: { show: true } }))],
        axes: [{}, { label: 'per day' }],
        scales: { y: { range: (_chart, _min, max) => [0, Math.max(4, max)] } },
      },
      data,
      target.current,
    );
    return () => chart.destroy();
  }, [days, series]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={target} role="img" aria-label={`${title}, per day: see the table below`} />
      <details>
        <summary>{title} as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {series.map((line) => (
                <th scope="col" key={line.field}>
                  {line.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {days.map((day) => (
              <tr key={day.date}>
                <td>{day.date}</td>
                {series.map((line) => (
                  <td key={line.field}>{day[line.field]}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

export function UsagePage() {
  const usage = useQuery({ queryKey: ['usage'], queryFn: () => unwrap(client().GET('/api/v1/org/usage')) });
  return (
    <Section title="Usage, last 30 days (UTC)">
      <ErrorText error={usage.error} />
      {usage.data ? (
        <>
          <DailyChart title="Messages" days={usage.data.data} series={MESSAGE_SERIES} />
          <DailyChart title="Webhook deliveries" days={usage.data.data} series={DELIVERY_SERIES} />
        </>
      ) : null}
    </Section>
  );
}
