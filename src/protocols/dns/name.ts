/**
 * Domain names (RFC 1035 §3.1, §4.1.4, §5.1): the text form used in `Repr`s
 * ("host.example.com", root "."), reading names with compression pointers
 * from a message, and the label form emit writes. Reading and text parsing
 * return `Malformed` values, never throw.
 */
import { isMalformed, malformed, type Malformed } from "../malformed.js"

/** Longest name on the wire, length octets and the root's zero included (RFC 1035 §2.3.4). */
export const MAX_NAME_LEN = 255

/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL_LEN = 63

/** The root name in text form. */
export const ROOT = "."

/** Name failures. */
export const NameTruncated: Malformed = malformed("name_truncated")
export const PointerLoop: Malformed = malformed("name_pointer_loop")
export const PointerOutOfRange: Malformed = malformed("name_pointer_out_of_range")
export const ReservedLabelType: Malformed = malformed("name_reserved_label_type")
export const NameTooLong: Malformed = malformed("name_too_long")
export const LabelTooLong: Malformed = malformed("name_label_too_long")
export const EmptyLabel: Malformed = malformed("name_empty_label")
export const BadNameText: Malformed = malformed("name_bad_text")

/** Offset of the first byte after the 12-byte header, the earliest place a pointer may target. */
const FIRST_NAME_OFFSET = 12

/**
 * Pointer hops followed in one name. Every hop must go strictly backwards,
 * so a loop cannot happen; this bounds the work on chains of bare pointers.
 */
const MAX_POINTERS = 64

const BACKSLASH = 0x5c
const DOT = 0x2e

/** Appends one label's bytes as text: printable ASCII as is, `.` and `\` escaped, others as `\DDD`. */
const labelText = (buf: Uint8Array, start: number, len: number): string => {
  let s = ""
  for (let i = start; i < start + len; i++) {
    const b = buf[i]!
    if (b === DOT || b === BACKSLASH) s += "\\" + String.fromCharCode(b)
    else if (b > 0x20 && b < 0x7f) s += String.fromCharCode(b)
    else s += "\\" + (b < 10 ? "00" : b < 100 ? "0" : "") + b
  }
  return s
}

/** A name read from a message, and where the bytes after it start. */
export interface NameRead {
  readonly name: string
  /** Offset just after the name where it was found (after its first pointer, if any). */
  readonly next: number
}

/**
 * Reads the name at `pos` of the message `buf[base .. end)`. Its own bytes
 * must lie before `stop` (the end of an RDATA, or `end`); pointers may target
 * any earlier name of the message. Refused: a pointer that does not go
 * strictly backwards (forward, to itself, or a loop), one past the end or into
 * the header, label types 01 and 10 (RFC 6891 §5 deprecates the extended
 * ones, so a length byte of 64–191 is not a label), names over 255 bytes.
 */
export const readName = (
  buf: Uint8Array,
  base: number,
  end: number,
  pos: number,
  stop: number
): NameRead | Malformed => {
  let limit = pos // a pointer must target strictly before this
  let region = stop
  let next = -1
  let wireLen = 1 // the root's zero octet
  let hops = 0
  let text = ""
  for (;;) {
    if (pos >= region) return NameTruncated
    const b = buf[pos]!
    if (b === 0) {
      if (next < 0) next = pos + 1
      break
    }
    const kind = b & 0xc0
    if (kind === 0xc0) {
      if (pos + 1 >= region) return NameTruncated
      const target = base + (((b & 0x3f) << 8) | buf[pos + 1]!)
      if (next < 0) next = pos + 2
      if (target >= end || target < base + FIRST_NAME_OFFSET) return PointerOutOfRange
      // RFC 1035 §4.1.4: a pointer refers to a prior occurrence of a name;
      // insisting on strictly earlier targets rules out every loop.
      if (target >= limit || ++hops > MAX_POINTERS) return PointerLoop
      pos = target
      limit = target
      region = end
      continue
    }
    if (kind !== 0) return ReservedLabelType
    wireLen += b + 1
    if (wireLen > MAX_NAME_LEN) return NameTooLong
    if (pos + 1 + b > region) return NameTruncated
    text = text.length === 0 ? labelText(buf, pos + 1, b) : text + "." + labelText(buf, pos + 1, b)
    pos += 1 + b
  }
  return { name: text.length === 0 ? ROOT : text, next }
}

/**
 * Splits a text name into its labels' bytes. Accepts a trailing dot, "." or
 * "" for the root, `\.`, `\\`, `\X` and `\DDD` escapes (RFC 1035 §5.1); refuses
 * empty labels, labels over 63 bytes, names over 255 bytes and characters
 * outside printable ASCII (internationalized names go in as A-labels).
 */
export const textToLabels = (text: string): ReadonlyArray<Uint8Array> | Malformed => {
  if (text === "" || text === ROOT) return []
  const labels: Array<Uint8Array> = []
  const bytes: Array<number> = []
  let wireLen = 1
  let i = 0
  const n = text.length
  const endLabel = (): Malformed | undefined => {
    if (bytes.length === 0) return EmptyLabel
    if (bytes.length > MAX_LABEL_LEN) return LabelTooLong
    wireLen += bytes.length + 1
    if (wireLen > MAX_NAME_LEN) return NameTooLong
    labels.push(Uint8Array.from(bytes))
    bytes.length = 0
    return undefined
  }
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === DOT) {
      const bad = endLabel()
      if (bad !== undefined) return bad
      i++
      if (i === n) return labels // one trailing dot: a fully qualified name
      continue
    }
    if (c <= 0x20 || c >= 0x7f) return BadNameText
    if (c !== BACKSLASH) {
      bytes.push(c)
      i++
      continue
    }
    if (i + 1 >= n) return BadNameText
    const d0 = text.charCodeAt(i + 1)
    if (d0 >= 0x30 && d0 <= 0x39) {
      if (i + 3 >= n) return BadNameText
      const d1 = text.charCodeAt(i + 2)
      const d2 = text.charCodeAt(i + 3)
      if (!(d1 >= 0x30 && d1 <= 0x39 && d2 >= 0x30 && d2 <= 0x39)) return BadNameText
      const v = (d0 - 0x30) * 100 + (d1 - 0x30) * 10 + (d2 - 0x30)
      if (v > 255) return BadNameText
      bytes.push(v)
      i += 4
    } else {
      if (d0 < 0x20 || d0 >= 0x7f) return BadNameText // `\ ` quotes a space
      bytes.push(d0)
      i += 2
    }
    if (bytes.length > MAX_LABEL_LEN) return LabelTooLong
  }
  const bad = endLabel()
  return bad ?? labels
}

/** The text form of labels (the inverse of `textToLabels` on its canonical output). */
export const labelsToText = (labels: ReadonlyArray<Uint8Array>): string =>
  labels.length === 0 ? ROOT : labels.map((l) => labelText(l, 0, l.length)).join(".")

/** The canonical text of a name (escapes normalized, no trailing dot), or `Malformed`. */
export const normalizeName = (text: string): string | Malformed => {
  const labels = textToLabels(text)
  return isMalformed(labels) ? labels : labelsToText(labels)
}

/** The uncompressed wire form of a name, or `Malformed`. */
export const encodeName = (text: string): Uint8Array | Malformed => {
  const labels = textToLabels(text)
  if (isMalformed(labels)) return labels
  let len = 1
  for (const l of labels) len += l.length + 1
  const out = new Uint8Array(len)
  let o = 0
  for (const l of labels) {
    out[o++] = l.length
    out.set(l, o)
    o += l.length
  }
  return out
}

/**
 * The key names are matched on: ASCII letters lowered (RFC 4343; 0x20 case
 * mixing in queries survives it), escapes canonical. Only A–Z change, so a
 * canonical name's key is still canonical text.
 */
export const nameKey = (canonical: string): string => {
  let lower = true
  for (let i = 0; i < canonical.length; i++) {
    const c = canonical.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) {
      lower = false
      break
    }
  }
  return lower ? canonical : canonical.replace(/[A-Z]+/g, (s) => s.toLowerCase())
}

/** True when two canonical names are the same name (ASCII case ignored). */
export const nameEquals = (a: string, b: string): boolean => a === b || nameKey(a) === nameKey(b)
