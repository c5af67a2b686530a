/**
 * Tiny, real media files for the deterministic sandbox provider (and the mock upstreams). The header readers that
 * used to live here are shared media sniffing now (`../shared/media-sniff.ts`); they are re-exported for the
 * callers outside src/providers/ that have not moved their imports yet.
 */
export { makePng, type ImageOptions } from './media-png.js';
export { makeWav, type AudioOptions } from './media-wav.js';
export { makeMp4, type VideoOptions } from './media-mp4.js';
export { mediaDimensions, mediaDurationSeconds, sniffContentType } from '../shared/media-sniff.js';
