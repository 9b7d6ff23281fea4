import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { cli, expectNoOrphans, startTestApp, storedNames, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import { colourPatches, jpeg, PATCHES, patchColours, patchDistance } from '../helpers/images.js';
import { STORAGES } from '../helpers/storage.js';
import {
  compressedMatroska,
  compressedMovieHeader,
  fragmentedVideo,
  mkvmergeAvailable,
  PHONE_LOCATION,
  probe,
  resizingVideo,
  stillVideo,
  twoColourVideo,
  video,
  videoWithTracks,
  withRunDeclaring,
} from '../helpers/videos.js';

function mediaForm(file: Buffer, fields: Record<string, string> = {}, filename = 'clip.mov', type = 'video/quicktime'): FormData {
  const form = new FormData();
  form.append('media_file', new Blob([file], { type }), filename);
  form.append('name', fields.name ?? 'Self-tape');
  for (const [key, value] of Object.entries(fields)) if (key !== 'name') form.append(key, value);
  return form;
}

const hasMkvmerge = await mkvmergeAvailable();

const INVALID = 'Upload a valid video: MP4, MOV or WebM with H.264, HEVC, VP8, VP9 or AV1 video and AAC, MP3, Opus or Vorbis sound.';
const download = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
};

for (const target of DATABASES) {
  for (const storage of STORAGES) {
    describe.skipIf(target.skipReason)(`gallery videos on ${target.label} with ${storage.name} storage`, () => {
      let t: TestApp;
      let premium: TestUser;

      const upload = (user: TestUser, form: FormData, kind = 'talent') =>
        t.http.request('POST', `/api/profile/${kind}/media/`, { form, headers: user.headers });

      beforeAll(async () => {
        t = await startTestApp(target, { storage, env: { MAX_VIDEO_DURATION: '20', MAX_VIDEO_DIMENSION: '1024' } });
        premium = await createUser(t.http, 'talent');
        await cli(t, 'subscription', 'grant', premium.email, 'platinum');
      });
      afterAll(async () => t?.close());

      it('stores a phone video without its location, make or model, upright, with a poster frame', async () => {
        const original = await video({ container: 'mov', gps: true, rotate: 90 });
        expect(original.includes(Buffer.from(PHONE_LOCATION))).toBe(true);
        const created = await upload(premium, mediaForm(original, { name: 'Monologue', media_info: 'Shakespeare' }));
        expect(created.status, created.text).toBe(201);
        expect(created.body).toMatchObject({ media_type: 'video', name: 'Monologue', is_test_video: false, slot: null });
        expect(created.body.media_file).toMatch(/\/gallery_media\/\d+_[A-Za-z0-9_-]+\.mp4$/);
        expect(created.body.thumbnail).toMatch(/\/gallery_media\/\d+_[A-Za-z0-9_-]+\.jpg$/);
        expect(created.body.duration_seconds).toBeCloseTo(2, 0);

        const stored = await download(created.body.media_file);
        expect(stored.status).toBe(200);
        expect(stored.type).toBe('video/mp4');
        for (const secret of [PHONE_LOCATION, 'iPhone', 'Apple', 'secret-location-video']) {
          expect(stored.body.includes(Buffer.from(secret)), secret).toBe(false);
        }
        const probed = await probe(stored.body);
        expect(probed.format.tags ?? {}).not.toHaveProperty('location');
        expect(probed.streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
        const picture = probed.streams[0]!;
        expect(Math.abs(picture.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0)).toBe(90);

        const poster = await download(created.body.thumbnail);
        expect(poster.type).toBe('image/jpeg');
        const meta = await sharp(poster.body).metadata();
        expect([meta.width, meta.height]).toEqual([240, 320]);
        expect(meta.exif).toBeUndefined();

        const profile = await t.http.get('/api/profile/talent/', premium.headers);
        expect(profile.body.media.map((m: { id: number }) => m.id)).toContain(created.body.id);
        expect(profile.body.account_limitations).toMatchObject({ videos_used: 1, videos_limit: 4 });
        await expectNoOrphans(t);
      });

      it('gives a phone video’s poster the colours the video shows: BT.709, and HDR (HLG as iPhones record it, or PQ) brought to SDR', async () => {
        const someone = await createUser(t.http, 'talent');
        await cli(t, 'subscription', 'grant', someone.email, 'platinum');
        const still = await colourPatches();
        for (const range of ['bt709', 'hlg', 'pq'] as const) {
          const created = await upload(someone, mediaForm(await stillVideo(still, range), {}, 'clip.mp4', 'video/mp4'));
          expect(created.status, created.text).toBe(201);
          const { worst, at } = await patchDistance((await download(created.body.thumbnail)).body);
          expect(worst, `${range} ${at}`).toBeLessThanOrEqual(6);
        }
        await expectNoOrphans(t);
      });

      it('keeps a WebM as WebM', async () => {
        const created = await upload(
          premium,
          mediaForm(await video({ container: 'webm', codec: 'vp9', audio: 'opus' }), {}, 'tape.webm', 'video/webm'),
        );
        expect(created.status, created.text).toBe(201);
        expect(created.body.media_file).toMatch(/\.webm$/);
        const stored = await download(created.body.media_file);
        expect(stored.type).toBe('video/webm');
        expect((await probe(stored.body)).streams.map((s) => s.codec_name)).toEqual(['vp9', 'opus']);
      });

      it('refuses what is not an accepted video with a 400 naming why, storing nothing', async () => {
        const before = await storedNames(t);
        const real = await video({});
        const cases: [Buffer, string[]][] = [
          [real.subarray(0, 2048), [INVALID]],
          [Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), Buffer.alloc(64)]), [INVALID]],
          [await video({ container: 'avi', codec: 'mpeg4', audio: 'none' }), [INVALID]],
          [await video({ container: 'mkv', codec: 'mpeg4', audio: 'none' }), [INVALID]],
          [await video({ container: 'mov', audio: 'pcm' }), [INVALID]],
          [
            await video({ seconds: 21, width: 64, height: 64, audio: 'none' }),
            [INVALID, 'The video is 21 seconds long; the limit is 20 seconds.'],
          ],
          [
            compressedMovieHeader(64 * 1024 ** 2),
            [INVALID, 'The file’s header is compressed (a QuickTime format of the 1990s); export it again from any video editor.'],
          ],
        ];
        for (const [bytes, message] of cases) {
          const refused = await upload(premium, mediaForm(bytes));
          expect(refused.status, refused.text).toBe(400);
          expect(refused.body).toEqual({ media_file: message });
        }
        expect(await storedNames(t)).toEqual(before);
        await expectNoOrphans(t);
      });

      it('refuses a video whose picture grows past the limit partway (the header gives the first size), storing nothing', async () => {
        const before = await storedNames(t);
        const bomb = await resizingVideo([320, 240], [1280, 1280]);
        expect((await probe(bomb)).streams[0]).toMatchObject({ width: 320, height: 240 });
        const refused = await upload(premium, mediaForm(bomb, {}, 'clip.mp4', 'video/mp4'));
        expect(refused.status, refused.text).toBe(400);
        expect(refused.body).toEqual({ media_file: [INVALID, 'Part of the video is larger than 1024×1024 pixels.'] });
        expect(await storedNames(t)).toEqual(before);
        await expectNoOrphans(t);

        const within = await upload(premium, mediaForm(await resizingVideo([320, 240], [640, 480]), {}, 'clip.mp4', 'video/mp4'));
        expect(within.status, within.text).toBe(201);
        expect(within.body).toMatchObject({ media_type: 'video' });
        expect((await t.http.request('DELETE', `/api/media/${within.body.id}/delete/`, { headers: premium.headers })).status).toBe(204);
      });

      it('refuses a file whose tracks would each cost a decoder (too many tracks, pictures or covers), or whose index holds too many frames, storing nothing', async () => {
        const before = await storedNames(t);
        const cases: [Buffer, string][] = [
          [await videoWithTracks({ audioTracks: 32 }), 'The file has more than 32 tracks.'],
          [await videoWithTracks({ videoTracks: 2 }), 'The file has more than one video track.'],
          [await videoWithTracks({ covers: 2 }), 'The file carries 2 cover pictures; the limit is 1.'],
          [await twoColourVideo(5000, 0.5, 1), 'The file holds 5000 frames in 1 second; the limit is 4000 a second.'],
        ];
        for (const [bytes, detail] of cases) {
          const refused = await upload(premium, mediaForm(bytes, {}, 'clip.mp4', 'video/mp4'));
          expect(refused.status, refused.text).toBe(400);
          expect(refused.body).toEqual({ media_file: [INVALID, detail] });
        }
        // A fragment's run declaring 60 million samples (the file's other runs add a few dozen):
        // ffprobe allocated 545 MB for it from a few kB.
        const declared = await upload(
          premium,
          mediaForm(withRunDeclaring(await fragmentedVideo({ seconds: 1 }), 60_000_000), {}, 'clip.mp4', 'video/mp4'),
        );
        expect(declared.status, declared.text).toBe(400);
        expect(declared.body.media_file[0]).toBe(INVALID);
        const [, frames] =
          /^The file declares (\d+) frames; the limit is 80000 \(4000 a second of the longest video\)\.$/.exec(
            declared.body.media_file[1],
          ) ?? [];
        expect(Number(frames) - 60_000_000).toBeGreaterThanOrEqual(0);
        expect(Number(frames) - 60_000_000).toBeLessThan(200);
        expect(await storedNames(t)).toEqual(before);
        await expectNoOrphans(t);

        for (const options of [{ audioTracks: 31 }, { covers: 1 }]) {
          const taken = await upload(premium, mediaForm(await videoWithTracks(options), {}, 'clip.mp4', 'video/mp4'));
          expect(taken.status, taken.text).toBe(201);
          const stored = await probe((await download(taken.body.media_file)).body);
          expect(stored.streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
          expect((await t.http.request('DELETE', `/api/media/${taken.body.id}/delete/`, { headers: premium.headers })).status).toBe(204);
        }
      });

      it('takes the poster a second in, decoding at most 120 frames to reach it (a stream may pack any number into that second)', async () => {
        const posterColour = async (bytes: Buffer) => {
          const created = await upload(premium, mediaForm(bytes, {}, 'clip.mp4', 'video/mp4'));
          expect(created.status, created.text).toBe(201);
          const poster = await download(created.body.thumbnail);
          const { data } = await sharp(poster.body).raw().toBuffer({ resolveWithObject: true });
          expect((await t.http.request('DELETE', `/api/media/${created.body.id}/delete/`, { headers: premium.headers })).status).toBe(204);
          return data[0]! > 200 && data[2]! < 60
            ? 'red'
            : data[2]! > 200 && data[0]! < 60
              ? 'blue'
              : `rgb(${data[0]}, ${data[1]}, ${data[2]})`;
        };
        // 25 fps, red for 0.9 s: the frame at 1 s is blue.
        expect(await posterColour(await twoColourVideo(25, 0.9, 3))).toBe('blue');
        // 1000 fps, red for 0.2 s, one second long: the poster's time (a third in) is frame 333,
        // past the 120 decoded at most, so the frame reached (the 120th) is the poster.
        expect(await posterColour(await twoColourVideo(1000, 0.2, 1))).toBe('red');
      });

      it.skipIf(!hasMkvmerge)('refuses a Matroska file whose compressed frames unpack past its size, storing nothing', async () => {
        const before = await storedNames(t);
        // 40 frames of 9 MB of zeros, zlib-compressed by the container: 360 MB once copied out.
        const bomb = await compressedMatroska(40, 9_000_000);
        expect(bomb.length).toBeLessThan(1024 ** 2);
        const refused = await upload(premium, mediaForm(bomb, {}, 'clip.mkv', 'video/x-matroska'));
        expect(refused.status, refused.text).toBe(400);
        expect(refused.body).toEqual({
          media_file: [INVALID, 'The video’s frames unpack to more than 1 MB; export it again from any video editor.'],
        });
        expect(await storedNames(t)).toEqual(before);
        await expectNoOrphans(t);

        // Frames compressed by the container that unpack to about the file's size are taken.
        const taken = await upload(premium, mediaForm(await compressedMatroska(0, 0), {}, 'clip.mkv', 'video/x-matroska'));
        expect(taken.status, taken.text).toBe(201);
        expect((await probe((await download(taken.body.media_file)).body)).streams.map((s) => s.codec_name)).toEqual(['vp8']);
        expect((await t.http.request('DELETE', `/api/media/${taken.body.id}/delete/`, { headers: premium.headers })).status).toBe(204);
      });

      it('counts videos against the plan in the live words; test videos are numbered and not counted', async () => {
        const free = await createUser(t.http, 'talent');
        const refused = await upload(free, mediaForm(await video({})));
        expect(refused.status).toBe(400);
        expect(refused.body).toMatchObject({
          details: 'Your free account allows 0 videos. You already have 0 videos.',
          account_type: 'free',
        });

        const first = await upload(free, mediaForm(await video({}), { is_test_video: 'true' }));
        expect(first.status, first.text).toBe(201);
        expect(first.body).toMatchObject({ is_test_video: true, test_video_number: 1, is_about_yourself_video: false });
        const third = await upload(free, mediaForm(await video({}), { is_test_video: 'true', test_video_number: '3' }));
        expect(third.body.test_video_number).toBe(3);
        const again = await upload(free, mediaForm(await video({}), { is_test_video: 'true', test_video_number: '3' }));
        expect(again.status).toBe(400);
        expect(again.body).toEqual({ test_video_number: ['Test video 3 is already uploaded: delete it first to replace it.'] });
        const about = await upload(free, mediaForm(await video({}), { is_about_yourself_video: 'true' }));
        expect(about.body).toMatchObject({ is_test_video: true, test_video_number: 5, is_about_yourself_video: true });
        const secondAbout = await upload(free, mediaForm(await video({}), { is_about_yourself_video: 'true' }));
        expect(secondAbout.body).toEqual({ is_about_yourself_video: ['You can only upload 1 about yourself video.'] });
        const photo = await upload(free, mediaForm(await jpeg(), { is_test_video: 'true' }, 'me.jpg', 'image/jpeg'));
        expect(photo.body).toEqual({ is_test_video: ['Only a video can be a test video.'] });
        const badNumber = await upload(free, mediaForm(await video({}), { is_test_video: 'true', test_video_number: '7' }));
        expect(badNumber.body).toEqual({ test_video_number: ['Test videos are numbered 1 to 4 (5 is the about yourself video).'] });

        const profile = await t.http.get('/api/profile/talent/', free.headers);
        expect(profile.body.account_limitations).toMatchObject({ videos_used: 0, videos_limit: 0 });
        expect(profile.body.media).toHaveLength(3);
        await expectNoOrphans(t);
      });

      it('deletes a video with its poster', async () => {
        const created = await upload(premium, mediaForm(await video({ seconds: 1 })));
        expect(created.status).toBe(201);
        expect((await t.http.request('DELETE', `/api/media/${created.body.id}/delete/`, { headers: premium.headers })).status).toBe(204);
        await t.settled(); // the replaced files are deleted once the answer is written
        expect((await fetch(created.body.media_file)).status).toBe(404);
        expect((await fetch(created.body.thumbnail)).status).toBe(404);
        await expectNoOrphans(t);
      });
    });
  }
}

describe('gallery videos on a server without ffmpeg', () => {
  const target = DATABASES[0]!;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(target, { env: { FFPROBE_PATH: '/nonexistent/ffprobe', FFMPEG_PATH: '/nonexistent/ffmpeg' } });
  });
  afterAll(async () => t?.close());

  it('answers 400 (photos still work) and stores nothing', async () => {
    const user = await createUser(t.http, 'talent');
    await cli(t, 'subscription', 'grant', user.email, 'premium');
    const refused = await t.http.request('POST', '/api/profile/talent/media/', { form: mediaForm(await video({})), headers: user.headers });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      media_file: ['This server cannot take videos right now: upload a photo (JPEG, PNG, GIF, WebP or AVIF).'],
    });
    const photo = await t.http.request('POST', '/api/profile/talent/media/', {
      form: mediaForm(await jpeg(), {}, 'me.jpg', 'image/jpeg'),
      headers: user.headers,
    });
    expect(photo.status).toBe(201);
    await expectNoOrphans(t);
  });
});

describe('gallery videos with an ffmpeg that has no zimg (not Debian’s)', () => {
  const target = DATABASES[0]!;
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    // The real ffmpeg, refusing the zscale filter as a build without zimg does.
    dir = await mkdtemp(path.join(tmpdir(), 'castfolio-ffmpeg-'));
    const wrapper = path.join(dir, 'ffmpeg');
    await writeFile(wrapper, `#!/bin/sh\ncase "$*" in *zscale*) echo "No such filter: 'zscale'" >&2; exit 8;; esac\nexec ffmpeg "$@"\n`, {
      mode: 0o755,
    });
    t = await startTestApp(target, { env: { FFMPEG_PATH: wrapper } });
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('still takes an HDR video, its poster in the grey of its values read as SDR', async () => {
    const user = await createUser(t.http, 'talent');
    await cli(t, 'subscription', 'grant', user.email, 'premium');
    const form = mediaForm(await stillVideo(await colourPatches(), 'hlg'), {}, 'clip.mp4', 'video/mp4');
    const created = await t.http.request('POST', '/api/profile/talent/media/', { form, headers: user.headers });
    expect(created.status, created.text).toBe(201);
    const red = (await patchColours((await download(created.body.thumbnail)).body)).red!;
    expect(red[0]!).toBeLessThan(PATCHES.red[0] - 20);
    await expectNoOrphans(t);
  });
});

describe('gallery video size limit', () => {
  const target = DATABASES[0]!;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(target, { env: { MAX_VIDEO_SIZE: '64KB', MAX_IMAGE_SIZE: '32KB' } });
  });
  afterAll(async () => t?.close());

  it('answers 413 for a video over MAX_VIDEO_SIZE and a photo over MAX_IMAGE_SIZE, storing nothing', async () => {
    const user = await createUser(t.http, 'talent');
    await cli(t, 'subscription', 'grant', user.email, 'premium');
    const big = await video({ seconds: 2, bitrateKbps: 600, audio: 'none' });
    expect(big.length).toBeGreaterThan(64 * 1024);
    const refused = await t.http.request('POST', '/api/profile/talent/media/', { form: mediaForm(big), headers: user.headers });
    expect(refused.status).toBe(413);
    expect(refused.body).toEqual({ media_file: ['Video file size cannot exceed 64 KB.'] });
    const noisy = await sharp({
      create: { width: 220, height: 220, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } },
    })
      .jpeg({ quality: 95 })
      .toBuffer();
    expect(noisy.length).toBeGreaterThan(32 * 1024);
    const tooBig = await t.http.request('POST', '/api/profile/talent/media/', {
      form: mediaForm(noisy, {}, 'me.jpg', 'image/jpeg'),
      headers: user.headers,
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toEqual({ media_file: ['Image file size cannot exceed 32 KB.'] });
    await expectNoOrphans(t);
  });
});
