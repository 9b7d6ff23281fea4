import { randomBytes } from 'node:crypto';
import type { Http } from './http.js';

export type Role = 'talent' | 'background';

export interface TestUser {
  id: number;
  email: string;
  password: string;
  role: Role;
  access: string;
  refresh: string;
  /** Authorization plus the role header the API guide requires. */
  headers: Record<string, string>;
}

export const DEFAULT_PASSWORD = 'Casting-Call-2026';

export function registration(role: Role, overrides: Record<string, unknown> = {}) {
  return {
    email: `user-${randomBytes(5).toString('hex')}@example.com`,
    password: DEFAULT_PASSWORD,
    first_name: 'Alex',
    last_name: 'Doe',
    role,
    country: 'USA',
    residency: 'New York',
    date_of_birth: '1985-05-15',
    gender: 'Male',
    ...overrides,
  };
}

export function roleHeader(role: Role): Record<string, string> {
  return role === 'talent' ? { 'is-talent': 'true' } : { 'is-background': 'true' };
}

/** Registers through the API and signs in, as a client would. */
export async function createUser(http: Http, role: Role, overrides: Record<string, unknown> = {}): Promise<TestUser> {
  const body = registration(role, overrides);
  const registered = await http.post('/api/register/', body);
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  const tokens = await http.post('/api/token/', { email: body.email, password: body.password });
  if (tokens.status !== 200) throw new Error(`token failed: ${tokens.status} ${tokens.text}`);
  const payload = JSON.parse(Buffer.from(tokens.body.access.split('.')[1], 'base64url').toString());
  return {
    id: payload.user_id,
    email: String(body.email).toLowerCase(),
    password: String(body.password),
    role,
    access: tokens.body.access,
    refresh: tokens.body.refresh,
    headers: { Authorization: `Bearer ${tokens.body.access}`, ...roleHeader(role) },
  };
}
