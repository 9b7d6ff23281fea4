/** The two kinds of account. */
export type Role = 'talent' | 'background';

/** The headers a client sends to say which role it acts as (the API guide's clients do). */
export const ROLE_HEADERS: Record<Role, string> = { talent: 'is-talent', background: 'is-background' };
