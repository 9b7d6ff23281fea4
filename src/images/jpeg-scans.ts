import { createReadStream } from 'node:fs';

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
 * The scans (SOS markers) of a JPEG, counted by walking its markers and skipping its coded data;
 * the walk stops once `stopAbove` is passed (it returns `stopAbove + 1`). A file that ends early or
 * has no marker where one must be counts as far as it goes: the decoder says what is wrong with it.
 * From a file on disk it streams, holding one chunk at a time.
 */
export async function jpegScans(input: Buffer | string, stopAbove = MAX_JPEG_SCANS): Promise<number> {
  const walk = new MarkerWalk(stopAbove);
  if (Buffer.isBuffer(input)) walk.push(input);
  else {
    for await (const chunk of createReadStream(input, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      if (!walk.push(chunk)) break;
    }
  }
  return walk.scans;
}

type State = 'marker' | 'code' | 'length' | 'payload' | 'coded' | 'coded-ff' | 'done';

class MarkerWalk {
  scans = 0;
  private state: State = 'marker';
  private length: number[] = [];
  private left = 0;
  private afterPayload: State = 'marker';

  constructor(private readonly stopAbove: number) {}

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
          else {
            if (code === 0xda && ++this.scans > this.stopAbove) this.state = 'done';
            else {
              this.afterPayload = code === 0xda ? 'coded' : 'marker';
              this.length = [];
              this.state = 'length';
            }
          }
          break;
        }
        case 'length':
          this.length.push(chunk[at++]!);
          if (this.length.length === 2) {
            // The length counts its own two bytes.
            this.left = this.length[0]! * 256 + this.length[1]! - 2;
            this.state = this.left > 0 ? 'payload' : this.afterPayload;
            if (this.left < 0) this.state = 'done';
          }
          break;
        case 'payload': {
          const taken = Math.min(this.left, chunk.length - at);
          at += taken;
          this.left -= taken;
          if (this.left === 0) this.state = this.afterPayload;
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
}
