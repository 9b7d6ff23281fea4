import { useState } from 'preact/hooks';
import { errorText, fieldErrors, post, startSession, type Reply, type Role } from './api';
import { GENDERS } from './contract/constants';
import { Field, formValues, Notice } from './ui';

async function signIn(role: Role, email: string, password: string): Promise<string | null> {
  const result = await post<Reply<'/api/login/talent/', 'post'> | Reply<'/api/login/background/', 'post'>>(`/api/login/${role}/`, {
    email,
    password,
  });
  if (!result.ok) return errorText(result.body, 'Could not sign in.');
  startSession({ access: result.body.access, refresh: result.body.refresh, role });
  return null;
}

export function SignIn({ onDone, onSwitch, onForgot }: { onDone: () => void; onSwitch: () => void; onForgot: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <section class="card auth" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget);
          setBusy(true);
          const failed = await signIn(values.role as Role, values.email ?? '', values.password ?? '');
          setBusy(false);
          setError(failed);
          if (!failed) onDone();
        }}
      >
        <fieldset class="roles">
          <legend>I am</legend>
          <label>
            <input type="radio" name="role" value="talent" defaultChecked /> Talent
          </label>
          <label>
            <input type="radio" name="role" value="background" /> Background
          </label>
        </fieldset>
        <Field label="Email" name="email">
          {(p) => <input {...p} type="email" autoComplete="email" required />}
        </Field>
        <Field label="Password" name="password">
          {(p) => <input {...p} type="password" autoComplete="current-password" required />}
        </Field>
        {error && <Notice kind="error">{error}</Notice>}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        New here?{' '}
        <button type="button" class="link" onClick={onSwitch}>
          Create an account
        </button>
      </p>
      <p>
        <button type="button" class="link" onClick={onForgot}>
          Forgot your password?
        </button>
      </p>
    </section>
  );
}

export function SignUp({ onDone, onSwitch }: { onDone: () => void; onSwitch: () => void }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  return (
    <section class="card auth" aria-labelledby="signup-title">
      <h1 id="signup-title">Create your account</h1>
      <form
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget);
          setBusy(true);
          const body: Record<string, string> = {};
          for (const [key, value] of Object.entries(values)) if (value !== '' || ['email', 'password'].includes(key)) body[key] = value;
          const result = await post('/api/register/', body);
          if (!result.ok) {
            setErrors(fieldErrors(result.body));
            setBusy(false);
            return;
          }
          const failed = await signIn(values.role as Role, values.email ?? '', values.password ?? '');
          setBusy(false);
          if (failed) setErrors({ non_field_errors: failed });
          else onDone();
        }}
      >
        <fieldset class="roles">
          <legend>I am joining as</legend>
          <label>
            <input type="radio" name="role" value="talent" defaultChecked /> Talent (actor, performer)
          </label>
          <label>
            <input type="radio" name="role" value="background" /> Background (extra, props and locations)
          </label>
          {errors.role && (
            <p class="error" role="alert" data-field-error="role">
              {errors.role}
            </p>
          )}
        </fieldset>
        <div class="grid-2">
          <Field label="First name" name="first_name" error={errors.first_name}>
            {(p) => <input {...p} autoComplete="given-name" />}
          </Field>
          <Field label="Last name" name="last_name" error={errors.last_name}>
            {(p) => <input {...p} autoComplete="family-name" />}
          </Field>
        </div>
        <Field label="Email" name="email" error={errors.email}>
          {(p) => <input {...p} type="email" autoComplete="email" />}
        </Field>
        <Field label="Password" name="password" error={errors.password} hint="At least 8 characters, not only digits, not your email.">
          {(p) => <input {...p} type="password" autoComplete="new-password" />}
        </Field>
        <div class="grid-2">
          <Field label="Date of birth" name="date_of_birth" error={errors.date_of_birth} hint="You must be 18 or older.">
            {(p) => <input {...p} type="date" />}
          </Field>
          <Field label="Gender" name="gender" error={errors.gender}>
            {(p) => (
              <select {...p}>
                <option value="">—</option>
                {GENDERS.map((g) => (
                  <option value={g}>{g}</option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div class="grid-2">
          <Field label="Country" name="country" error={errors.country}>
            {(p) => <input {...p} autoComplete="country-name" maxLength={25} />}
          </Field>
          <Field label="Residency (city)" name="residency" error={errors.residency}>
            {(p) => <input {...p} />}
          </Field>
        </div>
        {errors.non_field_errors && <Notice kind="error">{errors.non_field_errors}</Notice>}
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p>
        Already registered?{' '}
        <button type="button" class="link" onClick={onSwitch}>
          Sign in
        </button>
      </p>
    </section>
  );
}
