import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

export interface ImageOptions {
  width: number;
  height: number;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MAX_SIDE = 1024;

/** Whole number in [min, max]; NaN falls back to `min` so a bad option can never throw or allocate wildly. */
export function clampInteger(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min;
  return Math.min(max, Math.max(min, Math.round(value)));
}

/**
 * A deterministic RGB PNG (8-bit, colour type 2) of the requested size, painted with a diagonal two-colour
 * gradient and soft stripes whose colours come from sha256(seed). Every pixel depends only on x + y, so each
 * scanline is the previous one shifted by one pixel: deflate turns that into back-references and a 512x512
 * image stays a few KB.
 */
export function makePng(seed: string, options: ImageOptions): Buffer {
  const width = clampInteger(options.width, 1, MAX_SIDE);
  const height = clampInteger(options.height, 1, MAX_SIDE);
  const digest = createHash('sha256').update(`png:${seed}`, 'utf8').digest();
  const from = [digest[0] ?? 0, digest[1] ?? 0, digest[2] ?? 0];
  const to = [digest[3] ?? 0, digest[4] ?? 0, digest[5] ?? 0];
  const stripeShift = 3 + ((digest[6] ?? 0) % 3);

  // One colour per diagonal index (x + y), computed once and copied into the scanlines.
  const diagonals = width + height - 1;
  const palette = Buffer.alloc(diagonals * 3);
  for (let index = 0; index < diagonals; index++) {
    const t = diagonals === 1 ? 0 : index / (diagonals - 1);
    const dim = (index >> stripeShift) & 1 ? 0.85 : 1;
    for (let channel = 0; channel < 3; channel++) {
      const start = from[channel] ?? 0;
      const end = to[channel] ?? 0;
      palette[index * 3 + channel] = Math.round((start + (end - start) * t) * dim);
    }
  }

  const stride = 1 + width * 3;
  const raw = Buffer.alloc(stride * height); // filter byte 0 (None) at the start of each scanline
  for (let y = 0; y < height; y++) {
    palette.copy(raw, y * stride + 1, y * 3, (y + width) * 3);
  }

  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type RGB
  // bytes 10..12: compression 0, filter method 0, no interlace

  return Buffer.concat([
    SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  // The CRC covers the type and the data, not the length.
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}
