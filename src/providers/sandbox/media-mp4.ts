import { createHash } from 'node:crypto';
import { clampInteger } from './media-png.js';

export interface VideoOptions {
  width: number;
  height: number;
  seconds: number;
  fps?: number;
}

const DEFAULT_FPS = 2;
const MAX_SECONDS = 600;
const MAX_SIDE = 1024;
/** Frames are encoded at most this large (longest side); tkhd still reports the requested size. */
const MAX_FRAME_SIDE = 320;
const TIMESCALE = 1000;

/**
 * A deterministic, structurally valid MP4 (ISO BMFF): ftyp, moov with one video track whose `jpeg` sample entry
 * describes baseline JPEG frames, and mdat holding one frame per sample (one chunk per sample). Each frame is a
 * seed-coloured background with a contrasting vertical bar that moves from frame to frame, drawn with flat 8x8
 * blocks so the frames are tiny and the encoder needs no DCT.
 */
export function makeMp4(seed: string, options: VideoOptions): Buffer {
  const width = clampInteger(options.width, 1, MAX_SIDE);
  const height = clampInteger(options.height, 1, MAX_SIDE);
  const fps = clampInteger(options.fps ?? DEFAULT_FPS, 1, 30);
  const seconds = Number.isFinite(options.seconds) ? Math.min(MAX_SECONDS, Math.max(0, options.seconds)) : 0;
  const duration = Math.max(1, Math.round(seconds * TIMESCALE));
  const frameCount = Math.max(1, Math.round(seconds * fps));

  const scale = Math.min(1, MAX_FRAME_SIDE / Math.max(width, height));
  const frameWidth = Math.max(1, Math.round(width * scale));
  const frameHeight = Math.max(1, Math.round(height * scale));
  const digest = createHash('sha256').update(`mp4:${seed}`, 'utf8').digest();
  const background: Rgb = [digest[0] ?? 0, digest[1] ?? 0, digest[2] ?? 0];
  const bar: Rgb = [(background[0] + 128) & 255, (background[1] + 128) & 255, (background[2] + 128) & 255];
  const columns = Math.ceil(frameWidth / 8);
  const barWidth = Math.max(1, Math.round(columns / 6));
  const step = Math.max(1, Math.round(columns / 8));
  const frames: Buffer[] = [];
  for (let index = 0; index < frameCount; index++) {
    const barStart = ((digest[3] ?? 0) + index * step) % columns;
    frames.push(
      encodeFlatJpeg(frameWidth, frameHeight, (column) =>
        (column - barStart + columns) % columns < barWidth ? bar : background,
      ),
    );
  }

  // Spread the duration over the frames so the sample deltas add up to exactly the track duration.
  const deltas: number[] = [];
  for (let index = 0; index < frameCount; index++) {
    deltas.push(Math.floor(((index + 1) * duration) / frameCount) - Math.floor((index * duration) / frameCount));
  }

  const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32(512), Buffer.from('isommp41', 'latin1'));
  const layout = { width, height, frameWidth, frameHeight, duration, deltas, sizes: frames.map((f) => f.length) };
  // stco holds absolute offsets, which depend on the size of moov itself; its size does not depend on the
  // offsets (32-bit fields), so build it once to measure, then again with the real offsets.
  const measured = movieBox(layout, frames.map(() => 0));
  const offsets: number[] = [];
  let offset = ftyp.length + measured.length + 8;
  for (const frame of frames) {
    offsets.push(offset);
    offset += frame.length;
  }
  return Buffer.concat([ftyp, movieBox(layout, offsets), box('mdat', ...frames)]);
}

interface Layout {
  width: number;
  height: number;
  frameWidth: number;
  frameHeight: number;
  duration: number;
  deltas: number[];
  sizes: number[];
}

const MATRIX = Buffer.concat([0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000].map(u32));

function movieBox(layout: Layout, offsets: number[]): Buffer {
  const { duration } = layout;
  const mvhd = fullBox('mvhd', 0, 0, u32(0), u32(0), u32(TIMESCALE), u32(duration), u32(0x10000), u16(0x100),
    Buffer.alloc(10), MATRIX, Buffer.alloc(24), u32(2));
  const tkhd = fullBox('tkhd', 0, 3, u32(0), u32(0), u32(1), u32(0), u32(duration), Buffer.alloc(8), u16(0), u16(0),
    u16(0), u16(0), MATRIX, u32(layout.width * 0x10000), u32(layout.height * 0x10000));
  const mdhd = fullBox('mdhd', 0, 0, u32(0), u32(0), u32(TIMESCALE), u32(duration), u16(0x55c4), u16(0)); // 'und'
  const hdlr = fullBox('hdlr', 0, 0, u32(0), Buffer.from('vide', 'latin1'), Buffer.alloc(12),
    Buffer.from('VideoHandler\0', 'latin1'));
  const vmhd = fullBox('vmhd', 0, 1, Buffer.alloc(8));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const compressor = Buffer.alloc(32);
  compressor[0] = compressor.write('Photo - JPEG', 1, 'latin1');
  const sampleEntry = box('jpeg', Buffer.alloc(6), u16(1), Buffer.alloc(16), u16(layout.frameWidth),
    u16(layout.frameHeight), u32(0x480000), u32(0x480000), u32(0), u16(1), compressor, u16(0x18), u16(0xffff));
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), sampleEntry),
    fullBox('stts', 0, 0, ...runLengths(layout.deltas)),
    fullBox('stsc', 0, 0, u32(1), u32(1), u32(1), u32(1)), // every chunk holds one sample
    fullBox('stsz', 0, 0, u32(0), u32(layout.sizes.length), ...layout.sizes.map(u32)),
    fullBox('stco', 0, 0, u32(offsets.length), ...offsets.map(u32)),
  );
  const minf = box('minf', vmhd, dinf, stbl);
  return box('moov', mvhd, box('trak', tkhd, box('mdia', mdhd, hdlr, minf)));
}

/** stts body: entry count, then (sample count, sample delta) per run of equal deltas. */
function runLengths(deltas: number[]): Buffer[] {
  const runs: Array<[number, number]> = [];
  for (const delta of deltas) {
    const last = runs[runs.length - 1];
    if (last && last[1] === delta) last[0]++;
    else runs.push([1, delta]);
  }
  return [u32(runs.length), ...runs.flatMap(([count, delta]) => [u32(count), u32(delta)])];
}

function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

function fullBox(type: string, version: number, flags: number, ...parts: Buffer[]): Buffer {
  return box(type, u32(((version & 0xff) << 24 | (flags & 0xffffff)) >>> 0), ...parts);
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0, 0);
  return buffer;
}

function u16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value & 0xffff, 0);
  return buffer;
}

type Rgb = readonly [number, number, number];

// ITU T.81 Annex K.3 typical luminance Huffman tables, shared by all three components.
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_VALUES = Buffer.from(
  '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738' +
    '393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5' +
    'a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa',
  'hex',
);
/** Quantiser 8 for the DC term makes a flat block's quantised DC exactly its level-shifted sample value. */
const QUANTISER = 8;
const DC_CODES = huffmanCodes(DC_BITS, DC_VALUES);
const END_OF_BLOCK = huffmanCodes(AC_BITS, [...AC_VALUES]).get(0) ?? [0, 0];

/** Canonical Huffman codes (T.81 Annex C): symbol -> [code, length]. */
function huffmanCodes(bits: number[], values: number[]): Map<number, [number, number]> {
  const codes = new Map<number, [number, number]>();
  let code = 0;
  let index = 0;
  for (let length = 1; length <= 16; length++) {
    for (let count = 0; count < (bits[length - 1] ?? 0); count++) codes.set(values[index++] ?? 0, [code++, length]);
    code <<= 1;
  }
  return codes;
}

/**
 * Baseline JPEG (JFIF, 4:4:4, one interleaved scan) in which every 8x8 block is a single colour, chosen per block
 * column. A flat block has only a DC coefficient, so each block is a DC difference plus an end-of-block code.
 */
function encodeFlatJpeg(width: number, height: number, colourOf: (column: number) => Rgb): Buffer {
  const columns = Math.ceil(width / 8);
  const rows = Math.ceil(height / 8);
  const levels: Array<[number, number, number]> = [];
  for (let column = 0; column < columns; column++) {
    const [r, g, b] = colourOf(column);
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
    // Level shift by 128; the flat block's DC coefficient is 8x that, divided by the quantiser of 8.
    levels.push([y, cb, cr].map((v) => Math.round(Math.min(255, Math.max(0, v)) - 128)) as [number, number, number]);
  }

  const writer = new BitWriter();
  const previous = [0, 0, 0];
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const level = levels[column] ?? [0, 0, 0];
      for (let component = 0; component < 3; component++) {
        const value = level[component] ?? 0;
        const difference = value - (previous[component] ?? 0);
        previous[component] = value;
        const category = difference === 0 ? 0 : Math.floor(Math.log2(Math.abs(difference))) + 1;
        const [code, length] = DC_CODES.get(category) ?? [0, 0];
        writer.write(code, length);
        // Negative differences are sent as the low bits of (difference - 1), i.e. ones' complement.
        if (category > 0) writer.write(difference > 0 ? difference : difference + (1 << category) - 1, category);
        writer.write(END_OF_BLOCK[0], END_OF_BLOCK[1]);
      }
    }
  }

  const segment = (marker: number, ...parts: Buffer[]): Buffer => {
    const body = Buffer.concat(parts);
    return Buffer.concat([u16(0xff00 | marker), u16(body.length + 2), body]);
  };
  const component = (id: number): Buffer => Buffer.from([id, 0x11, 0]);
  return Buffer.concat([
    u16(0xffd8),
    segment(0xe0, Buffer.from('JFIF\0', 'latin1'), Buffer.from([1, 1, 0, 0, 1, 0, 1, 0, 0])),
    segment(0xdb, Buffer.from([0]), Buffer.alloc(64, QUANTISER)),
    segment(0xc0, Buffer.from([8]), u16(height), u16(width), Buffer.from([3]), component(1), component(2), component(3)),
    segment(0xc4, Buffer.from([0x00, ...DC_BITS, ...DC_VALUES]), Buffer.from([0x10, ...AC_BITS]), AC_VALUES),
    segment(0xda, Buffer.from([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])),
    writer.finish(),
    u16(0xffd9),
  ]);
}

/** MSB-first entropy-coded segment with 0xFF byte stuffing and 1-bit padding, as T.81 requires. */
class BitWriter {
  private readonly bytes: number[] = [];
  private accumulator = 0;
  private count = 0;

  write(value: number, length: number): void {
    for (let bit = length - 1; bit >= 0; bit--) {
      this.accumulator = (this.accumulator << 1) | ((value >> bit) & 1);
      if (++this.count === 8) this.flushByte();
    }
  }

  finish(): Buffer {
    if (this.count > 0) this.write(0xff, 8 - this.count);
    return Buffer.from(this.bytes);
  }

  private flushByte(): void {
    this.bytes.push(this.accumulator);
    if (this.accumulator === 0xff) this.bytes.push(0x00);
    this.accumulator = 0;
    this.count = 0;
  }
}
