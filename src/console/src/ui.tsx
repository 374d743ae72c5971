import type { ComponentChildren } from 'preact';
import type { Problem } from './api';

export function ProblemBox({ problem }: { problem: Problem | null }) {
  if (!problem) return null;
  return (
    <div class="problem" role="alert">
      <strong>{problem.title}</strong> <span class="detail">{problem.detail}</span>
      {problem.status ? (
        <span class="code">
          {' '}
          ({problem.status} {problem.code})
        </span>
      ) : null}
      {problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((e) => (
            <li key={e.path}>
              <code>{e.path}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A table's head row: one column header a name, in order. */
export function TableHead({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}

export function Button({
  busy,
  children,
  ...rest
}: {
  busy?: boolean;
  children: ComponentChildren;
  type?: 'submit' | 'button';
  onClick?: () => void;
  class?: string;
  disabled?: boolean;
}) {
  return (
    <button
      type={rest.type ?? 'submit'}
      class={rest.class}
      onClick={rest.onClick}
      disabled={busy || rest.disabled}
      aria-busy={busy ? 'true' : 'false'}
    >
      {busy && <span class="spinner" aria-hidden="true" />}
      {children}
      {busy && <span class="visually-hidden"> (working…)</span>}
    </button>
  );
}

export function money(amount: number, currency: string): string {
  const f = new Intl.NumberFormat('en', { style: 'currency', currency });
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(amount / 10 ** digits);
}

export const when = (iso: string) => new Date(iso).toLocaleString('en-GB', { timeZone: 'UTC' }) + ' UTC';
