import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

export type TokenType = 'access' | 'refresh';

export interface TokenClaims {
  token_type: TokenType;
  user_id: number;
  jti: string;
  iat: number;
  exp: number;
}

export interface TokenPair {
  access: string;
  refresh: string;
}

/** HS256 tokens with djangorestframework-simplejwt's claims, so existing clients decode them alike. */
export class TokenService {
  readonly #key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttl: { access: number; refresh: number },
    private readonly clock: () => Date,
  ) {
    this.#key = new TextEncoder().encode(secret);
  }

  async issue(userId: number, type: TokenType): Promise<string> {
    const iat = Math.floor(this.clock().getTime() / 1000);
    return new SignJWT({ token_type: type, user_id: userId, jti: randomUUID().replace(/-/g, '') })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttl[type])
      .sign(this.#key);
  }

  async issuePair(userId: number): Promise<TokenPair> {
    const [access, refresh] = await Promise.all([this.issue(userId, 'access'), this.issue(userId, 'refresh')]);
    return { access, refresh };
  }

  /** The claims of a valid token of the expected type, or undefined for anything else. */
  async verify(token: string, expected: TokenType): Promise<TokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: ['HS256'],
        currentDate: this.clock(),
        requiredClaims: ['exp', 'iat', 'jti'],
      });
      const userId = payload.user_id;
      if (payload.token_type !== expected || typeof userId !== 'number' || !Number.isSafeInteger(userId)) {
        return undefined;
      }
      return payload as unknown as TokenClaims;
    } catch {
      return undefined;
    }
  }
}
