/**
 * The browser side of the API. Tokens live where the API guide's snippets expect them:
 * localStorage "authToken" (access) — plus "refreshToken" and "castfolioRole" for this app.
 */
import { del, get, set } from 'idb-keyval';
import type { paths } from './contract/openapi';

export type Role = 'talent' | 'background';

type JsonContent<R> = R extends { content: { 'application/json': infer B } } ? B : null;

/** The JSON a route answers with when it succeeds, as the API's OpenAPI document states it. */
export type Reply<P extends keyof paths, M extends 'get' | 'post' | 'patch' | 'delete' = 'get'> = paths[P][M] extends { responses: infer R }
  ? R extends { 200: infer S }
    ? JsonContent<S>
    : R extends { 201: infer S }
      ? JsonContent<S>
      : null
  : never;

/** The JSON a route accepts. */
export type Body<P extends keyof paths, M extends 'post' | 'patch' = 'post'> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

/** A success carries the route's reply; a failure carries whatever error body the server sent (DRF's shapes). */
export type ApiResult<T = unknown> = { ok: true; status: number; body: T } | { ok: false; status: number; body: unknown };

const ACCESS_KEY = 'authToken';
const REFRESH_KEY = 'refreshToken';
const ROLE_KEY = 'castfolioRole';

export interface Session {
  access: string;
  refresh: string;
  role: Role;
}

export function loadSession(): Session | null {
  const access = localStorage.getItem(ACCESS_KEY);
  const refresh = localStorage.getItem(REFRESH_KEY);
  const role = localStorage.getItem(ROLE_KEY);
  if (!access || !refresh || (role !== 'talent' && role !== 'background')) return null;
  return { access, refresh, role };
}

export function saveSession(session: Session): void {
  localStorage.setItem(ACCESS_KEY, session.access);
  localStorage.setItem(REFRESH_KEY, session.refresh);
  localStorage.setItem(ROLE_KEY, session.role);
}

/** A new session (sign-in): replaces whatever an earlier one handed between tabs. */
export function startSession(session: Session): void {
  saveSession(session);
  void set(HANDOFF_KEY, session).catch(() => undefined);
}

export function clearSession(): void {
  for (const key of [ACCESS_KEY, REFRESH_KEY, ROLE_KEY]) localStorage.removeItem(key);
  void del(HANDOFF_KEY).catch(() => undefined);
}

/** Seconds until the token expires, from its own exp claim. */
export function secondsLeft(token: string): number {
  const exp = Number(claims(token).exp);
  return Number.isFinite(exp) ? exp - Date.now() / 1000 : 0;
}

export function roleHeaders(role: Role): Record<string, string> {
  return role === 'talent' ? { 'is-talent': 'true' } : { 'is-background': 'true' };
}

function result<T>(status: number, text: string): ApiResult<T> {
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return status >= 200 && status < 300 ? { ok: true, status, body: body as T } : { ok: false, status, body };
}

async function parse<T>(response: Response): Promise<ApiResult<T>> {
  return result<T>(response.status, await response.text());
}

let refreshing: Promise<boolean> | null = null;

/**
 * Runs `task` while holding a lock shared by every tab of this site (Web Locks), so two tabs never
 * exchange the same refresh token at once: with rotation the second exchange would look like a
 * stolen token being reused, and the server would end the session.
 */
function acrossTabs<T>(task: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? (locks.request('castfolio-token-refresh', task) as Promise<T>) : task();
}

/**
 * The newest tokens, handed from the tab that refreshed to the tabs that waited for the lock.
 * localStorage is not enough: Chromium shows one tab's writes to another tab a moment later, so a
 * tab granted the lock right after could still read the old refresh token and present it again.
 * IndexedDB is one store for all tabs: what a finished transaction wrote, every tab reads.
 */
const HANDOFF_KEY = 'castfolio-session';

/** The claims of a token, without checking it (the server does). */
function claims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Two refresh tokens of one session: the same family (rotation), or the same user without one. */
function sameSession(a: Session, b: Session): boolean {
  const [x, y] = [claims(a.refresh), claims(b.refresh)];
  if (a.role !== b.role || x.user_id === undefined || x.user_id !== y.user_id) return false;
  return x.fam === undefined || y.fam === undefined || x.fam === y.fam;
}

async function latestTokens(session: Session): Promise<Session> {
  const handed = await get<Session>(HANDOFF_KEY).catch(() => undefined);
  return handed && sameSession(handed, session) ? handed : session;
}

async function handOver(session: Session): Promise<void> {
  saveSession(session);
  await set(HANDOFF_KEY, session).catch(() => undefined);
}

/**
 * Gets a working access token after `failedAccess` was refused; false when the session is over.
 * Single-flight within the tab and across tabs: whoever holds the lock refreshes, and a tab that
 * waited finds the new tokens and uses them instead of refreshing again.
 */
export function refreshAccess(failedAccess = loadSession()?.access): Promise<boolean> {
  refreshing ??= acrossTabs(async () => {
    const stored = loadSession();
    if (!stored) return false;
    const session = await latestTokens(stored);
    if (session.access !== failedAccess) {
      // Another tab refreshed while this one waited: take its tokens.
      if (session.access !== stored.access) saveSession(session);
      return true;
    }
    const result = await parse<Reply<'/api/token/refresh/', 'post'>>(
      await fetch('/api/token/refresh/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh: session.refresh }),
      }),
    );
    if (!result.ok) return false;
    await handOver({ ...session, access: result.body.access, refresh: result.body.refresh ?? session.refresh });
    return true;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export const onSessionEnded: { handler: () => void } = { handler: () => undefined };

/** An authenticated call with the role header; one refresh and retry on an expired token. */
export async function api<T = unknown>(
  path: string,
  init: { method?: string; json?: unknown; form?: FormData } = {},
): Promise<ApiResult<T>> {
  let used: string | undefined;
  const send = async () => {
    const session = loadSession();
    used = session?.access;
    const headers: Record<string, string> = session ? { Authorization: `Bearer ${session.access}`, ...roleHeaders(session.role) } : {};
    let body: BodyInit | undefined;
    if (init.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form) {
      body = init.form;
    }
    return parse<T>(await fetch(path, { method: init.method ?? 'GET', headers, body }));
  };
  let result = await send();
  if (result.status === 401 && (await refreshAccess(used))) result = await send();
  if (result.status === 401) onSessionEnded.handler();
  return result;
}

/** Public calls: register and sign in. */
export async function post<T = unknown>(path: string, json: unknown): Promise<ApiResult<T>> {
  return parse<T>(await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(json) }));
}

/**
 * A multipart upload with real progress: fetch() cannot report upload progress, XMLHttpRequest
 * can. `onProgress` gets 0..1 as bytes leave the browser.
 */
export function uploadWithProgress<T = unknown>(
  path: string,
  form: FormData,
  onProgress: (fraction: number) => void,
  method = 'POST',
): Promise<ApiResult<T>> {
  let used: string | undefined;
  const attempt = () =>
    new Promise<ApiResult<T>>((resolve, reject) => {
      const session = loadSession();
      used = session?.access;
      const xhr = new XMLHttpRequest();
      xhr.open(method, path);
      if (session) {
        xhr.setRequestHeader('Authorization', `Bearer ${session.access}`);
        for (const [name, value] of Object.entries(roleHeaders(session.role))) xhr.setRequestHeader(name, value);
      }
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => resolve(result<T>(xhr.status, xhr.responseText));
      xhr.onerror = () => reject(new Error('The upload could not reach the server. Check your connection and try again.'));
      xhr.send(form);
    });
  return attempt().then(async (result) => {
    if (result.status === 401 && (await refreshAccess(used))) return attempt();
    return result;
  });
}

/** The first human-readable message of a DRF-shaped error body. */
export function errorText(body: unknown, fallback = 'Something went wrong. Please try again.'): string {
  if (!body || typeof body !== 'object') return fallback;
  const record = body as Record<string, unknown>;
  if (typeof record.detail === 'string') return record.detail;
  if (typeof record.message === 'string') return record.message;
  for (const value of Object.values(record)) {
    if (Array.isArray(value) && typeof value[0] === 'string') return value.join(' ');
  }
  return fallback;
}

/** Field → messages of a 400 body. */
export function fieldErrors(body: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (!body || typeof body !== 'object') return result;
  for (const [field, value] of Object.entries(body as Record<string, unknown>)) {
    if (Array.isArray(value)) result[field] = value.filter((v) => typeof v === 'string').join(' ');
    else if (typeof value === 'string' && field === 'detail') result.non_field_errors = value;
  }
  return result;
}
