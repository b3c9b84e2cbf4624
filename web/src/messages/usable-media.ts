import type { MediaRef, MediaRefs } from './types.ts';

/** The attachment's record, and whether it has bytes to show (downloaded, verified or not). */
export function usableMedia(media: MediaRefs, sdkfileid: string): { ref?: MediaRef; usable: boolean } {
  const ref = sdkfileid ? media[sdkfileid] : undefined;
  return { ref, usable: !!ref && (ref.state === 'done' || ref.state === 'unverified') };
}

/** A media address the page may load: same-origin paths and blob: only, whatever the API sent. */
export function sameOriginUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const url = new URL(raw, window.location.href);
    if (url.protocol === 'blob:') return raw;
    return url.origin === window.location.origin ? url.href : undefined;
  } catch {
    return undefined;
  }
}
