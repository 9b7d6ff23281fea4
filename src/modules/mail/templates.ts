export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function layout(appName: string, title: string, paragraphs: string[], code?: string): string {
  const body = paragraphs.map((p) => `<p style="margin:0 0 16px">${escapeHtml(p)}</p>`).join('');
  const codeBlock =
    code === undefined ? '' : `<p style="font-size:28px;letter-spacing:6px;font-weight:700;margin:16px 0">${escapeHtml(code)}</p>`;
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#1d2733;background:#f3f5f8;padding:24px">
<div style="max-width:480px;margin:0 auto;background:#fff;border-radius:10px;padding:24px">
<h1 style="font-size:20px;margin:0 0 16px">${escapeHtml(title)}</h1>${body}
${codeBlock}
<p style="color:#5b6876;font-size:13px;margin:16px 0 0">${escapeHtml(appName)}</p></div></body></html>`;
}

const hours = (seconds: number) => {
  const h = Math.round(seconds / 3600);
  return h >= 1 ? `${h} hour${h === 1 ? '' : 's'}` : `${Math.round(seconds / 60)} minutes`;
};

export function verificationMail(appName: string, to: string, code: string, ttlSeconds: number): Mail {
  const lines = [
    `Welcome to ${appName}. Enter this code to verify your email address.`,
    `The code expires in ${hours(ttlSeconds)}. If you did not create an account, you can ignore this message.`,
  ];
  return {
    to,
    subject: `${appName}: your verification code ${code}`,
    text: `${lines[0]}\n\n    ${code}\n\n${lines[1]}\n\n— ${appName}\n`,
    html: layout(appName, 'Verify your email address', lines, code),
  };
}

export function passwordResetMail(appName: string, to: string, code: string, ttlSeconds: number, link: string): Mail {
  const lines = [
    `Someone asked to reset the password of your ${appName} account. Use this code, or open ${link}`,
    `The code works once and expires in ${hours(ttlSeconds)}. If it was not you, ignore this message: your password stays the same.`,
  ];
  return {
    to,
    subject: `${appName}: reset your password`,
    text: `${lines[0]}\n\n    ${code}\n\n${lines[1]}\n\n— ${appName}\n`,
    html: layout(appName, 'Reset your password', lines, code),
  };
}

/** Sent once per headshot when it is more than six months old (casting asks for recent photos). */
export function headshotReminderMail(appName: string, to: string, takenAt: string, now: Date, webUrl: string): Mail {
  const months = Math.max(6, Math.floor((now.getTime() - Date.parse(takenAt)) / (30.44 * 86_400_000)));
  const lines = [
    `Your headshot on ${appName} is ${months} months old. Casting directors ask for photos taken in the last six months, so a recent one gets you seen for more roles.`,
    `Upload a new photo to your gallery and make it your headshot: ${webUrl}`,
  ];
  return {
    to,
    subject: `${appName}: time for a new headshot`,
    text: `${lines[0]}\n\n${lines[1]}\n\n— ${appName}\n`,
    html: layout(appName, 'Time for a new headshot', lines),
  };
}
