/**
 * Whether littleCMS can use an upload's embedded ICC profile at a bounded cost. A profile's
 * `multiProcessElementType` tag (`mpet`, in the float `D2Bx`/`B2Dx` tags, which littleCMS prefers
 * to every other) is a pipeline of any number of stages, and building a transform evaluates the
 * whole pipeline at every node of its grid: here a 160 kB profile of 20 000 stages in an 800 × 600
 * JPEG took 135 s of CPU and 1.4 GB of memory to convert to sRGB, and a 10 MB upload holds far more.
 * No camera, phone or editor embeds one (sRGB, Display P3, Adobe RGB, ProPhoto and print profiles
 * are curves, matrices and lookup tables of fixed shape); a profile carrying one is not used, and
 * the picture's colours are taken as they are, as for an upload without a profile. So is one whose
 * tag table is damaged: nothing of it is used.
 */
export function iccIsBounded(icc: Buffer): boolean {
  // A header of 128 bytes, then the tag count and 12 bytes per tag: signature, offset, size.
  if (icc.length < 132) return false;
  const count = icc.readUInt32BE(128);
  if (count > (icc.length - 132) / 12) return false;
  for (let tag = 0; tag < count; tag++) {
    const offset = icc.readUInt32BE(132 + tag * 12 + 4);
    if (offset + 4 > icc.length) return false;
    if (icc.toString('latin1', offset, offset + 4) === 'mpet') return false;
  }
  return true;
}
