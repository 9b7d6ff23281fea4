import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { box, latin1, uints } from './bytes.js';
import { inTempDir } from './tempdir.js';

/** Video fixtures synthesised in the test run by Debian's ffmpeg (lavfi test patterns), nothing downloaded. */

const run = promisify(execFile);

export interface VideoOptions {
  container?: 'mov' | 'mp4' | 'webm' | 'mkv' | 'avi';
  codec?: 'h264' | 'hevc' | 'vp9' | 'vp8' | 'mpeg4';
  audio?: 'aac' | 'opus' | 'pcm' | 'none';
  seconds?: number;
  width?: number;
  height?: number;
  /** Write a phone's location (QuickTime ISO 6709 and a GPS-like "location" tag) and its make/model. */
  gps?: boolean;
  /** A display-matrix rotation, as a phone held upright records. */
  rotate?: 90;
  /** Approximate size: the picture is random noise at this bitrate (kbit/s). */
  bitrateKbps?: number;
}

export const PHONE_LOCATION = '+48.8584+002.2945/';

const ENCODERS = {
  h264: ['libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
  hevc: ['libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-x265-params', 'log-level=error'],
  vp9: ['libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8'],
  vp8: ['libvpx', '-deadline', 'realtime', '-cpu-used', '8'],
  mpeg4: ['mpeg4'],
} as const;
const AUDIO = { aac: ['aac'], opus: ['libopus'], pcm: ['pcm_s16le'] } as const;

const cache = new Map<string, Promise<Buffer>>();

/** A short synthetic video; the same options give the same bytes once per test process. */
export function video(options: VideoOptions = {}): Promise<Buffer> {
  const key = JSON.stringify(options);
  let made = cache.get(key);
  if (!made) {
    made = make(options);
    cache.set(key, made);
  }
  return made;
}

async function make(options: VideoOptions): Promise<Buffer> {
  const { container = 'mp4', codec = 'h264', audio = 'aac', seconds = 2, width = 320, height = 240, gps = false, bitrateKbps } = options;
  return inTempDir('castfolio-video-', async (dir) => {
    const source = bitrateKbps
      ? `nullsrc=size=${width}x${height}:rate=25,geq=random(1)*255:128:128`
      : `testsrc=size=${width}x${height}:rate=25`;
    const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', source];
    if (audio !== 'none') args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
    args.push('-t', String(seconds), '-c:v', ...ENCODERS[codec]);
    if (bitrateKbps) args.push('-b:v', `${bitrateKbps}k`, '-maxrate', `${bitrateKbps}k`, '-bufsize', `${bitrateKbps * 2}k`);
    if (audio !== 'none') args.push('-c:a', ...AUDIO[audio]);
    if (gps) {
      args.push('-metadata', `location=${PHONE_LOCATION}`, '-metadata', `com.apple.quicktime.location.ISO6709=${PHONE_LOCATION}`);
      args.push('-metadata', 'make=Apple', '-metadata', 'model=iPhone 15 Pro', '-metadata', 'comment=secret-location-video');
    }
    if (container === 'mov' || container === 'mp4') args.push('-movflags', 'use_metadata_tags');
    const first = path.join(dir, `made.${container}`);
    args.push(first);
    await run('ffmpeg', args);
    if (!options.rotate) return readFile(first);
    const turned = path.join(dir, `turned.${container}`);
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      first,
      '-c',
      'copy',
      '-map_metadata',
      '0',
      '-metadata:s:v:0',
      `rotate=${options.rotate}`,
      '-movflags',
      'use_metadata_tags',
      turned,
    ]);
    return readFile(turned);
  });
}

export interface ProbedFile {
  format: { format_name: string; duration: string; tags?: Record<string, string> };
  streams: {
    codec_type: string;
    codec_name: string;
    width?: number;
    height?: number;
    tags?: Record<string, string>;
    side_data_list?: { rotation?: number }[];
  }[];
}

/** ffprobe's view of some bytes (what a player would see). */
export async function probe(bytes: Buffer): Promise<ProbedFile> {
  return inTempDir('castfolio-probe-', async (dir) => {
    const file = path.join(dir, 'file');
    await writeFile(file, bytes);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
    return JSON.parse(stdout) as ProbedFile;
  });
}

/** How a phone records colour: SDR HD video (BT.709), or HDR as iPhones record it (HLG) or HDR10 (PQ). */
export type DynamicRange = 'bt709' | 'hlg' | 'pq';

/**
 * Two seconds of a still picture (a PNG of even size, sRGB) as a phone would record it, its colours
 * tagged: BT.709 H.264, or 10-bit BT.2020 HEVC with HLG or PQ, the picture's white at HDR's
 * reference white (203 cd/m², BT.2408), as an HDR camera records a scene lit for SDR.
 */
export async function stillVideo(png: Buffer, range: DynamicRange): Promise<Buffer> {
  return inTempDir('castfolio-video-', async (dir) => {
    const still = path.join(dir, 'still.png');
    const output = path.join(dir, 'made.mp4');
    await writeFile(still, png);
    const encoding =
      range === 'bt709'
        ? ['-vf', 'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast']
        : [
            '-vf',
            `zscale=tin=iec61966-2-1:pin=bt709:min=gbr:rin=pc:t=${range === 'hlg' ? 'arib-std-b67' : 'smpte2084'}:p=bt2020:m=2020_ncl:r=tv:npl=203,format=yuv420p10le`,
            '-c:v',
            'libx265',
            '-preset',
            'ultrafast',
            '-x265-params',
            `colorprim=bt2020:transfer=${range === 'hlg' ? 'arib-std-b67' : 'smpte2084'}:colormatrix=bt2020nc:log-level=error`,
          ];
    const tags =
      range === 'bt709'
        ? ['-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709']
        : ['-color_primaries', 'bt2020', '-color_trc', range === 'hlg' ? 'arib-std-b67' : 'smpte2084', '-colorspace', 'bt2020nc'];
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-loop',
      '1',
      '-i',
      still,
      '-t',
      '2',
      '-r',
      '25',
      ...encoding,
      ...tags,
      '-color_range',
      'tv',
      output,
    ]);
    return readFile(output);
  });
}

/**
 * An H.264 MP4 whose picture changes size partway, as a stream may: `seconds[0]` at `first`, then
 * `seconds[1]` at `then` (one colour, so a large picture stays a small file). The MP4's header,
 * and so ffprobe, gives the first size; a decoder meets the second only when it reaches it.
 */
export async function resizingVideo(
  first: [number, number],
  then: [number, number],
  seconds: [number, number] = [0.2, 1],
): Promise<Buffer> {
  return inTempDir('castfolio-video-', async (dir) => {
    const parts = [
      [`testsrc=size=${first[0]}x${first[1]}:rate=25`, seconds[0]],
      [`color=c=red:size=${then[0]}x${then[1]}:rate=25`, seconds[1]],
    ] as const;
    const streams: Buffer[] = [];
    for (const [index, [source, length]] of parts.entries()) {
      const part = path.join(dir, `part${index}.h264`);
      await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', source, '-t', String(length), '-c:v', ...ENCODERS.h264, part]);
      streams.push(await readFile(part));
    }
    const joined = path.join(dir, 'joined.h264');
    const output = path.join(dir, 'made.mp4');
    await writeFile(joined, Buffer.concat(streams));
    await run('ffmpeg', ['-v', 'error', '-y', '-r', '25', '-f', 'h264', '-i', joined, '-c', 'copy', output]);
    return readFile(output);
  });
}

export interface TrackOptions {
  /** Copies of the picture track (1: the video as it is). */
  videoTracks?: number;
  /** Copies of the sound track. */
  audioTracks?: number;
  /** Cover pictures (MP4 `covr`): one-colour PNGs of this side, which ffmpeg decodes to read them. */
  covers?: number;
  coverSide?: number;
}

/** An MP4 (H.264 and AAC, 1 s) holding the tracks asked for, each a copy of one made by ffmpeg. */
export async function videoWithTracks(options: TrackOptions): Promise<Buffer> {
  const { videoTracks = 1, audioTracks = 1, covers = 0, coverSide = 1024 } = options;
  const base = await video({ seconds: 1, width: 64, height: 64 });
  return inTempDir('castfolio-video-', async (dir) => {
    const input = path.join(dir, 'base.mp4');
    const cover = path.join(dir, 'cover.png');
    const output = path.join(dir, 'made.mp4');
    await writeFile(input, base);
    const args = ['-v', 'error', '-y', '-i', input];
    if (covers > 0) {
      await run('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `color=c=green:size=${coverSide}x${coverSide}`,
        '-frames:v',
        '1',
        cover,
      ]);
      args.push('-i', cover);
    }
    for (let i = 0; i < videoTracks; i++) args.push('-map', '0:v');
    for (let i = 0; i < audioTracks; i++) args.push('-map', '0:a');
    for (let i = 0; i < covers; i++) args.push('-map', '1:v', `-disposition:v:${videoTracks + i}`, 'attached_pic');
    await run('ffmpeg', [...args, '-c', 'copy', output]);
    return readFile(output);
  });
}

/**
 * An H.264 MP4 with a single key frame, red for `redSeconds` then blue until `seconds`, at `rate`
 * frames a second (a high rate is a stream packing many frames before a poster's time).
 */
export async function twoColourVideo(rate: number, redSeconds: number, seconds: number): Promise<Buffer> {
  return inTempDir('castfolio-video-', async (dir) => {
    const output = path.join(dir, 'made.mp4');
    const colour = (name: string, length: number) => `color=c=${name}:size=64x64:rate=${rate}:duration=${length}`;
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-filter_complex',
      `${colour('red', redSeconds)}[a];${colour('blue', seconds - redSeconds)}[b];[a][b]concat`,
      '-c:v',
      ...ENCODERS.h264,
      '-g',
      '1000000',
      output,
    ]);
    return readFile(output);
  });
}

/** Whether mkvmerge is installed (.ci/run installs mkvtoolnix). */
export async function mkvmergeAvailable(): Promise<boolean> {
  return run('mkvmerge', ['--version']).then(
    () => true,
    (error: { code?: unknown }) => error.code !== 'ENOENT',
  );
}

/**
 * A Matroska file whose VP8 frames are zlib-compressed by the container (mkvmerge's
 * `--compression 0:zlib`): a second of real frames, then `padded` frames of `paddedBytes` zero
 * bytes each, which compress to almost nothing and which ffmpeg inflates when it copies them.
 */
export async function compressedMatroska(padded: number, paddedBytes: number): Promise<Buffer> {
  return inTempDir('castfolio-video-', async (dir) => {
    const real = path.join(dir, 'real.ivf');
    await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=25', '-t', '1', '-c:v', ...ENCODERS.vp8, real]);
    // IVF: a 32-byte file header (frame count at 24), then each frame's size, time and bytes.
    const source = await readFile(real);
    const frames: Buffer[] = [];
    for (let at = 32; at + 12 <= source.length; at += 12 + source.readUInt32LE(at))
      frames.push(source.subarray(at + 12, at + 12 + source.readUInt32LE(at)));
    for (let i = 0; i < padded; i++) frames.push(Buffer.alloc(paddedBytes));
    const header = Buffer.from(source.subarray(0, 32));
    header.writeUInt32LE(frames.length, 24);
    const parts: Buffer[] = [header];
    frames.forEach((frame, time) => {
      const entry = Buffer.alloc(12);
      entry.writeUInt32LE(frame.length, 0);
      entry.writeBigUInt64LE(BigInt(time), 4);
      parts.push(entry, frame);
    });
    const ivf = path.join(dir, 'padded.ivf');
    const output = path.join(dir, 'made.mkv');
    await writeFile(ivf, Buffer.concat(parts));
    await run('mkvmerge', ['-q', '-o', output, '--compression', '0:zlib', ivf]);
    return readFile(output);
  });
}

/**
 * A MOV whose movie header is compressed (QuickTime's `cmov`: `dcom` `zlib`, then `cmvd` with the
 * inflated size and the zlib data), declaring `inflatedBytes` of zeros: what ffmpeg allocates and
 * inflates into before it reads anything else. The media data is a few zero bytes.
 */
export function compressedMovieHeader(inflatedBytes: number): Buffer {
  const inflated = deflateSync(Buffer.alloc(inflatedBytes), { level: 9 });
  return Buffer.concat([
    box('ftyp', latin1('qt  '), uints(4, 0x200), latin1('qt  ')),
    box('moov', box('cmov', box('dcom', latin1('zlib')), box('cmvd', uints(4, inflatedBytes), inflated))),
    box('mdat', Buffer.alloc(16)),
  ]);
}

/** `bytes` (a fragmented MP4) with its first fragment run (`trun`) declaring `samples` samples. */
export function withRunDeclaring(bytes: Buffer, samples: number): Buffer {
  const changed = Buffer.from(bytes);
  const at = changed.indexOf('trun', 0, 'latin1');
  if (at < 0) throw new Error('no trun');
  // After the type: version and flags, then the count.
  changed.writeUInt32BE(samples, at + 8);
  return changed;
}

/** A fragmented MP4 (empty `moov`, then a `moof` and `mdat` per fragment) of the same frames as video(options). */
export async function fragmentedVideo(options: VideoOptions = {}): Promise<Buffer> {
  const whole = await video({ ...options, container: 'mp4' });
  return inTempDir('castfolio-video-', async (dir) => {
    const input = path.join(dir, 'whole.mp4');
    const output = path.join(dir, 'fragmented.mp4');
    await writeFile(input, whole);
    await run('ffmpeg', ['-v', 'error', '-y', '-i', input, '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov', output]);
    return readFile(output);
  });
}
