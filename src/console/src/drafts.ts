import { useState } from 'preact/hooks';

/**
 * A form field's value kept in the tab's session storage as it is typed, so that a sign-in in the
 * middle of the work (a session that could not be renewed) loses nothing: back from the provider,
 * the same form shows the same text. Emptying the field (a sent action resets it) drops the draft;
 * signing out clears the tab's storage, drafts included.
 */
const PREFIX = 'order-api-console-draft:';

export function useDraft<T>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => {
    const saved = sessionStorage.getItem(PREFIX + key);
    return saved === null ? initial : (JSON.parse(saved) as T);
  });
  const set = (next: T) => {
    setValue(next);
    if (JSON.stringify(next) === JSON.stringify(initial)) sessionStorage.removeItem(PREFIX + key);
    else sessionStorage.setItem(PREFIX + key, JSON.stringify(next));
  };
  return [value, set];
}
