import { render } from 'preact';
import { App } from './app';
import { consumeSignInLink } from './credentials';
import './styles.css';

consumeSignInLink(location, history);
const root = document.getElementById('app');
if (root) render(<App />, root);
