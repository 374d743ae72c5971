import { useState } from 'preact/hooks';
import { api, Problem } from './api';
import { startSignIn, type OidcSettings, type SignInSettings } from './oidc';
import { session } from './session';
import { Button, ProblemBox } from './ui';

/** Sign in with the identity provider, the one the service names in /admin/config.json. */
function ProviderSignIn({ settings }: { settings: OidcSettings }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const here = new URL(settings.redirect_uri).origin === location.origin;
  const go = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await startSignIn(settings, location.hash);
    } catch (err) {
      setProblem(
        new Problem(
          0,
          'Sign-in unavailable',
          `The identity provider did not answer (${(err as Error).message}).`,
          'sign_in_failed',
        ),
      );
      setBusy(false);
    }
  };
  const provider = new URL(settings.issuer);
  return (
    <form class="card signin" onSubmit={go}>
      <h2>Sign in</h2>
      {here ? (
        <>
          <p>
            With your account at <strong>{provider.host + provider.pathname.replace(/\/$/, '')}</strong>. Your session
            renews by itself while this tab is open.
          </p>
          <Button busy={busy}>Sign in with the identity provider</Button>
        </>
      ) : (
        <p>
          Sign-in through the identity provider works at <a href={settings.redirect_uri}>{settings.redirect_uri}</a>,
          the address it sends you back to.
        </p>
      )}
      <ProblemBox problem={problem} />
    </form>
  );
}

/** A pasted bearer token (`npm run token`, or one from elsewhere): checked, then kept for this tab only. */
function TokenSignIn() {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setProblem(null);
    const token = value.trim();
    try {
      await api('GET', '/api/admin/orders?limit=1', undefined, { authorization: `Bearer ${token}` }); // valid and an admin's
      session.start({
        access_token: token,
        refresh_token: null,
        id_token: null,
        expires_at: null,
        renew_at: null,
        name: 'a pasted token',
      });
    } catch (err) {
      setProblem(err as Problem);
      setBusy(false);
    }
  };
  return (
    <form class="card signin" onSubmit={submit}>
      <h2>Paste a token</h2>
      <p>
        Or paste an admin bearer token. It is kept in this tab only (session storage) and sent only to this service.
      </p>
      <label for="token">Bearer token</label>
      <textarea
        id="token"
        rows={4}
        value={value}
        onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)}
        required
        autocomplete="off"
        spellcheck={false}
      />
      <Button busy={busy}>Sign in</Button>
      <ProblemBox problem={problem} />
    </form>
  );
}

export function SignIn({
  settings,
  problem,
  ended,
}: {
  settings: SignInSettings;
  problem: Problem | null;
  ended: string | null;
}) {
  return (
    <>
      {ended && (
        <p class="notice" role="status">
          {ended}
        </p>
      )}
      <ProblemBox problem={problem} />
      {settings.sign_in === 'oidc' && <ProviderSignIn settings={settings} />}
      <TokenSignIn />
    </>
  );
}
