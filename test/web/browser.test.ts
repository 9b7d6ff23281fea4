import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser } from '../helpers/factories.js';
import { cameraLikeJpeg, jpeg, noisyJpeg, portraitOnCanvas } from '../helpers/images.js';
import { heicFrom, heifEncAvailable } from '../helpers/heif.js';
import { STORAGES } from '../helpers/storage.js';
import { video } from '../helpers/videos.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skipReason = existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
const root = path.resolve(import.meta.dirname, '..', '..');
const SHOTS = path.join(root, 'test-output', 'screenshots');
const FILES = path.join(root, 'test-output', 'files');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

/** The API guide's three functions, verbatim (000_838dacdecd9cf109.txt, "Frontend Implementation"). */
const GUIDE_FUNCTIONS = `
const getBackgroundProfile = async () => {
  const response = await fetch('/api/profile/background/', {
    headers: {
      'Authorization': \`Bearer \${localStorage.getItem('authToken')}\`,
      'is-background': 'true'
    }
  });
  
  const data = await response.json();
  const profilePictureUrl = data.profile.profile_picture;
  
  if (profilePictureUrl) {
    document.getElementById('bg-profile-img').src = profilePictureUrl;
  } else {
    document.getElementById('bg-profile-img').src = '/default-background-avatar.png';
  }
  
  return data;
};

const uploadBackgroundProfilePicture = async (imageFile, otherData = {}) => {
  const formData = new FormData();
  formData.append('profile_picture', imageFile);
  
  // Add other profile fields if needed
  Object.keys(otherData).forEach(key => {
    formData.append(key, otherData[key]);
  });

  const response = await fetch('/api/profile/background/', {
    method: 'POST',
    headers: {
      'Authorization': \`Bearer \${localStorage.getItem('authToken')}\`,
      'is-background': 'true'
      // Don't set Content-Type - let browser set it with boundary
    },
    body: formData
  });

  return response.json();
};

const updateOnlyBackgroundProfilePicture = async (imageFile) => {
  const formData = new FormData();
  formData.append('profile_picture', imageFile);

  const response = await fetch('/api/profile/background/?partial=true', {
    method: 'POST',
    headers: {
      'Authorization': \`Bearer \${localStorage.getItem('authToken')}\`,
      'is-background': 'true'
    },
    body: formData
  });

  return response.json();
};
`;

describe.skipIf(skipReason)('the web front end in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const external: string[] = [];

  beforeAll(async () => {
    const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-if-stale.mjs')], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    mkdirSync(SHOTS, { recursive: true });
    mkdirSync(FILES, { recursive: true });
    writeFileSync(path.join(FILES, 'headshot.jpg'), await jpeg(1600, 1200, '#3d6fb6'));
    writeFileSync(path.join(FILES, 'second.jpg'), await jpeg(1200, 1600, '#b63d6f'));
    // Big enough that throttled upload progress is observable.
    writeFileSync(path.join(FILES, 'large.jpg'), await noisyJpeg(1500, 1000));
    writeFileSync(path.join(FILES, 'notes.jpg'), 'these are my notes, not a picture\n');
    writeFileSync(path.join(FILES, 'prop.jpg'), await jpeg(800, 600, '#b6a03d'));
    writeFileSync(path.join(FILES, 'small-landscape.jpg'), await noisyJpeg(480, 360));
    // A headshot: the public-domain NASA portrait from test/fixtures/faces on a taller canvas.
    writeFileSync(path.join(FILES, 'face.jpg'), await portraitOnCanvas({ width: 1000, height: 1250, size: 900, left: 100, top: 200 }));
    // As a phone writes it: the sensor's landscape pixels, EXIF saying "turn 90°", when and with what it was taken.
    const camera = sharp(await cameraLikeJpeg(4032, 3024))
      .jpeg({ quality: 90 })
      .withMetadata({ orientation: 6 })
      .withExifMerge({ IFD0: { Make: 'Apple', Model: 'iPhone 15' }, IFD2: { DateTimeOriginal: '2026:03:14 09:26:53' } });
    writeFileSync(path.join(FILES, 'camera-12mp.jpg'), await camera.toBuffer());
    if (await heifEncAvailable()) writeFileSync(path.join(FILES, 'iphone.heic'), await heicFrom(await jpeg(1200, 1600, '#6f3db6'), 'jpg'));
    writeFileSync(path.join(FILES, 'look-a.jpg'), await noisyJpeg(900, 1125));
    writeFileSync(path.join(FILES, 'look-b.jpg'), await jpeg(900, 1125, '#5a8f4e'));
    if (hasFfmpeg) writeFileSync(path.join(FILES, 'tape.mp4'), await video({ seconds: 1 }));

    // The strict refresh mode (rotation with reuse detection): what the page must handle at its hardest.
    t = await startTestApp(DATABASES[0]!, { storage: STORAGES[0], env: { REFRESH_TOKEN_ROTATION: 'true' } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    });
    context = await browser.newContext({ baseURL: t.http.baseUrl, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(t.http.baseUrl) && !url.startsWith('data:') && !url.startsWith('blob:')) external.push(url);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  /** Uploads from the page at `bytesPerSecond` (DevTools network emulation), until the test sets the conditions back. */
  const throttleUploads = async (bytesPerSecond: number) => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 20,
      downloadThroughput: -1,
      uploadThroughput: bytesPerSecond,
    });
    return cdp;
  };

  it('signs up with errors shown next to each field, then lands on the profile', async () => {
    await page.goto('/#signup');
    await page.getByLabel('First name').fill('Robin');
    await page.getByLabel('Last name').fill('Extra');
    await page.getByLabel('Email').fill('robin@example.com');
    await page.getByLabel('Password').fill('12345678');
    await page.getByLabel('Date of birth').fill('2015-01-01');
    await page.getByLabel(/Background \(extra/).check();
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.locator('[data-field-error="password"]').textContent()).toContain('entirely numeric');
    expect(await page.locator('[data-field-error="date_of_birth"]').textContent()).toContain('at least 18');
    await shot('signup-errors');

    await page.getByLabel('Password').fill('Robin-Extra-2026');
    await page.getByLabel('Date of birth').fill('1990-03-04');
    await page.getByLabel('Gender').selectOption('Other');
    await page.getByLabel('Country').fill('Ireland');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.getByTestId('email').textContent()).toBe('robin@example.com');
    expect(await page.evaluate(() => (globalThis as any).localStorage.getItem('authToken'))).toMatch(/^ey/);
    await expect.poll(() => page.locator('#profile-picture').evaluate((img: any) => img.naturalWidth)).toBeGreaterThan(0);
    await shot('profile-new');
  });

  /** Every mail to `email` in the outbox folder (no SMTP_URL in this test), decoded, once there are `count`. */
  async function mailsTo(email: string, count: number): Promise<string[]> {
    const dir = path.join(t.dataDir, 'outbox');
    const decoded = (file: string) =>
      readFileSync(path.join(dir, file), 'utf8')
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    // File names carry a hash of the address, not the address: the recipient is read from the mail.
    const mine = () =>
      existsSync(dir)
        ? readdirSync(dir)
            .sort()
            .map(decoded)
            .filter((mail) => new RegExp(`^To: ${email}$`, 'mi').test(mail))
        : [];
    await expect.poll(() => mine().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(count);
    return mine();
  }

  /** The first match of `pattern` in the mails to `email`, waiting for it to arrive. */
  async function fromMail(email: string, pattern: RegExp): Promise<string> {
    let found: string | undefined;
    await expect
      .poll(
        async () => {
          for (const mail of await mailsTo(email, 1)) found ??= pattern.exec(mail)?.[1];
          return found;
        },
        { timeout: 10_000 },
      )
      .toBeDefined();
    return found as string;
  }

  it('verifies the email with the code from the mail', async () => {
    const code = await fromMail('robin@example.com', /verification code (\d{6})/);
    await page.getByLabel('Code', { exact: true }).fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => page.locator('[data-field-error="verify-code"]').textContent()).toContain('Invalid or expired code');
    await page.getByLabel('Code', { exact: true }).fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Verify your email' }).count()).toBe(0);
  });

  it('signs out and back in with the keyboard', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Background').check();
    await page.getByLabel('Email').fill('robin@example.com');
    await page.getByLabel('Password').fill('wrong-password-1');
    await page.getByLabel('Password').press('Enter');
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('No active account');
    await page.getByLabel('Password').fill('Robin-Extra-2026');
    await page.getByLabel('Password').press('Enter');
    await expect.poll(() => page.getByTestId('email').textContent()).toBe('robin@example.com');
  });

  it('uploads a picture with a real progress bar and shows it from its URL', async () => {
    // ~400 KB/s up: the upload takes a noticeable moment, so progress can be watched.
    const cdp = await throttleUploads(400 * 1024);
    const seen: number[] = [];
    const watcher = setInterval(() => {
      page
        .locator('#upload-progress')
        .evaluate((el: any) => el.value)
        .then((v) => seen.push(v))
        .catch(() => undefined);
    }, 30);
    await page.locator('#picture-input').setInputFiles(path.join(FILES, 'large.jpg'));
    await expect
      .poll(() => page.locator('#profile-picture').getAttribute('data-uploaded'), { timeout: 20_000 })
      .toMatch(/\/media\/background_profile_pictures\//);
    clearInterval(watcher);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const distinct = [...new Set(seen)].filter((v) => v > 0 && v < 1);
    expect(distinct.length).toBeGreaterThan(1);

    const img = page.locator('#profile-picture');
    await expect.poll(() => img.evaluate((el: any) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
    expect(await img.getAttribute('src')).toBe(await img.getAttribute('data-uploaded'));
    await shot('profile-with-picture');
  });

  it('replaces the picture, and the old URL then answers 404', async () => {
    const img = page.locator('#profile-picture');
    const oldUrl = (await img.getAttribute('data-uploaded')) as string;
    await page.locator('#picture-input').setInputFiles(path.join(FILES, 'second.jpg'));
    // The upload includes the face check (its models load on the first one).
    await expect.poll(() => img.getAttribute('data-uploaded'), { timeout: 15_000 }).not.toBe(oldUrl);
    // The master stays the fallback src; a 160 px avatar slot loads the 192 px WebP variant from the srcset.
    await expect.poll(() => img.evaluate((el: any) => el.complete && el.naturalWidth > 0)).toBe(true);
    expect(await img.getAttribute('src')).toBe(await img.getAttribute('data-uploaded'));
    expect(await img.evaluate((el: any) => el.currentSrc)).toMatch(/-avatar-192\.webp$/);
    expect(await img.getAttribute('data-placeholder')).toBe('thumbhash');
    const box = await img.boundingBox();
    expect([box?.width, box?.height]).toEqual([160, 160]);
    // no-store: the browser rightly caches immutable pictures; the question is what the server says.
    expect(await page.evaluate(async (url) => (await fetch(url, { cache: 'no-store' } as RequestInit)).status, oldUrl)).toBe(404);
  });

  it('shows the quick checks as soon as a photo is chosen, then the server’s hints, and frames the picture by dragging', async () => {
    // A slow upload, so what the page shows before the server answers can be seen.
    const cdp = await throttleUploads(30 * 1024);
    const img = page.locator('#profile-picture');
    const before = await img.getAttribute('data-uploaded');
    await page.locator('#picture-input').setInputFiles(path.join(FILES, 'small-landscape.jpg'));
    const codes = () => page.locator('#picture-hints li').evaluateAll((items) => items.map((item) => item.getAttribute('data-code')));
    await expect.poll(codes).toEqual(['low_resolution', 'landscape']);
    expect(await page.locator('#upload-progress').count()).toBe(1);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await expect.poll(() => img.getAttribute('data-uploaded'), { timeout: 20_000 }).not.toBe(before);
    // The server's hints replace them, with the face check's too.
    await expect.poll(codes, { timeout: 15_000 }).toEqual(expect.arrayContaining(['no_face', 'low_resolution', 'landscape']));

    await page.locator('#picture-input').setInputFiles(path.join(FILES, 'face.jpg'));
    await expect.poll(codes, { timeout: 15_000 }).toEqual([]);
    // What the API says, with the page's own (current) token.
    const read = async () =>
      t.http.get('/api/profile/background/', {
        authorization: `Bearer ${await page.evaluate(() => (globalThis as any).localStorage.getItem('authToken') as string)}`,
        'is-background': 'true',
      });
    await expect.poll(async () => (await read()).body.profile.profile_picture_info?.focus?.source, { timeout: 15_000 }).toBe('face');
    await page.locator('#frame-open').click();
    const frame = page.locator('#picture-frame');
    // The smallest frame, dragged towards the middle of the picture (there is room that way).
    await page.locator('#frame-size').evaluate((input: any) => {
      input.value = input.min;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const stage = (await page.locator('.frame-stage').boundingBox())!;
    const start = (await frame.boundingBox())!;
    const dx = start.x + start.width / 2 < stage.x + stage.width / 2 ? 30 : -30;
    const dy = start.y + start.height / 2 < stage.y + stage.height / 2 ? 30 : -30;
    await page.mouse.move(start.x + start.width / 2, start.y + start.height / 2);
    await page.mouse.down();
    await page.mouse.move(start.x + start.width / 2 + dx, start.y + start.height / 2 + dy, { steps: 5 });
    await page.mouse.up();
    const moved = (await frame.boundingBox())!;
    expect(Math.abs(moved.x - start.x) + Math.abs(moved.y - start.y)).toBeGreaterThan(20);
    await shot('frame-editor');
    await page.locator('#frame-save').click();
    await expect.poll(async () => (await read()).body.profile.profile_picture_info.focus?.source, { timeout: 15_000 }).toBe('user');
    const focus = (await read()).body.profile.profile_picture_info.focus;
    expect(focus.width / focus.height).toBeCloseTo(0.8, 1);
    await expect.poll(() => page.locator('#picture-frame').count()).toBe(0);
  });

  it('shrinks a 12 MP camera photo in the browser before sending it, upright and with its capture date, and sends a HEIC as it is', async () => {
    // What the page hands to the network: the size of each file in each multipart body it sends.
    await page.evaluate(() => {
      const w = globalThis as any;
      w.__sentFiles = [];
      const send = (w.__originalSend = w.XMLHttpRequest.prototype.send);
      w.XMLHttpRequest.prototype.send = function (body: any) {
        if (body instanceof w.FormData) for (const [, value] of body.entries()) if (value instanceof w.File) w.__sentFiles.push(value.size);
        return send.call(this, body);
      };
    });
    const sentFiles = () => page.evaluate(() => (globalThis as any).__sentFiles as number[]);
    try {
      const img = page.locator('#profile-picture');
      let before = await img.getAttribute('data-uploaded');
      const original = readFileSync(path.join(FILES, 'camera-12mp.jpg')).length;
      await page.locator('#picture-input').setInputFiles(path.join(FILES, 'camera-12mp.jpg'));
      await expect.poll(() => img.getAttribute('data-uploaded'), { timeout: 20_000 }).not.toBe(before);
      const sent = await sentFiles();
      expect(sent).toHaveLength(1);
      // At least 70 % fewer bytes on the wire than the camera file.
      expect(sent[0]!).toBeLessThan(original * 0.3);
      const master = await page.evaluate(
        async (url) => {
          const bitmap = await (globalThis as any).createImageBitmap(await (await fetch(url as string)).blob());
          return [bitmap.width, bitmap.height];
        },
        await img.getAttribute('data-uploaded'),
      );
      // Turned upright once (by the page; the EXIF it carried says "as stored"), and its capture date kept.
      expect(master).toEqual([1536, 2048]);
      const token = await page.evaluate(() => (globalThis as any).localStorage.getItem('authToken') as string);
      const profile = await t.http.get('/api/profile/background/', { authorization: `Bearer ${token}`, 'is-background': 'true' });
      expect(profile.body.profile.profile_picture_info.captured_at).toBe('2026-03-14T09:26:53.000Z');
      await expect.poll(() => page.locator('#picture-taken').textContent()).toMatch(/taken \d+ (months?|years?) ago$/);

      if (existsSync(path.join(FILES, 'iphone.heic'))) {
        before = await img.getAttribute('data-uploaded');
        const heic = readFileSync(path.join(FILES, 'iphone.heic')).length;
        await page.locator('#picture-input').setInputFiles(path.join(FILES, 'iphone.heic'));
        await expect.poll(() => img.getAttribute('data-uploaded'), { timeout: 20_000 }).not.toBe(before);
        // Chromium cannot decode HEIC: the file goes as it is, and the server converts it.
        expect(await sentFiles()).toEqual([sent[0], heic]);
        expect(await img.getAttribute('data-uploaded')).toMatch(/\.jpg$/);
      }
    } finally {
      await page.evaluate(() => {
        const w = globalThis as any;
        w.XMLHttpRequest.prototype.send = w.__originalSend;
        delete w.__sentFiles;
      });
    }
  });

  it('explains in words why a text file renamed .jpg is refused', async () => {
    await page.locator('#picture-input').setInputFiles(path.join(FILES, 'notes.jpg'));
    await expect.poll(() => page.locator('.picture [role="alert"]').textContent()).toContain('Upload a valid image');
    await shot('picture-error');
  });

  it('edits a field with inline validation from the API', async () => {
    await page.getByLabel('Country').fill('The United Kingdom of Great Britain');
    await page.getByRole('button', { name: 'Save details' }).click();
    await expect.poll(() => page.locator('[data-field-error="country"]').textContent()).toContain('no more than 25 characters');
    await page.getByLabel('Country').fill('Portugal');
    await page.getByRole('button', { name: 'Save details' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('Saved');
    await page.reload();
    await expect.poll(() => page.getByLabel('Country').inputValue()).toBe('Portugal');
  });

  it('shows the score breakdown, subscription and restrictions, and manages items once subscribed', async () => {
    expect(await page.getByRole('meter').count()).toBe(4);
    expect(await page.getByTestId('subscription-message').textContent()).toContain('active subscription');
    expect(await page.locator('.restrictions li').count()).toBe(5);

    await runCli(
      ['subscription', 'grant', 'robin@example.com', 'background_jobs'],
      t.config,
      { out: () => undefined, err: () => undefined },
      t.database,
    );
    await page.reload();
    await expect.poll(() => page.getByTestId('score-total').textContent()).toBe('40');

    const form = page.locator('.items form.item-form').last();
    await page.getByLabel('Type').selectOption('prop');
    await form.getByLabel('Name').fill('Brass lantern');
    await form.getByLabel('Price').fill('12.50');
    await form.getByLabel('Material').fill('brass');
    await form.getByLabel('Photo').setInputFiles(path.join(FILES, 'prop.jpg'));
    await form.getByRole('button', { name: 'Add item' }).click();
    const row = page.locator('.item', { hasText: 'Brass lantern' });
    await expect.poll(() => row.count()).toBe(1);
    await expect.poll(() => row.locator('img').evaluate((el: any) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('score-total').textContent()).toBe('55');
    await shot('profile-items');

    const editing = page.locator(`[data-item-id="${await row.getAttribute('data-item-id')}"]`);
    await row.getByRole('button', { name: 'Edit Brass lantern' }).click();
    await editing.getByLabel('Name').fill('Copper lantern');
    await editing.getByRole('button', { name: 'Save item' }).click();
    await expect.poll(() => page.locator('.item', { hasText: 'Copper lantern' }).count()).toBe(1);

    await page.locator('.item', { hasText: 'Copper lantern' }).getByRole('button', { name: 'Delete Copper lantern' }).click();
    await expect.poll(() => page.locator('.item', { hasText: 'Copper lantern' }).count()).toBe(0);
  });

  it('builds a gallery: a progress bar per file, drag to reorder, slot, tags, visibility, promote to headshot', async () => {
    const gallery = () =>
      page.evaluate(async () => {
        const res = await fetch('/api/profile/background/media/', {
          headers: { Authorization: `Bearer ${(globalThis as any).localStorage.getItem('authToken')}`, 'is-background': 'true' },
        });
        return (await res.json()) as {
          id: number;
          name: string;
          slot: string | null;
          tags: string[];
          visibility: string;
          media_file: string;
        }[];
      });
    const names = async () => (await gallery()).map((item) => item.name);
    const card = (name: string) => page.locator('.gallery-item', { hasText: name });

    // Two files at once on a slow uplink: each gets its own progress bar.
    const cdp = await throttleUploads(400 * 1024);
    await page.getByLabel('Add photos or videos').setInputFiles([path.join(FILES, 'look-a.jpg'), path.join(FILES, 'look-b.jpg')]);
    await expect.poll(() => page.locator('.uploads progress').count()).toBe(2);
    expect(await page.locator('.uploads [data-upload="look-a.jpg"] progress').count()).toBe(1);
    await expect.poll(() => page.locator('.gallery-item').count(), { timeout: 20_000 }).toBe(2);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    expect(await names()).toEqual(['look-a', 'look-b']);
    await expect
      .poll(() =>
        card('look-b')
          .locator('img')
          .evaluate((el: any) => el.complete && el.naturalWidth),
      )
      .toBeGreaterThan(0);

    // Drag look-b before look-a; the arrows move it back.
    await card('look-b').dragTo(card('look-a'));
    await expect.poll(names).toEqual(['look-b', 'look-a']);
    expect(await page.locator('.gallery-item strong').allTextContents()).toEqual(['look-b', 'look-a']);
    await page.getByRole('button', { name: 'Move look-b later' }).click();
    await expect.poll(names).toEqual(['look-a', 'look-b']);

    // Slot, tags and visibility, saved as they are chosen.
    await page.getByLabel('Slot of look-a').selectOption('casual');
    await expect.poll(async () => (await gallery())[0]!.slot).toBe('casual');
    await page.getByLabel('commercial (look-a)').check();
    await expect.poll(async () => (await gallery())[0]!.tags).toEqual(['commercial']);
    await page.getByLabel('Hidden (look-a)').check();
    await expect.poll(async () => (await gallery())[0]!.visibility).toBe('hidden');

    // Promote look-b: it becomes the profile picture at once.
    await page.getByRole('button', { name: 'Make look-b my headshot' }).click();
    const lookB = (await gallery()).find((item) => item.name === 'look-b')!;
    await expect.poll(() => page.locator('#profile-picture').getAttribute('data-uploaded')).toBe(lookB.media_file);
    await expect.poll(async () => (await gallery()).find((item) => item.name === 'look-b')!.slot).toBe('headshot');
    expect(await card('look-b').locator('.badge').textContent()).toBe('Headshot');

    // A file the server refuses says why, next to its name.
    await page.getByLabel('Add photos or videos').setInputFiles(path.join(FILES, 'notes.jpg'));
    await expect
      .poll(() => page.locator('.uploads [data-upload="notes.jpg"] [role="alert"]').textContent())
      .toContain('Upload a valid image');

    if (hasFfmpeg) {
      await page.getByLabel('Add photos or videos').setInputFiles(path.join(FILES, 'tape.mp4'));
      await expect.poll(() => card('tape').locator('video').count(), { timeout: 20_000 }).toBe(1);
      expect(await card('tape').locator('video').getAttribute('poster')).toMatch(/\/media\/gallery_media\/\d+_[\w-]+\.jpg$/);
    }
    await shot('gallery');

    await page.getByRole('button', { name: 'Delete look-a' }).click();
    await expect.poll(names).not.toContain('look-a');
  });

  it('resets a forgotten password from the link in the mail', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill('robin@example.com');
    await page.getByRole('button', { name: 'Send a reset code' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('password reset code is on its way');
    const link = await fromMail('robin@example.com', /(http:\/\/127\.0\.0\.1:\d+\/#reset\?email=[^\s"<&]+&code=\d{6})/);
    await page.goto(link);
    expect(await page.getByLabel('Code from the mail').inputValue()).toMatch(/^\d{6}$/);
    await page.getByLabel('New password', { exact: true }).fill('Robin-Reset-2027');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('password has been reset');
    await shot('password-reset');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Background').check();
    await page.getByLabel('Email').fill('robin@example.com');
    await page.getByLabel('Password').fill('Robin-Reset-2027');
    await page.getByLabel('Password').press('Enter');
    await expect.poll(() => page.getByTestId('email').textContent()).toBe('robin@example.com');
  });

  it('fits a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await expect.poll(() => page.getByTestId('email').textContent()).toBe('robin@example.com');
    const overflow = await page.evaluate(() => {
      const { document, innerWidth } = globalThis as any;
      return document.documentElement.scrollWidth - innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('profile-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('runs the API guide’s three functions unchanged on a page served by this server', async () => {
    const user = await createUser(t.http, 'background');
    const guide = await context.newPage();
    await guide.goto('/');
    await guide.evaluate((token) => {
      const { localStorage, document } = globalThis as any;
      localStorage.setItem('authToken', token);
      document.body.insertAdjacentHTML(
        'beforeend',
        '<img id="bg-profile-img" alt=""><input id="bg-profile-picture-input" type="file" accept="image/*">',
      );
    }, user.access);
    // Pasted as a developer would into the console: the page's CSP rightly refuses inline <script>.
    await guide.evaluate(
      `${GUIDE_FUNCTIONS}\nwindow.guide = { getBackgroundProfile, uploadBackgroundProfilePicture, updateOnlyBackgroundProfilePicture };`,
    );

    const empty = await guide.evaluate(() => (globalThis as any).guide.getBackgroundProfile());
    expect(empty.profile.profile_picture).toBeNull();
    await expect.poll(() => guide.locator('#bg-profile-img').evaluate((el: any) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
    expect(await guide.locator('#bg-profile-img').getAttribute('src')).toBe('/default-background-avatar.png');

    await guide.locator('#bg-profile-picture-input').setInputFiles(path.join(FILES, 'headshot.jpg'));
    const uploaded = await guide.evaluate(async () => {
      const file = (globalThis as any).document.getElementById('bg-profile-picture-input').files[0];
      return (globalThis as any).guide.uploadBackgroundProfilePicture(file, { country: 'Canada', gender: 'Female' });
    });
    expect(uploaded.message).toBe('Background profile updated successfully');
    expect(uploaded.profile).toMatchObject({ country: 'Canada', gender: 'Female' });
    expect(uploaded.profile.profile_picture).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media\/background_profile_pictures\/\d+_[\w-]+\.jpg$/);

    const only = await guide.evaluate(async () => {
      const file = (globalThis as any).document.getElementById('bg-profile-picture-input').files[0];
      return (globalThis as any).guide.updateOnlyBackgroundProfilePicture(file);
    });
    expect(only.profile.profile_picture).not.toBe(uploaded.profile.profile_picture);
    expect(only.profile.country).toBe('Canada');

    const after = await guide.evaluate(() => (globalThis as any).guide.getBackgroundProfile());
    expect(after.profile.profile_picture).toBe(only.profile.profile_picture);
    await expect.poll(() => guide.locator('#bg-profile-img').evaluate((el: any) => el.complete && el.naturalWidth)).toBe(1600);
    await guide.close();
  });

  it('keeps the session when two tabs refresh an expired token at once (one refresh across tabs)', async () => {
    const user = await createUser(t.http, 'background');
    const tabs = await browser.newContext({ baseURL: t.http.baseUrl, viewport: { width: 1280, height: 900 } });
    tabs.setDefaultTimeout(10_000);
    try {
      // Refreshes take a moment on the wire: both tabs would send the same refresh token.
      await tabs.route('**/api/token/refresh/', async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        await route.continue();
      });
      const [first, second] = [await tabs.newPage(), await tabs.newPage()];
      const refreshes: number[] = [];
      tabs.on('response', (response) => {
        if (response.url().endsWith('/api/token/refresh/')) refreshes.push(response.status());
      });
      await first.goto('/#');
      // Signed in, with an access token the server no longer accepts (as after an hour).
      await first.evaluate(
        ({ refresh }) => {
          const storage = (globalThis as any).localStorage;
          storage.setItem('authToken', 'expired.access.token');
          storage.setItem('refreshToken', refresh);
          storage.setItem('castfolioRole', 'background');
        },
        { refresh: user.refresh },
      );
      await Promise.all([first.reload(), second.goto('/#')]);
      for (const tab of [first, second]) await expect.poll(() => tab.getByTestId('email').textContent()).toBe(user.email);
      // Exactly one refresh reached the server, and the session it produced still works.
      expect(refreshes).toEqual([200]);
      const stored = await first.evaluate(() => (globalThis as any).localStorage.getItem('refreshToken'));
      expect(stored).not.toBe(user.refresh);
      expect((await t.http.post('/api/token/refresh/', { refresh: stored })).status).toBe(200);
    } finally {
      await tabs.close();
    }
  });

  it('made no request outside this server', () => {
    expect(external).toEqual([]);
  });
});
