import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import type { CatalogModel } from '../modules/catalog/types.js';
import type { StoredReference } from '../modules/tasks/types.js';
import { mediaDurationSeconds, sniffContentType } from '../providers/shared/media-sniff.js';

/** The services reference preparation needs. */
export type ReferencesDeps = Pick<Deps, 'media' | 'safeFetch'>;

/**
 * Reference media checks that can be made from the request alone (API.md §4): counts per type, roles, URL schemes
 * and hosts (SEMANTICS S2, S3, S5), inline sizes, types and durations — all before anything is reserved, as 400
 * `invalid_reference`. Inline media are written to storage here (R8); the task keeps their file ids.
 */
export type RawReference = {
  type: 'image' | 'video' | 'audio';
  role?: string;
  strength?: 'low' | 'mid' | 'high';
} & (
  /** A URL, a data URL or bare base64 (images), as JSON clients send references. */
  | { url: string; bytes?: undefined }
  /** An uploaded file (multipart): its bytes as received, never re-encoded. */
  | { bytes: Buffer; url?: undefined }
);

const ROLES: Record<RawReference['type'], string[]> = {
  image: ['reference_image', 'first_frame', 'last_frame'],
  video: ['reference_video'],
  audio: ['reference_audio'],
};

export const INLINE_CAPS: Record<RawReference['type'], number> = {
  image: 20 * 1024 * 1024,
  video: 200 * 1024 * 1024,
  audio: 50 * 1024 * 1024,
};

function reject(message: string, index: number): AppError {
  return new AppError('invalid_reference', message, { param: `references.${index}` });
}

function decodeInline(reference: RawReference, index: number): Buffer | null {
  if (reference.bytes !== undefined) return reference.bytes;
  const dataUrl = /^data:([a-z]+\/[a-z0-9.+-]+)?(;[a-z0-9=-]+)*;base64,(.*)$/is.exec(reference.url);
  if (dataUrl) return Buffer.from(dataUrl[3]!, 'base64');
  if (/^[a-z][a-z0-9+.-]*:/i.test(reference.url)) return null;
  if (reference.type !== 'image') throw reject('Only images may be given as bare base64; use a URL or a data URL', index);
  if (!/^[A-Za-z0-9+/=\s]+$/.test(reference.url)) throw reject('The reference is neither a URL nor base64 data', index);
  return Buffer.from(reference.url, 'base64');
}

interface Limits {
  image: number;
  video: number;
  audio: number;
  videoSeconds: number;
  audioSeconds: number;
}

function limitsOf(model: CatalogModel): Limits {
  const capabilities = model.capabilities;
  return {
    image: capabilities.max_reference_images ?? 9,
    video: capabilities.max_reference_videos ?? 3,
    audio: capabilities.max_reference_audios ?? 3,
    videoSeconds: capabilities.max_reference_video_seconds ?? 15,
    audioSeconds: capabilities.max_reference_audio_seconds ?? 15,
  };
}

export interface PreparedReferences {
  references: StoredReference[];
  fileIds: string[];
}

/** Validates and stores the references of one request; nothing is written when a check fails. */
export async function prepareReferences(
  deps: ReferencesDeps,
  model: CatalogModel,
  raw: RawReference[],
  owner: { customerId: string; mode: string },
): Promise<PreparedReferences> {
  const limits = limitsOf(model);
  const counts = { image: 0, video: 0, audio: 0 };
  const seconds = { video: 0, audio: 0 };
  const decoded: Array<{ reference: RawReference; bytes: Buffer | null; contentType: string | null; duration: number | null }> = [];
  raw.forEach((reference, index) => {
    counts[reference.type] += 1;
    if (counts[reference.type] > limits[reference.type]) {
      throw reject(`At most ${limits[reference.type]} reference ${reference.type}s are allowed for ${model.id}`, index);
    }
    const role = reference.role ?? ROLES[reference.type][0]!;
    if (!ROLES[reference.type].includes(role)) throw reject(`Role "${role}" is not valid for a ${reference.type}`, index);
    const bytes = decodeInline(reference, index);
    if (bytes === null) {
      try {
        deps.safeFetch.validateUrl(reference.url!, 'media');
      } catch (error) {
        throw reject(`The reference URL is not allowed: ${(error as Error).message}`, index);
      }
      decoded.push({ reference: { ...reference, role }, bytes: null, contentType: null, duration: null });
      return;
    }
    if (bytes.length === 0) throw reject('The inline reference is empty', index);
    if (bytes.length > INLINE_CAPS[reference.type]) throw reject(`The inline ${reference.type} exceeds ${INLINE_CAPS[reference.type]} bytes`, index);
    const contentType = sniffContentType(bytes);
    if (!contentType || !contentType.startsWith(`${reference.type}/`)) {
      throw reject(`The inline data is not a supported ${reference.type}`, index);
    }
    const duration = reference.type === 'image' ? null : mediaDurationSeconds(bytes);
    if (reference.type !== 'image' && duration !== null) {
      seconds[reference.type] += duration;
      const cap = reference.type === 'video' ? limits.videoSeconds : limits.audioSeconds;
      if (seconds[reference.type] > cap) throw reject(`Reference ${reference.type}s may total at most ${cap} seconds`, index);
    }
    decoded.push({ reference: { ...reference, role }, bytes, contentType, duration });
  });
  const references: StoredReference[] = [];
  const fileIds: string[] = [];
  for (const item of decoded) {
    const base = { type: item.reference.type, role: item.reference.role!, ...(item.reference.strength ? { strength: item.reference.strength } : {}) };
    if (!item.bytes) {
      references.push({ ...base, url: item.reference.url! });
      continue;
    }
    const file = await deps.media.store({
      customerId: owner.customerId,
      mode: owner.mode,
      taskId: null,
      purpose: 'reference',
      bytes: item.bytes,
      contentType: item.contentType!,
      durationSeconds: item.duration,
    });
    fileIds.push(file.id);
    references.push({ ...base, file_id: file.id });
  }
  return { references, fileIds };
}
