import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, fieldErrors, uploadWithProgress, type Reply, type Role } from './api';
import { GENDERS, SCORE_MAXIMUMS } from './contract/constants';
import { VerifyEmailCard } from './account';
import { Gallery } from './gallery';
import { Items } from './items';
import { FrameEditor, Picture, quickChecks, shrinkForUpload, takenAgo, type PictureHint, type PictureInfo } from './pictures';
import { Field, formValues, Notice } from './ui';

const DEFAULT_AVATAR = '/default-avatar.svg';

const LABELS: Record<string, string> = {
  account_tier: 'Account tier',
  profile_completion: 'Profile completion',
  item_diversity: 'Item diversity',
  item_quantity: 'Item quantity',
  verification: 'Verification',
};

type TalentData = Reply<'/api/profile/talent/'>;
type BackgroundData = Reply<'/api/profile/background/'>;
type ProfileData = TalentData | BackgroundData;
/** The profile's fields; talent ones are absent on a background profile. */
type ProfileFields = BackgroundData['profile'] & Partial<TalentData['profile']>;

function ScoreCard({ score, role }: { score: ProfileData['profile_score']; role: Role }) {
  const maximums: Record<string, number> = SCORE_MAXIMUMS[role];
  const points = score as unknown as Record<string, number>;
  const details: Record<string, string | undefined> = score.details;
  const components = Object.keys(maximums).filter((key) => typeof points[key] === 'number');
  return (
    <section class="card" aria-labelledby="score-title">
      <h2 id="score-title">
        Profile score{' '}
        <span class="score-total" data-testid="score-total">
          {score.total}
        </span>
      </h2>
      <ul class="bars">
        {components.map((key) => (
          <li>
            <div class="bar-label">
              <span>{LABELS[key]}</span>
              <span>
                {points[key]} / {maximums[key]}
              </span>
            </div>
            <div
              class="bar"
              role="meter"
              aria-label={LABELS[key]}
              aria-valuemin={0}
              aria-valuemax={maximums[key]}
              aria-valuenow={points[key]}
            >
              <div class="bar-fill" style={{ width: `${(100 * (points[key] ?? 0)) / (maximums[key] ?? 1)}%` }} />
            </div>
            {details[key] && <p class="detail">{details[key]}</p>}
          </li>
        ))}
      </ul>
      {score.improvement_tips.length > 0 && (
        <>
          <h3>How to improve</h3>
          <ul class="tips">
            {score.improvement_tips.map((tip) => (
              <li>{tip}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function SubscriptionCard({
  status,
  restrictions,
}: {
  status: ProfileData['subscription_status'];
  restrictions: ProfileData['restrictions'];
}) {
  return (
    <section class="card" aria-labelledby="subscription-title">
      <h2 id="subscription-title">Subscription</h2>
      <p class={status.has_subscription ? 'badge badge--ok' : 'badge'}>
        {status.has_subscription ? (status.subscription?.plan_name ?? 'Active') : 'No active plan'}
      </p>
      <p data-testid="subscription-message">{status.message}</p>
      {status.subscription && <p class="hint">Renews or ends on {new Date(status.subscription.end_date).toLocaleDateString()}.</p>}
      {restrictions.restrictions.length > 0 && (
        <>
          <h3>Restrictions</h3>
          <ul class="restrictions">
            {restrictions.restrictions.map((r) => (
              <li>{r}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function PictureCard({
  picture,
  info,
  role,
  onChanged,
}: {
  picture: string | null;
  info: PictureInfo | null | undefined;
  role: Role;
  onChanged: () => Promise<void>;
}) {
  const input = useRef<HTMLInputElement>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [checks, setChecks] = useState<PictureHint[] | null>(null);
  const [framing, setFraming] = useState(false);
  const path = `/api/profile/${role}/`;

  const upload = async (chosen: File) => {
    setError(null);
    setFraming(false);
    // The cheap checks show at once, while the photo uploads; the server's own hints replace them.
    setChecks(null);
    void quickChecks(chosen).then(setChecks);
    const local = URL.createObjectURL(chosen);
    setPreview(local);
    setProgress(0);
    // A camera photo is shrunk to what the server keeps before it is sent.
    const file = await shrinkForUpload(chosen);
    const form = new FormData();
    form.append('profile_picture', file);
    try {
      const result = await uploadWithProgress(path, form, setProgress);
      if (!result.ok) setError(errorText(result.body, 'The picture could not be uploaded.'));
      else {
        await onChanged();
        setChecks(null);
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setProgress(null);
      setPreview(null);
      URL.revokeObjectURL(local);
    }
  };

  const focus = async (method: 'PUT' | 'DELETE', json?: unknown) => {
    setError(null);
    const result = await api(`${path}picture-focus/`, { method, json });
    if (!result.ok) setError(errorText(result.body, 'The frame could not be saved.'));
    else {
      await onChanged();
      setFraming(false);
    }
  };
  const hints: PictureHint[] = checks ?? (progress === null ? (info?.hints ?? []) : []);
  const taken = progress === null && !checks ? takenAgo(info?.captured_at) : null;

  const remove = async () => {
    setError(null);
    const result = await api(path, { method: 'DELETE' });
    if (!result.ok) setError(errorText(result.body));
    else await onChanged();
  };

  return (
    <section class="card picture" aria-labelledby="picture-title">
      <h2 id="picture-title">Profile picture</h2>
      <div
        class={`dropzone${dragging ? ' dropzone--over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          const file = e.dataTransfer?.files[0];
          if (file) void upload(file);
        }}
      >
        {preview || !picture ? (
          <img
            id="profile-picture"
            src={preview ?? DEFAULT_AVATAR}
            alt={picture ? 'Your profile picture' : 'No picture yet'}
            width={160}
            height={160}
            data-uploaded={picture ?? ''}
          />
        ) : (
          <Picture
            id="profile-picture"
            src={picture}
            info={info}
            shape="avatar"
            width={160}
            height={160}
            alt="Your profile picture"
            loading="eager"
            dataUploaded={picture}
          />
        )}
        <p class="hint">Drop an image here, or</p>
        <button type="button" onClick={() => input.current?.click()} disabled={progress !== null}>
          Choose a picture…
        </button>
        <input
          ref={input}
          id="picture-input"
          type="file"
          accept="image/jpeg,image/png,image/gif,image/webp,image/avif,image/heic,image/heif,.heic,.heif"
          class="visually-hidden"
          tabIndex={-1}
          aria-label="Profile picture file"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (file) void upload(file);
          }}
        />
      </div>
      {progress !== null && (
        <div class="progress">
          <progress id="upload-progress" max={1} value={progress} aria-label="Upload progress" />
          <span aria-live="polite">{Math.round(progress * 100)}%</span>
        </div>
      )}
      {hints.length > 0 && (
        <ul id="picture-hints" class="picture-hints" aria-label="Tips for this photo">
          {hints.map((hint) => (
            <li key={hint.code} data-code={hint.code}>
              {hint.message}
            </li>
          ))}
        </ul>
      )}
      {taken && (
        <p id="picture-taken" class="picture-taken">
          Photo {taken}
        </p>
      )}
      {error && <Notice kind="error">{error}</Notice>}
      {picture && info && progress === null && framing && (
        <FrameEditor
          src={picture}
          info={info}
          onSave={(frame) => focus('PUT', frame)}
          onReset={() => focus('DELETE')}
          onClose={() => setFraming(false)}
        />
      )}
      {picture && progress === null && (
        <div class="frame-actions">
          {info && !framing && (
            <button type="button" id="frame-open" class="secondary" onClick={() => setFraming(true)}>
              Adjust frame
            </button>
          )}
          <button type="button" class="secondary" onClick={remove}>
            Remove picture
          </button>
        </div>
      )}
    </section>
  );
}

function DetailsCard({ profile, role, onSaved }: { profile: ProfileFields; role: Role; onSaved: () => Promise<void> }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const talent = role === 'talent';
  return (
    <section class="card" aria-labelledby="details-title">
      <h2 id="details-title">Details</h2>
      <form
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setSaved(false);
          const result = await api(`/api/profile/${role}/`, { method: 'POST', json: formValues(event.currentTarget) });
          setBusy(false);
          if (!result.ok) {
            setErrors(result.status === 400 ? fieldErrors(result.body) : { non_field_errors: errorText(result.body) });
            return;
          }
          setErrors({});
          setSaved(true);
          await onSaved();
        }}
      >
        <div class="grid-2">
          <Field label="Country" name="country" error={errors.country}>
            {(p) => <input {...p} defaultValue={profile.country ?? ''} />}
          </Field>
          <Field label="Date of birth" name="date_of_birth" error={errors.date_of_birth}>
            {(p) => <input {...p} type="date" defaultValue={profile.date_of_birth ?? ''} />}
          </Field>
        </div>
        <Field label="Gender" name="gender" error={errors.gender}>
          {(p) => (
            <select {...p} value={profile.gender ?? ''}>
              <option value="">—</option>
              {GENDERS.map((g) => (
                <option value={g}>{g}</option>
              ))}
            </select>
          )}
        </Field>
        {talent && (
          <>
            <div class="grid-2">
              <Field label="City" name="city" error={errors.city}>
                {(p) => <input {...p} defaultValue={profile.city ?? ''} />}
              </Field>
              <Field label="Phone" name="phone" error={errors.phone}>
                {(p) => <input {...p} type="tel" defaultValue={profile.phone ?? ''} />}
              </Field>
            </div>
            <Field label="About you" name="aboutyou" error={errors.aboutyou} hint="More than 50 characters earns 5 points.">
              {(p) => <textarea {...p} rows={4} defaultValue={profile.aboutyou ?? ''} />}
            </Field>
          </>
        )}
        {errors.non_field_errors && <Notice kind="error">{errors.non_field_errors}</Notice>}
        {saved && <Notice kind="success">Saved.</Notice>}
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save details'}
        </button>
      </form>
    </section>
  );
}

export function ProfilePage({ role, onSignOut }: { role: Role; onSignOut: () => void }) {
  const [data, setData] = useState<ProfileData | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    const result = await api<ProfileData>(`/api/profile/${role}/`);
    if (result.ok) {
      setData(result.body);
      setError(null);
    } else setError(errorText(result.body, 'Could not load your profile.'));
  };

  useEffect(() => {
    void load();
  }, [role]);

  if (error) return <Notice kind="error">{error}</Notice>;
  if (!data) return <p aria-live="polite">Loading your profile…</p>;
  const profile: ProfileFields = data.profile;

  return (
    <>
      <header class="topbar">
        <div>
          <p class="hint">{role === 'talent' ? 'Talent' : 'Background'} account</p>
          <p class="email" data-testid="email">
            {profile.email}
          </p>
        </div>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {!profile.email_verified && <VerifyEmailCard email={profile.email} onVerified={load} />}
      <div class="layout">
        <div class="column">
          <PictureCard picture={profile.profile_picture} info={profile.profile_picture_info} role={role} onChanged={load} />
          <DetailsCard profile={profile} role={role} onSaved={load} />
        </div>
        <div class="column">
          <ScoreCard score={data.profile_score} role={role} />
          <SubscriptionCard status={data.subscription_status} restrictions={data.restrictions} />
        </div>
      </div>
      <Gallery role={role} onChanged={load} />
      {role === 'background' && <Items onChanged={load} />}
    </>
  );
}
