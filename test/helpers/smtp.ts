import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  raw: string;
}

/** A real SMTP server in-process on 127.0.0.1: what the app sends really arrives here. */
export async function startSmtpServer(): Promise<{
  url: string;
  mails: ReceivedMail[];
  /** The next `n` messages are refused with a temporary error. */
  refuseNext(n: number): void;
  /** The newest 6-digit code sent to `to`, once it arrives. */
  codeFor(to: string, after?: number): Promise<string>;
  close(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  let refuse = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (refuse > 0) {
          refuse -= 1;
          const error = Object.assign(new Error('try again later'), { responseCode: 451 });
          callback(error);
          return;
        }
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}/?ignoreTLS=true`,
    mails,
    refuseNext: (n) => {
      refuse = n;
    },
    codeFor: async (to, after = 0) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = mails.filter((m) => m.to.includes(to.toLowerCase())).slice(after);
        const last = found.at(-1);
        const match = last
          ? /\b(\d{6})\b/.exec(
              last.raw
                .split(/\r?\n\r?\n/)
                .slice(1)
                .join('\n'),
            )
          : null;
        if (match) return match[1] as string;
        if (Date.now() > deadline) throw new Error(`no code arrived for ${to}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
