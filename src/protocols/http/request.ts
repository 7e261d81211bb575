/**
 * Writing requests for the client (RFC 9112 §3, §6, §7.1): request line,
 * header section and body, framed by Content-Length or chunked coding.
 * Invalid input comes back as a `SerializeError` value; nothing throws.
 */
import { isToken, TARGET_CHAR } from "./grammar.js"
import { type Header, hasField, serializeError, type SerializeError, serializeHead } from "./headers.js"
import { parseContentLength } from "./message-reader.js"
import type { HttpVersion } from "./request-parser.js"
import { LAST_CHUNK, serializeChunk } from "./response.js"

/** How `serializeRequest` frames the request. */
export interface RequestOptions {
  /** HTTP-version of the request line (default "1.1"). */
  readonly version?: HttpVersion
  /**
   * Send the body in chunked coding, in chunks of at most this many bytes,
   * adding `Transfer-Encoding: chunked` unless present. A Transfer-Encoding
   * among the headers also chunks the body (in one chunk by default).
   */
  readonly chunkSize?: number
}

const isTarget = (target: string): boolean => {
  if (target.length === 0) return false
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i)
    if (c > 0x7f || TARGET_CHAR[c] === 0) return false
  }
  return true
}

/**
 * A whole request as bytes. With a `body` and no framing field among the
 * headers, `Content-Length` is added (also for an empty body: a POST with
 * none says 0); without one, no body is sent. A Content-Length given must
 * match the body, and cannot go with Transfer-Encoding; chunked coding
 * needs HTTP/1.1 (RFC 9112 §6.1). The caller supplies Host (§3.2).
 */
export const serializeRequest = (
  method: string,
  target: string,
  headers: Iterable<Header>,
  body?: Uint8Array,
  options: RequestOptions = {}
): Uint8Array | SerializeError => {
  if (!isToken(method)) return serializeError("bad_method")
  if (!isTarget(target)) return serializeError("bad_target")
  const version = options.version ?? "1.1"
  const fields = Array.from(headers)
  const hasLength = hasField(fields, "content-length")
  const hasCoding = hasField(fields, "transfer-encoding")
  const chunked = hasCoding || options.chunkSize !== undefined
  if (chunked && (hasLength || version === "1.0")) return serializeError("bad_framing")
  const extra: Array<Header> = []
  if (hasLength) {
    const declared = parseContentLength(fields.filter((f) => f.name.toLowerCase() === "content-length").map((f) => f.value))
    if (declared !== (body?.length ?? 0)) return serializeError("bad_framing")
  } else if (chunked) {
    if (!hasCoding) extra.push({ name: "Transfer-Encoding", value: "chunked" })
  } else if (body !== undefined) {
    extra.push({ name: "Content-Length", value: String(body.length) })
  }
  const head = serializeHead(`${method} ${target} HTTP/${version}`, fields, extra)
  if (!(head instanceof Uint8Array)) return head
  const data = body ?? new Uint8Array(0)
  if (!chunked) return concat([head, data])
  const size = options.chunkSize === undefined || !(options.chunkSize >= 1)
    ? Math.max(1, data.length)
    : Math.floor(options.chunkSize)
  const parts: Array<Uint8Array> = [head]
  for (let at = 0; at < data.length; at += size) parts.push(serializeChunk(data.subarray(at, at + size)))
  parts.push(LAST_CHUNK)
  return concat(parts)
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let size = 0
  for (const part of parts) size += part.length
  const bytes = new Uint8Array(size)
  let at = 0
  for (const part of parts) {
    bytes.set(part, at)
    at += part.length
  }
  return bytes
}
