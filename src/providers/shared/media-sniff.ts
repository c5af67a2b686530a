/**
 * Media sniffing (issue 9: shared, not the sandbox's): magic bytes → content type, and the few header readers needed
 * to check media — durations of MP4/WAV, dimensions of PNG/MP4. Used by adapters (xAI's inline images, Ark's
 * reference video seconds, OpenAI's base64 images) and by the engine's reference checks. Pure: bytes in, facts out
 * (null when the bytes cannot be read).
 */
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** ISO BMFF major brands of still-image formats (AVIF, HEIF) which share the `ftyp` box but are not video. */
const IMAGE_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'mif1', 'msf1']);

/** Sniffs magic bytes: 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif' | 'video/mp4' | 'audio/wav' | 'audio/mpeg' | null */
export function sniffContentType(bytes: Uint8Array): string | null {
  if (startsWith(bytes, 0, PNG_SIGNATURE)) return 'image/png';
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(bytes, 0, 4) === 'RIFF') {
    const form = ascii(bytes, 8, 4);
    if (form === 'WEBP') return 'image/webp';
    if (form === 'WAVE') return 'audio/wav';
    return null;
  }
  if (ascii(bytes, 4, 4) === 'ftyp') return IMAGE_BRANDS.has(ascii(bytes, 8, 4)) ? null : 'video/mp4';
  if (ascii(bytes, 0, 3) === 'ID3') return 'audio/mpeg';
  if (isMpegAudioFrameHeader(bytes)) return 'audio/mpeg';
  return null;
}

/** Reads the duration in seconds from an MP4 (mvhd timescale/duration) or WAV (data size / byte rate); null if not parseable. */
export function mediaDurationSeconds(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE') return wavDuration(bytes, view);
  if (ascii(bytes, 4, 4) !== 'ftyp') return null;
  const moov = findBox(bytes, 0, bytes.length, 'moov');
  const mvhd = moov && findBox(bytes, moov.payload, moov.end, 'mvhd');
  if (!mvhd) return null;
  const version = bytes[mvhd.payload];
  const fields = version === 1 ? { at: mvhd.payload + 20, wide: true } : { at: mvhd.payload + 12, wide: false };
  if (fields.at + (fields.wide ? 12 : 8) > mvhd.end) return null;
  const timescale = view.getUint32(fields.at);
  const duration = fields.wide ? Number(view.getBigUint64(fields.at + 4)) : view.getUint32(fields.at + 4);
  // All-ones means "unknown" in ISO BMFF.
  const unknown = fields.wide ? duration >= Number.MAX_SAFE_INTEGER : duration === 0xffffffff;
  if (timescale === 0 || unknown) return null;
  return duration / timescale;
}

/** Reads width/height of a PNG (IHDR) or an MP4 (tkhd of the video track); null if not parseable. */
export function mediaDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (startsWith(bytes, 0, PNG_SIGNATURE)) {
    if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') return null;
    return positive(view.getUint32(16), view.getUint32(20));
  }
  if (ascii(bytes, 4, 4) !== 'ftyp') return null;
  const moov = findBox(bytes, 0, bytes.length, 'moov');
  if (!moov) return null;
  for (const trak of walkBoxes(bytes, moov.payload, moov.end)) {
    if (trak.type !== 'trak') continue;
    const mdia = findBox(bytes, trak.payload, trak.end, 'mdia');
    const hdlr = mdia && findBox(bytes, mdia.payload, mdia.end, 'hdlr');
    // hdlr payload: version/flags (4), pre_defined (4), handler_type (4).
    if (!hdlr || ascii(bytes, hdlr.payload + 8, 4) !== 'vide') continue;
    const tkhd = findBox(bytes, trak.payload, trak.end, 'tkhd');
    if (!tkhd) continue;
    // Width and height are the last two 16.16 fields; version 1 widens the three time fields by 12 bytes.
    const at = tkhd.payload + (bytes[tkhd.payload] === 1 ? 88 : 76);
    if (at + 8 > tkhd.end) continue;
    return positive(Math.round(view.getUint32(at) / 0x10000), Math.round(view.getUint32(at + 4) / 0x10000));
  }
  return null;
}

interface BoxPosition {
  type: string;
  /** Offset of the first byte after the box header. */
  payload: number;
  end: number;
}

/** Walks sibling boxes in [start, end), stopping at the first malformed header rather than guessing. */
function* walkBoxes(bytes: Uint8Array, start: number, end: number): Generator<BoxPosition> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = start;
  while (offset + 8 <= end) {
    let size = view.getUint32(offset);
    let header = 8;
    if (size === 1) {
      if (offset + 16 > end) return;
      size = Number(view.getBigUint64(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = end - offset; // extends to the end of the enclosing space
    }
    if (size < header || offset + size > end) return;
    yield { type: ascii(bytes, offset + 4, 4), payload: offset + header, end: offset + size };
    offset += size;
  }
}

function findBox(bytes: Uint8Array, start: number, end: number, type: string): BoxPosition | null {
  for (const position of walkBoxes(bytes, start, end)) if (position.type === type) return position;
  return null;
}

function wavDuration(bytes: Uint8Array, view: DataView): number | null {
  let byteRate = 0;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = ascii(bytes, offset, 4);
    const size = view.getUint32(offset + 4, true);
    // fmt payload: format (2), channels (2), sample rate (4), byte rate (4).
    if (id === 'fmt ' && offset + 20 <= bytes.length) byteRate = view.getUint32(offset + 16, true);
    if (id === 'data') {
      if (byteRate === 0) return null;
      // Streamed WAVs may declare more data than was written; count what is actually there.
      return Math.min(size, bytes.length - offset - 8) / byteRate;
    }
    offset += 8 + size + (size % 2);
  }
  return null;
}

/** MPEG audio frame header: 11-bit sync, a defined version, a defined layer and a usable bitrate index. */
function isMpegAudioFrameHeader(bytes: Uint8Array): boolean {
  const first = bytes[0];
  const second = bytes[1];
  const third = bytes[2];
  if (first === undefined || second === undefined || third === undefined) return false;
  if (first !== 0xff || (second & 0xe0) !== 0xe0) return false;
  const version = (second >> 3) & 3;
  const layer = (second >> 1) & 3;
  const bitrate = third >> 4;
  return version !== 1 && layer !== 0 && bitrate !== 15;
}

function startsWith(bytes: Uint8Array, offset: number, expected: number[]): boolean {
  if (bytes.length < offset + expected.length) return false;
  return expected.every((byte, index) => bytes[offset + index] === byte);
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (offset < 0 || bytes.length < offset + length) return '';
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function positive(width: number, height: number): { width: number; height: number } | null {
  return width > 0 && height > 0 ? { width, height } : null;
}
