import { randomUUID, webcrypto } from 'node:crypto';
import { SignJWT, errors, jwtVerify, type JWTPayload } from 'jose';
import { BoundedMap } from '../bounded-map.js';

export type TokenType = 'access' | 'refresh';

export interface TokenClaims {
  token_type: TokenType;
  user_id: number;
  jti: string;
  iat: number;
  exp: number;
  /** The session ("family") the token belongs to: every token of one sign-in, rotated or not. */
  fam?: string;
  /** The user's session generation when issued; absent (0) in tokens of older issuers. */
  gen?: number;
}

export interface IssueOptions {
  /** The session generation of the user, checked on every use. */
  generation: number;
  /** The session to continue (a refresh, rotation); a new one otherwise. */
  family?: string;
}

const newId = () => randomUUID().replace(/-/g, '');

export interface TokenPair {
  access: string;
  refresh: string;
}

const VERIFIED_CACHE_SIZE = 10_000;

function hmacKey(secret: string): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** HS256 tokens with djangorestframework-simplejwt's claims, so existing clients decode them alike. */
export class TokenService {
  /**
   * Tokens whose signature already checked out, with their claims. A signature cannot change, so
   * a hit skips only the HMAC; expiry and type are checked on every use as before.
   */
  readonly #verified = new BoundedMap<string, TokenClaims>(VERIFIED_CACHE_SIZE);
  // Imported once: handing jose raw bytes makes it import a WebCrypto key on every call.
  readonly #key: Promise<webcrypto.CryptoKey>;
  readonly #legacy: { key: Promise<webcrypto.CryptoKey>; until: Date } | undefined;

  constructor(
    secret: string,
    private readonly ttl: { access: number; refresh: number },
    private readonly clock: () => Date,
    /** A Django installation's SECRET_KEY: the tokens it signed are accepted until `until` (cut-over). */
    legacy?: { secret: string; until: Date },
  ) {
    this.#key = hmacKey(secret);
    this.#legacy = legacy && { key: hmacKey(legacy.secret), until: legacy.until };
  }

  async issue(userId: number, type: TokenType, { generation, family }: IssueOptions): Promise<string> {
    const iat = Math.floor(this.clock().getTime() / 1000);
    const claims = { token_type: type, user_id: userId, jti: newId(), gen: generation, fam: family ?? newId() };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttl[type])
      .sign(await this.#key);
  }

  /** A new session, or the next pair of an existing one when `family` is given (rotation). */
  async issuePair(userId: number, options: IssueOptions): Promise<TokenPair> {
    const session = { ...options, family: options.family ?? newId() };
    const [access, refresh] = await Promise.all([this.issue(userId, 'access', session), this.issue(userId, 'refresh', session)]);
    return { access, refresh };
  }

  /** The claims of a valid token of the expected type, or undefined for anything else. */
  async verify(token: string, expected: TokenType): Promise<TokenClaims | undefined> {
    const known = this.#verified.get(token);
    if (known) {
      const now = Math.floor(this.clock().getTime() / 1000);
      return known.token_type === expected && known.exp > now ? known : undefined;
    }
    try {
      const { payload, legacy } = await this.payloadOf(token);
      const userId = payload.user_id;
      const gen = payload.gen;
      const genOk = gen === undefined || (typeof gen === 'number' && Number.isSafeInteger(gen) && gen >= 0);
      if (
        typeof userId !== 'number' ||
        !Number.isSafeInteger(userId) ||
        typeof payload.exp !== 'number' ||
        typeof payload.iat !== 'number' ||
        !genOk
      ) {
        return undefined;
      }
      const claims = payload as unknown as TokenClaims;
      // Django's tokens are not cached: each use checks the cut-over has not ended.
      if (!legacy) this.#verified.set(token, claims);
      return claims.token_type === expected ? claims : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The payload of a token signed with castfolio's key, or (until the cut-over ends) with the Django
   * key: SimpleJWT's tokens carry the same claims (token_type, exp, iat, jti, user_id) and no session
   * generation, which counts as generation 0, the generation of every imported account.
   */
  private async payloadOf(token: string): Promise<{ payload: JWTPayload; legacy: boolean }> {
    const options = { algorithms: ['HS256'], currentDate: this.clock(), requiredClaims: ['exp', 'iat', 'jti'] };
    try {
      return { payload: (await jwtVerify(token, await this.#key, options)).payload, legacy: false };
    } catch (error) {
      const legacy = this.#legacy;
      if (!legacy || !(error instanceof errors.JWSSignatureVerificationFailed) || this.clock() >= legacy.until) throw error;
      return { payload: (await jwtVerify(token, await legacy.key, options)).payload, legacy: true };
    }
  }
}
