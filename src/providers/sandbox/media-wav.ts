import { createHash } from 'node:crypto';
import { clampInteger } from './media-png.js';

export interface AudioOptions {
  seconds: number;
  sampleRate?: number;
}

const DEFAULT_SAMPLE_RATE = 8000;
const MAX_SECONDS = 600;
const FADE_SECONDS = 0.02;

/**
 * A deterministic RIFF/WAVE file: mono, unsigned 8-bit PCM (8 kHz by default, so 15 s is about 120 KB), holding a
 * sine tone whose pitch (220-880 Hz) and gentle vibrato come from sha256(seed). Short fades at both ends avoid
 * the click a player would otherwise make on the first and last sample.
 */
export function makeWav(seed: string, options: AudioOptions): Buffer {
  const sampleRate = clampInteger(options.sampleRate ?? DEFAULT_SAMPLE_RATE, 1000, 48_000);
  const seconds = Number.isFinite(options.seconds) ? Math.min(MAX_SECONDS, Math.max(0, options.seconds)) : 0;
  const sampleCount = Math.max(1, Math.round(seconds * sampleRate));
  const digest = createHash('sha256').update(`wav:${seed}`, 'utf8').digest();
  const frequency = 220 + (digest.readUInt16BE(0) % 661);
  const vibratoHz = 2 + (digest[2] ?? 0) / 64;
  const fadeSamples = Math.max(1, Math.round(FADE_SECONDS * sampleRate));

  const pad = sampleCount % 2; // RIFF chunks are word-aligned; the pad byte is not part of the data size
  const file = Buffer.alloc(44 + sampleCount + pad);
  file.write('RIFF', 0, 'latin1');
  file.writeUInt32LE(file.length - 8, 4);
  file.write('WAVE', 8, 'latin1');
  file.write('fmt ', 12, 'latin1');
  file.writeUInt32LE(16, 16); // fmt chunk size
  file.writeUInt16LE(1, 20); // PCM
  file.writeUInt16LE(1, 22); // channels
  file.writeUInt32LE(sampleRate, 24);
  file.writeUInt32LE(sampleRate, 28); // byte rate = rate * channels * bytes per sample
  file.writeUInt16LE(1, 32); // block align
  file.writeUInt16LE(8, 34); // bits per sample
  file.write('data', 36, 'latin1');
  file.writeUInt32LE(sampleCount, 40);

  let phase = 0;
  for (let index = 0; index < sampleCount; index++) {
    const time = index / sampleRate;
    phase += (2 * Math.PI * frequency * (1 + 0.01 * Math.sin(2 * Math.PI * vibratoHz * time))) / sampleRate;
    const envelope = Math.min(1, index / fadeSamples, (sampleCount - 1 - index) / fadeSamples);
    file[44 + index] = 128 + Math.round(96 * envelope * Math.sin(phase));
  }
  return file;
}
