/**
 * Content-Type by file extension for a static file server (RFC 9110 §8.3,
 * IANA media types). Text types carry `charset=utf-8`; anything unknown is
 * `application/octet-stream`, which browsers download rather than render.
 */

/** The type of a file we have no entry for. */
export const DEFAULT_MIME_TYPE = "application/octet-stream"

const UTF8 = "; charset=utf-8"

/** Media type by lower-case extension (no dot). */
export const MIME_TYPES: Readonly<Record<string, string>> = Object.freeze({
  html: "text/html" + UTF8,
  htm: "text/html" + UTF8,
  css: "text/css" + UTF8,
  // RFC 9239: text/javascript is the one JavaScript type.
  js: "text/javascript" + UTF8,
  mjs: "text/javascript" + UTF8,
  txt: "text/plain" + UTF8,
  md: "text/markdown" + UTF8,
  csv: "text/csv" + UTF8,
  // RFC 8259 §11: application/json defines no charset parameter (it is always UTF-8).
  json: "application/json",
  map: "application/json",
  webmanifest: "application/manifest+json",
  // RFC 7303 §4.1: application/xml is preferred over text/xml.
  xml: "application/xml",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/x-icon",
  wasm: "application/wasm",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  wav: "audio/wav",
  mp4: "video/mp4",
  webm: "video/webm"
})

/**
 * The extension of the last path segment of `path`, lower-cased, without
 * the dot; "" when none (`Makefile`, a dotfile like `.profile`, `name.`).
 */
export const extensionOf = (path: string): string => {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))
  const name = path.slice(slash + 1)
  const dot = name.lastIndexOf(".")
  if (dot <= 0) return ""
  return name.slice(dot + 1).toLowerCase()
}

/** The Content-Type for a file at `path` (a name or a path), by its extension. */
export const mimeTypeFor = (path: string): string => {
  const extension = extensionOf(path)
  return Object.hasOwn(MIME_TYPES, extension) ? MIME_TYPES[extension]! : DEFAULT_MIME_TYPE
}
