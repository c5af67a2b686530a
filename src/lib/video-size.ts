/** Ratio + resolution ↔ pixel size, as upstreams report it: the short side is the resolution's height. */
const RATIOS: Record<string, [number, number]> = {
  '16:9': [16, 9], '4:3': [4, 3], '1:1': [1, 1], '3:4': [3, 4], '9:16': [9, 16], '21:9': [21, 9], adaptive: [16, 9],
};
const HEIGHTS: Record<string, number> = { '480p': 480, '720p': 720, '1080p': 1080 };

export function videoDimensions(ratio: string, resolution: string): [number, number] {
  const [w, h] = RATIOS[ratio] ?? [16, 9];
  const short = HEIGHTS[resolution] ?? 720;
  const even = (value: number) => Math.round(value / 2) * 2;
  return w >= h ? [even((short * w) / h), short] : [short, even((short * h) / w)];
}

/** OpenAI-style `1280x720` → ratio and resolution, or null when the size is not one genrelay knows. */
export function parseVideoSize(size: string): { ratio: string; resolution: string } | null {
  const match = /^(\d{2,5})x(\d{2,5})$/.exec(size);
  if (!match) return null;
  const width = Number(match[1]);
  const height = Number(match[2]);
  for (const [ratio, [w, h]] of Object.entries(RATIOS)) {
    if (ratio === 'adaptive') continue;
    for (const [resolution, short] of Object.entries(HEIGHTS)) {
      const [candidateWidth, candidateHeight] = videoDimensions(ratio, resolution);
      if (candidateWidth === width && candidateHeight === height && (w >= h ? height === short : width === short)) {
        return { ratio, resolution };
      }
    }
  }
  return null;
}
