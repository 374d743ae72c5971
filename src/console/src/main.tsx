import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Problem } from './api';
import { completeSignIn, isCallback, signOutUrl, type OidcSettings, type SignInSettings } from './oidc';
import { OrderView } from './order-view';
import { OutboxView } from './outbox-view';
import { SearchView } from './search-view';
import { session } from './session';
import { SignIn } from './sign-in';

/** Hash routes: #/ (search), #/orders/<id>, #/outbox. */
function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#/, '') || '/';
}

/** Re-renders on every change of the session (signed in, renewed, ended). */
function useSession() {
  const [, setTick] = useState(0);
  useEffect(() => session.subscribe(() => setTick((n) => n + 1)), []);
  return session.current();
}

const time = (ms: number) => new Date(ms).toLocaleTimeString('en-GB');

/**
 * Signing out clears the tab (tokens and drafts), then leaves through the provider's end-session
 * endpoint when it has one, or reloads the console.
 */
async function signOut() {
  const settings = session.settings();
  const tokens = session.current();
  const url = settings.sign_in === 'oidc' ? await signOutUrl(settings, tokens) : null;
  sessionStorage.clear();
  location.assign(url ?? `${location.pathname}`);
}

function App({ settings, startProblem }: { settings: SignInSettings; startProblem: Problem | null }) {
  const tokens = useSession();
  const route = useRoute();
  const order = /^\/orders\/([^/?]+)/.exec(route);
  return (
    <>
      <header>
        <h1>
          <a href="#/">Support console</a>
        </h1>
        {tokens && (
          <nav aria-label="Main">
            <a href="#/">Search orders</a>
            <a href="#/outbox">Dead messages</a>
            <span class="who" data-testid="who">
              Signed in as <strong>{tokens.name}</strong>
              {tokens.renew_at !== null && (
                <span data-testid="renews"> · session renews at {time(tokens.renew_at)}</span>
              )}
            </span>
            <button type="button" class="link" onClick={() => void signOut()}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main>
        {!tokens ? (
          <SignIn settings={settings} problem={startProblem} ended={session.endedBecause()} />
        ) : order?.[1] ? (
          <OrderView id={decodeURIComponent(order[1])} />
        ) : route.startsWith('/outbox') ? (
          <OutboxView />
        ) : (
          <SearchView />
        )}
      </main>
    </>
  );
}

async function start() {
  let settings: SignInSettings = { sign_in: 'token' };
  let startProblem: Problem | null = null;
  try {
    const res = await fetch('/admin/config.json', { headers: { accept: 'application/json' } });
    if (res.ok) settings = (await res.json()) as SignInSettings;
  } catch {
    /* the service is unreachable: token pasting, which shows the problem on use */
  }
  session.configure(settings);
  if (settings.sign_in === 'oidc' && isCallback()) {
    try {
      const { tokens, returnTo } = await completeSignIn(settings as OidcSettings);
      session.start(tokens);
      if (returnTo) location.hash = returnTo;
    } catch (err) {
      startProblem = new Problem(0, 'Sign-in failed', (err as Error).message, 'sign_in_failed');
    }
  }
  render(<App settings={settings} startProblem={startProblem} />, document.getElementById('app')!);
}

void start();
