import { useEffect, useState } from 'preact/hooks';
import { api, Problem } from './api';
import { useAction } from './action';
import type { OutboxItem, Page } from './types';
import { Button, ProblemBox, TableHead, when } from './ui';

function RetryButton({ m, onDone }: { m: OutboxItem; onDone: () => void }) {
  const retry = useAction(async () => {
    await api('POST', `/api/admin/outbox/${m.id}/retry`);
    onDone();
  });
  return (
    <>
      <Button type="button" busy={retry.busy} onClick={() => void retry.start()}>
        Retry{' '}
        <span class="visually-hidden">
          {m.topic} {m.id}
        </span>
      </Button>
      <ProblemBox problem={retry.problem} />
    </>
  );
}

/** Messages the relay gave up on, and a retry for each. */
export function OutboxView() {
  const [page, setPage] = useState<Page<OutboxItem> | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const load = () => {
    setProblem(null);
    api<Page<OutboxItem>>('GET', '/api/admin/outbox?status=dead&limit=100').then(setPage, setProblem);
  };
  useEffect(load, []);
  return (
    <section aria-labelledby="outbox-h">
      <h2 id="outbox-h">Dead outbox messages</h2>
      <ProblemBox problem={problem} />
      {page && page.items.length === 0 && (
        <p class="card">No dead message: every email and event was delivered or is still being tried.</p>
      )}
      {page && page.items.length > 0 && (
        <table class="card">
          <TableHead columns={['Message', 'Created', 'Attempts', 'Last error', 'Action']} />
          <tbody>
            {page.items.map((m) => (
              <tr key={m.id}>
                <td>
                  {m.kind} <code>{m.topic}</code>
                </td>
                <td>{when(m.created_at)}</td>
                <td>{m.attempts}</td>
                <td>{m.last_error ?? '—'}</td>
                <td>
                  <RetryButton m={m} onDone={load} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
