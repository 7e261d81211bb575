/**
 * Incremental HTTP/1.1 response parser for a client (RFC 9112 §4, §6):
 * status line, header section, and a body delimited by Content-Length,
 * chunked coding or the end of the connection; none for HEAD, 1xx, 204 and
 * 304. Interim 1xx responses (100 Continue …) are skipped.
 */
import { FIELD_CHAR, latin1, SP } from "./grammar.js"
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
import { type HttpParseReason, responseError, type ResponseParseError } from "./parse-error.js"
import type { HttpVersion } from "./request-parser.js"

/** Limits of a `ResponseParser`; every field has a default. */
export interface ResponseLimits {
  /** Longest status line, CRLF excluded (default 8192). */
  readonly maxStatusLine?: number
  /** Largest header section, every field line and CRLF included (default 65536); trailers get the same. */
  readonly maxHeaderBytes?: number
  /** Most field lines (default 256). */
  readonly maxHeaders?: number
  /** Largest body (default 16 MiB). */
  readonly maxBodyBytes?: number
}

/** The defaults of `ResponseLimits`: roomier than a server's, since the client chose the server. */
export const DEFAULT_RESPONSE_LIMITS: Required<ResponseLimits> = Object.freeze({
  maxStatusLine: 8192,
  maxHeaderBytes: 65536,
  maxHeaders: 256,
  maxBodyBytes: 16 * 1024 * 1024
})

/** A whole final response. */
export interface ParsedResponse {
  readonly _tag: "Response"
  /** HTTP/1.x with x ≥ 1 reads as "1.1" (RFC 9110 §2.5). */
  readonly version: HttpVersion
  /** Three digits, 100–999; 1xx other than 101 never come out (they are skipped). */
  readonly status: number
  /** The reason-phrase as sent (possibly empty); RFC 9112 §4: clients ignore it. */
  readonly reason: string
  readonly headers: HeaderList
  /** The decoded body (chunked coding removed, trailers skipped); empty when none. */
  readonly body: Uint8Array
  /** The connection may carry another request: not close-delimited, no `Connection: close`, HTTP/1.0 only with keep-alive. */
  readonly keepAlive: boolean
}

interface StatusLine {
  readonly version: HttpVersion
  readonly status: number
  readonly reason: string
}

const LINE = 0
const HEADERS = 1
const BODY = 2
const FAILED = 3
/** After 101 (or a 2xx to CONNECT) the bytes are another protocol's. */
const SWITCHED = 4

const MAX_BLANK_LINES = 16

const limit = (value: number | undefined, fallback: number): number =>
  value === undefined || Number.isNaN(value) ? fallback : Math.max(0, Math.floor(value))

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39

/** Parses `HTTP-version SP 3DIGIT [SP reason-phrase]` from `bytes[0, length)` (RFC 9112 §4). */
const parseStatusLine = (bytes: Uint8Array, length: number): StatusLine | HttpParseReason => {
  if (
    length < 12 || bytes[0] !== 0x48 || bytes[1] !== 0x54 || bytes[2] !== 0x54 || bytes[3] !== 0x50 ||
    bytes[4] !== 0x2f || !isDigit(bytes[5]) || bytes[6] !== 0x2e || !isDigit(bytes[7]) || bytes[8] !== SP
  ) return "bad_status_line"
  if (bytes[5] !== 0x31) return "unsupported_version"
  if (!isDigit(bytes[9]) || !isDigit(bytes[10]) || !isDigit(bytes[11]) || bytes[9] === 0x30) return "bad_status_line"
  const status = (bytes[9]! - 0x30) * 100 + (bytes[10]! - 0x30) * 10 + (bytes[11]! - 0x30)
  // The SP before an empty reason-phrase is required, but servers omit it; accept its absence.
  if (length > 12 && bytes[12] !== SP) return "bad_status_line"
  const start = Math.min(13, length)
  for (let i = start; i < length; i++) if (FIELD_CHAR[bytes[i]!] === 0) return "bad_status_line"
  return { version: bytes[7] === 0x30 ? "1.0" : "1.1", status, reason: latin1(bytes, start, length) }
}

const NO_BODY: Framing = Object.freeze({ kind: "none" })
const CHUNKED: Framing = Object.freeze({ kind: "chunked" })
const UNTIL_CLOSE: Framing = Object.freeze({ kind: "close" })

/** RFC 9112 §6.3: how a response to `method` with `line` and `headers` is delimited. */
const responseFraming = (method: string, line: StatusLine, fields: FramingFields, maxBody: number): Framing | HttpParseReason => {
  const { status } = line
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) return NO_BODY
  if (method === "CONNECT" && status < 300) return NO_BODY
  const contentLength = parseContentLength(fields.contentLength)
  if (typeof contentLength === "string") return contentLength
  if (fields.transferEncoding !== undefined) {
    if (line.version === "1.0") return "bad_transfer_encoding"
    // RFC 9112 §6.3 item 3: "ought to be handled as an error".
    if (contentLength !== undefined) return "content_length_and_transfer_encoding"
    return checkTransferCodings(listTokens(fields.transferEncoding)) ?? CHUNKED
  }
  if (contentLength === undefined) return UNTIL_CLOSE
  if (contentLength > maxBody) return "body_too_large"
  return contentLength === 0 ? NO_BODY : { kind: "length", length: contentLength }
}

/**
 * Parses responses from byte chunks. Call `requestSent(method)` for each
 * request written, in order, so that responses to HEAD and CONNECT are
 * framed right (none pending reads as GET). `push` bytes as they arrive,
 * `end()` when the server closes, and call `next` until `undefined`.
 * After 101 Switching Protocols (or a 2xx to CONNECT) it returns that
 * response and nothing more: later bytes belong to the new protocol.
 */
export class ResponseParser {
  private readonly reader: MessageReader
  private readonly maxStatusLine: number
  private readonly maxBodyBytes: number
  private readonly methods: Array<string> = []
  private phase = LINE
  private failure: ResponseParseError | undefined
  private blankLines = 0
  private line: StatusLine | undefined
  private headers: HeaderList | undefined
  private framing: Framing = NO_BODY
  private connection: ReadonlyArray<string> = []

  constructor(limits: ResponseLimits = {}) {
    this.maxStatusLine = limit(limits.maxStatusLine, DEFAULT_RESPONSE_LIMITS.maxStatusLine)
    this.maxBodyBytes = limit(limits.maxBodyBytes, DEFAULT_RESPONSE_LIMITS.maxBodyBytes)
    this.reader = new MessageReader({
      maxHeaderBytes: limit(limits.maxHeaderBytes, DEFAULT_RESPONSE_LIMITS.maxHeaderBytes),
      maxHeaders: limit(limits.maxHeaders, DEFAULT_RESPONSE_LIMITS.maxHeaders),
      maxBodyBytes: this.maxBodyBytes
    })
  }

  /** Bytes pushed and not read yet (a partial line or body already read is held apart, within the limits). */
  get buffered(): number {
    return this.reader.buffered
  }

  /** The error `next` returned, once it has; the parser is then closed. */
  get error(): ResponseParseError | undefined {
    return this.failure
  }

  /** A request with `method` was sent; its response comes after those of earlier ones. */
  requestSent(method: string): void {
    this.methods.push(method)
  }

  /** Queues received bytes; ignored after an error, `end` or a protocol switch. */
  push(chunk: Uint8Array): void {
    if (this.failure === undefined && this.phase !== SWITCHED) this.reader.push(chunk)
  }

  /** The server closed the connection: a close-delimited body is complete, anything else unfinished is "truncated". */
  end(): void {
    this.reader.end()
  }

  /** The next final response, the error that ends the connection, or `undefined` when more bytes are needed (or none will come). */
  next(): ParsedResponse | ResponseParseError | undefined {
    if (this.failure !== undefined) return this.failure
    const reader = this.reader
    for (;;) {
      switch (this.phase) {
        case LINE: {
          const length = reader.readLine(this.maxStatusLine + 1)
          if (length === NEED_MORE) return reader.ended && reader.lineFill > 0 ? this.fail("truncated") : undefined
          if (length === OVERFLOW || length > this.maxStatusLine) return this.fail("bad_status_line")
          if (length === 0) {
            if (++this.blankLines > MAX_BLANK_LINES) return this.fail("bad_status_line")
            continue
          }
          const line = parseStatusLine(reader.line, length)
          if (typeof line === "string") return this.fail(line)
          this.blankLines = 0
          this.line = line
          reader.beginFieldSection()
          this.phase = HEADERS
          break
        }
        case HEADERS: {
          const headers = reader.readFieldSection(true)
          if (headers === undefined) return reader.ended ? this.fail("truncated") : undefined
          if (typeof headers === "string") return this.fail(headers)
          const line = this.line!
          if (line.status < 200 && line.status !== 101) {
            // RFC 9110 §15.2: interim responses precede the final one; skip them.
            this.line = undefined
            this.phase = LINE
            break
          }
          const fields = framingFields(headers.entries)
          const framing = responseFraming(this.methods[0] ?? "GET", line, fields, this.maxBodyBytes)
          if (typeof framing === "string") return this.fail(framing)
          const refused = reader.beginBody(framing)
          if (refused !== undefined) return this.fail(refused)
          this.headers = headers
          this.framing = framing
          this.connection = listTokens(fields.connection)
          this.phase = BODY
          break
        }
        case BODY: {
          const body = reader.readBody()
          if (body === undefined) return undefined
          if (typeof body === "string") return this.fail(body)
          const line = this.line!
          const headers = this.headers!
          const method = this.methods.shift() ?? "GET"
          const connection = this.connection
          const keepAlive = this.framing.kind !== "close" && !connection.includes("close") &&
            (line.version === "1.1" || connection.includes("keep-alive"))
          this.line = undefined
          this.headers = undefined
          this.phase = line.status === 101 || (method === "CONNECT" && line.status < 300) ? SWITCHED : LINE
          return { _tag: "Response", ...line, headers, body, keepAlive }
        }
        default:
          return this.failure
      }
    }
  }

  private fail(reason: HttpParseReason): ResponseParseError {
    this.failure = responseError(reason)
    this.phase = FAILED
    this.line = undefined
    this.headers = undefined
    this.reader.close()
    return this.failure
  }
}
