/**
 * Why an HTTP message was refused, as `Malformed` values (one frozen constant
 * per reason). Request errors carry the status a server answers with before
 * it closes the connection (RFC 9112 §3, §5, §6, §7; RFC 9110 §15).
 */
import type { Malformed } from "../malformed.js"

/** Every reason the request and response parsers refuse a message for. */
export type HttpParseReason =
  /** Start line not `method SP target SP version` (or `version SP status SP reason`), a bare CR, a method not a token, too many blank lines. */
  | "bad_request_line"
  /** Request-target with characters outside visible ASCII, or not one of the four forms (RFC 9112 §3.2). */
  | "bad_target"
  /** HTTP-version not `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3). */
  | "bad_version"
  /** A well-formed version other than HTTP/1.0 and HTTP/1.1. */
  | "unsupported_version"
  /** The request line passed its limit inside the request-target. */
  | "uri_too_long"
  /** The header (or trailer) section passed its byte limit. */
  | "header_section_too_large"
  /** More field lines than the limit. */
  | "too_many_headers"
  /** A field line without a colon, with an empty or non-token name, or a value holding CTLs (CR, NUL …). */
  | "bad_header"
  /** Whitespace between a field name and its colon (RFC 9112 §5.1: MUST reject). */
  | "space_before_colon"
  /** A line beginning with SP/HTAB: obsolete line folding (RFC 9112 §5.2), or whitespace after the start line (§2.2). */
  | "obs_fold"
  /** An HTTP/1.1 request without Host (RFC 9112 §3.2). */
  | "missing_host"
  /** More than one Host field line. */
  | "duplicate_host"
  /** A Host value that is not `uri-host [":" port]`. */
  | "bad_host"
  /** A Content-Length that is not 1*DIGIT (or a list of equal ones). */
  | "bad_content_length"
  /** Content-Length values that differ (RFC 9110 §8.6). */
  | "conflicting_content_length"
  /** Both Transfer-Encoding and Content-Length (RFC 9112 §6.3: a smuggling attempt). */
  | "content_length_and_transfer_encoding"
  /** Transfer-Encoding in HTTP/1.0, chunked applied twice, or an empty coding list (RFC 9112 §6.1). */
  | "bad_transfer_encoding"
  /** A transfer coding other than chunked (RFC 9112 §6.1: 501). */
  | "unsupported_transfer_coding"
  /** A body (declared or received) larger than the limit. */
  | "body_too_large"
  /** A chunk-size line that is not HEXDIG with valid extensions, or chunk data not followed by CRLF (RFC 9112 §7.1). */
  | "bad_chunk"
  /** A status line not `HTTP-version SP 3DIGIT [SP reason]` (RFC 9112 §4). */
  | "bad_status_line"
  /** The connection ended inside a message. */
  | "truncated"

/** A status a server answers a refused request with. */
export type RequestErrorStatus = 400 | 413 | 414 | 431 | 501 | 505

/** A refused request: the reason, and the status to answer with before closing. */
export interface RequestParseError extends Malformed {
  readonly reason: HttpParseReason
  readonly status: RequestErrorStatus
}

/** A refused response (client side): the reason. */
export interface ResponseParseError extends Malformed {
  readonly reason: HttpParseReason
}

const STATUS: { readonly [R in HttpParseReason]: RequestErrorStatus } = {
  bad_request_line: 400,
  bad_target: 400,
  bad_version: 400,
  unsupported_version: 505,
  uri_too_long: 414,
  header_section_too_large: 431,
  too_many_headers: 431,
  bad_header: 400,
  space_before_colon: 400,
  obs_fold: 400,
  missing_host: 400,
  duplicate_host: 400,
  bad_host: 400,
  bad_content_length: 400,
  conflicting_content_length: 400,
  content_length_and_transfer_encoding: 400,
  bad_transfer_encoding: 400,
  unsupported_transfer_coding: 501,
  body_too_large: 413,
  bad_chunk: 400,
  bad_status_line: 400,
  truncated: 400
}

const REQUEST_ERRORS = Object.fromEntries(
  Object.entries(STATUS).map(([reason, status]) => [reason, Object.freeze({ _tag: "Malformed", reason, status })])
) as unknown as { readonly [R in HttpParseReason]: RequestParseError }

const RESPONSE_ERRORS = Object.fromEntries(
  Object.keys(STATUS).map((reason) => [reason, Object.freeze({ _tag: "Malformed", reason })])
) as unknown as { readonly [R in HttpParseReason]: ResponseParseError }

/** The shared `RequestParseError` constant for `reason`. */
export const requestError = (reason: HttpParseReason): RequestParseError => REQUEST_ERRORS[reason]

/** The shared `ResponseParseError` constant for `reason`. */
export const responseError = (reason: HttpParseReason): ResponseParseError => RESPONSE_ERRORS[reason]
