/**
 * Writing responses (RFC 9112 §4, §7.1): the status line and header section
 * as bytes, chunked-coding pieces for bodies of unknown length, and the
 * reason phrases of RFC 9110 §15. Invalid input comes back as a
 * `SerializeError` value; nothing throws.
 */
import { FIELD_CHAR } from "./grammar.js"
import { type Header, hasField, serializeError, type SerializeError, serializeHead } from "./headers.js"
import type { HttpVersion } from "./request-parser.js"
import { formatHttpDate } from "./date.js"

export { formatHttpDate, parseHttpDate } from "./date.js"

/** Reason phrases of the status codes of RFC 9110 §15 (and RFC 6585, 7725, 8297). */
export const REASON_PHRASES: Readonly<Record<number, string>> = Object.freeze({
  100: "Continue",
  101: "Switching Protocols",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  305: "Use Proxy",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported"
})

/** The reason phrase of `status`, or "" for a code we have none for (an empty reason-phrase is valid, RFC 9112 §4). */
export const reasonPhrase = (status: number): string => REASON_PHRASES[status] ?? ""

/** What `serializeResponseHead` adds to the given header fields. */
export interface ResponseHeadOptions {
  /** HTTP-version of the status line (default "1.1", also right for HTTP/1.0 clients: RFC 9110 §2.5). */
  readonly version?: HttpVersion
  /** Adds `Date` (IMF-fixdate of these epoch milliseconds) unless the headers have one (RFC 9110 §6.6.1). */
  readonly date?: number
  /** Adds `Content-Length` unless the headers have Content-Length or Transfer-Encoding. */
  readonly contentLength?: number
  /** Adds `Connection` unless the headers have one: "close", or "keep-alive" for an HTTP/1.0 client. */
  readonly connection?: "close" | "keep-alive"
}

const isReason = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c > 0xff || FIELD_CHAR[c] === 0) return false
  }
  return true
}

/**
 * The status line and header section of a response, ending with the empty
 * line: `HTTP/1.1 404 Not Found` CRLF, fields CRLF, CRLF. `reason` defaults
 * to the status's phrase. The body, if any, is written after these bytes.
 */
export const serializeResponseHead = (
  status: number,
  reason: string | undefined,
  headers: Iterable<Header>,
  options: ResponseHeadOptions = {}
): Uint8Array | SerializeError => {
  if (!Number.isInteger(status) || status < 100 || status > 999) return serializeError("bad_status")
  const phrase = reason ?? reasonPhrase(status)
  if (!isReason(phrase)) return serializeError("bad_reason")
  const extra: Array<Header> = []
  if (options.date !== undefined && !hasField(headers, "date")) {
    extra.push({ name: "Date", value: formatHttpDate(options.date) })
  }
  if (
    options.contentLength !== undefined && !hasField(headers, "content-length") &&
    !hasField(headers, "transfer-encoding")
  ) {
    if (!Number.isSafeInteger(options.contentLength) || options.contentLength < 0) return serializeError("bad_framing")
    extra.push({ name: "Content-Length", value: String(options.contentLength) })
  }
  if (options.connection !== undefined && !hasField(headers, "connection")) {
    extra.push({ name: "Connection", value: options.connection })
  }
  return serializeHead(`HTTP/${options.version ?? "1.1"} ${status} ${phrase}`, headers, extra)
}

/** The terminating zero-size chunk with an empty trailer section, `0` CRLF CRLF (RFC 9112 §7.1). Do not mutate. */
export const LAST_CHUNK: Uint8Array = new Uint8Array([0x30, 0x0d, 0x0a, 0x0d, 0x0a])

/**
 * `data` as one chunk: hex size CRLF data CRLF (RFC 9112 §7.1). Empty data
 * gives no bytes, since a zero-size chunk would end the body; end it with
 * `LAST_CHUNK`.
 */
export const serializeChunk = (data: Uint8Array): Uint8Array => {
  if (data.length === 0) return new Uint8Array(0)
  const size = data.length.toString(16)
  const bytes = new Uint8Array(size.length + data.length + 4)
  for (let i = 0; i < size.length; i++) bytes[i] = size.charCodeAt(i)
  let at = size.length
  bytes[at++] = 0x0d
  bytes[at++] = 0x0a
  bytes.set(data, at)
  at += data.length
  bytes[at++] = 0x0d
  bytes[at] = 0x0a
  return bytes
}
