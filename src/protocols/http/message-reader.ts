/**
 * The incremental engine under the request and response parsers: a queue of
 * received chunks, lines read with a byte budget, a header section (RFC 9112
 * §5) and a message body framed by length, chunked coding (§7.1) or the end
 * of the connection (§6.3). Every byte is looked at a bounded number of times
 * however the input is split, and nothing past a limit is ever buffered.
 */
import {
  COLON,
  CR,
  equalsLower,
  FIELD_CHAR,
  HTAB,
  hexValue,
  LF,
  latin1,
  listElements,
  SP,
  TCHAR,
  trimOws
} from "./grammar.js"
import { type Header, HeaderList } from "./headers.js"
import type { HttpParseReason } from "./parse-error.js"

/** `readLine`: no line end yet. */
export const NEED_MORE = -1
/** `readLine`: the line passed its limit. */
export const OVERFLOW = -2

/** Longest chunk-size line with extensions (RFC 9112 §7.1.1 leaves the limit to us). */
export const MAX_CHUNK_LINE = 4096

/** How the body of a message is delimited (RFC 9112 §6.3). */
export type Framing =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" }
  | { readonly kind: "close" }

/** Limits the reader enforces on header sections and bodies. */
export interface ReaderLimits {
  readonly maxHeaderBytes: number
  readonly maxHeaders: number
  readonly maxBodyBytes: number
}

/** The body of every message without one (it has no bytes to mutate). */
export const EMPTY_BODY = new Uint8Array(0)

const EMPTY_HEADERS = new HeaderList([])

const INITIAL_LINE = 256
const SHRINK_LINE = 4096
const INITIAL_BODY = 64 * 1024

// Where a chunked body is: a chunk-size line, chunk data, the CRLF after it, the trailer section.
const CHUNK_SIZE = 0
const CHUNK_DATA = 1
const CHUNK_DATA_END = 2
const CHUNK_TRAILERS = 3

const isOws = (b: number): boolean => b === SP || b === HTAB

/** Parses one field line `bytes[0, length)` (RFC 9112 §5, RFC 9110 §5.5). */
export const parseFieldLine = (bytes: Uint8Array, length: number): Header | HttpParseReason => {
  const first = bytes[0]!
  // RFC 9112 §5.2: obs-fold is refused; §2.2: so is whitespace right after the start line.
  if (isOws(first)) return "obs_fold"
  let colon = -1
  for (let i = 0; i < length; i++) {
    const b = bytes[i]!
    if (b === COLON) {
      colon = i
      break
    }
    if (TCHAR[b] === 0) {
      if (!isOws(b)) return "bad_header"
      let j = i
      while (j < length && isOws(bytes[j]!)) j++
      // RFC 9112 §5.1: whitespace between field name and colon MUST be rejected with 400.
      return j < length && bytes[j] === COLON ? "space_before_colon" : "bad_header"
    }
  }
  if (colon <= 0) return "bad_header"
  let start = colon + 1
  let end = length
  while (start < end && isOws(bytes[start]!)) start++
  while (end > start && isOws(bytes[end - 1]!)) end--
  for (let i = start; i < end; i++) if (FIELD_CHAR[bytes[i]!] === 0) return "bad_header"
  return { name: latin1(bytes, 0, colon), value: latin1(bytes, start, end) }
}

const skipOws = (bytes: Uint8Array, i: number, length: number): number => {
  while (i < length && isOws(bytes[i]!)) i++
  return i
}

const skipToken = (bytes: Uint8Array, i: number, length: number): number => {
  while (i < length && TCHAR[bytes[i]!] === 1) i++
  return i
}

/** End of the quoted-string starting at `bytes[i]` (a DQUOTE), or -1 (RFC 9110 §5.6.4). */
const skipQuoted = (bytes: Uint8Array, i: number, length: number): number => {
  i++
  while (i < length) {
    const b = bytes[i]!
    if (b === 0x22) return i + 1
    if (b === 0x5c) {
      const next = bytes[i + 1]
      if (next === undefined || i + 1 >= length || FIELD_CHAR[next] === 0) return -1
      i += 2
      continue
    }
    if (FIELD_CHAR[b] === 0) return -1
    i++
  }
  return -1
}

/**
 * The size in a chunk-size line `bytes[0, length)`, or why it is refused:
 * `1*HEXDIG *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )`
 * (RFC 9112 §7.1.1). A size above `room` is "body_too_large" as soon as its
 * digits pass it, so no digit string can overflow.
 */
export const parseChunkSize = (bytes: Uint8Array, length: number, room: number): number | HttpParseReason => {
  let size = 0
  let i = 0
  for (; i < length; i++) {
    const v = hexValue(bytes[i]!)
    if (v < 0) break
    size = size * 16 + v
    if (size > room) return "body_too_large"
  }
  if (i === 0) return "bad_chunk"
  let pos = i
  while (pos < length) {
    let j = skipOws(bytes, pos, length)
    if (j >= length || bytes[j] !== 0x3b) return "bad_chunk"
    j = skipOws(bytes, j + 1, length)
    const nameEnd = skipToken(bytes, j, length)
    if (nameEnd === j) return "bad_chunk"
    pos = nameEnd
    const eq = skipOws(bytes, pos, length)
    if (eq < length && bytes[eq] === 0x3d) {
      const valueStart = skipOws(bytes, eq + 1, length)
      if (valueStart >= length) return "bad_chunk"
      const valueEnd = bytes[valueStart] === 0x22
        ? skipQuoted(bytes, valueStart, length)
        : skipToken(bytes, valueStart, length)
      if (valueEnd <= valueStart) return "bad_chunk"
      pos = valueEnd
    }
  }
  return size
}

/**
 * Buffers received chunks and reads lines, field sections and bodies from
 * them, resuming where it stopped when more bytes come. The parsers drive it
 * through their own start-line and framing rules.
 */
export class MessageReader {
  private readonly limits: ReaderLimits

  // Received chunks not consumed yet: chunks[head] from `offset` on, then the rest.
  private chunks: Array<Uint8Array> = []
  private head = 0
  private offset = 0
  private queued = 0
  private eof = false

  /** The last line read (CR stripped) sits in `line[0, length)` until the next `readLine`. */
  line: Uint8Array = new Uint8Array(INITIAL_LINE)
  /** Bytes of the line in progress (a trailing CR included). */
  lineFill = 0
  /** Bytes the last complete line took from the input, LF included. */
  lineRaw = 0

  private fields: Array<Header> = []
  private sectionBudget = 0
  private fieldCount = 0

  private framing: Framing = { kind: "none" }
  private body: Uint8Array = EMPTY_BODY
  private bodyLength = 0
  private remaining = 0
  private chunkPhase = CHUNK_SIZE

  constructor(limits: ReaderLimits) {
    this.limits = limits
  }

  /** Bytes received and not consumed yet. */
  get buffered(): number {
    return this.queued
  }

  /** True once `end` was called. */
  get ended(): boolean {
    return this.eof
  }

  /** Queues `chunk` (kept by reference until consumed). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.eof) return
    this.chunks.push(chunk)
    this.queued += chunk.length
  }

  /** The peer closed: no more bytes will come. */
  end(): void {
    this.eof = true
  }

  /** Drops everything buffered and refuses further input (after an error). */
  close(): void {
    this.chunks = []
    this.head = 0
    this.offset = 0
    this.queued = 0
    this.eof = true
    this.fields = []
    this.body = EMPTY_BODY
    this.line = EMPTY_BODY
    this.lineFill = 0
  }

  /** The next input byte, or -1 when none is buffered. */
  peek(): number {
    return this.queued === 0 ? -1 : this.chunks[this.head]![this.offset]!
  }

  /**
   * Reads a line ending in LF (a CR before it is dropped: RFC 9112 §2.2 lets
   * a recipient accept a bare LF). Returns its length, with the bytes in
   * `line`; `NEED_MORE` when no LF has come; `OVERFLOW` as soon as more than
   * `limit` bytes came before the LF (only up to the limit is kept).
   */
  readLine(limit: number): number {
    while (this.queued > 0) {
      const chunk = this.chunks[this.head]!
      const start = this.offset
      const lf = chunk.indexOf(LF, start)
      const stop = lf === -1 ? chunk.length : lf
      const n = stop - start
      const room = limit - this.lineFill
      if (n > room) {
        if (room > 0) {
          this.appendLine(chunk, start, start + room)
          this.consume(room)
        }
        return OVERFLOW
      }
      this.appendLine(chunk, start, stop)
      if (lf === -1) {
        this.consume(n)
        continue
      }
      this.consume(n + 1)
      let length = this.lineFill
      this.lineRaw = length + 1
      this.lineFill = 0
      if (length > 0 && this.line[length - 1] === CR) length--
      return length
    }
    return NEED_MORE
  }

  /** Starts a header (or trailer) section with fresh limits. */
  beginFieldSection(): void {
    this.fields = []
    this.sectionBudget = this.limits.maxHeaderBytes
    this.fieldCount = 0
  }

  /**
   * Reads field lines up to the empty line that ends the section: the list,
   * `undefined` when more bytes are needed, or why the section is refused.
   * Field lines are discarded (but still checked) when `keep` is false.
   */
  readFieldSection(keep: boolean): HeaderList | HttpParseReason | undefined {
    for (;;) {
      // The whole section, line ends included, fits in maxHeaderBytes: raw = fill + LF ≤ budget.
      const length = this.readLine(this.sectionBudget - 1)
      if (length === NEED_MORE) return undefined
      if (length === OVERFLOW) return "header_section_too_large"
      this.sectionBudget -= this.lineRaw
      if (length === 0) {
        const list = keep ? new HeaderList(this.fields) : EMPTY_HEADERS
        this.fields = []
        // An idle connection should not keep the room a long line once needed.
        if (this.line.length > SHRINK_LINE) this.line = new Uint8Array(INITIAL_LINE)
        return list
      }
      if (++this.fieldCount > this.limits.maxHeaders) return "too_many_headers"
      const field = parseFieldLine(this.line, length)
      if (typeof field === "string") return field
      if (keep) this.fields.push(field)
    }
  }

  /** Starts reading a body framed by `framing`; a declared length past the limit is "body_too_large". */
  beginBody(framing: Framing): HttpParseReason | undefined {
    this.framing = framing
    this.body = EMPTY_BODY
    this.bodyLength = 0
    this.chunkPhase = CHUNK_SIZE
    if (framing.kind === "length") {
      if (framing.length > this.limits.maxBodyBytes) return "body_too_large"
      this.remaining = framing.length
    }
    return undefined
  }

  /**
   * Reads the body begun with `beginBody`: the bytes (a fresh array the
   * caller owns), `undefined` when more input is needed, or why it is refused.
   * After `end`, an unfinished length or chunked body is "truncated".
   */
  readBody(): Uint8Array | HttpParseReason | undefined {
    switch (this.framing.kind) {
      case "none":
        return EMPTY_BODY
      case "length": {
        this.copyBody(this.remaining, this.framing.length)
        if (this.remaining > 0) return this.eof ? "truncated" : undefined
        return this.takeBody()
      }
      case "close": {
        const room = this.limits.maxBodyBytes - this.bodyLength
        if (this.queued > room) return "body_too_large"
        this.copyBody(this.queued, this.limits.maxBodyBytes)
        return this.eof ? this.takeBody() : undefined
      }
      case "chunked": {
        const result = this.readChunked()
        return result === undefined && this.eof ? "truncated" : result
      }
    }
  }

  private readChunked(): Uint8Array | HttpParseReason | undefined {
    for (;;) {
      switch (this.chunkPhase) {
        case CHUNK_SIZE: {
          const length = this.readLine(MAX_CHUNK_LINE)
          if (length === NEED_MORE) return undefined
          if (length === OVERFLOW) return "bad_chunk"
          const size = parseChunkSize(this.line, length, this.limits.maxBodyBytes - this.bodyLength)
          if (typeof size === "string") return size
          if (size === 0) {
            // RFC 9112 §7.1.2: the trailer section; we check and discard it.
            this.chunkPhase = CHUNK_TRAILERS
            this.beginFieldSection()
          } else {
            this.chunkPhase = CHUNK_DATA
            this.remaining = size
          }
          break
        }
        case CHUNK_DATA: {
          this.copyBody(this.remaining, this.limits.maxBodyBytes)
          if (this.remaining > 0) return undefined
          this.chunkPhase = CHUNK_DATA_END
          break
        }
        case CHUNK_DATA_END: {
          // chunk-data is followed by CRLF and nothing else (bare LF accepted as elsewhere).
          const length = this.readLine(1)
          if (length === NEED_MORE) return undefined
          if (length !== 0) return "bad_chunk"
          this.chunkPhase = CHUNK_SIZE
          break
        }
        case CHUNK_TRAILERS: {
          const trailers = this.readFieldSection(false)
          if (trailers === undefined || typeof trailers === "string") return trailers
          return this.takeBody()
        }
        default:
          return "bad_chunk"
      }
    }
  }

  /** Moves up to `count` queued bytes into the body (growing it by doubling, never past `cap`). */
  private copyBody(count: number, cap: number): void {
    let left = Math.min(count, this.queued)
    if (left === 0) return
    const need = this.bodyLength + left
    if (need > this.body.length) {
      let capacity = Math.max(this.body.length * 2, Math.min(INITIAL_BODY, cap))
      if (capacity < need) capacity = need
      if (capacity > cap) capacity = Math.max(cap, need)
      const grown = new Uint8Array(capacity)
      grown.set(this.body.subarray(0, this.bodyLength))
      this.body = grown
    }
    if (this.framing.kind !== "close") this.remaining -= left
    while (left > 0) {
      const chunk = this.chunks[this.head]!
      const n = Math.min(left, chunk.length - this.offset)
      this.body.set(chunk.subarray(this.offset, this.offset + n), this.bodyLength)
      this.bodyLength += n
      this.consume(n)
      left -= n
    }
  }

  private takeBody(): Uint8Array {
    const body = this.body
    const length = this.bodyLength
    this.body = EMPTY_BODY
    this.bodyLength = 0
    if (length === 0) return EMPTY_BODY
    return body.length === length ? body : body.slice(0, length)
  }

  private appendLine(chunk: Uint8Array, start: number, end: number): void {
    const n = end - start
    if (n === 0) return
    const fill = this.lineFill
    if (fill + n > this.line.length) {
      const grown = new Uint8Array(Math.max(this.line.length * 2, fill + n, INITIAL_LINE))
      grown.set(this.line.subarray(0, fill))
      this.line = grown
    }
    if (n < 16) {
      const line = this.line
      for (let i = 0; i < n; i++) line[fill + i] = chunk[start + i]!
    } else {
      this.line.set(chunk.subarray(start, end), fill)
    }
    this.lineFill = fill + n
  }

  private consume(n: number): void {
    this.queued -= n
    this.offset += n
    const chunk = this.chunks[this.head]
    if (chunk !== undefined && this.offset >= chunk.length) {
      this.head++
      this.offset = 0
      if (this.head === this.chunks.length) {
        this.chunks = []
        this.head = 0
      } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
        this.chunks = this.chunks.slice(this.head)
        this.head = 0
      }
    }
  }
}

/**
 * The length a message's Content-Length field lines declare (RFC 9110 §8.6):
 * each element 1*DIGIT, several equal ones (`42, 42` or repeated lines)
 * accepted as one. `undefined` when absent; `Infinity` for a length too long
 * to be exact (beyond 15 digits), which every limit refuses.
 */
export const parseContentLength = (values: ReadonlyArray<string> | undefined): number | HttpParseReason | undefined => {
  if (values === undefined) return undefined
  let length: number | undefined
  for (const value of values) {
    let start = 0
    for (;;) {
      const comma = value.indexOf(",", start)
      const element = trimOws(comma === -1 ? value.slice(start) : value.slice(start, comma))
      if (element.length === 0) return "bad_content_length"
      let zeros = 0
      for (let i = 0; i < element.length; i++) {
        const c = element.charCodeAt(i)
        if (c < 0x30 || c > 0x39) return "bad_content_length"
        if (c === 0x30 && zeros === i && i < element.length - 1) zeros++
      }
      const digits = element.length - zeros
      const n = digits > 15 ? Infinity : Number(element.slice(zeros))
      if (length === undefined) length = n
      else if (length !== n) return "conflicting_content_length"
      if (comma === -1) break
      start = comma + 1
    }
  }
  return length
}

/**
 * Checks a Transfer-Encoding list (RFC 9112 §6.1): we decode only `chunked`,
 * so any other coding is "unsupported_transfer_coding" (501) and chunked may
 * appear exactly once. Returns undefined when the body is chunked.
 */
export const checkTransferCodings = (codings: ReadonlyArray<string>): HttpParseReason | undefined => {
  if (codings.length === 0) return "bad_transfer_encoding"
  for (const coding of codings) if (coding !== "chunked") return "unsupported_transfer_coding"
  // RFC 9112 §6.1: a sender MUST NOT apply chunked more than once.
  return codings.length > 1 ? "bad_transfer_encoding" : undefined
}

/**
 * The field values that decide framing and connection handling, gathered in
 * one pass over the field lines (no name index built): each is undefined
 * when the field is absent, else its values in order.
 */
export interface FramingFields {
  host: Array<string> | undefined
  contentLength: Array<string> | undefined
  transferEncoding: Array<string> | undefined
  connection: Array<string> | undefined
  expect: Array<string> | undefined
}

const add = (values: Array<string> | undefined, value: string): Array<string> => {
  if (values === undefined) return [value]
  values.push(value)
  return values
}

/** Picks Host, Content-Length, Transfer-Encoding, Connection and Expect out of `entries`. */
export const framingFields = (entries: ReadonlyArray<Header>): FramingFields => {
  const fields: FramingFields = {
    host: undefined,
    contentLength: undefined,
    transferEncoding: undefined,
    connection: undefined,
    expect: undefined
  }
  for (let i = 0; i < entries.length; i++) {
    const { name, value } = entries[i]!
    switch (name.length) {
      case 4:
        if (equalsLower(name, "host")) fields.host = add(fields.host, value)
        break
      case 6:
        if (equalsLower(name, "expect")) fields.expect = add(fields.expect, value)
        break
      case 10:
        if (equalsLower(name, "connection")) fields.connection = add(fields.connection, value)
        break
      case 14:
        if (equalsLower(name, "content-length")) fields.contentLength = add(fields.contentLength, value)
        break
      case 17:
        if (equalsLower(name, "transfer-encoding")) fields.transferEncoding = add(fields.transferEncoding, value)
        break
    }
  }
  return fields
}

/** The lower-cased elements of the comma-separated lists in `values` (RFC 9110 §5.6.1). */
export const listTokens = (values: ReadonlyArray<string> | undefined): Array<string> => {
  const out: Array<string> = []
  if (values !== undefined) for (const value of values) for (const e of listElements(value)) out.push(e.toLowerCase())
  return out
}
