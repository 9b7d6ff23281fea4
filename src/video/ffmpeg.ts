import { execFile } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { readMovieBoxes } from './mov-boxes.js';

export interface VideoLimits {
  ffprobePath: string;
  ffmpegPath: string;
  /** Longest accepted duration. */
  maxSeconds: number;
  /** Longest side of the picture. */
  maxDimension: number;
  /** Upper bound of one ffprobe or ffmpeg run; a run past it is killed and the upload refused. */
  timeoutMs: number;
}

export const INVALID_VIDEO_MESSAGE =
  'Upload a valid video: MP4, MOV or WebM with H.264, HEVC, VP8, VP9 or AV1 video and AAC, MP3, Opus or Vorbis sound.';

/** The upload is not a video we accept; `detail` says why when it helps. */
export class InvalidVideoError extends Error {
  constructor(
    readonly detail?: string,
    /** What ffmpeg said (logged, never shown to the client). */
    readonly context?: { stderr: string },
  ) {
    super(detail ?? INVALID_VIDEO_MESSAGE);
    this.name = 'InvalidVideoError';
  }
}

/** ffmpeg is not installed or cannot run: the server cannot take videos now. */
export class VideoToolsMissingError extends Error {
  constructor(cause: unknown) {
    super('ffprobe/ffmpeg could not be run', { cause });
    this.name = 'VideoToolsMissingError';
  }
}

/** The demuxer a file's magic bytes call for; ffmpeg never guesses (no playlist, concat or image2 demuxer). */
export type Demuxer = 'mov' | 'matroska';

/**
 * Streams a file may hold; ffmpeg's demuxers refuse to open one with more. Phones write two to
 * eight (the picture, the sound, timed metadata such as an iPhone's); every stream costs a decoder.
 */
const MAX_VIDEO_STREAMS = 32;

/**
 * Options every ffprobe/ffmpeg run gets for an upload:
 * - the demuxer named by its magic bytes, and only the file protocol, so nothing inside a file can
 *   make ffmpeg open a URL or another demuxer;
 * - at most MAX_VIDEO_STREAMS streams;
 * - a decoder bound of the largest picture accepted. The size ffprobe reports is the stream
 *   header's, and a stream may change size partway: a 760 kB MP4 declaring 320×240 whose frames
 *   turn into 16 000×16 000 took ffmpeg to 3.3 GB and 10 s of CPU for its poster frame. With the
 *   bound, the decoder refuses such a frame before allocating it.
 */
const inputOptions = (demuxer: Demuxer, path: string, limits: VideoLimits) => [
  '-max_pixels',
  String(limits.maxDimension ** 2),
  '-max_streams',
  String(MAX_VIDEO_STREAMS),
  '-protocol_whitelist',
  'file',
  '-f',
  demuxer,
  '-i',
  `file:${path}`,
];

/** What ffmpeg says when a file passes one of the bounds above, and what the client is told. */
const OVER_BOUNDS: [RegExp, (limits: VideoLimits) => string][] = [
  [
    /exceeds specified max pixel count/,
    (limits) => `Part of the video is larger than ${limits.maxDimension}×${limits.maxDimension} pixels.`,
  ],
  [/exceeds max_streams/, () => `The file has more than ${MAX_VIDEO_STREAMS} tracks.`],
];

/** What ffprobe found, reduced to what the decision and the remux need. */
export interface ProbedVideo {
  demuxer: Demuxer;
  container: 'mp4' | 'webm';
  videoStream: number;
  videoCodec: string;
  audioStream: number | undefined;
  audioCodec: string | undefined;
  /** As displayed (rotation applied). */
  width: number;
  height: number;
  durationSeconds: number;
  /** HDR: its transfer is HLG (an iPhone's HDR video) or PQ (HDR10), whose values read as SDR look grey. */
  highDynamicRange: boolean;
}

/** Transfers of HDR video: HLG and PQ (SMPTE ST 2084). */
const HDR_TRANSFERS = new Set(['arib-std-b67', 'smpte2084']);

/** Output container for each accepted codec pair (browsers play all of these). */
const MP4_VIDEO = new Set(['h264', 'hevc', 'av1', 'vp9']);
const MP4_AUDIO = new Set(['aac', 'mp3', 'opus', 'flac']);
const WEBM_VIDEO = new Set(['vp8', 'vp9', 'av1']);
const WEBM_AUDIO = new Set(['opus', 'vorbis']);
/** Demuxers whose files may come in: ISO BMFF (MP4, MOV, 3GP) and Matroska/WebM. */
const CONTAINERS = [/(^|,)(mov|mp4)(,|$)/, /(^|,)(matroska|webm)(,|$)/];

function run(command: string, args: readonly string[], limits: VideoLimits, maxBuffer = 4 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { timeout: limits.timeoutMs, killSignal: 'SIGKILL' as const, maxBuffer, windowsHide: true };
    execFile(command, args, options, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EACCES')
        return reject(new VideoToolsMissingError(error));
      if (error.killed) return reject(new InvalidVideoError('The video took too long to process.'));
      const said = String(stderr);
      const detail = OVER_BOUNDS.find(([pattern]) => pattern.test(said))?.[1](limits);
      reject(new InvalidVideoError(detail, { stderr: said.slice(0, 500) }));
    });
  });
}

interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  disposition?: { attached_pic?: number };
  side_data_list?: { rotation?: number }[];
  tags?: { rotate?: string };
  color_transfer?: string;
  /** Samples in an MP4/MOV stream's index (absent for Matroska, which has none). */
  nb_frames?: string;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string };
}

/**
 * What the bytes start like: an ISO BMFF video (MP4, MOV, 3GP; not a HEIC/AVIF still), Matroska or
 * WebM, AVI (refused without being opened: its subtitle streams have carried ffmpeg exploits), or
 * nothing we treat as a video (undefined: it goes to the image pipeline).
 */
export async function videoContainerOf(path: string): Promise<Demuxer | 'avi' | undefined> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await handle.read(head, 0, 12, 0);
    return containerOfHead(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** The container a file's first 12 bytes announce (see videoContainerOf). */
export function containerOfHead(head: Buffer): Demuxer | 'avi' | undefined {
  if (head.length < 12) return undefined;
  const brand = head.toString('latin1', 8, 12);
  if (head.toString('latin1', 4, 8) === 'ftyp')
    return /^(avif|avis|heic|heix|mif1|msf1|heim|heis|hevc|hevx)$/.test(brand) ? undefined : 'mov';
  if (head.readUInt32BE(0) === 0x1a45dfa3) return 'matroska';
  if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 11) === 'AVI') return 'avi';
  return undefined;
}

const rotationOf = (stream: FfprobeStream): number => {
  const fromSideData = stream.side_data_list?.find((entry) => typeof entry.rotation === 'number')?.rotation;
  const value = fromSideData ?? Number(stream.tags?.rotate ?? 0);
  return Number.isFinite(value) ? Math.abs(Math.round(value)) % 180 : 0;
};

/**
 * Frames and sound packets a second an MP4 or MOV may hold, all its streams together. ffmpeg
 * indexes every one in memory when it opens the file, and the MP4 writer again for the remux: a
 * 13 MB MP4 of a million 16×16 frames in one second took the remux to 165 MB and 1.7 s (a file of
 * 100 MB, over 1 GB). A 240 fps slow-motion video with its sound and four per-frame metadata tracks
 * holds about 1250.
 */
const MAX_SAMPLES_PER_SECOND = 4000;

const seconds = (value: number) => (Math.ceil(value) === 1 ? '1 second' : `${Math.ceil(value)} seconds`);

/** ffprobe's JSON, or an InvalidVideoError. */
async function ffprobe(path: string, demuxer: Demuxer, limits: VideoLimits, show: readonly string[]): Promise<FfprobeOutput> {
  const json = await run(
    limits.ffprobePath,
    ['-v', 'error', '-hide_banner', '-print_format', 'json', ...show, ...inputOptions(demuxer, path, limits)],
    limits,
  );
  try {
    return JSON.parse(json) as FfprobeOutput;
  } catch {
    throw new InvalidVideoError();
  }
}

const isMovingPicture = (s: FfprobeStream) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1;
const isStill = (s: FfprobeStream) => s.codec_type === 'video' && s.disposition?.attached_pic === 1;

/**
 * Reads the file with ffprobe in two steps and decides: one video stream with an accepted codec,
 * at most the first accepted audio stream, a duration and a picture size within the limits.
 * Anything else is an InvalidVideoError.
 *
 * The first step reads only the container's list of streams. ffprobe's full read (and ffmpeg's,
 * for the remux and the poster) decodes a frame of every stream, so a file may reach it only with
 * one moving picture and at most one cover picture: a 1.8 MB MP4 carrying thirty 4096×4096 PNG
 * covers took ffprobe to 1.5 GB and 5.7 s, then as much again for the remux, and was accepted.
 */
export async function probeVideo(path: string, limits: VideoLimits): Promise<ProbedVideo> {
  const demuxer = await videoContainerOf(path);
  if (demuxer === undefined || demuxer === 'avi') throw new InvalidVideoError();
  if (demuxer === 'mov') {
    // What the file's own boxes declare, before ffmpeg allocates anything for it (see readMovieBoxes).
    const boxes = await readMovieBoxes(path);
    if (boxes.compressed) {
      throw new InvalidVideoError(
        'The file’s header is compressed (a QuickTime format of the 1990s); export it again from any video editor.',
      );
    }
    const most = MAX_SAMPLES_PER_SECOND * limits.maxSeconds;
    if (boxes.indexedSamples > most) {
      throw new InvalidVideoError(
        `The file declares ${boxes.indexedSamples} frames; the limit is ${most} (${MAX_SAMPLES_PER_SECOND} a second of the longest video).`,
      );
    }
  }
  const listed =
    (
      await ffprobe(path, demuxer, limits, [
        '-nofind_stream_info',
        '-show_entries',
        'stream=index,codec_type:stream_disposition=attached_pic',
      ])
    ).streams ?? [];
  const moving = listed.filter(isMovingPicture).length;
  if (moving !== 1) throw new InvalidVideoError(moving === 0 ? 'The file has no video track.' : 'The file has more than one video track.');
  const stills = listed.filter(isStill).length;
  if (stills > 1) throw new InvalidVideoError(`The file carries ${stills} cover pictures; the limit is 1.`);

  const probe = await ffprobe(path, demuxer, limits, ['-show_format', '-show_streams']);
  const formatName = probe.format?.format_name ?? '';
  if (!CONTAINERS.some((pattern) => pattern.test(formatName))) throw new InvalidVideoError();
  const streams = probe.streams ?? [];
  const videos = streams.filter(isMovingPicture);
  if (videos.length !== 1) throw new InvalidVideoError(videos.length === 0 ? 'The file has no video track.' : undefined);
  const video = videos[0] as FfprobeStream;
  const videoCodec = video.codec_name ?? '';
  const audio = streams.find((s) => s.codec_type === 'audio');
  const audioCodec = audio?.codec_name;

  let container: 'mp4' | 'webm';
  if (WEBM_VIDEO.has(videoCodec) && (audioCodec === undefined || WEBM_AUDIO.has(audioCodec))) container = 'webm';
  else if (MP4_VIDEO.has(videoCodec) && (audioCodec === undefined || MP4_AUDIO.has(audioCodec))) container = 'mp4';
  else throw new InvalidVideoError();

  const rawWidth = video.width ?? 0;
  const rawHeight = video.height ?? 0;
  if (rawWidth <= 0 || rawHeight <= 0) throw new InvalidVideoError();
  if (Math.max(rawWidth, rawHeight) > limits.maxDimension) {
    throw new InvalidVideoError(`The video is ${rawWidth}×${rawHeight} pixels; the limit is ${limits.maxDimension} on the longer side.`);
  }
  const turned = rotationOf(video) === 90;
  const durationSeconds = Number(probe.format?.duration);
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) throw new InvalidVideoError('The video’s length could not be read.');
  if (durationSeconds > limits.maxSeconds) {
    throw new InvalidVideoError(`The video is ${Math.ceil(durationSeconds)} seconds long; the limit is ${limits.maxSeconds} seconds.`);
  }
  const samples = streams.reduce((sum, stream) => sum + (Number(stream.nb_frames) || 0), 0);
  if (samples > MAX_SAMPLES_PER_SECOND * Math.max(1, durationSeconds)) {
    throw new InvalidVideoError(
      `The file holds ${samples} frames in ${seconds(durationSeconds)}; the limit is ${MAX_SAMPLES_PER_SECOND} a second.`,
    );
  }
  return {
    demuxer,
    container,
    videoStream: video.index,
    videoCodec,
    audioStream: audio?.index,
    audioCodec,
    width: turned ? rawHeight : rawWidth,
    height: turned ? rawWidth : rawHeight,
    durationSeconds,
    highDynamicRange: HDR_TRANSFERS.has(video.color_transfer ?? ''),
  };
}

/**
 * Copies the chosen streams into a fresh container without re-encoding and without any metadata:
 * no global tags (a phone's GPS position, its make and model), no per-stream tags, no chapters, no
 * data or subtitle tracks (timed location tracks), and the file's index first so playback starts
 * before the download ends. The picture's rotation is kept: it is how the video is meant to be seen.
 */
export async function remuxVideo(input: string, output: string, video: ProbedVideo, limits: VideoLimits): Promise<void> {
  const limit = remuxLimit((await stat(input)).size);
  const args = [
    '-nostdin',
    '-v',
    'error',
    '-hide_banner',
    '-y',
    ...inputOptions(video.demuxer, input, limits),
    '-map',
    `0:${video.videoStream}`,
  ];
  if (video.audioStream !== undefined) args.push('-map', `0:${video.audioStream}`);
  args.push('-c', 'copy', '-map_metadata', '-1', '-map_metadata:s:v', '-1', '-map_metadata:s:a', '-1', '-map_chapters', '-1');
  args.push('-dn', '-sn', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact');
  if (video.container === 'mp4') {
    if (video.videoCodec === 'hevc') args.push('-tag:v', 'hvc1');
    args.push('-movflags', '+faststart', '-f', 'mp4');
  } else {
    args.push('-f', 'webm');
  }
  args.push('-fs', String(limit), `file:${output}`);
  await run(limits.ffmpegPath, args, limits);
  if ((await stat(output)).size >= limit) {
    throw new InvalidVideoError(
      `The video’s frames unpack to more than ${Math.floor(limit / 1024 ** 2)} MB; export it again from any video editor.`,
    );
  }
}

/**
 * The most a remux may write for an input of `bytes`. Copying streams into a fresh container
 * changes only the container's share, a little either way; what grows is a stream the input's
 * container compressed (Matroska's zlib content encoding, whose frames ffmpeg inflates up to 10 MB
 * each): a 452 kB MKV of 50 such VP8 frames made a 450 MB file, so a 100 MB upload could fill a
 * disk, then storage. ffmpeg stops writing at this size (`-fs`), and the upload is refused.
 */
const remuxLimit = (bytes: number) => Math.ceil(bytes * 1.05) + 1024 ** 2;

/**
 * JPEG holds BT.601 full-range YCbCr, whatever the video's matrix (BT.709 for HD video): the frame
 * is converted to it, or a phone video's reds and greens would shift by 10-20 levels.
 */
const JPEG_COLOURS = 'scale=out_color_matrix=bt601:out_range=full,format=yuvj420p';

/**
 * An HDR frame brought to SDR first (zimg): BT.709 primaries, sRGB's transfer, with HDR's reference
 * white (203 cd/m², BT.2408) as SDR's white, brighter highlights clipped. Without it an iPhone's HDR
 * video gets a grey, washed-out poster. Tone curves that keep some highlight detail (mobius, hable)
 * also dimmed everything below reference white: skin by 10 % to 40 %.
 */
const HDR_TO_SDR = 'zscale=p=bt709:t=iec61966-2-1:m=bt709:r=tv:npl=203,format=yuv420p';

/**
 * Frames decoded at most for a poster, from the key frame before its time: a second of a 120 fps
 * video. A stream may pack any number of frames into that second (a 67 kB MP4 of 1000 frames of
 * 4096×4096 in its first second cost 3.5 s of CPU for a poster a third of a second in; a few MB of
 * them would run to the process timeout, holding the video queue): past this many, the frame
 * reached is the poster.
 */
const POSTER_MAX_FRAMES = 120;

/**
 * Decode from the key frame before the poster's time (ffmpeg's timestamps start there at minus the
 * time still to go), keep the first frame at that time or the POSTER_MAX_FRAMES-th, and give it
 * time 0 so ffmpeg writes it (a frame before the output's start is dropped).
 */
const POSTER_PICK = `select='gte(t\\,0)+gte(n\\,${POSTER_MAX_FRAMES - 1})',setpts=PTS-STARTPTS`;

/**
 * One frame (a second in, or earlier for a short clip), turned upright, as a high-quality JPEG for
 * the image pipeline, in the colours the video shows. An ffmpeg without zimg (not Debian's) still
 * makes an HDR video's poster, in the grey of its values read as SDR.
 */
export async function posterFrame(input: string, output: string, video: ProbedVideo, limits: VideoLimits): Promise<void> {
  const at = Math.min(1, video.durationSeconds / 3).toFixed(3);
  const extract = (filters: string) =>
    run(
      limits.ffmpegPath,
      [
        '-nostdin',
        '-v',
        'error',
        '-hide_banner',
        '-y',
        '-noaccurate_seek',
        '-ss',
        at,
        ...inputOptions(video.container === 'mp4' ? 'mov' : 'matroska', input, limits),
        '-map',
        '0:v:0',
        '-frames:v',
        '1',
        '-an',
        '-vf',
        `${POSTER_PICK},${filters}`,
      ].concat(['-f', 'image2', '-c:v', 'mjpeg', '-q:v', '2', `file:${output}`]),
      limits,
    );
  if (video.highDynamicRange) {
    try {
      await extract(`${HDR_TO_SDR},${JPEG_COLOURS}`);
      return;
    } catch (error) {
      // ffmpeg ran and refused the filter (no zimg); a run killed for its time, or refused for
      // its frames' size, is not tried again.
      if (!(error instanceof InvalidVideoError) || !error.context || error.detail) throw error;
    }
  }
  await extract(JPEG_COLOURS);
}
