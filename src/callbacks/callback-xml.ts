/**
 * A small parser for the XML WeCom sends to callback URLs (the outer POST body and the decrypted
 * event). It understands exactly what WeCom uses (elements, CDATA, text, the five predefined entities
 * and character references) and refuses everything that makes general XML parsers dangerous: no DTD,
 * no entity definitions, no processing instructions. XXE and billion-laughs inputs therefore fail
 * before anything is expanded, and size, depth and element-count limits bound the work on any input.
 */
import { ValidationError } from '../errors/errors.ts';

/** The value of an element: text for a leaf, an object for children, an array for repeated children. */
export type CallbackXmlValue = string | CallbackXmlElement | Array<string | CallbackXmlElement>;

/**
 * The children of an element by name. Objects have a null prototype, so element names such as
 * `__proto__` or `constructor` are ordinary keys and cannot reach Object.prototype.
 */
export interface CallbackXmlElement {
  [name: string]: CallbackXmlValue;
}

/** Limits for parseCallbackXml. */
export interface CallbackXmlOptions {
  /** Largest accepted body in UTF-8 bytes; 64 KiB by default (WeCom events are a few hundred bytes). */
  maxBytes?: number;
}

/** Sample library code -40002 (XML parse) kept beside our code, as for the crypto errors. */
export class CallbackXmlError extends ValidationError {
  readonly wecomCallbackCode = -40002;

  constructor(code: 'CALLBACK_XML_FORBIDDEN' | 'CALLBACK_XML_INVALID', message: string) {
    super(code, message);
  }
}

const DEFAULT_MAX_BYTES = 64 * 1024;
const MAX_DEPTH = 8;
const MAX_ELEMENTS = 1000;
const NAME = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const WHITESPACE = /^[ \t\r\n]*$/;
/** Anything outside XML 1.0's Char production (with `u`, a lone surrogate is one code point and matches). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

interface OpenElement {
  name: string;
  children: CallbackXmlElement;
  hasChildren: boolean;
  text: string;
}

// Messages name a position, never content: the input is often a decrypted event.
function forbidden(what: string, at: number): CallbackXmlError {
  return new CallbackXmlError('CALLBACK_XML_FORBIDDEN', `callback XML refused: ${what} at offset ${at} is not allowed`);
}
function invalid(what: string, at?: number): CallbackXmlError {
  return new CallbackXmlError('CALLBACK_XML_INVALID', `callback XML is malformed: ${what}${at === undefined ? '' : ` at offset ${at}`}`);
}

/**
 * Parses a WeCom callback XML document whose root is `<xml>` and returns the root's children.
 * Leaves become strings (CDATA and text concatenated, entities decoded, whitespace kept); an element
 * with children becomes an object; a name that repeats becomes an array in document order.
 * Attributes are syntax-checked and dropped (WeCom sends none). Comments are skipped.
 *
 * @throws CallbackXmlError 'CALLBACK_XML_FORBIDDEN' for DOCTYPE, ENTITY, processing instructions and
 *   unknown entity references; 'CALLBACK_XML_INVALID' for anything malformed or over the limits.
 */
export function parseCallbackXml(text: string, opts: CallbackXmlOptions = {}): CallbackXmlElement {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (typeof text !== 'string') throw invalid('the body is not text');
  // text.length (UTF-16 units) never exceeds the UTF-8 byte length, so this cheap test is safe first.
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw invalid(`the body is larger than ${maxBytes} bytes`);
  }

  // XML 1.0 allows no C0 control but tab, CR and LF, no U+FFFE/U+FFFF and no lone surrogate, not
  // even in CDATA: refused here, before anything is stored (PostgreSQL cannot store U+0000 at all).
  const bad = NOT_XML_CHAR.exec(text);
  if (bad) throw invalid(`a character XML does not allow (U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`, bad.index);

  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  i = skipWhitespace(text, i);
  if (text.startsWith('<?xml', i) && isDeclarationEnd(text, i + 5)) {
    const end = text.indexOf('?>', i);
    if (end < 0) throw invalid('unterminated XML declaration', i);
    // A declaration holds only version/encoding/standalone pseudo-attributes: no markup.
    if (/[<>&]/.test(text.slice(i + 5, end))) throw invalid('bad XML declaration', i);
    i = end + 2;
  }

  const stack: OpenElement[] = [];
  let root: CallbackXmlElement | undefined;
  let elements = 0;

  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunkEnd = lt < 0 ? text.length : lt;
    if (chunkEnd > i) {
      const chunk = text.slice(i, chunkEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decodeText(chunk, i);
      else if (!WHITESPACE.test(chunk)) throw invalid('text outside the root element', i);
      else decodeText(chunk, i); // still refuse entity references outside the root
      i = chunkEnd;
    }
    if (lt < 0) break;

    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) throw invalid('unterminated comment', i);
      if (text.slice(i + 4, end).includes('--')) throw invalid('"--" inside a comment', i);
      i = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      const top = stack[stack.length - 1];
      if (!top) throw invalid('CDATA outside the root element', i);
      const end = text.indexOf(']]>', i + 9);
      if (end < 0) throw invalid('unterminated CDATA section', i);
      top.text += text.slice(i + 9, end);
      i = end + 3;
      continue;
    }
    if (text.startsWith('<!', i)) {
      // DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION, conditional sections: the whole DTD machinery.
      throw forbidden('a markup declaration (<!DOCTYPE, <!ENTITY …)', i);
    }
    if (text.startsWith('<?', i)) throw forbidden('a processing instruction', i);

    if (text.startsWith('</', i)) {
      const name = readName(text, i + 2);
      if (!name) throw invalid('bad closing tag', i);
      let j = skipWhitespace(text, i + 2 + name.length);
      if (text[j] !== '>') throw invalid('bad closing tag', i);
      j += 1;
      const open = stack.pop();
      if (!open || open.name !== name) throw invalid('closing tag does not match the open element', i);
      const value = finish(open, i);
      const parent = stack[stack.length - 1];
      if (parent) addChild(parent, name, value);
      else {
        if (typeof value === 'string' && !WHITESPACE.test(value)) throw invalid('the root element holds text', i);
        root = typeof value === 'string' ? newElement() : value;
      }
      i = j;
      continue;
    }

    // An opening or self-closing tag.
    const name = readName(text, i + 1);
    if (!name) throw invalid('bad tag', i);
    if (root !== undefined) throw invalid('more than one root element', i);
    if (stack.length === 0 && name !== 'xml') throw invalid('the root element must be <xml>', i);
    if (stack.length + 1 > MAX_DEPTH) throw invalid(`elements nested deeper than ${MAX_DEPTH}`, i);
    if (++elements > MAX_ELEMENTS) throw invalid(`more than ${MAX_ELEMENTS} elements`);
    const { end, selfClosing } = readAttributes(text, i + 1 + name.length);
    if (selfClosing) {
      const parent = stack[stack.length - 1];
      if (parent) addChild(parent, name, '');
      else root = newElement();
    } else {
      stack.push({ name, children: newElement(), hasChildren: false, text: '' });
    }
    i = end;
  }

  if (stack.length > 0) throw invalid('unclosed element');
  if (root === undefined) throw invalid('no root element');
  return root;
}

function newElement(): CallbackXmlElement {
  return Object.create(null) as CallbackXmlElement;
}

function finish(open: OpenElement, at: number): string | CallbackXmlElement {
  if (!open.hasChildren) return open.text;
  // WeCom never mixes text with child elements; accepting it would silently drop the text.
  if (!WHITESPACE.test(open.text)) throw invalid('text mixed with child elements', at);
  return open.children;
}

function addChild(parent: OpenElement, name: string, value: string | CallbackXmlElement): void {
  parent.hasChildren = true;
  const existing = Object.hasOwn(parent.children, name) ? parent.children[name] : undefined;
  if (existing === undefined) parent.children[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else parent.children[name] = [existing, value];
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && ' \t\r\n'.includes(text[i] ?? '')) i++;
  return i;
}

function isDeclarationEnd(text: string, i: number): boolean {
  // "<?xml " starts the declaration; "<?xml-stylesheet" is a processing instruction and is refused.
  const c = text[i];
  return c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '?';
}

function readName(text: string, i: number): string | undefined {
  NAME.lastIndex = i;
  const m = NAME.exec(text);
  return m ? m[0] : undefined;
}

/** Skips `name="value"` pairs up to `>` or `/>`; values may hold only the entities text may hold. */
function readAttributes(text: string, i: number): { end: number; selfClosing: boolean } {
  const start = i;
  for (;;) {
    const afterSpace = skipWhitespace(text, i);
    const c = text[afterSpace];
    if (c === '>') return { end: afterSpace + 1, selfClosing: false };
    if (c === '/' && text[afterSpace + 1] === '>') return { end: afterSpace + 2, selfClosing: true };
    if (afterSpace === i) throw invalid('bad tag', start);
    const name = readName(text, afterSpace);
    if (!name) throw invalid('bad attribute', afterSpace);
    let j = skipWhitespace(text, afterSpace + name.length);
    if (text[j] !== '=') throw invalid('bad attribute', j);
    j = skipWhitespace(text, j + 1);
    const quote = text[j];
    if (quote !== '"' && quote !== "'") throw invalid('unquoted attribute value', j);
    const close = text.indexOf(quote, j + 1);
    if (close < 0) throw invalid('unterminated attribute value', j);
    const value = text.slice(j + 1, close);
    if (value.includes('<')) throw invalid('"<" in an attribute value', j);
    decodeText(value, j + 1);
    i = close + 1;
  }
}

/** Decodes the five predefined entities and character references; any other reference is refused. */
function decodeText(chunk: string, offset: number): string {
  if (!chunk.includes('&')) return chunk;
  let out = '';
  let i = 0;
  while (i < chunk.length) {
    const amp = chunk.indexOf('&', i);
    if (amp < 0) {
      out += chunk.slice(i);
      break;
    }
    out += chunk.slice(i, amp);
    const semi = chunk.indexOf(';', amp);
    const ref = semi < 0 ? '' : chunk.slice(amp + 1, semi);
    if (/^#[0-9]{1,7}$/.test(ref) || /^#x[0-9A-Fa-f]{1,6}$/.test(ref)) {
      const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!isXmlChar(code)) throw invalid('a character reference to a character XML does not allow', offset + amp);
      out += String.fromCodePoint(code);
    } else if (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(ref)) {
      const value = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
      // Only DTDs define other entities, and DTDs are refused; an unknown reference is an attack or a bug.
      if (value === undefined) throw forbidden('an undefined entity reference', offset + amp);
      out += value;
    } else {
      throw invalid('a bare "&"', offset + amp);
    }
    i = semi + 1;
  }
  return out;
}

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}
