/** HTTP/1.1 messages (RFC 9110 semantics, RFC 9112 syntax): pure parsers, serializers and static-file helpers. */
export { type Header, HeaderList, type SerializeError } from "./headers.js"
export type { HttpParseReason, RequestErrorStatus, RequestParseError, ResponseParseError } from "./parse-error.js"
export {
  DEFAULT_REQUEST_LIMITS,
  type HttpVersion,
  type ParsedRequest,
  type RequestHead,
  type RequestLimits,
  RequestParser
} from "./request-parser.js"
export {
  DEFAULT_RESPONSE_LIMITS,
  type ParsedResponse,
  type ResponseLimits,
  ResponseParser
} from "./response-parser.js"
export {
  LAST_CHUNK,
  REASON_PHRASES,
  reasonPhrase,
  type ResponseHeadOptions,
  serializeChunk,
  serializeResponseHead
} from "./response.js"
export { type RequestOptions, serializeRequest } from "./request.js"
export { formatHttpDate, parseHttpDate } from "./date.js"
export { DEFAULT_MIME_TYPE, extensionOf, MIME_TYPES, mimeTypeFor } from "./mime.js"
export {
  type PathRefusal,
  type PathRefusalReason,
  type ResolvedPath,
  type ResolvePathOptions,
  resolveRequestPath
} from "./path.js"
