/**
 * Reads a callback URL's query string the way WeCom means it: percent-decoding only. `+` stays a
 * `+` (form decoding would turn it into a space and break the base64 echostr), a repeated or
 * malformed parameter is refused rather than guessed at.
 */
import { ValidationError } from '../errors/errors.ts';

const MAX_QUERY = 8192;

export function parseCallbackQuery(rawQuery: string): Map<string, string> {
  if (rawQuery.length > MAX_QUERY) throw new ValidationError('CALLBACK_QUERY_INVALID', `the query string is longer than ${MAX_QUERY} characters`);
  const params = new Map<string, string>();
  if (rawQuery === '') return params;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey);
      value = decodeURIComponent(rawValue);
    } catch {
      throw new ValidationError('CALLBACK_QUERY_INVALID', 'the query string has a malformed %-escape');
    }
    if (params.has(key)) throw new ValidationError('CALLBACK_QUERY_INVALID', `the query parameter ${JSON.stringify(key.slice(0, 40))} is given twice`);
    params.set(key, value);
  }
  return params;
}
