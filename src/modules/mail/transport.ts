import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Mail } from './templates.js';

export interface MailTransport {
  send(mail: Mail & { from: string }): Promise<void>;
  /** Removes whatever the transport still keeps of mails to this address (a deleted account). */
  forget(address: string): Promise<void>;
  /** Removes kept mails older than `olderThanMs`; returns how many. */
  expire(olderThanMs: number, now?: number): Promise<number>;
  close(): void;
}

/** A real SMTP server (SMTP_URL, e.g. smtps://user:pass@smtp.example.com:465); it keeps nothing. */
export function smtpTransport(url: string): MailTransport {
  const transporter = nodemailer.createTransport(url);
  return {
    send: async (mail) => {
      await transporter.sendMail({ from: mail.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    },
    forget: async () => undefined,
    expire: async () => 0,
    close: () => transporter.close(),
  };
}

/** The address in a file name, hashed: files of one recipient can be found without naming them. */
const addressTag = (address: string) => createHash('sha256').update(address.trim().toLowerCase()).digest('hex').slice(0, 24);

/**
 * The embedded default: each mail becomes an .eml file in `dir`, readable by this process's user
 * only, so a developer can read the code without any mail server. The log says a mail was written,
 * never what it says. Files are removed with their account and after the retention period. A mail
 * is written under a temporary name and renamed, so whoever reads the folder (a developer, a
 * test, a tool watching it) finds whole mails only.
 */
export function outboxFolderTransport(dir: string, log: { info(obj: unknown, msg: string): void }): MailTransport {
  const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const listed = async (pattern: RegExp) => (await readdir(dir).catch(() => [] as string[])).filter((name) => pattern.test(name));
  return {
    send: async (mail) => {
      const info = await transporter.sendMail({ from: mail.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${addressTag(mail.to)}.eml`);
      await writeFile(`${file}.partial`, info.message as Buffer, { mode: 0o600 });
      await rename(`${file}.partial`, file);
      log.info({ file }, 'mail written to the outbox folder (no SMTP_URL)');
    },
    forget: async (address) => {
      const tag = `-${addressTag(address)}.eml`;
      await Promise.all(
        (await listed(/\.eml$/)).filter((name) => name.endsWith(tag)).map((name) => rm(path.join(dir, name), { force: true })),
      );
    },
    expire: async (olderThanMs, now = Date.now()) => {
      let removed = 0;
      // With what a process stopped mid-write left (.eml.partial).
      for (const name of await listed(/\.eml(\.partial)?$/)) {
        const full = path.join(dir, name);
        const info = await stat(full).catch(() => undefined);
        if (info && now - info.mtimeMs > olderThanMs) {
          await rm(full, { force: true });
          removed += 1;
        }
      }
      return removed;
    },
    close: () => transporter.close(),
  };
}
