/**
 * `text` cut to at most `max` UTF-16 code units: columns have a fixed width (MySQL refuses a longer
 * value instead of truncating it), and text from WeCom or a crash can be of any length. null and
 * undefined pass through.
 */
export function clip<T extends string | null | undefined>(text: T, max: number): T {
  return (typeof text === 'string' && text.length > max ? text.slice(0, max) : text) as T;
}

/** How much of an error's text is stored with the job, envelope or row it stopped. */
export const ERROR_TEXT_MAX = 2000;

/** An error's text as stored beside what it stopped (see ERROR_TEXT_MAX). */
export function clipError<T extends string | null | undefined>(text: T): T {
  return clip(text, ERROR_TEXT_MAX);
}
