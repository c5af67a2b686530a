import type { ResultMedia } from '../../types';

/**
 * A generated result in the page: an `<img>`, `<video>` or `<audio>` per asset, by its content type (or the task's
 * type when the asset names none), each with a plain link to open it. The links are genrelay's own signed file links
 * (same origin, so the console's CSP allows them).
 */
type Kind = 'image' | 'video' | 'audio' | 'other';

function kindOf(contentType: string | null | undefined, fallback: Kind): Kind {
  if (!contentType) return fallback;
  if (contentType.startsWith('image/')) return 'image';
  if (contentType.startsWith('video/')) return 'video';
  if (contentType.startsWith('audio/')) return 'audio';
  return 'other';
}

export function kindOfTaskType(type: string): Kind {
  return type === 'image' ? 'image' : type === 'video' ? 'video' : type === 'music' ? 'audio' : 'other';
}

export function MediaPreview(props: { result: ResultMedia; fallback: Kind; label: string }) {
  const assets = props.result.assets?.length ? props.result.assets : [{ url: props.result.url, content_type: null }];
  return (
    <div className="media-grid">
      {assets.map((asset, index) => {
        const kind = kindOf(asset.content_type, props.fallback);
        const name = `${props.label} ${assets.length > 1 ? index + 1 : ''}`.trim();
        return (
          <figure key={asset.url} className="media">
            {kind === 'image' && <img src={asset.url} alt={name} loading="lazy" />}
            {kind === 'video' && <video src={asset.url} controls preload="metadata" aria-label={name} />}
            {kind === 'audio' && <audio src={asset.url} controls preload="metadata" aria-label={name} />}
            <figcaption className="small">
              <a href={asset.url} target="_blank" rel="noopener noreferrer">
                Open {kind === 'other' ? 'the file' : `the ${kind}`}
                {assets.length > 1 ? ` ${index + 1}` : ''} ↗
              </a>
              {asset.content_type && <span className="muted"> · {asset.content_type}</span>}
            </figcaption>
          </figure>
        );
      })}
    </div>
  );
}
