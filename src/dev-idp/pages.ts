export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A little style, inline: the service-wide CSP (helmet's) allows inline styles, never inline scripts. */
const STYLE =
  'body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1a1a1a;margin:0}main{max-width:28rem;margin:3rem auto;background:#fff;' +
  'border:1px solid #d0d4da;border-radius:6px;padding:1.5rem}h1{font-size:1.3rem;margin-top:0}input[type=text],input:not([type]){width:100%;' +
  'box-sizing:border-box;padding:.4rem;font:inherit}button{font:inherit;padding:.4rem 1rem;background:#1d3557;color:#fff;border:0;border-radius:4px}' +
  '[role=alert]{color:#a4161a}.dev{font-size:.9rem;color:#555}';

/** A page of the development provider: plain HTML, no script. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)} — development sign-in</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

/** The sign-in form: any user name, and whether the person is an admin. Works without JavaScript. */
export function signInPage(uid: string, opts: { clientName: string; problem?: string; username?: string }): string {
  const action = `/dev-idp/interaction/${encodeURIComponent(uid)}/login`;
  return htmlPage(
    'Sign in',
    `<h1>Sign in to ${escape(opts.clientName)}</h1>
<p class="dev">This is the service's <strong>development</strong> identity provider: any user name signs in. It does not exist in production.</p>
${opts.problem ? `<p role="alert">${escape(opts.problem)}</p>` : ''}
<form method="post" action="${escape(action)}">
<p><label for="username">User name</label><br><input id="username" name="username" required maxlength="100" autocomplete="username" autofocus value="${escape(opts.username ?? '')}"></p>
<p><input id="admin" name="admin" type="checkbox" value="yes" checked> <label for="admin">Admin (support staff)</label></p>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

/** The sign-in form of an interaction that is over or was never ours (no cookie, another uid). */
export function expiredPage(): string {
  return htmlPage(
    'Sign-in expired',
    '<h1>This sign-in has expired</h1><p><a href="/admin">Start again from the console</a>.</p>',
  );
}
