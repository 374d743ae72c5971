import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, Problem, token } from './api';
import { OrderView } from './order-view';
import { OutboxView } from './outbox-view';
import { SearchView } from './search-view';
import { Button, ProblemBox } from './ui';

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

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setProblem(null);
    token.set(value.trim());
    try {
      await api('GET', '/api/admin/orders?limit=1'); // the token must be valid and an admin's
      onSignedIn();
    } catch (err) {
      token.clear();
      setProblem(err as Problem);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card signin" onSubmit={submit}>
      <h2>Sign in</h2>
      <p>Paste an admin bearer token. It is kept in this tab only (session storage) and sent only to this service.</p>
      <label for="token">Bearer token</label>
      <textarea id="token" rows={4} value={value} onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)} required autocomplete="off" spellcheck={false} />
      <Button busy={busy}>Sign in</Button>
      <ProblemBox problem={problem} />
    </form>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(!!token.get());
  const route = useRoute();
  const signOut = () => {
    token.clear();
    setSignedIn(false);
  };
  const order = /^\/orders\/([^/?]+)/.exec(route);
  return (
    <>
      <header>
        <h1>
          <a href="#/">Support console</a>
        </h1>
        {signedIn && (
          <nav aria-label="Main">
            <a href="#/">Search orders</a>
            <a href="#/outbox">Dead messages</a>
            <button type="button" class="link" onClick={signOut}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main>
        {!signedIn ? (
          <SignIn onSignedIn={() => setSignedIn(true)} />
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

render(<App />, document.getElementById('app')!);
