/**
 * The byte-level grammar HTTP/1.1 messages share (RFC 9110 §5.6, RFC 9112 §2):
 * character classes as lookup tables, Latin-1 conversion between bytes and
 * strings (field values may carry obs-text, so one char per byte), and
 * comma-separated token lists. Pure functions over bytes; nothing throws.
 */

const buildTable = (accepts: (byte: number) => boolean): Uint8Array => {
  const table = new Uint8Array(256)
  for (let b = 0; b < 256; b++) table[b] = accepts(b) ? 1 : 0
  return table
}

const isAlnum = (b: number): boolean =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)

/** RFC 9110 §5.6.2: tchar, the characters of a token (method, field name, coding). */
export const TCHAR = buildTable((b) => isAlnum(b) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)))

/** RFC 9110 §5.5: field-vchar / SP / HTAB, the characters a field value may hold. */
export const FIELD_CHAR = buildTable((b) => b === 0x09 || b === 0x20 || (b >= 0x21 && b <= 0x7e) || b >= 0x80)

/** RFC 9112 §3.2: the characters we accept in a request-target (visible ASCII). */
export const TARGET_CHAR = buildTable((b) => b >= 0x21 && b <= 0x7e)

/** RFC 9110 §7.2 / RFC 3986 §3.2.2: the characters of a Host value (reg-name, IP literal, port). */
export const HOST_CHAR = buildTable((b) => isAlnum(b) || "-._~!$&'()*+,;=%:[]".includes(String.fromCharCode(b)))

/** The HEXDIG value of `b`, or -1. */
export const hexValue = (b: number): number => {
  if (b >= 0x30 && b <= 0x39) return b - 0x30
  const lower = b | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}

// The bytes the grammar names.
export const SP = 0x20
export const HTAB = 0x09
export const CR = 0x0d
export const LF = 0x0a
export const COLON = 0x3a

/** True when `text` is a token (RFC 9110 §5.6.2): one or more tchar. */
export const isToken = (text: string): boolean => {
  if (text.length === 0) return false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c > 0xff || TCHAR[c] === 0) return false
  }
  return true
}

/** True when `text` is a valid field value (RFC 9110 §5.5): field-vchar, SP and HTAB only; no CR, LF or NUL. */
export const isFieldValue = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c > 0xff || FIELD_CHAR[c] === 0) return false
  }
  return true
}

const DECODE_STEP = 4096
const SHORT_STRING = 32

/** `bytes[start, end)` as a string of one char per byte (ISO-8859-1; not the WHATWG "latin1" = windows-1252). */
export const latin1 = (bytes: Uint8Array, start: number, end: number): string => {
  if (end - start <= SHORT_STRING) {
    // Header names and most values are short: a loop beats `apply` on a fresh subarray.
    let out = ""
    for (let i = start; i < end; i++) out += String.fromCharCode(bytes[i]!)
    return out
  }
  let out = ""
  for (let i = start; i < end; i += DECODE_STEP) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + DECODE_STEP)) as unknown as Array<number>)
  }
  return out
}

/** True when `name` equals `lower` (a lower-case ASCII name) ignoring ASCII case, without allocating. */
export const equalsLower = (name: string, lower: string): boolean => {
  if (name.length !== lower.length) return false
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) c |= 0x20
    if (c !== lower.charCodeAt(i)) return false
  }
  return true
}

/** Writes `text` (chars ≤ 0xFF, checked by the caller) at `bytes[offset]`, one byte per char; returns the end offset. */
export const writeLatin1 = (text: string, bytes: Uint8Array, offset: number): number => {
  for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i)
  return offset + text.length
}

const isOws = (c: number): boolean => c === SP || c === HTAB

/** `text` without leading and trailing OWS (SP / HTAB, RFC 9110 §5.6.3). */
export const trimOws = (text: string): string => {
  let start = 0
  let end = text.length
  while (start < end && isOws(text.charCodeAt(start))) start++
  while (end > start && isOws(text.charCodeAt(end - 1))) end--
  return start === 0 && end === text.length ? text : text.slice(start, end)
}

/**
 * The elements of a comma-separated list (RFC 9110 §5.6.1), OWS trimmed and
 * empty elements dropped. For token lists (Connection, Transfer-Encoding,
 * Expect); a quoted-string holding a comma would be split.
 */
export const listElements = (value: string): Array<string> => {
  const out: Array<string> = []
  let start = 0
  for (;;) {
    const comma = value.indexOf(",", start)
    const element = trimOws(comma === -1 ? value.slice(start) : value.slice(start, comma))
    if (element.length > 0) out.push(element)
    if (comma === -1) return out
    start = comma + 1
  }
}
