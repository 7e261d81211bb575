/**
 * Incremental HTTP/1.1 request parser for a server (RFC 9112 §2–§7, RFC 9110
 * semantics): fed byte chunks split anywhere, it yields requests in order
 * (pipelining) or one `RequestParseError` naming the status to answer with,
 * after which it takes no more input. Limits are checked as bytes arrive.
 */
import { HOST_CHAR, latin1, SP, TARGET_CHAR, TCHAR } from "./grammar.js"
import type { HeaderList } from "./headers.js"
import {
  checkTransferCodings,
  type Framing,
  type FramingFields,
  framingFields,
  listTokens,
  MessageReader,
  NEED_MORE,
  OVERFLOW,
  parseContentLength
} from "./message-reader.js"
import { type HttpParseReason, requestError, type RequestParseError } from "./parse-error.js"

/** The HTTP versions we speak (RFC 9112 §2.3). */
export type HttpVersion = "1.0" | "1.1"

/** Limits of a `RequestParser`; every field has a default. */
export interface RequestLimits {
  /** Longest request line, CRLF excluded (default 8192). */
  readonly maxRequestLine?: number
  /** Largest header section, every field line and CRLF included (default 16384); trailers get the same. */
  readonly maxHeaderBytes?: number
  /** Most field lines (default 100). */
  readonly maxHeaders?: number
  /** Largest body, declared or chunked (default 1 MiB). */
  readonly maxBodyBytes?: number
}

/** The defaults of `RequestLimits`. */
export const DEFAULT_REQUEST_LIMITS: Required<RequestLimits> = Object.freeze({
  maxRequestLine: 8192,
  maxHeaderBytes: 16384,
  maxHeaders: 100,
  maxBodyBytes: 1024 * 1024
})

/** A request's start line and header section, with what they imply. */
export interface RequestHead {
  /** Case-sensitive token (RFC 9110 §9.1). */
  readonly method: string
  /** The request-target as sent: origin-form, absolute-form, authority-form (CONNECT) or "*" (OPTIONS). */
  readonly target: string
  readonly version: HttpVersion
  readonly headers: HeaderList
  /** The connection may carry another request (RFC 9112 §9.3): HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`. */
  readonly keepAlive: boolean
  /** HTTP/1.1 with `Expect: 100-continue` (RFC 9110 §10.1.1; ignored in HTTP/1.0). */
  readonly expectContinue: boolean
  /** The body comes in chunked coding (else by Content-Length, or none). */
  readonly chunked: boolean
}

/** A whole request. */
export interface ParsedRequest extends RequestHead {
  readonly _tag: "Request"
  /** The decoded body (chunked coding removed, trailers skipped); empty when none. */
  readonly body: Uint8Array
}

const LINE = 0
const HEADERS = 1
const BODY = 2
const FAILED = 3

/** Empty lines tolerated before a request line (RFC 9112 §2.2: SHOULD ignore at least one). */
const MAX_BLANK_LINES = 16

/** Longest HTTP-version, "HTTP/1.1". */
const VERSION_LENGTH = 8

const limit = (value: number | undefined, fallback: number): number =>
  value === undefined || Number.isNaN(value) ? fallback : Math.max(0, Math.floor(value))

interface RequestLine {
  readonly method: string
  readonly target: string
  readonly version: HttpVersion
}

const indexOfByte = (bytes: Uint8Array, byte: number, from: number, end: number): number => {
  for (let i = from; i < end; i++) if (bytes[i] === byte) return i
  return -1
}

const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)

/** RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), followed by ":". */
const hasScheme = (target: string): boolean => {
  const colon = target.indexOf(":")
  if (colon <= 0 || !isAlpha(target.charCodeAt(0))) return false
  for (let i = 1; i < colon; i++) {
    const c = target.charCodeAt(i)
    if (!isAlpha(c) && !(c >= 0x30 && c <= 0x39) && c !== 0x2b && c !== 0x2d && c !== 0x2e) return false
  }
  return true
}

/** RFC 9112 §3.2: which request-target forms a method may use. */
const checkTargetForm = (method: string, target: string): boolean => {
  if (method === "CONNECT") return !target.startsWith("/") && target !== "*" // authority-form
  if (target.startsWith("/")) return true // origin-form
  if (target === "*") return method === "OPTIONS" // asterisk-form
  return hasScheme(target) // absolute-form
}

/** Parses `method SP request-target SP HTTP-version` from `bytes[0, length)` (RFC 9112 §3). */
const parseRequestLine = (bytes: Uint8Array, length: number): RequestLine | HttpParseReason => {
  const sp1 = indexOfByte(bytes, SP, 0, length)
  if (sp1 <= 0) return "bad_request_line"
  for (let i = 0; i < sp1; i++) if (TCHAR[bytes[i]!] === 0) return "bad_request_line"
  const sp2 = indexOfByte(bytes, SP, sp1 + 1, length)
  // No second SP: an HTTP/0.9 request or junk. Two SPs in a row: an empty target.
  if (sp2 === -1 || sp2 === sp1 + 1) return "bad_request_line"
  for (let i = sp1 + 1; i < sp2; i++) if (TARGET_CHAR[bytes[i]!] === 0) return "bad_target"
  const v = sp2 + 1
  if (indexOfByte(bytes, SP, v, length) !== -1) return "bad_request_line"
  if (
    length - v !== VERSION_LENGTH || bytes[v] !== 0x48 || bytes[v + 1] !== 0x54 || bytes[v + 2] !== 0x54 ||
    bytes[v + 3] !== 0x50 || bytes[v + 4] !== 0x2f || bytes[v + 6] !== 0x2e
  ) return "bad_version"
  const major = bytes[v + 5]! - 0x30
  const minor = bytes[v + 7]! - 0x30
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return "bad_version"
  if (major !== 1 || minor > 1) return "unsupported_version"
  const method = latin1(bytes, 0, sp1)
  const target = latin1(bytes, sp1 + 1, sp2)
  if (!checkTargetForm(method, target)) return "bad_target"
  return { method, target, version: minor === 1 ? "1.1" : "1.0" }
}

/**
 * Why a request line of which `bytes[0, count)` arrived passed the limit:
 * inside the request-target it is 414 (RFC 9112 §3: URI Too Long); a method
 * or version that long is junk, 400.
 */
const classifyLongLine = (bytes: Uint8Array, count: number): HttpParseReason => {
  const sp1 = indexOfByte(bytes, SP, 0, count)
  if (sp1 <= 0) return "bad_request_line"
  for (let i = 0; i < sp1; i++) if (TCHAR[bytes[i]!] === 0) return "bad_request_line"
  const sp2 = indexOfByte(bytes, SP, sp1 + 1, count)
  if (sp2 === -1) return "uri_too_long"
  return count - sp2 - 1 <= VERSION_LENGTH + 1 ? "uri_too_long" : "bad_request_line"
}

const isHost = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c > 0xff || HOST_CHAR[c] === 0) return false
  }
  return true
}

/** RFC 9112 §3.2: Host checks; §6.1, §6.3: how the request body is framed. */
const requestFraming = (line: RequestLine, fields: FramingFields, maxBody: number): Framing | HttpParseReason => {
  const hosts = fields.host
  if (hosts === undefined) {
    if (line.version === "1.1") return "missing_host"
  } else if (hosts.length > 1) {
    return "duplicate_host"
  } else if (!isHost(hosts[0]!)) {
    return "bad_host"
  }
  const contentLength = parseContentLength(fields.contentLength)
  if (typeof contentLength === "string") return contentLength
  if (fields.transferEncoding !== undefined) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
    if (line.version === "1.0") return "bad_transfer_encoding"
    // RFC 9112 §6.3 item 3: both may be request smuggling; refuse it.
    if (contentLength !== undefined) return "content_length_and_transfer_encoding"
    const refused = checkTransferCodings(listTokens(fields.transferEncoding))
    return refused ?? CHUNKED
  }
  if (contentLength === undefined || contentLength === 0) return NO_BODY
  if (contentLength > maxBody) return "body_too_large"
  return { kind: "length", length: contentLength }
}

const NO_BODY: Framing = Object.freeze({ kind: "none" })
const CHUNKED: Framing = Object.freeze({ kind: "chunked" })

/**
 * Parses requests from byte chunks. `push` each chunk as it arrives, then
 * call `next` until it returns `undefined` (more bytes needed). Pushed chunks
 * are kept by reference until consumed; bodies returned are fresh copies.
 * The parser goes on past a request with `keepAlive` false; the server
 * answers it and closes instead of asking for more.
 *
 * Request lines over `maxRequestLine`: 414 while inside the request-target,
 * 400 otherwise (a method or version that long is not HTTP). Versions other
 * than 1.0 and 1.1, HTTP/1.2 included, are 505.
 */
export class RequestParser {
  private readonly reader: MessageReader
  private readonly maxRequestLine: number
  private readonly maxBodyBytes: number
  private phase = LINE
  private failure: RequestParseError | undefined
  private blankLines = 0
  // Bytes of the request line in progress already checked as method characters.
  private methodScan = 0
  private methodDone = false
  private line: RequestLine | undefined
  private head: RequestHead | undefined

  constructor(limits: RequestLimits = {}) {
    this.maxRequestLine = limit(limits.maxRequestLine, DEFAULT_REQUEST_LIMITS.maxRequestLine)
    this.maxBodyBytes = limit(limits.maxBodyBytes, DEFAULT_REQUEST_LIMITS.maxBodyBytes)
    this.reader = new MessageReader({
      maxHeaderBytes: limit(limits.maxHeaderBytes, DEFAULT_REQUEST_LIMITS.maxHeaderBytes),
      maxHeaders: limit(limits.maxHeaders, DEFAULT_REQUEST_LIMITS.maxHeaders),
      maxBodyBytes: this.maxBodyBytes
    })
  }

  /** Bytes pushed and not read yet (a partial line or body already read is held apart, within the limits). */
  get buffered(): number {
    return this.reader.buffered
  }

  /** The error `next` returned, once it has; the parser is then closed. */
  get error(): RequestParseError | undefined {
    return this.failure
  }

  /**
   * The head of the request whose body is still arriving, e.g. to answer
   * `expectContinue` with 100 Continue; undefined between requests.
   */
  get pendingHead(): RequestHead | undefined {
    return this.phase === BODY ? this.head : undefined
  }

  /** Queues received bytes; ignored after an error. */
  push(chunk: Uint8Array): void {
    if (this.failure === undefined) this.reader.push(chunk)
  }

  /** The next whole request, the error that closes the connection, or `undefined` when more bytes are needed. */
  next(): ParsedRequest | RequestParseError | undefined {
    if (this.failure !== undefined) return this.failure
    const reader = this.reader
    for (;;) {
      switch (this.phase) {
        case LINE: {
          const length = reader.readLine(this.maxRequestLine + 1)
          if (length === NEED_MORE) return this.checkMethodSoFar()
          if (length === OVERFLOW) return this.fail(classifyLongLine(reader.line, reader.lineFill))
          this.methodScan = 0
          this.methodDone = false
          if (length === 0) {
            if (++this.blankLines > MAX_BLANK_LINES) return this.fail("bad_request_line")
            continue
          }
          if (length > this.maxRequestLine) return this.fail(classifyLongLine(reader.line, length))
          const line = parseRequestLine(reader.line, length)
          if (typeof line === "string") return this.fail(line)
          this.blankLines = 0
          this.line = line
          reader.beginFieldSection()
          this.phase = HEADERS
          break
        }
        case HEADERS: {
          const headers = reader.readFieldSection(true)
          if (headers === undefined) return undefined
          if (typeof headers === "string") return this.fail(headers)
          const line = this.line!
          const fields = framingFields(headers.entries)
          const framing = requestFraming(line, fields, this.maxBodyBytes)
          if (typeof framing === "string") return this.fail(framing)
          const refused = reader.beginBody(framing)
          if (refused !== undefined) return this.fail(refused)
          const connection = listTokens(fields.connection)
          this.head = {
            method: line.method,
            target: line.target,
            version: line.version,
            headers,
            keepAlive: !connection.includes("close") && (line.version === "1.1" || connection.includes("keep-alive")),
            expectContinue: line.version === "1.1" && listTokens(fields.expect).includes("100-continue"),
            chunked: framing.kind === "chunked"
          }
          this.line = undefined
          this.phase = BODY
          break
        }
        case BODY: {
          const body = reader.readBody()
          if (body === undefined) return undefined
          if (typeof body === "string") return this.fail(body)
          const head = this.head!
          this.head = undefined
          this.phase = LINE
          return {
            _tag: "Request",
            method: head.method,
            target: head.target,
            version: head.version,
            headers: head.headers,
            keepAlive: head.keepAlive,
            expectContinue: head.expectContinue,
            chunked: head.chunked,
            body
          }
        }
        default:
          return this.failure
      }
    }
  }

  /**
   * Checks the method of a request line still arriving, so that junk (a TLS
   * ClientHello, binary noise) is refused on its first bytes rather than
   * after `maxRequestLine` of them. Each byte is checked once.
   */
  private checkMethodSoFar(): RequestParseError | undefined {
    if (this.methodDone) return undefined
    const line = this.reader.line
    const fill = this.reader.lineFill
    while (this.methodScan < fill) {
      const b = line[this.methodScan]!
      if (b === SP) {
        if (this.methodScan === 0) return this.fail("bad_request_line")
        this.methodDone = true
        return undefined
      }
      if (TCHAR[b] === 0) {
        // A CR last may be the start of the CRLF of a blank line.
        if (b === 0x0d && this.methodScan === fill - 1) return undefined
        return this.fail("bad_request_line")
      }
      this.methodScan++
    }
    return undefined
  }

  private fail(reason: HttpParseReason): RequestParseError {
    this.failure = requestError(reason)
    this.phase = FAILED
    this.head = undefined
    this.line = undefined
    this.reader.close()
    return this.failure
  }
}
