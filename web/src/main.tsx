import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { clearSession, loadSession, onSessionEnded, refreshAccess, secondsLeft, type Session } from './api';
import { SignIn, SignUp } from './auth';
import { ProfilePage } from './profile';
import './styles.css';

type View = 'signin' | 'signup';

/** Refreshes the access token a minute before it expires, for as long as the page is open. */
function useTokenRefresh(session: Session | null, onEnded: () => void) {
  useEffect(() => {
    if (!session) return undefined;
    let timer: number | undefined;
    const schedule = () => {
      const current = loadSession();
      if (!current) return;
      const wait = Math.max(5, secondsLeft(current.access) - 60) * 1000;
      timer = window.setTimeout(async () => {
        if (await refreshAccess()) schedule();
        else onEnded();
      }, Math.min(wait, 2 ** 31 - 1));
    };
    schedule();
    return () => window.clearTimeout(timer);
  }, [session?.refresh]);
}

function App() {
  const [session, setSession] = useState<Session | null>(loadSession());
  const [view, setView] = useState<View>(location.hash === '#signup' ? 'signup' : 'signin');
  const signOut = () => {
    clearSession();
    setSession(null);
    setView('signin');
  };
  onSessionEnded.handler = signOut;
  useTokenRefresh(session, signOut);
  useEffect(() => {
    document.title = session ? 'My profile · castfolio' : view === 'signup' ? 'Create account · castfolio' : 'Sign in · castfolio';
  }, [session, view]);

  return (
    <main id="main">
      <p class="brand">castfolio</p>
      {session ? (
        <ProfilePage role={session.role} onSignOut={signOut} />
      ) : view === 'signin' ? (
        <SignIn onDone={() => setSession(loadSession())} onSwitch={() => setView('signup')} />
      ) : (
        <SignUp onDone={() => setSession(loadSession())} onSwitch={() => setView('signin')} />
      )}
    </main>
  );
}

render(<App />, document.getElementById('app')!);
