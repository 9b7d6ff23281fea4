import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { createPostgresDatabase } from './databases.js';

const DDL = readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'django', 'source-schema.sql'), 'utf8');

// shared/django-source-schema.md §3: verified Django PBKDF2 hashes and their passwords.
export const DJANGO_HASHES = {
  letmein: { password: 'lètmein', hash: 'pbkdf2_sha256$870000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=' },
  horse: {
    password: 'correct horse battery staple',
    hash: 'pbkdf2_sha256$870000$Xq3ZkS0bq7Ck1yWj8uVn4R$/5ZjwyPNqGfTygdV44yxYIHsCBBOWVZKfGZDY3TUoGQ=',
  },
  passw0rd: { password: 'Passw0rd!', hash: 'pbkdf2_sha256$720000$abcdefghijklmnopqrstuv$R1s8J34x6mHqMFbpK84+tV8cTPEvHRlhSFj2fWXlEmM=' },
};

export const DJANGO_SECRET = 'a-production-django-secret-key-for-the-import-tests-0123';

/** A token as SimpleJWT 5.4 issues it: HS256 over token_type, exp, iat, jti, user_id and nothing else. */
export async function djangoToken(userId: number, type: 'access' | 'refresh', nowSeconds: number, lifetime = 1800): Promise<string> {
  return new SignJWT({
    token_type: type,
    exp: nowSeconds + lifetime,
    iat: nowSeconds,
    jti: crypto.randomUUID().replace(/-/g, ''),
    user_id: userId,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(DJANGO_SECRET));
}

interface UserFields {
  id: number;
  email: string;
  password?: string;
  first_name?: string;
  last_name?: string;
  is_talent?: boolean;
  is_background?: boolean;
  is_dashboard?: boolean;
  email_verified?: boolean;
  last_login?: string | null;
  country?: string;
  gender?: string;
  date_of_birth?: string;
}

/** A Django source database built from the real DDL, with inserts that fill every NOT NULL column as Django does. */
export class DjangoFixture {
  private constructor(
    readonly url: string,
    private readonly client: pg.Client,
    private readonly dropDatabase: () => Promise<void>,
  ) {}

  static async create(adminUrl: string): Promise<DjangoFixture> {
    const { url, drop } = await createPostgresDatabase(adminUrl, 'django_source');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(DDL);
    return new DjangoFixture(url, client, drop);
  }

  query(text: string, values: unknown[] = []) {
    return this.client.query(text, values);
  }

  async user(fields: UserFields): Promise<void> {
    await this.query(
      `insert into users_baseuser (id, password, last_login, is_superuser, email, first_name, last_name, is_active, is_staff, date_joined,
         email_verified, is_talent, is_background, is_dashboard, is_dashboard_admin, country, residency, city, phone, date_of_birth, gender)
       values ($1, $2, $3, false, $4, $5, $6, true, false, '2025-03-01T10:00:00Z', $7, $8, $9, $10, false, $11, '', '', '', $12, $13)`,
      [
        fields.id,
        fields.password ?? DJANGO_HASHES.letmein.hash,
        fields.last_login ?? null,
        fields.email,
        fields.first_name ?? 'First',
        fields.last_name ?? 'Last',
        fields.email_verified ?? true,
        fields.is_talent ?? false,
        fields.is_background ?? false,
        fields.is_dashboard ?? false,
        fields.country ?? 'Jordan',
        fields.date_of_birth ?? '1990-01-02',
        fields.gender ?? '',
      ],
    );
  }

  async talentProfile(
    id: number,
    userId: number,
    fields: { picture?: string | null; aboutyou?: string; account_type?: string; gender?: string } = {},
  ) {
    await this.query(
      `insert into profiles_talentuserprofile (id, is_verified, profile_complete, profile_picture, aboutyou, account_type, country, city, phone, date_of_birth, gender, user_id)
       values ($1, false, false, $2, $3, $4, 'country', 'city', '', null, $5, $6)`,
      [id, fields.picture ?? null, fields.aboutyou ?? null, fields.account_type ?? 'free', fields.gender ?? 'Male', userId],
    );
  }

  async backgroundProfile(id: number, userId: number, fields: { picture?: string | null; country?: string } = {}) {
    await this.query(
      `insert into profiles_backgroundjobsprofile (id, profile_picture, country, date_of_birth, gender, account_type, user_id)
       values ($1, $2, $3, '1988-08-08', 'Male', 'free', $4)`,
      [id, fields.picture ?? null, fields.country ?? 'country', userId],
    );
  }

  async prop(id: number, profileId: number | null, fields: { name?: string; price?: string; image?: string; genreId?: number } = {}) {
    await this.query(
      `insert into profiles_prop (id, name, description, price, is_for_rent, is_for_sale, created_at, updated_at, image, material, used_in_movie, condition, "BackGroundJobsProfile_id", genre_id)
       values ($1, $2, 'A prop', $3, true, false, '2025-05-05T05:05:05Z', '2025-05-06T06:06:06Z', $4, 'brass', null, 'good', $5, $6)`,
      [id, fields.name ?? 'Lantern', fields.price ?? '12.50', fields.image ?? 'item_images/lantern.jpg', profileId, fields.genreId ?? null],
    );
  }

  async memorabilia(id: number, profileId: number, certificate: string | null) {
    await this.query(
      `insert into profiles_memorabilia (id, name, description, price, is_for_rent, is_for_sale, created_at, updated_at, image, signed_by, authenticity_certificate, "BackGroundJobsProfile_id", genre_id)
       values ($1, 'Signed poster', null, '99.00', false, true, now(), now(), 'item_images/poster.jpg', 'A. Star', $2, $3, null)`,
      [id, certificate, profileId],
    );
  }

  async plan(id: number, name: string) {
    await this.query(
      `insert into payments_subscriptionplan (id, name, description, price, stripe_price_id, features, is_active, duration_months, created_at, updated_at)
       values ($1, $2, null, '249.99', $3, null, true, 12, now(), now())`,
      [id, name, `price_${name}`],
    );
  }

  async subscription(id: number, userId: number, planId: number, status = 'active', periodEnd = '2099-01-01T00:00:00Z') {
    await this.query(
      `insert into payments_subscription (id, stripe_customer_id, stripe_subscription_id, status, start_date, end_date, trial_end, cancel_at_period_end,
         current_period_start, current_period_end, is_active, created_at, updated_at, user_id, plan_id)
       values ($1, 'cus_1', $2, $3, '2025-06-01T00:00:00Z', null, null, false, '2025-06-01T00:00:00Z', $4, $5, now(), now(), $6, $7)`,
      [id, `sub_${id}`, status, periodEnd, status === 'active', userId, planId],
    );
  }

  async close(): Promise<void> {
    await this.client.end();
    await this.dropDatabase();
  }
}
