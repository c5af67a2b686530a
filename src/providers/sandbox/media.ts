/**
 * Tiny, real media files for the deterministic sandbox provider (and the mock upstreams). Reading media headers is
 * shared media sniffing (`../shared/media-sniff.ts`).
 */
export { makePng, type ImageOptions } from './media-png.js';
export { makeWav, type AudioOptions } from './media-wav.js';
export { makeMp4, type VideoOptions } from './media-mp4.js';
