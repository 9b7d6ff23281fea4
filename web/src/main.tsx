import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { clearSession, loadSession, onSessionEnded, refreshAccess, secondsLeft, type Session } from './api';
import { ForgotPassword, logout, ResetPassword } from './account';
import { SignIn, SignUp } from './auth';
import { ProfilePage } from './profile';
import './styles.css';

type View = 'signin' | 'signup' | 'forgot' | 'reset';

/** #reset?email=…&code=… (the link in the reset mail). */
function resetParams(): { email: string; code: string } | null {
  if (!location.hash.startsWith('#reset')) return null;
  const params = new URLSearchParams(location.hash.slice(location.hash.indexOf('?') + 1));
  return { email: params.get('email') ?? '', code: params.get('code') ?? '' };
}

function initialView(): View {
  if (location.hash.startsWith('#reset')) return 'reset';
  if (location.hash === '#signup') return 'signup';
  if (location.hash === '#forgot') return 'forgot';
  return 'signin';
}

/** Refreshes the access token a minute before it expires, for as long as the page is open. */
function useTokenRefresh(session: Session | null, onEnded: () => void) {
  useEffect(() => {
    if (!session) return undefined;
    let timer: number | undefined;
    const schedule = () => {
      const current = loadSession();
      if (!current) return;
      const wait = Math.max(5, secondsLeft(current.access) - 60) * 1000;
      timer = window.setTimeout(
        async () => {
          if (await refreshAccess()) schedule();
          else onEnded();
        },
        Math.min(wait, 2 ** 31 - 1),
      );
    };
    schedule();
    return () => window.clearTimeout(timer);
  }, [session?.refresh]);
}

function App() {
  const [session, setSession] = useState<Session | null>(loadSession());
  const [view, setView] = useState<View>(initialView());
  const signOut = () => {
    void logout(localStorage.getItem('refreshToken'));
    clearSession();
    setSession(null);
    setView('signin');
  };
  const goTo = (next: View) => {
    history.replaceState(null, '', next === 'signin' ? '#' : `#${next}`);
    setView(next);
  };
  onSessionEnded.handler = signOut;
  useTokenRefresh(session, signOut);
  // Links into the page (the reset mail's #reset?…) may arrive while it is already open.
  useEffect(() => {
    const follow = () => setView(initialView());
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  useEffect(() => {
    document.title = session ? 'My profile · castfolio' : view === 'signup' ? 'Create account · castfolio' : 'Sign in · castfolio';
  }, [session, view]);

  return (
    <main id="main">
      <p class="brand">castfolio</p>
      {view === 'reset' ? (
        <ResetPassword {...(resetParams() ?? { email: '', code: '' })} onDone={() => goTo('signin')} />
      ) : session ? (
        <ProfilePage role={session.role} onSignOut={signOut} />
      ) : view === 'signin' ? (
        <SignIn onDone={() => setSession(loadSession())} onSwitch={() => goTo('signup')} onForgot={() => goTo('forgot')} />
      ) : view === 'forgot' ? (
        <ForgotPassword onBack={() => goTo('signin')} />
      ) : (
        <SignUp onDone={() => setSession(loadSession())} onSwitch={() => goTo('signin')} />
      )}
    </main>
  );
}

render(<App />, document.getElementById('app')!);
