import { useRef, useState } from 'preact/hooks';
import { newKey, Problem } from './api';

/**
 * One user intent (a refund, a status change…): while it runs the button is disabled and a second
 * click does nothing; its Idempotency-Key is made once and reused when the same intent is retried
 * after a failure, and dropped once it succeeded (the next click is a new intent).
 */
export function useAction<A extends unknown[]>(run: (key: string, ...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const inFlight = useRef(false);
  const key = useRef<string | null>(null);
  const start = async (...args: A) => {
    if (inFlight.current) return; // a double click: the state update may not have disabled the button yet
    inFlight.current = true;
    setBusy(true);
    setProblem(null);
    key.current ??= newKey();
    try {
      await run(key.current, ...args);
      key.current = null;
    } catch (err) {
      setProblem(err instanceof Problem ? err : new Problem(0, 'Error', String(err), 'client_error'));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };
  /** The inputs changed: what is sent next is another intent. */
  const reset = () => {
    if (!inFlight.current) key.current = null;
  };
  return { busy, problem, start, reset };
}
