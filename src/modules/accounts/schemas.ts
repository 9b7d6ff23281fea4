import { Type, type Static } from 'typebox';
import { PASSWORD_MAX_LENGTH } from '../../auth/passwords.js';
import { DateString, DetailError, FieldErrors, Gender } from '../common.js';

export const RegisterBody = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }),
  first_name: Type.String({ minLength: 1, maxLength: 150 }),
  last_name: Type.String({ minLength: 1, maxLength: 150 }),
  role: Type.Enum(['talent', 'background']),
  date_of_birth: DateString,
  country: Type.Optional(Type.String({ maxLength: 25 })),
  residency: Type.Optional(Type.String({ maxLength: 100 })),
  gender: Type.Optional(Gender),
});
export type RegisterBody = Static<typeof RegisterBody>;

export const RegisterResponse = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  user: Type.Object({
    email: Type.String(),
    first_name: Type.String(),
    last_name: Type.String(),
    roles: Type.Object({
      is_talent: Type.Boolean(),
      is_background: Type.Boolean(),
      is_dashboard: Type.Boolean(),
      is_dashboard_admin: Type.Boolean(),
    }),
  }),
  email_verification: Type.Object({ required: Type.Boolean(), message: Type.String() }),
});

// No format check: like simplejwt, a malformed email simply matches no account.
export const CredentialsBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});
export type CredentialsBody = Static<typeof CredentialsBody>;

export const TokenPairResponse = Type.Object({ access: Type.String(), refresh: Type.String() });

export const RefreshBody = Type.Object({ refresh: Type.String({ minLength: 1, maxLength: 4096 }) });
export type RefreshBody = Static<typeof RefreshBody>;

export const LogoutBody = Type.Object({ refresh: Type.Optional(Type.String({ maxLength: 4096 })) });
/** The live service's answer; `message` as before. */
export const LogoutResponse = Type.Object({ success: Type.Boolean(), message: Type.String() });

/** The live service's login body (simplejwt's pair plus the user's fields at the top level), and castfolio's `user`. */
export const RoleLoginResponse = Type.Object({
  access: Type.String(),
  refresh: Type.String(),
  id: Type.Integer(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  email_verified: Type.Boolean(),
  profile_picture: Type.Union([Type.String(), Type.Null()]),
  is_talent: Type.Boolean(),
  is_background: Type.Boolean(),
  is_dashboard: Type.Boolean(),
  is_dashboard_admin: Type.Boolean(),
  is_staff: Type.Boolean(),
  message: Type.Optional(Type.String()),
  verification_required: Type.Optional(Type.Boolean()),
  user: Type.Object({
    id: Type.Integer(),
    email: Type.String(),
    first_name: Type.String(),
    last_name: Type.String(),
  }),
});

export const RoleLoginForbidden = Type.Object({ message: Type.String() });

export { DetailError, FieldErrors };

/** The live service's failure envelope, with DRF's field errors beside it (see routes.ts liveErrors). */
export const LiveErrors = Type.Object(
  {
    success: Type.Literal(false),
    message: Type.String(),
    errors: Type.Optional(FieldErrors),
    error: Type.Optional(Type.String()),
  },
  {
    additionalProperties: true,
    description: 'The live service\'s {"success": false, "message": …} with the DRF fields ({"field": ["message"]}) beside it',
  },
);

const Email = Type.String({ minLength: 1, maxLength: 254 });
const Code = Type.String({ pattern: '^[0-9]{6}$', 'x-messages': { pattern: 'Enter the 6-digit code from the email.' } });
const NewPassword = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH });

export const VerifyCodeBody = Type.Object({ email: Email, code: Code });
export const EmailBody = Type.Object({ email: Email });
export const ResetConfirmBody = Type.Object({ email: Email, code: Code, new_password: NewPassword });
export const PasswordChangeBody = Type.Object({ old_password: Type.String({ minLength: 1, maxLength: 1024 }), new_password: NewPassword });
export const PasswordBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) });

export const MessageResponse = Type.Object({ message: Type.String() });
/** The live service's answer to the verification endpoints: `success` and a message. */
export const SuccessResponse = Type.Object({ success: Type.Boolean(), message: Type.String() });
export const VerifiedResponse = Type.Object({ success: Type.Boolean(), message: Type.String(), email_verified: Type.Boolean() });
export const PasswordChangedResponse = Type.Object({ message: Type.String(), access: Type.String(), refresh: Type.String() });
export const RefreshResponse = Type.Object({ access: Type.String(), refresh: Type.Optional(Type.String()) });
