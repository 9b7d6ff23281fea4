import { useState } from 'preact/hooks';
import { errorText, fieldErrors, post, type Reply } from './api';
import { Field, formValues, Notice } from './ui';

/** Asks for a reset code by mail. */
export function ForgotPassword({ onBack }: { onBack: () => void }) {
  const [sent, setSent] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  return (
    <section class="card auth" aria-labelledby="forgot-title">
      <h1 id="forgot-title">Reset your password</h1>
      <form
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await post<Reply<'/api/password-reset/', 'post'>>('/api/password-reset/', formValues(event.currentTarget));
          if (result.ok) setSent(result.body.message);
          else setErrors(fieldErrors(result.body));
        }}
      >
        <Field label="Email" name="email" error={errors.email}>
          {(p) => <input {...p} type="email" autoComplete="email" />}
        </Field>
        {sent && <Notice kind="success">{sent} Open the link in the mail, or come back to enter the code.</Notice>}
        <button type="submit">Send a reset code</button>
      </form>
      <p>
        <button type="button" class="link" onClick={onBack}>
          Back to sign in
        </button>
      </p>
    </section>
  );
}

/** The page the reset mail links to: #reset?email=…&code=… */
export function ResetPassword({ email, code, onDone }: { email: string; code: string; onDone: () => void }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState(false);
  return (
    <section class="card auth" aria-labelledby="reset-title">
      <h1 id="reset-title">Choose a new password</h1>
      {done ? (
        <>
          <Notice kind="success">Your password has been reset. Sign in with the new one.</Notice>
          <button type="button" onClick={onDone}>
            Sign in
          </button>
        </>
      ) : (
        <form
          noValidate
          onSubmit={async (event) => {
            event.preventDefault();
            const result = await post('/api/password-reset/confirm/', formValues(event.currentTarget));
            if (result.ok) setDone(true);
            else setErrors(result.status === 400 ? fieldErrors(result.body) : { non_field_errors: errorText(result.body) });
          }}
        >
          <Field label="Email" name="email" error={errors.email}>
            {(p) => <input {...p} type="email" defaultValue={email} />}
          </Field>
          <Field label="Code from the mail" name="code" error={errors.code}>
            {(p) => <input {...p} inputMode="numeric" autoComplete="one-time-code" maxLength={6} defaultValue={code} />}
          </Field>
          <Field label="New password" name="new_password" error={errors.new_password}>
            {(p) => <input {...p} type="password" autoComplete="new-password" />}
          </Field>
          {errors.non_field_errors && <Notice kind="error">{errors.non_field_errors}</Notice>}
          <button type="submit">Set the new password</button>
        </form>
      )}
    </section>
  );
}

/** Shown on the profile until the email is verified. */
export function VerifyEmailCard({ email, onVerified }: { email: string; onVerified: () => Promise<void> }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <section class="card" aria-labelledby="verify-title">
      <h2 id="verify-title">Verify your email</h2>
      <p class="hint">We sent a 6-digit code to {email}.</p>
      <form
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await post('/api/verify-code/', { email, code: formValues(event.currentTarget).code ?? '' });
          if (result.ok) await onVerified();
          else setErrors(fieldErrors(result.body));
        }}
      >
        <Field label="Code" name="verify-code" error={errors.code}>
          {(p) => <input {...p} name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} />}
        </Field>
        {notice && <Notice kind="info">{notice}</Notice>}
        <div class="actions">
          <button type="submit">Verify</button>
          <button
            type="button"
            class="secondary"
            onClick={async () => {
              const result = await post('/api/resend-code/', { email });
              setNotice(result.ok ? 'A new code is on its way (one a minute at most).' : errorText(result.body));
            }}
          >
            Send a new code
          </button>
        </div>
      </form>
    </section>
  );
}

/** Signs out on the server too: the refresh token stops working. */
export async function logout(refresh: string | null): Promise<void> {
  if (refresh) await post('/api/logout/', { refresh }).catch(() => undefined);
}
