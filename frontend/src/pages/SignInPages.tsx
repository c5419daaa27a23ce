/** The two pages outside the signed-in shell: the OAuth callback and "signed out". */
import { useRouter } from '@tanstack/react-router';
import { useEffect, useRef, useState } from 'react';

import { useServices } from '../app/context.js';
import { ErrorAlert } from '../components/ui.js';

export function CallbackPage() {
  const { session } = useServices();
  const router = useRouter();
  const [error, setError] = useState<unknown>(null);
  const started = useRef(false);

  useEffect(() => {
    // The code is single-use: React's development double effect must not redeem it twice.
    if (started.current) return;
    started.current = true;
    session
      .completeSignIn(new URLSearchParams(window.location.search))
      .then((returnTo) => router.history.replace(returnTo))
      .catch((failure: unknown) => setError(failure));
  }, [session, router]);

  return (
    <main id="main" className="mx-auto max-w-lg p-8">
      <h1>Signing in</h1>
      {error === null ? (
        <p role="status" className="muted">
          Completing the sign-in…
        </p>
      ) : (
        <>
          <ErrorAlert error={error} />
          <button type="button" className="btn btn-primary" onClick={() => void session.signIn('/')}>
            Sign in again
          </button>
        </>
      )}
    </main>
  );
}

export function SignedOutPage() {
  const { session } = useServices();
  return (
    <main id="main" className="mx-auto max-w-lg p-8">
      <h1>Signed out</h1>
      <p className="muted my-3">You have signed out of VaultPilot. Your session tokens were discarded.</p>
      <button type="button" className="btn btn-primary" onClick={() => void session.signIn('/')}>
        Sign in
      </button>
    </main>
  );
}
