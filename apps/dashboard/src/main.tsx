import { render } from 'preact';
import { App } from './app';
import { consumeSignInLink } from './credentials';
import './styles.css';

// The page renders once a sign-in link (if any) has been exchanged: the app starts signed in or not.
void consumeSignInLink().finally(() => {
  const root = document.getElementById('app');
  if (root) render(<App />, root);
});
