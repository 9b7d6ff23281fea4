import { walkWindows } from './windows.js';

/**
 * The most scans a progressive JPEG may have. Each scan is a pass over the whole picture, so the
 * decode's CPU grows with their number, not with the file's size: a 2.9 MB progressive JPEG of 36
 * MP in 1923 scans (each a valid refinement, no decoder warning) took 21 s of CPU to decode here,
 * the same picture in 10 scans 0.5 s. libjpeg-turbo names the attack and leaves the limit to the
 * application (`TJPARAM_SCANLIMIT`, `djpeg -maxscans`), which libvips does not set. Cameras,
 * phones and editors write 1 to about 10 scans; 100 (libjpeg's own scan-script limit) costs
 * about 1.2 s at the pixel limit.
 */
export const MAX_JPEG_SCANS = 100;

/**
 * The most marker segments (metadata blocks such as EXIF, XMP, ICC chunks and comments, and the
 * tables) a JPEG may carry where the decoder reads them. libjpeg keeps every APPn segment libvips
 * asks for, and libvips walks them all on each read: 9.5 MB of empty APP1 segments in an 800 × 600
 * JPEG took 3.8 s of CPU and the process to 783 MB (the header read alone 1.2 s and 313 MB). Real
 * files carry a few to a few hundred (an ICC profile is at most 255 chunks, a phone's extended XMP
 * of several MB about a hundred); 4096 costs a few milliseconds.
 */
export const MAX_JPEG_SEGMENTS = 4096;

export interface JpegMarkerCounts {
  /** Scans (SOS markers). */
  scans: number;
  /** Marker segments other than scans, before and between the scans. */
  segments: number;
  /** The frame is progressive (SOF2, SOF6, SOF10, SOF14). */
  progressive: boolean;
}

/**
 * Counts a JPEG's scans and marker segments by walking its markers and skipping its coded data.
 * The walk stops at the end of the image, once a count passes its limit (it is then the limit plus
 * one), or after the last scan of a sequential JPEG (each component is coded in exactly one scan;
 * libjpeg reads no marker after it). A file that ends early or has no marker where one must be
 * counts as far as it goes: the decoder says what is wrong with it. A file on disk is read a chunk
 * at a time, and a baseline JPEG's only up to its first scan.
 */
export async function jpegMarkers(
  input: Buffer | string,
  limits: { scans: number; segments: number } = { scans: MAX_JPEG_SCANS, segments: MAX_JPEG_SEGMENTS },
): Promise<JpegMarkerCounts> {
  const walk = new MarkerWalk(limits.scans, limits.segments);
  // Markers are read in order: each window follows the last.
  await walkWindows(input, 0, (window, windowStart) => (walk.push(window) ? windowStart + window.length : -1));
  return { scans: walk.scans, segments: walk.segments, progressive: walk.progressive };
}

type State = 'marker' | 'code' | 'length' | 'payload' | 'coded' | 'coded-ff' | 'done';

/** SOFn markers: 0xc0-0xcf but DHT (0xc4), JPG (0xc8) and DAC (0xcc). */
const isFrame = (code: number) => code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc;
/** Progressive frames: SOF2, SOF6, SOF10, SOF14. */
const isProgressiveFrame = (code: number) => code === 0xc2 || code === 0xc6 || code === 0xca || code === 0xce;
/** The payload byte that counts components: Nf in a frame header (after P, Y, X), Ns in a scan's. */
const COMPONENTS_AT = { frame: 5, scan: 0 } as const;

class MarkerWalk {
  scans = 0;
  segments = 0;
  progressive = false;
  private state: State = 'marker';
  private length: number[] = [];
  private left = 0;
  /** The marker whose payload is being read, and how far into it. */
  private code = 0;
  private read = 0;
  /** Components the frame declares, and those the scans so far have coded. */
  private frameComponents = 0;
  private scannedComponents = 0;

  constructor(
    private readonly maxScans: number,
    private readonly maxSegments: number,
  ) {}

  /** Walks on through `chunk`; false once nothing more needs to be read. */
  push(chunk: Buffer): boolean {
    let at = 0;
    while (at < chunk.length && this.state !== 'done') {
      switch (this.state) {
        case 'marker':
          if (chunk[at++] !== 0xff) this.state = 'done';
          else this.state = 'code';
          break;
        case 'code': {
          const code = chunk[at++]!;
          // 0xff: fill before a marker; SOI, EOI, TEM and RSTn stand alone; the rest carry a length.
          if (code === 0xff) break;
          if (code === 0xd9) this.state = 'done';
          else if (code === 0xd8 || code === 0x01 || (code >= 0xd0 && code <= 0xd7)) this.state = 'marker';
          else if (code === 0xda ? ++this.scans > this.maxScans : ++this.segments > this.maxSegments) this.state = 'done';
          else {
            if (isFrame(code)) this.progressive = isProgressiveFrame(code);
            this.code = code;
            this.read = 0;
            this.length = [];
            this.state = 'length';
          }
          break;
        }
        case 'length':
          this.length.push(chunk[at++]!);
          if (this.length.length === 2) {
            // The length counts its own two bytes.
            this.left = this.length[0]! * 256 + this.length[1]! - 2;
            if (this.left < 0) this.state = 'done';
            else if (this.left === 0) this.endOfPayload();
            else this.state = 'payload';
          }
          break;
        case 'payload': {
          const taken = Math.min(this.left, chunk.length - at);
          const wanted = this.code === 0xda ? COMPONENTS_AT.scan : isFrame(this.code) ? COMPONENTS_AT.frame : -1;
          if (wanted >= this.read && wanted < this.read + taken) {
            const components = chunk[at + wanted - this.read]!;
            if (this.code === 0xda) this.scannedComponents += components;
            else this.frameComponents = components;
          }
          at += taken;
          this.read += taken;
          this.left -= taken;
          if (this.left === 0) this.endOfPayload();
          break;
        }
        case 'coded': {
          // Coded data runs to the next marker: 0xff followed by anything but 0x00 (a stuffed byte) or RSTn.
          const ff = chunk.indexOf(0xff, at);
          if (ff < 0) at = chunk.length;
          else {
            at = ff + 1;
            this.state = 'coded-ff';
          }
          break;
        }
        case 'coded-ff': {
          const next = chunk[at]!;
          if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
            at++;
            this.state = 'coded';
          } else if (next === 0xff) at++;
          else this.state = 'code';
          break;
        }
      }
    }
    return this.state !== 'done';
  }

  private endOfPayload(): void {
    if (this.code !== 0xda) this.state = 'marker';
    // A sequential JPEG codes each component in one scan: once all are, nothing after is read.
    else if (!this.progressive && this.frameComponents > 0 && this.scannedComponents >= this.frameComponents) this.state = 'done';
    else this.state = 'coded';
  }
}
