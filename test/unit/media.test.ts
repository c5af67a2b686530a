import { createHash } from 'node:crypto';
import { crc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { makeMp4, makePng, makeWav } from '../../src/providers/sandbox/media.js';
import { mediaDimensions, mediaDurationSeconds, sniffContentType } from '../../src/providers/shared/media-sniff.js';

const SEED = 'task_0352BGVPSpPgsYyYrrCcgm';
const OTHER_SEED = 'task_0352BGVPSpPgsYyYrrCcgn';

/** Deterministic bytes that are no known media format (a sha256 chain, so the test can never flake). */
function noise(length: number): Buffer {
  const parts: Buffer[] = [];
  let block = createHash('sha256').update('noise').digest();
  while (parts.length * 32 < length) {
    parts.push(block);
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat(parts).subarray(0, length);
}

interface Box {
  type: string;
  start: number;
  size: number;
  payload: Buffer;
  children: Box[];
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'dinf', 'stbl']);

/** An independent box walker: asserts that sibling boxes tile their parent exactly. */
function parseBoxes(file: Buffer, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  let offset = start;
  while (offset < end) {
    expect(offset + 8).toBeLessThanOrEqual(end);
    const size = file.readUInt32BE(offset);
    const type = file.toString('latin1', offset + 4, offset + 8);
    expect(size, `size of ${type}`).toBeGreaterThanOrEqual(8);
    expect(offset + size, `end of ${type}`).toBeLessThanOrEqual(end);
    const children = CONTAINERS.has(type) ? parseBoxes(file, offset + 8, offset + size) : [];
    boxes.push({ type, start: offset, size, payload: file.subarray(offset + 8, offset + size), children });
    offset += size;
  }
  expect(offset).toBe(end);
  return boxes;
}

function child(parent: Box[] | Box, path: string): Box {
  let current: Box[] = Array.isArray(parent) ? parent : parent.children;
  let found: Box | undefined;
  for (const type of path.split('/')) {
    found = current.find((box) => box.type === type);
    if (!found) throw new Error(`missing box ${path}`);
    current = found.children;
  }
  return found as Box;
}

interface Mp4Facts {
  top: Box[];
  stbl: Box;
  mdat: Box;
  sampleSizes: number[];
  chunkOffsets: number[];
}

function readMp4(file: Buffer): Mp4Facts {
  const top = parseBoxes(file, 0, file.length);
  const stbl = child(top, 'moov/trak/mdia/minf/stbl');
  const stsz = child(stbl, 'stsz').payload;
  const count = stsz.readUInt32BE(8);
  const sampleSizes = Array.from({ length: count }, (_, index) => stsz.readUInt32BE(12 + index * 4));
  const stco = child(stbl, 'stco').payload;
  const chunkOffsets = Array.from({ length: stco.readUInt32BE(4) }, (_, index) => stco.readUInt32BE(8 + index * 4));
  return { top, stbl, mdat: child(top, 'mdat'), sampleSizes, chunkOffsets };
}

describe('sandbox media: determinism', () => {
  const cases: Array<[string, (seed: string) => Buffer]> = [
    ['png', (seed) => makePng(seed, { width: 64, height: 36 })],
    ['wav', (seed) => makeWav(seed, { seconds: 2 })],
    ['mp4', (seed) => makeMp4(seed, { width: 64, height: 36, seconds: 3 })],
  ];
  it.each(cases)('%s: same seed gives identical bytes, another seed different bytes', (_, make) => {
    expect(make(SEED).equals(make(SEED))).toBe(true);
    expect(make(SEED).equals(make(OTHER_SEED))).toBe(false);
  });
});

describe('sandbox media: PNG', () => {
  function chunks(file: Buffer): Array<{ type: string; data: Buffer }> {
    expect(file.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const found: Array<{ type: string; data: Buffer }> = [];
    let offset = 8;
    while (offset < file.length) {
      const length = file.readUInt32BE(offset);
      const type = file.toString('latin1', offset + 4, offset + 8);
      const data = file.subarray(offset + 8, offset + 8 + length);
      expect(file.readUInt32BE(offset + 8 + length), `CRC of ${type}`).toBe(
        crc32(file.subarray(offset + 4, offset + 8 + length)),
      );
      found.push({ type, data });
      offset += 12 + length;
    }
    expect(offset).toBe(file.length);
    return found;
  }

  it.each([
    [64, 36],
    [1, 1],
    [333, 77],
    [512, 512],
  ])('%ix%i has a valid structure and inflates to the right scanlines', (width, height) => {
    const file = makePng(SEED, { width, height });
    const found = chunks(file);
    expect(found.map((chunk) => chunk.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const header = found[0]?.data ?? Buffer.alloc(0);
    expect(header.length).toBe(13);
    expect(header.readUInt32BE(0)).toBe(width);
    expect(header.readUInt32BE(4)).toBe(height);
    expect([...header.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
    const raw = inflateSync(found[1]?.data ?? Buffer.alloc(0));
    const stride = 1 + 3 * width;
    expect(raw.length).toBe(height * stride);
    for (let y = 0; y < height; y++) expect(raw[y * stride]).toBe(0);
    expect(found[2]?.data.length).toBe(0);
  });

  it('paints more than one colour', () => {
    const raw = inflateSync(chunks(makePng(SEED, { width: 64, height: 36 }))[1]?.data ?? Buffer.alloc(0));
    const first = raw.subarray(1, 4).toString('hex');
    const last = raw.subarray(raw.length - 3).toString('hex');
    expect(first).not.toBe(last);
  });

  it('clamps the size to [1, 1024]', () => {
    expect(mediaDimensions(makePng(SEED, { width: 5000, height: 0 }))).toEqual({ width: 1024, height: 1 });
    expect(mediaDimensions(makePng(SEED, { width: Number.NaN, height: -3 }))).toEqual({ width: 1, height: 1 });
  });

  it('stays small: 512x512 is under 50 KB', () => {
    expect(makePng(SEED, { width: 512, height: 512 }).length).toBeLessThan(50_000);
  });
});

describe('sandbox media: WAV', () => {
  it('writes a PCM RIFF/WAVE header and 15 s of 8 kHz mono 8-bit samples', () => {
    const file = makeWav(SEED, { seconds: 15 });
    expect(file.toString('latin1', 0, 4)).toBe('RIFF');
    expect(file.readUInt32LE(4)).toBe(file.length - 8);
    expect(file.toString('latin1', 8, 12)).toBe('WAVE');
    expect(file.toString('latin1', 12, 16)).toBe('fmt ');
    expect(file.readUInt32LE(16)).toBe(16);
    expect(file.readUInt16LE(20)).toBe(1); // PCM
    expect(file.readUInt16LE(22)).toBe(1); // mono
    expect(file.readUInt32LE(24)).toBe(8000);
    expect(file.readUInt32LE(28)).toBe(8000); // byte rate
    expect(file.readUInt16LE(32)).toBe(1); // block align
    expect(file.readUInt16LE(34)).toBe(8);
    expect(file.toString('latin1', 36, 40)).toBe('data');
    expect(file.readUInt32LE(40)).toBe(120_000);
    expect(file.length).toBe(44 + 120_000);
    expect(mediaDurationSeconds(file)).toBe(15);
    expect(file.length).toBeLessThan(130_000);
  });

  it('holds an audible tone, not silence', () => {
    const samples = makeWav(SEED, { seconds: 1 }).subarray(44);
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(100);
  });

  it('honours the sample rate and pads an odd data chunk', () => {
    const file = makeWav(SEED, { seconds: 0.5, sampleRate: 11_025 });
    expect(file.readUInt32LE(24)).toBe(11_025);
    const dataSize = file.readUInt32LE(40);
    expect(dataSize).toBe(5513);
    expect(file.length).toBe(44 + dataSize + 1);
    expect(file.readUInt32LE(4)).toBe(file.length - 8);
    expect(mediaDurationSeconds(file)).toBeCloseTo(0.5, 3);
  });
});

describe('sandbox media: MP4', () => {
  it('has a consistent box tree: ftyp, moov, mdat', () => {
    const file = makeMp4(SEED, { width: 320, height: 180, seconds: 15 });
    const { top } = readMp4(file);
    expect(top.map((box) => box.type)).toEqual(['ftyp', 'moov', 'mdat']);
    const ftyp = child(top, 'ftyp').payload;
    expect(ftyp.toString('latin1', 0, 4)).toBe('isom');
    const compatible = ftyp.toString('latin1', 8);
    expect(compatible).toContain('isom');
    expect(compatible).toContain('mp41');
    const trak = child(top, 'moov/trak');
    expect(trak.children.map((box) => box.type)).toEqual(['tkhd', 'mdia']);
    expect(child(trak, 'mdia').children.map((box) => box.type)).toEqual(['mdhd', 'hdlr', 'minf']);
    expect(child(trak, 'mdia/minf').children.map((box) => box.type)).toEqual(['vmhd', 'dinf', 'stbl']);
    expect(child(trak, 'mdia/minf/dinf').children.map((box) => box.type)).toEqual(['dref']);
    expect(child(trak, 'mdia/minf/stbl').children.map((box) => box.type)).toEqual([
      'stsd',
      'stts',
      'stsc',
      'stsz',
      'stco',
    ]);
  });

  it('records the duration, the track header and the video handler', () => {
    const file = makeMp4(SEED, { width: 320, height: 180, seconds: 15 });
    const { top, stbl } = readMp4(file);
    const mvhd = child(top, 'moov/mvhd').payload;
    expect(mvhd[0]).toBe(0);
    expect(mvhd.readUInt32BE(12)).toBe(1000);
    expect(mvhd.readUInt32BE(16)).toBe(15_000);
    const tkhd = child(top, 'moov/trak/tkhd').payload;
    expect(tkhd.readUInt32BE(0) & 0xffffff).toBe(3);
    expect(tkhd.readUInt32BE(20)).toBe(15_000);
    expect(tkhd.readUInt32BE(76)).toBe(320 * 65536);
    expect(tkhd.readUInt32BE(80)).toBe(180 * 65536);
    const mdhd = child(top, 'moov/trak/mdia/mdhd').payload;
    const timescale = mdhd.readUInt32BE(12);
    const mediaDuration = mdhd.readUInt32BE(16);
    expect(mediaDuration / timescale).toBe(15);
    expect(child(top, 'moov/trak/mdia/hdlr').payload.toString('latin1', 8, 12)).toBe('vide');
    const stsd = child(stbl, 'stsd').payload;
    expect(stsd.readUInt32BE(4)).toBe(1);
    expect(stsd.toString('latin1', 12, 16)).toBe('jpeg');
    expect(stsd.readUInt32BE(8)).toBe(stsd.length - 8); // the one sample entry fills stsd

    // stts covers every sample and adds up to the media duration.
    const stts = child(stbl, 'stts').payload;
    let samples = 0;
    let total = 0;
    for (let index = 0; index < stts.readUInt32BE(4); index++) {
      const count = stts.readUInt32BE(8 + index * 8);
      samples += count;
      total += count * stts.readUInt32BE(12 + index * 8);
    }
    expect(samples).toBe(30);
    expect(total).toBe(mediaDuration);
  });

  it('has one sample per frame, with chunk offsets pointing at JPEG frames inside mdat', () => {
    const file = makeMp4(SEED, { width: 320, height: 180, seconds: 15 });
    const { stbl, mdat, sampleSizes, chunkOffsets } = readMp4(file);
    expect(sampleSizes).toHaveLength(30); // 15 s at the default 2 fps
    const stsc = child(stbl, 'stsc').payload;
    expect(stsc.readUInt32BE(4)).toBe(1);
    expect([stsc.readUInt32BE(8), stsc.readUInt32BE(12), stsc.readUInt32BE(16)]).toEqual([1, 1, 1]);
    expect(chunkOffsets).toHaveLength(sampleSizes.length);
    const mdatStart = mdat.start + 8;
    const mdatEnd = mdat.start + mdat.size;
    let expected = mdatStart;
    chunkOffsets.forEach((offset, index) => {
      const size = sampleSizes[index] ?? 0;
      expect(offset).toBe(expected);
      expect(offset).toBeGreaterThanOrEqual(mdatStart);
      expect(offset + size).toBeLessThanOrEqual(mdatEnd);
      expect(file.subarray(offset, offset + 3).toString('hex')).toBe('ffd8ff'); // SOI
      expect(file.subarray(offset + size - 2, offset + size).toString('hex')).toBe('ffd9'); // EOI
      expected += size;
    });
    expect(expected).toBe(mdatEnd);
    // The bar moves, so consecutive frames differ.
    const frame = (index: number): Buffer => {
      const offset = chunkOffsets[index] ?? 0;
      return file.subarray(offset, offset + (sampleSizes[index] ?? 0));
    };
    expect(frame(0).equals(frame(1))).toBe(false);
  });

  it('derives the frame count from seconds and fps', () => {
    expect(readMp4(makeMp4(SEED, { width: 64, height: 36, seconds: 15, fps: 1 })).sampleSizes).toHaveLength(15);
    expect(readMp4(makeMp4(SEED, { width: 64, height: 36, seconds: 2.5, fps: 2 })).sampleSizes).toHaveLength(5);
    expect(readMp4(makeMp4(SEED, { width: 64, height: 36, seconds: 0.1 })).sampleSizes).toHaveLength(1);
  });

  it('reports the requested size even when frames are encoded smaller', () => {
    const file = makeMp4(SEED, { width: 1024, height: 576, seconds: 2 });
    expect(mediaDimensions(file)).toEqual({ width: 1024, height: 576 });
    const stsd = child(readMp4(file).stbl, 'stsd').payload;
    // VisualSampleEntry width/height follow 8 bytes of box header and 24 bytes of fields.
    expect([stsd.readUInt16BE(8 + 32), stsd.readUInt16BE(8 + 34)]).toEqual([320, 180]);
  });

  it('stays small: 15 s is under 200 KB from 64x36 to 320x180', () => {
    expect(makeMp4(SEED, { width: 64, height: 36, seconds: 15 }).length).toBeLessThan(200_000);
    expect(makeMp4(SEED, { width: 320, height: 180, seconds: 15 }).length).toBeLessThan(200_000);
  });
});

describe('sandbox media: readers', () => {
  it('sniffs the generated files', () => {
    expect(sniffContentType(makePng(SEED, { width: 8, height: 8 }))).toBe('image/png');
    expect(sniffContentType(makeWav(SEED, { seconds: 1 }))).toBe('audio/wav');
    expect(sniffContentType(makeMp4(SEED, { width: 64, height: 36, seconds: 1 }))).toBe('video/mp4');
  });

  it('sniffs other formats by their magic bytes', () => {
    const riff = (form: string): Buffer => Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from(form)]);
    expect(sniffContentType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toBe('image/jpeg');
    expect(sniffContentType(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'))).toBe('image/gif');
    expect(sniffContentType(Buffer.from('GIF87a\x01\x00\x01\x00', 'latin1'))).toBe('image/gif');
    expect(sniffContentType(riff('WEBPVP8 '))).toBe('image/webp');
    expect(sniffContentType(riff('WAVEfmt '))).toBe('audio/wav');
    expect(sniffContentType(Buffer.from('ID3\x04\x00\x00', 'latin1'))).toBe('audio/mpeg');
    expect(sniffContentType(Buffer.from([0xff, 0xfb, 0x90, 0x64]))).toBe('audio/mpeg'); // MPEG-1 layer III
    expect(sniffContentType(Buffer.from([0xff, 0xf3, 0x64, 0xc4]))).toBe('audio/mpeg'); // MPEG-2 layer III
  });

  it('returns null for bytes that are no known format', () => {
    expect(sniffContentType(new Uint8Array(0))).toBeNull();
    expect(sniffContentType(Buffer.from([0x89, 0x50]))).toBeNull();
    expect(sniffContentType(Buffer.from('hello, this is plain text'))).toBeNull();
    expect(sniffContentType(noise(256))).toBeNull();
    expect(sniffContentType(Buffer.from('RIFF\0\0\0\0AVI LIST', 'latin1'))).toBeNull();
    expect(sniffContentType(Buffer.from([0xff, 0xf1, 0x50, 0x80]))).toBeNull(); // ADTS AAC, layer 0
  });

  it('reads durations and dimensions from the generated files', () => {
    const video = makeMp4(SEED, { width: 64, height: 36, seconds: 7.5 });
    expect(mediaDurationSeconds(video)).toBe(7.5);
    expect(mediaDimensions(video)).toEqual({ width: 64, height: 36 });
    expect(mediaDurationSeconds(makeWav(SEED, { seconds: 3 }))).toBe(3);
    expect(mediaDimensions(makePng(SEED, { width: 200, height: 100 }))).toEqual({ width: 200, height: 100 });
  });

  it('reads through a Uint8Array view that does not start at offset 0', () => {
    const video = makeMp4(SEED, { width: 96, height: 54, seconds: 4 });
    const padded = new Uint8Array(video.length + 7);
    padded.set(video, 7);
    const view = padded.subarray(7);
    expect(mediaDurationSeconds(view)).toBe(4);
    expect(mediaDimensions(view)).toEqual({ width: 96, height: 54 });
  });

  it('returns null when there is nothing to read', () => {
    const video = makeMp4(SEED, { width: 64, height: 36, seconds: 2 });
    expect(mediaDurationSeconds(noise(256))).toBeNull();
    expect(mediaDimensions(noise(256))).toBeNull();
    expect(mediaDurationSeconds(new Uint8Array(0))).toBeNull();
    expect(mediaDimensions(new Uint8Array(0))).toBeNull();
    expect(mediaDurationSeconds(makePng(SEED, { width: 8, height: 8 }))).toBeNull();
    expect(mediaDimensions(makeWav(SEED, { seconds: 1 }))).toBeNull();
    expect(mediaDurationSeconds(video.subarray(0, 100))).toBeNull(); // moov cut short
    expect(mediaDimensions(video.subarray(0, 100))).toBeNull();
    expect(mediaDurationSeconds(makeWav(SEED, { seconds: 1 }).subarray(0, 36))).toBeNull(); // no data chunk
  });
});
