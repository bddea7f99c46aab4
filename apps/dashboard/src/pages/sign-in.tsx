import { useState } from 'preact/hooks';
import { signIn } from '../credentials';
import { ActionForm } from '../ui';

/** An API key (`wagw_…`) or a login JWT from the organization's own frontend. */
export function SignInPage({ onSignedIn, expired }: { onSignedIn: () => void; expired: boolean }) {
  const [token, setToken] = useState('');
  return (
    <main class="sign-in">
      <h1>WhatsApp Gateway</h1>
      {expired ? (
        <p role="alert" class="error">
          Your sign-in is no longer valid: sign in again.
        </p>
      ) : null}
      <ActionForm
        onSubmit={() => {
          signIn(token);
          onSignedIn();
        }}
      >
        <label>
          API key or login JWT
          <input name="token" type="password" autoComplete="off" required value={token} onInput={(event) => setToken(event.currentTarget.value)} />
        </label>
        <button type="submit">Sign in</button>
      </ActionForm>
      <p class="muted">
        <code>npm start</code> prints a sign-in link for the first organization. The token stays in this tab only.
      </p>
    </main>
  );
}
