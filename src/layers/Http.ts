/**
 * HTTP/1.1 on Isla's TCP (RFC 9112): `Http.serve` runs a handler per request
 * with keep-alive, pipelining (responses in order), HEAD, `Date`,
 * `Content-Length`, 100-continue, idle and header timeouts, and error
 * answers for malformed requests; `staticFiles` serves a directory safely;
 * `Http.fetch` is a small client over `Tcp.connect`.
 */
import { FileSystem, Path } from "@effect/platform"
import { Data, Duration, Effect, Option, type Scope } from "effect"
import { formatIp, type IpAddress, parseIpv4 } from "../protocols/address.js"
import { parseIpv6 } from "../protocols/ipv6/address.js"
import {
  formatHttpDate,
  type Header,
  HeaderList,
  mimeTypeFor,
  parseHttpDate,
  type ParsedRequest,
  type RequestLimits,
  RequestParser,
  ResponseParser,
  reasonPhrase,
  resolveRequestPath,
  serializeRequest,
  serializeResponseHead
} from "../protocols/http/index.js"
import { isMalformed } from "../protocols/malformed.js"
import * as Tcp from "./Tcp.js"

/** A request as a handler sees it. */
export interface HttpRequest {
  readonly method: string
  readonly target: string
  readonly version: "1.0" | "1.1"
  readonly headers: HeaderList
  readonly body: Uint8Array
  readonly remote: Tcp.Endpoint
}

/** A response a handler returns. */
export interface HttpResponse {
  readonly status: number
  readonly headers?: ReadonlyArray<Header>
  readonly body?: Uint8Array
}

/** Answers requests. */
export type Handler<E = never, R = never> = (request: HttpRequest) => Effect.Effect<HttpResponse, E, R>

/** Options of `serve`. */
export interface ServeOptions {
  readonly limits?: RequestLimits
  /** A keep-alive connection idle this long is closed (default 5 s). */
  readonly idleTimeout?: Duration.DurationInput
  /** A request must arrive whole within this time of its first byte (default 10 s): slowloris defence. */
  readonly requestTimeout?: Duration.DurationInput
  /** Value of the `Server` header (default "isla"). */
  readonly serverName?: string
}

/** Why an HTTP client operation failed. */
export class HttpError extends Data.TaggedError("HttpError")<{
  readonly reason: "InvalidUrl" | "UnsupportedScheme" | "NameResolution" | "Malformed" | "TooManyRedirects" | "Transport"
  readonly message: string
}> {}

const encoder = new TextEncoder()
const text = (s: string) => encoder.encode(s)

/** A small HTML page with status and message. */
const errorBody = (status: number, detail?: string) =>
  text(`<!doctype html><title>${status} ${reasonPhrase(status)}</title><h1>${status} ${reasonPhrase(status)}</h1>${detail ? `<p>${detail}</p>` : ""}\n`)

/** A response with a small HTML body. */
export const errorResponse = (status: number, detail?: string, headers: ReadonlyArray<Header> = []): HttpResponse => ({
  status,
  headers: [{ name: "Content-Type", value: "text/html; charset=utf-8" }, ...headers],
  body: errorBody(status, detail)
})

const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/**
 * Serves HTTP/1.1 on `port` until the scope closes: each connection reads
 * requests (pipelined ones in order) and writes the handler's responses.
 */
export const serve = <E, R>(
  port: number,
  handler: Handler<E, R>,
  options: ServeOptions = {}
): Effect.Effect<void, Tcp.TcpError, Tcp.Tcp | R | Scope.Scope> =>
  Tcp.serve(port, (socket) => connection(socket, handler, options), { noDelay: true, backlog: 1024, synBacklog: 1024 })

const connection = <E, R>(socket: Tcp.TcpSocket, handler: Handler<E, R>, options: ServeOptions) =>
  Effect.gen(function*() {
    const parser = new RequestParser(options.limits)
    const idle = Duration.toMillis(options.idleTimeout ?? "5 seconds")
    const whole = Duration.toMillis(options.requestTimeout ?? "10 seconds")
    const serverName = options.serverName ?? "isla"
    const clock = yield* Effect.clock
    let continued = false

    const send = (response: HttpResponse, head: boolean, close: boolean, version: "1.0" | "1.1") =>
      Effect.gen(function*() {
        const body = response.body ?? new Uint8Array(0)
        const headers: Array<Header> = [{ name: "Server", value: serverName }, ...(response.headers ?? [])]
        const noBody = response.status === 204 || response.status === 304 || (response.status >= 100 && response.status < 200)
        let bytes = serializeResponseHead(response.status, undefined, headers, {
          version: "1.1",
          date: clock.unsafeCurrentTimeMillis(),
          ...(noBody ? {} : { contentLength: body.length }),
          ...(close ? { connection: "close" as const } : version === "1.0" ? { connection: "keep-alive" as const } : {})
        })
        if (isMalformed(bytes)) {
          bytes = serializeResponseHead(500, undefined, [], { date: clock.unsafeCurrentTimeMillis(), contentLength: 0, connection: "close" }) as Uint8Array
          yield* socket.write(bytes)
          return false
        }
        yield* socket.write(head || noBody || body.length === 0 ? bytes : concat(bytes, body))
        return true
      })

    for (;;) {
      // Read until the parser has a whole request (or an error), within the timeouts.
      let parsed = parser.next()
      let started = parser.buffered > 0 ? clock.unsafeCurrentTimeMillis() : undefined
      while (parsed === undefined) {
        const head = parser.pendingHead
        if (head?.expectContinue && !continued) {
          continued = true
          yield* socket.write(text("HTTP/1.1 100 Continue\r\n\r\n"))
        }
        const now = clock.unsafeCurrentTimeMillis()
        const wait = started === undefined ? idle : Math.max(0, started + whole - now)
        const chunk = yield* socket.read.pipe(Effect.timeoutOption(Duration.millis(wait)))
        if (Option.isNone(chunk)) {
          // Timed out: idle keep-alive connections just close; a request in progress gets 408.
          if (started !== undefined) yield* send(errorResponse(408), false, true, "1.1").pipe(Effect.ignore)
          return
        }
        if (Option.isNone(chunk.value)) return // the peer closed
        if (started === undefined) started = now
        parser.push(chunk.value.value)
        parsed = parser.next()
      }
      if (isMalformed(parsed)) {
        yield* send(errorResponse(parsed.status, parsed.reason), false, true, "1.1")
        return
      }
      continued = false
      const request = parsed as ParsedRequest
      const response = yield* handler({
        method: request.method,
        target: request.target,
        version: request.version,
        headers: request.headers,
        body: request.body,
        remote: socket.remote
      }).pipe(
        Effect.catchAllCause((cause) => Effect.as(Effect.logWarning("HTTP handler failed", cause), errorResponse(500)))
      )
      const close = !request.keepAlive
      const ok = yield* send(response, request.method === "HEAD", close, request.version)
      if (close || !ok) return
    }
  })

// -----------------------------------------------------------------------------
// Static files

/** Options of `staticFiles`. */
export interface StaticOptions {
  /** Extra routes answered before the file system (e.g. `/metrics`). */
  readonly routes?: Record<string, Handler<never, never>>
}

const BUILT_IN_PAGE = text(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Isla</title>
<h1>Isla</h1>
<p>This page is served by Isla, a userspace TCP/IP stack written in TypeScript on Effect,
over its own Ethernet, ARP, IPv4 and TCP, from a TAP device.</p>
<p>Try <a href="/metrics">/metrics</a>.</p>
</html>
`)

/**
 * A handler serving files under `root` (or a built-in page when undefined):
 * GET and HEAD, `index.html` for directories, MIME types by extension,
 * `ETag`/`Last-Modified` with 304, single byte ranges (206/416), and no path
 * that leaves the root (traversal refused by the path rules, symlinks checked
 * against the real root).
 */
export const staticFiles = (
  root: string | undefined,
  options: StaticOptions = {}
): Effect.Effect<Handler<never, never>, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const realRoot = root === undefined ? undefined : yield* fs.realPath(root).pipe(Effect.orElseSucceed(() => path.resolve(root)))
    const routes = options.routes ?? {}
    // Small files are kept for a second after each check of the file system, so a
    // busy page costs no system call per request; a changed file shows within 1 s.
    const cache = new Map<string, { readonly response: HttpResponse; readonly etag: string; readonly mtime: number; readonly until: number }>()
    const clock = yield* Effect.clock

    const handler: Handler<never, never> = (req) =>
      Effect.gen(function*() {
        if (req.method !== "GET" && req.method !== "HEAD") {
          return errorResponse(405, undefined, [{ name: "Allow", value: "GET, HEAD" }])
        }
        const resolved = resolveRequestPath(req.target)
        if (isMalformed(resolved)) return errorResponse(resolved.status)
        const urlPath = "/" + resolved.segments.join("/")
        const route = routes[urlPath]
        if (route !== undefined) return yield* route(req)
        if (realRoot === undefined) {
          if (urlPath === "/" || urlPath === "/index.html") {
            return { status: 200, headers: [{ name: "Content-Type", value: "text/html; charset=utf-8" }], body: BUILT_IN_PAGE }
          }
          return errorResponse(404)
        }
        const now = clock.unsafeCurrentTimeMillis()
        const hit = cache.get(urlPath)
        if (hit !== undefined && hit.until > now && req.headers.get("range") === undefined) {
          return conditional(req, hit.etag, hit.mtime) !== undefined ?
            { status: 304, ...(hit.response.headers ? { headers: hit.response.headers } : {}) } :
            hit.response
        }
        let file = path.join(realRoot, ...resolved.segments)
        const notFound = errorResponse(404)
        let info = yield* fs.stat(file).pipe(Effect.option)
        if (Option.isNone(info)) return notFound
        if (info.value.type === "Directory") {
          if (!resolved.directory && resolved.segments.length > 0) {
            return {
              status: 301,
              headers: [{ name: "Location", value: urlPath + "/" }, { name: "Content-Type", value: "text/html; charset=utf-8" }],
              body: errorBody(301)
            }
          }
          file = path.join(file, "index.html")
          info = yield* fs.stat(file).pipe(Effect.option)
          if (Option.isNone(info)) return notFound
        }
        if (info.value.type !== "File") return notFound
        // Symlinks must not lead out of the root.
        const real = yield* fs.realPath(file).pipe(Effect.option)
        if (Option.isNone(real) || !(real.value === realRoot || real.value.startsWith(realRoot + path.sep))) return notFound
        const size = Number(info.value.size)
        const mtime = Option.getOrElse(info.value.mtime, () => new Date(0)).getTime()
        const etag = `"${size.toString(16)}-${Math.floor(mtime / 1000).toString(16)}"`
        const lastModified = formatHttpDate(mtime)
        const common: Array<Header> = [
          { name: "Content-Type", value: mimeTypeFor(file) },
          { name: "ETag", value: etag },
          { name: "Last-Modified", value: lastModified },
          { name: "Accept-Ranges", value: "bytes" }
        ]
        const notModified = conditional(req, etag, mtime)
        if (notModified !== undefined) return { status: 304, headers: common }
        const body = yield* fs.readFile(real.value).pipe(Effect.orElseSucceed(() => undefined))
        if (body === undefined) return notFound
        if (body.length <= CACHE_MAX_FILE) {
          if (cache.size >= CACHE_MAX_ENTRIES) cache.clear()
          cache.set(urlPath, { response: { status: 200, headers: common, body }, etag, mtime, until: now + 1000 })
        }
        // RFC 9110 §14: a single byte range.
        const range = req.headers.get("range")
        if (range !== undefined && /^bytes=/i.test(range)) {
          const r = parseRange(range.slice(6), body.length)
          if (r === "unsatisfiable") {
            return { ...errorResponse(416), headers: [...common, { name: "Content-Range", value: `bytes */${body.length}` }] }
          }
          if (r !== undefined) {
            return {
              status: 206,
              headers: [...common, { name: "Content-Range", value: `bytes ${r.start}-${r.end - 1}/${body.length}` }],
              body: body.subarray(r.start, r.end)
            }
          }
        }
        return { status: 200, headers: common, body }
      })
    return handler
  })

const CACHE_MAX_FILE = 256 * 1024
const CACHE_MAX_ENTRIES = 256

/** RFC 9110 §13.1.2 / §13.1.3: a 304 when the client's copy is current, else undefined. */
const conditional = (req: HttpRequest, etag: string, mtime: number): HttpResponse | undefined => {
  const inm = req.headers.get("if-none-match")
  if (inm !== undefined) {
    const tags = inm.split(",").map((t) => t.trim().replace(/^W\//, ""))
    return tags.includes("*") || tags.includes(etag) ? { status: 304, headers: [{ name: "ETag", value: etag }] } : undefined
  }
  const ims = req.headers.get("if-modified-since")
  const since = ims === undefined ? undefined : parseHttpDate(ims)
  return since !== undefined && Math.floor(mtime / 1000) * 1000 <= since ?
    { status: 304, headers: [{ name: "ETag", value: etag }] } :
    undefined
}

/** One `start-end`, `start-` or `-suffix` range; several ranges are served whole (undefined). */
const parseRange = (spec: string, size: number): { start: number; end: number } | "unsatisfiable" | undefined => {
  if (spec.includes(",")) return undefined
  const m = /^\s*(\d*)-(\d*)\s*$/.exec(spec)
  if (!m) return undefined
  const [, a, b] = m
  if (a === "" && b === "") return undefined
  if (a === "") {
    const n = Number(b)
    if (n === 0) return "unsatisfiable"
    return { start: Math.max(0, size - n), end: size }
  }
  const start = Number(a)
  if (start >= size) return "unsatisfiable"
  const end = b === "" ? size : Math.min(size, Number(b) + 1)
  if (end <= start) return undefined
  return { start, end }
}

// -----------------------------------------------------------------------------
// Client

/** A response the client received. */
export interface FetchResponse {
  readonly url: string
  readonly status: number
  readonly reason: string
  readonly headers: HeaderList
  readonly body: Uint8Array
}

/** Options of `fetch`. */
export interface FetchOptions<R = never> {
  /** Resolves a host name to an address (e.g. `Dns.lookupHost`); without it only address literals work. */
  readonly lookup?: (host: string) => Effect.Effect<IpAddress, { readonly message: string }, R>
  readonly method?: string
  readonly headers?: ReadonlyArray<Header>
  /** Redirects followed at most (default 5). */
  readonly maxRedirects?: number
  readonly timeout?: Duration.DurationInput
}

/**
 * GETs `url` (http only; a host name, an IPv4 literal or a bracketed IPv6
 * literal like `http://[fd00::1]:8080/`) over `Tcp.connect`, following up to
 * 5 redirects.
 */
export const fetch = <R = never>(
  url: string,
  options: FetchOptions<R> = {}
): Effect.Effect<FetchResponse, HttpError | Tcp.TcpError, Tcp.Tcp | R> =>
  Effect.gen(function*() {
    let current = url
    for (let hop = 0; ; hop++) {
      const response = yield* fetchOnce(current, options)
      const location = response.headers.get("location")
      if (response.status >= 300 && response.status < 400 && response.status !== 304 && location !== undefined) {
        if (hop >= (options.maxRedirects ?? 5)) {
          return yield* new HttpError({ reason: "TooManyRedirects", message: `more than ${options.maxRedirects ?? 5} redirects` })
        }
        current = new URL(location, current).toString()
        continue
      }
      return response
    }
  })

const fetchOnce = <R>(url: string, options: FetchOptions<R>) =>
  Effect.scoped(
    Effect.gen(function*() {
      let parsed: URL
      try {
        parsed = new URL(url)
      } catch {
        return yield* new HttpError({ reason: "InvalidUrl", message: `not a URL: ${url}` })
      }
      if (parsed.protocol !== "http:") {
        return yield* new HttpError({ reason: "UnsupportedScheme", message: `only http:// is supported, not ${parsed.protocol}` })
      }
      // WHATWG URLs keep an IPv6 literal in brackets (RFC 3986 §3.2.2).
      const literal: IpAddress | undefined = parsed.hostname.startsWith("[") ?
        parseIpv6(parsed.hostname.slice(1, -1)) :
        parseIpv4(parsed.hostname)
      let address: IpAddress
      if (literal !== undefined) address = literal
      else {
        if (options.lookup === undefined) {
          return yield* new HttpError({
            reason: "NameResolution",
            message: `no resolver configured for ${parsed.hostname}: give --dns or --dhcp, or use an address`
          })
        }
        address = yield* options.lookup(parsed.hostname).pipe(
          Effect.mapError((e) => new HttpError({ reason: "NameResolution", message: `${parsed.hostname}: ${e.message}` }))
        )
      }
      const port = parsed.port === "" ? 80 : Number(parsed.port)
      const socket = yield* Tcp.connect({ address, port }, { noDelay: true })
      const method = options.method ?? "GET"
      const hostName = literal === undefined ?
        parsed.hostname :
        typeof address === "number" ? formatIp(address) : `[${formatIp(address)}]`
      const hostHeader = parsed.port === "" ? hostName : `${hostName}:${port}`
      const request = serializeRequest(method, (parsed.pathname || "/") + parsed.search, [
        { name: "Host", value: hostHeader },
        { name: "User-Agent", value: "isla" },
        { name: "Accept", value: "*/*" },
        { name: "Connection", value: "close" },
        ...(options.headers ?? [])
      ])
      if (isMalformed(request)) return yield* new HttpError({ reason: "Malformed", message: `cannot build the request: ${request.reason}` })
      const parser = new ResponseParser()
      parser.requestSent(method)
      yield* socket.write(request)
      for (;;) {
        const r = parser.next()
        if (r !== undefined) {
          if (isMalformed(r)) return yield* new HttpError({ reason: "Malformed", message: `bad response: ${r.reason}` })
          return { url, status: r.status, reason: r.reason, headers: r.headers, body: r.body }
        }
        const chunk = yield* socket.read
        if (Option.isNone(chunk)) parser.end()
        else parser.push(chunk.value)
      }
    })
  ).pipe(
    options.timeout === undefined ?
      (e) => e :
      Effect.timeoutFail({
        duration: options.timeout,
        onTimeout: () => new HttpError({ reason: "Transport", message: `no complete response within ${Duration.format(options.timeout!)}` })
      })
  )

/** A header list from plain pairs. */
export const headers = (pairs: Record<string, string>): ReadonlyArray<Header> =>
  Object.entries(pairs).map(([name, value]) => ({ name, value }))
