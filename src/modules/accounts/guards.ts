import type { Guards } from '../../auth/guard.js';
import type { UserRecord } from './repository.js';

/** The route guards of this API: their users are account records. */
export type AccountGuards = Guards<UserRecord>;
