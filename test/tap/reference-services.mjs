#!/usr/bin/env node
/**
 * Reference services for the `linux` TAP test target: the kernel plays the
 * device under test, and this script binds the same services as `isla up`
 * (echo RFC 862 on UDP+TCP 7, discard RFC 863 on UDP+TCP 9, chargen-style
 * source RFC 864 on TCP 19, HTTP/1.1 static files on TCP 80 with Node's own
 * `http` server). Prints one `ready key=value ...` line when every socket is
 * bound and exits 0 on SIGTERM/SIGINT.
 *
 * Usage: node reference-services.mjs [--ifname veth-d] [--ip 10.77.0.2/24]
 *          [--http DIR] [--http-port 80]
 * The HTTP root may also come from ISLA_REFERENCE_HTTP_DIR (the TAP harness
 * passes no extra arguments to this script); without one, a built-in page at `/`.
 */
import dgram from "node:dgram"
import { createReadStream } from "node:fs"
import * as fsp from "node:fs/promises"
import http from "node:http"
import net from "node:net"
import os from "node:os"
import path from "node:path"

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback
}
const ifname = option("--ifname", "veth-d")
const cidr = option("--ip", "10.77.0.2/24")
const httpRootOption = option("--http", process.env.ISLA_REFERENCE_HTTP_DIR || undefined)
const httpPort = Number(option("--http-port", "80"))

const log = (message) => process.stderr.write(`reference-services: ${message}\n`)

const udpSockets = []
const tcpServers = []
const tcpConnections = new Set()

const bindUdp = (port, onMessage) =>
  new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4")
    socket.once("error", reject)
    socket.on("message", (message, rinfo) => onMessage(socket, message, rinfo))
    socket.bind(port, "0.0.0.0", () => {
      socket.off("error", reject)
      socket.on("error", (error) => log(`udp/${port}: ${error.message}`))
      udpSockets.push(socket)
      resolve()
    })
  })

const listenTcp = (port, onConnection) =>
  new Promise((resolve, reject) => {
    const server = net.createServer((connection) => {
      tcpConnections.add(connection)
      connection.on("close", () => tcpConnections.delete(connection))
      connection.on("error", () => connection.destroy())
      onConnection(connection)
    })
    server.once("error", reject)
    server.listen(port, "0.0.0.0", () => {
      server.off("error", reject)
      tcpServers.push(server)
      resolve()
    })
  })

// RFC 864: rotating 72-character lines of the 95 printable ASCII characters.
const chargenBlock = (() => {
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("")
  let text = ""
  for (let line = 0; line < 95; line++) {
    text += (printable + printable).slice(line, line + 72) + "\r\n"
  }
  return Buffer.from(text)
})()

const source = (connection) => {
  connection.on("data", () => {}) // RFC 864: input is discarded.
  const pump = () => {
    while (!connection.destroyed && connection.write(chargenBlock)) {
      // keep writing until the socket's buffer is full
    }
  }
  connection.on("drain", pump)
  pump()
}

// ---------------------------------------------------------------------------
// HTTP: the same static-file rules as Isla's `staticFiles` (src/layers/Http.ts
// and src/protocols/http/path.ts), so that the HTTP TAP tests hold the kernel
// side to the same refusals: `..` in any encoding, backslashes, encoded
// slashes, NUL and control characters → 400; dotfiles → 404; symlinks out of
// the root → 404; absolute-form targets are served from the root (never proxied).

const UTF8 = "; charset=utf-8"
const mimeTypes = {
  html: "text/html" + UTF8, htm: "text/html" + UTF8, css: "text/css" + UTF8, js: "text/javascript" + UTF8,
  mjs: "text/javascript" + UTF8, txt: "text/plain" + UTF8, md: "text/markdown" + UTF8, csv: "text/csv" + UTF8,
  json: "application/json", map: "application/json", webmanifest: "application/manifest+json", xml: "application/xml",
  svg: "image/svg+xml", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp",
  avif: "image/avif", ico: "image/x-icon", wasm: "application/wasm", pdf: "application/pdf", zip: "application/zip",
  gz: "application/gzip", woff: "font/woff", woff2: "font/woff2", ttf: "font/ttf", otf: "font/otf", mp3: "audio/mpeg",
  ogg: "audio/ogg", wav: "audio/wav", mp4: "video/mp4", webm: "video/webm"
}
const mimeTypeFor = (file) => {
  const name = path.basename(file)
  const dot = name.lastIndexOf(".")
  const ext = dot <= 0 ? "" : name.slice(dot + 1).toLowerCase()
  return Object.hasOwn(mimeTypes, ext) ? mimeTypes[ext] : "application/octet-stream"
}

const builtInPage = Buffer.from(
  "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>reference</title>\n<h1>Node http on the kernel stack</h1>\n</html>\n"
)

/** Request-target → decoded path segments, or the refusal status. */
const resolveTarget = (target) => {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i)
    if (c <= 0x20 || c >= 0x7f) return { status: 400 }
  }
  let p = target.split("#")[0]
  if (!p.startsWith("/")) {
    if (p.slice(0, 7).toLowerCase() !== "http://") return { status: 400 }
    const rest = p.slice(7)
    const end = Math.min(...["/", "?"].map((d) => (rest.indexOf(d) === -1 ? rest.length : rest.indexOf(d))))
    const authority = rest.slice(0, end)
    if (authority === "" || authority.includes("@")) return { status: 400 }
    p = "/" + rest.slice(end).replace(/^\//, "")
  }
  p = p.split("?")[0]
  if (p.includes("\\")) return { status: 400 }
  const raw = p.split("/")
  const segments = []
  let directory = p.endsWith("/")
  for (let i = 0; i < raw.length; i++) {
    const piece = raw[i]
    if (piece === "") continue
    if (/%(?![0-9a-f]{2})/i.test(piece)) return { status: 400 }
    let decoded
    try {
      decoded = decodeURIComponent(piece)
    } catch {
      return { status: 400 }
    }
    if (/[\x00-\x1f\x7f/\\]/.test(decoded)) return { status: 400 }
    if (decoded === ".") {
      if (i === raw.length - 1) directory = true
      continue
    }
    if (decoded === "..") return { status: 400 }
    if (decoded.startsWith(".")) return { status: 404 }
    segments.push(decoded)
  }
  if (segments.length === 0) directory = true
  return { segments, directory }
}

const errorPage = (res, status, headers = {}) => {
  const reason = http.STATUS_CODES[status] ?? "Error"
  const body = Buffer.from(`<!doctype html><title>${status} ${reason}</title><h1>${status} ${reason}</h1>\n`)
  res.writeHead(status, { "Content-Type": "text/html" + UTF8, "Content-Length": body.length, ...headers })
  res.end(body)
}

const parseRange = (spec, size) => {
  if (spec.includes(",")) return undefined
  const m = /^\s*(\d*)-(\d*)\s*$/.exec(spec)
  if (!m || (m[1] === "" && m[2] === "")) return undefined
  if (m[1] === "") {
    const n = Number(m[2])
    return n === 0 ? "unsatisfiable" : { start: Math.max(0, size - n), end: size }
  }
  const start = Number(m[1])
  if (start >= size) return "unsatisfiable"
  const end = m[2] === "" ? size : Math.min(size, Number(m[2]) + 1)
  return end <= start ? undefined : { start, end }
}

const serveStatic = async (realRoot, req, res) => {
  if (req.method !== "GET" && req.method !== "HEAD") return errorPage(res, 405, { Allow: "GET, HEAD" })
  const resolved = resolveTarget(req.url ?? "")
  if (resolved.status !== undefined) return errorPage(res, resolved.status)
  const urlPath = "/" + resolved.segments.join("/")
  if (realRoot === undefined) {
    if (urlPath === "/" || urlPath === "/index.html") {
      res.writeHead(200, { "Content-Type": "text/html" + UTF8, "Content-Length": builtInPage.length })
      return res.end(builtInPage)
    }
    return errorPage(res, 404)
  }
  let file = path.join(realRoot, ...resolved.segments)
  let info = await fsp.stat(file).catch(() => undefined)
  if (info === undefined) return errorPage(res, 404)
  if (info.isDirectory()) {
    if (!resolved.directory && resolved.segments.length > 0) return errorPage(res, 301, { Location: urlPath + "/" })
    file = path.join(file, "index.html")
    info = await fsp.stat(file).catch(() => undefined)
    if (info === undefined) return errorPage(res, 404)
  }
  if (!info.isFile()) return errorPage(res, 404)
  const real = await fsp.realpath(file).catch(() => undefined)
  if (real === undefined || !(real === realRoot || real.startsWith(realRoot + path.sep))) return errorPage(res, 404)
  const size = info.size
  const mtime = info.mtimeMs
  const etag = `"${size.toString(16)}-${Math.floor(mtime / 1000).toString(16)}"`
  const common = {
    "Content-Type": mimeTypeFor(file),
    ETag: etag,
    "Last-Modified": new Date(Math.floor(mtime / 1000) * 1000).toUTCString(),
    "Accept-Ranges": "bytes"
  }
  const inm = req.headers["if-none-match"]
  if (inm !== undefined) {
    const tags = inm.split(",").map((t) => t.trim().replace(/^W\//, ""))
    if (tags.includes("*") || tags.includes(etag)) {
      res.writeHead(304, common)
      return res.end()
    }
  } else if (req.headers["if-modified-since"] !== undefined) {
    const since = Date.parse(req.headers["if-modified-since"])
    if (Number.isFinite(since) && Math.floor(mtime / 1000) * 1000 <= since) {
      res.writeHead(304, common)
      return res.end()
    }
  }
  let start = 0
  let end = size
  let status = 200
  const range = req.headers.range
  if (range !== undefined && /^bytes=/i.test(range)) {
    const r = parseRange(range.slice(6), size)
    if (r === "unsatisfiable") return errorPage(res, 416, { ...common, "Content-Range": `bytes */${size}` })
    if (r !== undefined) {
      ;({ start, end } = r)
      status = 206
      common["Content-Range"] = `bytes ${start}-${end - 1}/${size}`
    }
  }
  res.writeHead(status, { ...common, "Content-Length": end - start })
  if (req.method === "HEAD" || end === start) return res.end()
  if (end - start <= 64 * 1024) {
    // Small files (the benchmark's case) in one write, like Isla's readFile.
    const handle = await fsp.open(real, "r")
    try {
      const body = Buffer.alloc(end - start)
      await handle.read(body, 0, body.length, start)
      return res.end(body)
    } finally {
      await handle.close()
    }
  }
  createReadStream(real, { start, end: end - 1 }).on("error", () => res.destroy()).pipe(res)
}

const httpServers = []

const listenHttp = async (port, root) => {
  const realRoot = root === undefined ? undefined : await fsp.realpath(root)
  // Timeouts as Isla's: idle keep-alive 5 s, a whole request head within 10 s
  // (slowloris), checked every second instead of Node's default 30 s.
  const server = http.createServer(
    { headersTimeout: 10_000, requestTimeout: 10_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000, maxHeaderSize: 16_384 },
    (req, res) => {
      serveStatic(realRoot, req, res).catch((error) => {
        log(`http: ${error?.message ?? error}`)
        if (!res.headersSent) errorPage(res, 500)
        else res.destroy()
      })
    }
  )
  server.on("connection", (connection) => {
    tcpConnections.add(connection)
    connection.on("close", () => tcpConnections.delete(connection))
  })
  await new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "0.0.0.0", () => {
      server.off("error", reject)
      resolve()
    })
  })
  httpServers.push(server)
}

const main = async () => {
  await bindUdp(7, (socket, message, rinfo) => socket.send(message, rinfo.port, rinfo.address))
  await bindUdp(9, () => {})
  await listenTcp(7, (connection) => connection.pipe(connection))
  await listenTcp(9, (connection) => connection.resume())
  await listenTcp(19, source)
  await listenHttp(httpPort, httpRootOption)

  const addresses = os.networkInterfaces()[ifname] ?? []
  const mac = addresses[0]?.mac ?? "00:00:00:00:00:00"
  process.stdout.write(`ready tap=${ifname} mac=${mac} ipv4=${cidr} services=udp/7,udp/9,tcp/7,tcp/9,tcp/19,tcp/${httpPort}\n`)
}

let stopping = false
const stop = (signal) => {
  if (stopping) return
  stopping = true
  log(`${signal}: shutting down`)
  for (const socket of udpSockets) socket.close()
  for (const connection of tcpConnections) connection.destroy()
  for (const server of tcpServers) server.close()
  for (const server of httpServers) server.close()
  // Everything above is closed synchronously enough; do not wait on stragglers.
  setTimeout(() => process.exit(0), 50).unref()
}
process.on("SIGTERM", () => stop("SIGTERM"))
process.on("SIGINT", () => stop("SIGINT"))

main().catch((error) => {
  log(`failed to start: ${error?.stack ?? error}`)
  process.exit(1)
})
