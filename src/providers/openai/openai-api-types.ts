import type { UsageFacts } from '../spec.js';

/**
 * Wire shapes of the OpenAI endpoints this adapter speaks (PROVIDERS §4.1, §4.4, §4.5). Every field is optional:
 * the adapter reads upstream bodies defensively and classifies anything unexpected instead of trusting it.
 */

/** `{"error":{"message","type","param","code"}}`; images add `moderation_details` on `moderation_blocked`. */
export interface OpenAIErrorBody {
  error?: {
    message?: string;
    type?: string;
    param?: string | null;
    code?: string | null;
    moderation_details?: { moderation_stage?: string; categories?: string[] };
  };
}

/** One item of an images response: gpt-image always answers `b64_json`; dall-e may answer a `url` (60 min). */
export interface OpenAIImageItem {
  b64_json?: string;
  url?: string;
  revised_prompt?: string;
}

export interface OpenAIImagesResponse {
  created?: number;
  data?: OpenAIImageItem[];
  background?: string;
  output_format?: string;
  quality?: string;
  size?: string;
  usage?: {
    input_tokens?: number;
    input_tokens_details?: { text_tokens?: number; image_tokens?: number };
    output_tokens?: number;
    total_tokens?: number;
  };
}

/** The Sora Video object (create, retrieve, list). `seconds` is a string in and out (quirk 3). */
export interface OpenAIVideo {
  id?: string;
  object?: string;
  model?: string;
  status?: string;
  progress?: number;
  created_at?: number;
  completed_at?: number | null;
  /** Unix seconds; bounds the `/content` download once completed. */
  expires_at?: number | null;
  seconds?: string;
  size?: string;
  prompt?: string;
  remixed_from_video_id?: string | null;
  error?: { code?: string; message?: string } | null;
}

/** A project-level webhook event (Standard Webhooks envelope), e.g. `video.completed`. */
export interface OpenAIWebhookEvent {
  id?: string;
  object?: string;
  type?: string;
  created_at?: number;
  data?: { id?: string };
}

/**
 * Usage facts of this family (PROVIDERS §12). `UsageFacts` in spec.ts has no fields for token counts, the exact
 * video size or the model tier yet, so they ride along as extra properties that pricing may read later.
 */
export interface OpenAIUsageFacts extends UsageFacts {
  tokens_in_text?: number;
  tokens_in_image?: number;
  tokens_out?: number;
  video_size?: string;
  video_model?: string;
}
