import { isRefused, renewTokens, type OidcSettings, type SignInSettings, type Tokens } from './oidc';

/**
 * The signed-in tab: its tokens in session storage (this tab only, gone with it; never local storage,
 * never a cookie), renewed with the refresh token a while before the access token expires, one
 * renewal at a time. A renewal the provider refuses ends the session: the console returns to its
 * sign-in, and what was typed stays in the tab's drafts (drafts.ts).
 */
const KEY = 'order-api-console-session';
const listeners = new Set<() => void>();
let settings: SignInSettings = { sign_in: 'token' };
let renewing: Promise<string | null> | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
/** Why the last session ended (shown on the sign-in), if it did not end by signing out. */
let endedBecause: string | null = null;

export const session = {
  current(): Tokens | null {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as Tokens;
    } catch {
      return null;
    }
  },
  endedBecause: () => endedBecause,
  settings: () => settings,
  configure(s: SignInSettings) {
    settings = s;
    schedule();
  },
  /** A pasted token (no refresh token, no known expiry) or the tokens of a completed sign-in. */
  start(tokens: Tokens) {
    endedBecause = null;
    sessionStorage.setItem(KEY, JSON.stringify(tokens));
    schedule();
    notify();
  },
  end(reason: string | null) {
    endedBecause = reason;
    sessionStorage.removeItem(KEY);
    clearTimeout(timer);
    notify();
  },
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  },
};

/** The access token to send: renewed first when its renewal time has passed (a tab that slept). */
export async function accessToken(): Promise<string | null> {
  const tokens = session.current();
  if (!tokens) return null;
  if (tokens.renew_at !== null && Date.now() >= tokens.renew_at && tokens.refresh_token)
    return renew(tokens.access_token);
  return tokens.access_token;
}

/**
 * Renews the access token once, whoever asks (the timer, a request that met a 401): everyone waits
 * for the same renewal. `stale` is the token the caller found wanting; if another renewal has
 * already replaced it, that newer token is the answer. Null when the session is over.
 */
export function renew(stale: string): Promise<string | null> {
  const tokens = session.current();
  if (!tokens) return Promise.resolve(null);
  if (tokens.access_token !== stale) return Promise.resolve(tokens.access_token);
  if (!tokens.refresh_token || settings.sign_in !== 'oidc') return Promise.resolve(null);
  renewing ??= renewTokens(settings as OidcSettings, tokens)
    .then(
      (fresh) => {
        session.start(fresh);
        return fresh.access_token;
      },
      (err: unknown) => {
        // Refused: signing in again is the only way. Unreachable: the token may still serve a while.
        if (isRefused(err) || (tokens.expires_at !== null && Date.now() >= tokens.expires_at)) {
          session.end('Your session has ended: sign in again. What you typed is kept.');
          return null;
        }
        retryLater();
        return tokens.access_token;
      },
    )
    .finally(() => (renewing = null));
  return renewing;
}

function schedule() {
  clearTimeout(timer);
  const tokens = session.current();
  if (!tokens?.refresh_token || tokens.renew_at === null || settings.sign_in !== 'oidc') return;
  timer = setTimeout(() => void renew(tokens.access_token), Math.max(0, tokens.renew_at - Date.now()));
}

function retryLater() {
  clearTimeout(timer);
  const tokens = session.current();
  if (tokens) timer = setTimeout(() => void renew(tokens.access_token), 5_000);
}

function notify() {
  for (const l of listeners) l();
}
