import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import type { Log } from '../../log.js';
import type { Mail } from './templates.js';
import type { MailTransport } from './transport.js';

const BATCH = 20;
const LOCK_SECONDS = 120;
const MAX_BACKOFF_SECONDS = 3600;

/** Queues a mail in the caller's transaction: it is sent if and only if that transaction commits. */
export async function enqueueMail(db: Kysely<Database> | Transaction<Database>, mail: Mail, now: string): Promise<void> {
  await db
    .insertInto('outbox_emails')
    .values({
      to_address: mail.to,
      subject: mail.subject,
      text_body: mail.text,
      html_body: mail.html,
      attempts: 0,
      next_attempt_at: now,
      created_at: now,
    })
    .execute();
}

/** Drops every outbox row (queued mail or record of a sent one) to this address, in the caller's transaction. */
export async function forgetRecipient(db: Kysely<Database> | Transaction<Database>, address: string): Promise<void> {
  await db.deleteFrom('outbox_emails').where('to_address', '=', address).execute();
}

/**
 * The durable outbox: requests only insert rows; this worker sends them, retries failures with
 * backoff, and lets several processes share the queue without sending a mail twice (each row is
 * claimed with a lock that expires, so a crashed sender's mails are picked up again).
 */
export class MailService {
  #running: Promise<void> | undefined;
  #kicked = false;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      transport: MailTransport;
      from: string;
      clock: () => Date;
      log: Log;
      /** Kept copies of sent mails (the outbox folder) older than this are removed. */
      retentionMs: number;
    },
  ) {}

  /** Whatever the transport still keeps of mails to a deleted account (the rows went with it). */
  async forget(address: string): Promise<void> {
    await this.deps.transport.forget(address);
  }

  /** Removes kept copies past the retention period. */
  async expire(): Promise<number> {
    return this.deps.transport.expire(this.deps.retentionMs, this.deps.clock().getTime());
  }

  /** Sends soon, without making the caller wait. */
  kick(): void {
    if (this.#kicked) return;
    this.#kicked = true;
    setImmediate(() => {
      this.#kicked = false;
      void this.sendDue();
    });
  }

  /** One pass over due mails; returns how many were sent. */
  async sendDue(): Promise<number> {
    if (this.#running) {
      await this.#running;
    }
    let sent = 0;
    const pass = (async () => {
      const { db, clock } = this.deps;
      const now = clock();
      // Not sent, and not held by a sender (or held by one whose lock ran out: it crashed).
      const unclaimed = (eb: ExpressionBuilder<Database, 'outbox_emails'>) =>
        eb.and([eb('sent_at', 'is', null), eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now.toISOString())])]);
      const due = await db
        .selectFrom('outbox_emails')
        .selectAll()
        .where(unclaimed)
        .where('next_attempt_at', '<=', now.toISOString())
        .orderBy('id')
        .limit(BATCH)
        .execute();
      for (const mail of due) {
        const claimed = await db
          .updateTable('outbox_emails')
          .set({ locked_until: new Date(now.getTime() + LOCK_SECONDS * 1000).toISOString() })
          .where('id', '=', mail.id)
          .where(unclaimed)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) continue;
        try {
          await this.deps.transport.send({
            from: this.deps.from,
            to: mail.to_address,
            subject: mail.subject,
            text: mail.text_body,
            html: mail.html_body,
          });
          // Subject and bodies carry live codes (stored hashed everywhere else): once sent, only a record stays.
          await db
            .updateTable('outbox_emails')
            .set({
              sent_at: clock().toISOString(),
              locked_until: null,
              subject: mail.subject.replace(/\d{6}/g, '······'),
              text_body: '',
              html_body: '',
            })
            .where('id', '=', mail.id)
            .execute();
          sent += 1;
        } catch (error) {
          const attempts = mail.attempts + 1;
          const delay = Math.min(MAX_BACKOFF_SECONDS, 15 * 2 ** (attempts - 1));
          this.deps.log.warn({ err: error, to: mail.to_address, attempts }, 'sending a mail failed; will retry');
          await db
            .updateTable('outbox_emails')
            .set({
              attempts,
              locked_until: null,
              last_error: String((error as Error).message ?? error).slice(0, 1000),
              next_attempt_at: new Date(clock().getTime() + delay * 1000).toISOString(),
            })
            .where('id', '=', mail.id)
            .execute();
        }
      }
    })();
    this.#running = pass.catch((error: unknown) => this.deps.log.warn({ err: error }, 'mail outbox pass failed'));
    await this.#running;
    this.#running = undefined;
    return sent;
  }

  async pending(): Promise<number> {
    const row = await this.deps.db
      .selectFrom('outbox_emails')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('sent_at', 'is', null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Waits for a pass under way, then closes the transport (SMTP connections). */
  async close(): Promise<void> {
    await this.#running;
    this.deps.transport.close();
  }
}
