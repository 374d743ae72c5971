/**
 * Stripe's v1 wire format: application/x-www-form-urlencoded with bracketed
 * keys (`metadata[transaction_id]=…`, `expand[0]=…`). Parsed into nested
 * objects the way Stripe's servers read it; every leaf stays a string.
 */
type FormValue = string | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

export function parseForm(body: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.split(/[[\]]+/).filter((part, i) => part !== '' || i === 0);
    let node = root;
    path.forEach((part, i) => {
      const name = part === '' ? String(Object.keys(node).length) : part;
      if (i === path.length - 1) node[name] = value;
      else node = (node[name] ??= {}) as FormObject;
    });
  }
  return root;
}

export function str(form: FormObject, key: string): string | undefined {
  const v = form[key];
  return typeof v === 'string' ? v : undefined;
}

export function obj(form: FormObject, key: string): FormObject {
  const v = form[key];
  return typeof v === 'object' ? v : {};
}
