/**
 * HTTP TAP tests: curl, ab, wrk and raw sockets from a client namespace
 * against the device under test's HTTP/1.1 static file server on port 80,
 * serving a directory of test files. Runs against `isla up --http DIR`
 * (default) or the Linux kernel with Node's `http` server from
 * test/tap/reference-services.mjs (`ISLA_TARGET=linux`), which applies the
 * same static-file rules; `GET /metrics` is isla-only.
 */
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { describeExec, describeTap, type ExecResult, itIslaOnly, type TargetHandle, useTarget } from "./harness.js"

const tools = ["curl", "ab", "wrk", "sh"]

const log = (message: string) => console.log(`[tap] ${message}`)

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex")

// ---------------------------------------------------------------------------
// The served directory

/** A marker only the file outside the root holds: no response may carry it. */
const secretMarker = `ISLA-SECRET-${randomBytes(8).toString("hex")}`
const dotfileMarker = `ISLA-DOTFILE-${randomBytes(8).toString("hex")}`

interface Fixture {
  /** The temporary directory (the root and the secret beside it). */
  readonly dir: string
  /** The served root. */
  readonly root: string
  /** url path → expected content and type. */
  readonly files: Readonly<Record<string, { readonly body: Buffer; readonly type: string }>>
}

const makeFixture = (): Fixture => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `isla-t${process.pid}-http-`))
  const root = path.join(dir, "root")
  fs.mkdirSync(path.join(root, "sub"), { recursive: true })
  const index = Buffer.from(`<!doctype html>\n<title>isla test</title>\n<p>index ${randomBytes(6).toString("hex")}</p>\n`)
  const subIndex = Buffer.from(`<!doctype html>\n<title>sub</title>\n<p>sub index ${randomBytes(6).toString("hex")}</p>\n`)
  const notes = Buffer.from(`plain text, ünïcödé ${randomBytes(6).toString("hex")}\n`.repeat(20))
  const css = Buffer.from("body { color: #123456 }\n")
  const data = randomBytes(1024 * 1024)
  fs.writeFileSync(path.join(root, "index.html"), index)
  fs.writeFileSync(path.join(root, "sub", "index.html"), subIndex)
  fs.writeFileSync(path.join(root, "notes.txt"), notes)
  fs.writeFileSync(path.join(root, "style.css"), css)
  fs.writeFileSync(path.join(root, "data.bin"), data)
  fs.writeFileSync(path.join(root, ".hidden"), `${dotfileMarker}\n`)
  // Outside the root, reached only through the symlink (which must be refused).
  fs.writeFileSync(path.join(dir, "secret.txt"), `${secretMarker}\n`)
  fs.symlinkSync(path.join(dir, "secret.txt"), path.join(root, "escape.txt"))
  fs.symlinkSync(dir, path.join(root, "updir"))
  return {
    dir,
    root,
    files: {
      "/": { body: index, type: "text/html; charset=utf-8" },
      "/index.html": { body: index, type: "text/html; charset=utf-8" },
      "/sub/": { body: subIndex, type: "text/html; charset=utf-8" },
      "/sub/index.html": { body: subIndex, type: "text/html; charset=utf-8" },
      "/notes.txt": { body: notes, type: "text/plain; charset=utf-8" },
      "/style.css": { body: css, type: "text/css; charset=utf-8" },
      "/data.bin": { body: data, type: "application/octet-stream" }
    }
  }
}

// ---------------------------------------------------------------------------
// curl

interface CurlResult {
  readonly status: number
  /** Lower-case header names of the last response. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
  /** curl's time_total, seconds. */
  readonly seconds: number
  readonly exec: ExecResult
}

/** The header block of the last response in a `curl -D` file. */
const parseHeaderBlock = (text: string): Record<string, string> => {
  const blocks = text.split(/\r?\n\r?\n/).filter((b) => b.trim() !== "")
  const last = blocks.at(-1) ?? ""
  const headers: Record<string, string> = {}
  for (const line of last.split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(":")
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return headers
}

let curlCounter = 0

/** One curl request from the client namespace; body and headers through files (binary-safe). */
const curl = async (t: TargetHandle, dir: string, urlPath: string, args: ReadonlyArray<string> = [], timeout = 10_000): Promise<CurlResult> => {
  const n = ++curlCounter
  const bodyFile = path.join(dir, `curl-${n}.body`)
  const headFile = path.join(dir, `curl-${n}.head`)
  const exec = await t.exec(
    "curl",
    ["-sS", "--max-time", String(timeout / 1000 - 1), "-o", bodyFile, "-D", headFile, "-w", "%{http_code} %{time_total}", ...args, `http://${t.dutIp}${urlPath}`],
    { timeout }
  )
  const [code, total] = exec.stdout.trim().split(" ")
  const body = fs.existsSync(bodyFile) ? fs.readFileSync(bodyFile) : Buffer.alloc(0)
  const headers = fs.existsSync(headFile) ? parseHeaderBlock(fs.readFileSync(headFile, "latin1")) : {}
  fs.rmSync(bodyFile, { force: true })
  fs.rmSync(headFile, { force: true })
  return { status: Number(code), headers, body, seconds: Number(total), exec }
}

// ---------------------------------------------------------------------------
// Raw sockets

/** One connection's worth of bytes sent, and how. */
interface RawJob {
  readonly name: string
  /** Bytes to send (latin1), all at once unless `byteMs`. */
  readonly data: string
  /** Send one byte per `byteMs` ms (slowloris), never ending the request. */
  readonly byteMs?: number
  /** Give up (and report "timeout") after this long. Default 8 s. */
  readonly maxMs?: number
}

/** What came back on one connection. */
interface RawOutcome {
  readonly name: string
  /** Everything received, base64 (latin1 decoded in `text`). */
  readonly response: string
  /** The status of the first response, or null when none came. */
  readonly status: number | null
  /** How the connection ended: "closed" (FIN), an error code ("ECONNRESET", "EPIPE"), or "timeout". */
  readonly end: string
  readonly bytesSent: number
  readonly ms: number
}

// Runs every job of the JSON on stdin concurrently, one connection each, and
// prints a JSON array of outcomes. A job's connection is read until the
// server closes it, an error, or the job's time limit.
const rawScript = `
const net = require("node:net")
const [host, port] = process.argv.slice(1)
let input = ""
process.stdin.setEncoding("utf8").on("data", (d) => (input += d)).on("end", () => {
  const jobs = JSON.parse(input)
  Promise.all(jobs.map(runJob)).then((outcomes) => process.stdout.write(JSON.stringify(outcomes) + "\\n", () => process.exit(0)))
})
const runJob = (job) => new Promise((resolve) => {
  const started = Date.now()
  const chunks = []
  let bytesSent = 0
  let done = false
  let trickle
  const socket = net.connect({ host, port: Number(port) })
  socket.setNoDelay(true)
  const finish = (end) => {
    if (done) return
    done = true
    clearInterval(trickle)
    clearTimeout(limit)
    socket.destroy()
    const response = Buffer.concat(chunks)
    const m = /^HTTP\\/1\\.[01] (\\d{3})/.exec(response.subarray(0, 64).toString("latin1"))
    resolve({ name: job.name, response: response.toString("base64"), status: m ? Number(m[1]) : null, end, bytesSent, ms: Date.now() - started })
  }
  const limit = setTimeout(() => finish("timeout"), job.maxMs ?? 8000)
  socket.on("data", (d) => chunks.push(d))
  socket.on("end", () => finish("closed"))
  socket.on("close", () => finish("closed"))
  socket.on("error", (e) => finish(e.code || String(e)))
  socket.on("connect", () => {
    const data = Buffer.from(job.data, "latin1")
    if (job.byteMs === undefined) {
      socket.write(data, () => (bytesSent = data.length))
      return
    }
    let i = 0
    trickle = setInterval(() => {
      if (i >= data.length) return clearInterval(trickle)
      socket.write(data.subarray(i, i + 1))
      bytesSent = ++i
    }, job.byteMs)
  })
})
`

const rawExchange = async (t: TargetHandle, jobs: ReadonlyArray<RawJob>, timeout = 30_000): Promise<Array<RawOutcome & { readonly text: string }>> => {
  const result = await t.exec(process.execPath, ["-e", rawScript, t.dutIp, "80"], { timeout, input: JSON.stringify(jobs) })
  let outcomes: Array<RawOutcome>
  try {
    outcomes = JSON.parse(result.stdout.trim().split("\n").pop() ?? "")
  } catch {
    throw new Error(`the raw HTTP client gave no result\n${describeExec(result)}`)
  }
  return outcomes.map((o) => ({ ...o, text: Buffer.from(o.response, "base64").toString("latin1") }))
}

/** Splits a raw response stream into responses (Content-Length framing; no body for HEAD/304). */
const splitResponses = (raw: Buffer, methods: ReadonlyArray<string>) => {
  const responses: Array<{ status: number; headers: Record<string, string>; body: Buffer }> = []
  let at = 0
  for (const method of methods) {
    const end = raw.indexOf("\r\n\r\n", at)
    if (end === -1) break
    const head = raw.subarray(at, end).toString("latin1")
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN)
    const headers = parseHeaderBlock(head)
    const length = method === "HEAD" || status === 304 ? 0 : Number(headers["content-length"] ?? 0)
    responses.push({ status, headers, body: raw.subarray(end + 4, end + 4 + length) })
    at = end + 4 + length
  }
  return { responses, rest: raw.subarray(at) }
}

// ---------------------------------------------------------------------------
// ab and wrk

/** The figures `ab` prints. */
const parseAb = (output: string) => {
  const num = (re: RegExp) => {
    const m = re.exec(output)
    return m === null ? undefined : Number(m[1])
  }
  return {
    complete: num(/^Complete requests:\s+(\d+)/m),
    failed: num(/^Failed requests:\s+(\d+)/m),
    // Printed only when there are any.
    non2xx: num(/^Non-2xx responses:\s+(\d+)/m) ?? 0,
    rps: num(/^Requests per second:\s+([\d.]+)/m),
    p50: num(/^\s+50%\s+(\d+)/m),
    p99: num(/^\s+99%\s+(\d+)/m)
  }
}

/** The figures `wrk` prints. */
const parseWrk = (output: string) => {
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  return {
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? NaN),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? NaN),
    socketErrors: socketErrors === null ? { connect: 0, read: 0, write: 0, timeout: 0 } : {
      connect: Number(socketErrors[1]),
      read: Number(socketErrors[2]),
      write: Number(socketErrors[3]),
      timeout: Number(socketErrors[4])
    },
    non2xx3xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0)
  }
}

// ---------------------------------------------------------------------------

describeTap("http", { tools }, () => {
  describe("one DUT for the file", () => {
    let fixture: Fixture | undefined
    const fx = () => {
      if (fixture === undefined) throw new Error("the fixture was not made")
      return fixture
    }
    afterAll(() => {
      if (fixture !== undefined) fs.rmSync(fixture.dir, { recursive: true, force: true })
    })
    const target = useTarget(() => {
      fixture = makeFixture()
      // The linux target's reference services read their root from here (the harness passes them no arguments).
      process.env["ISLA_REFERENCE_HTTP_DIR"] = fixture.root
      return { extraArgs: ["--http", fixture.root] }
    })

    const expectFile = (r: CurlResult, urlPath: string) => {
      const want = fx().files[urlPath]!
      const context = `GET ${urlPath}\n${describeExec(r.exec)}\nheaders ${JSON.stringify(r.headers)}`
      expect(r.status, context).toBe(200)
      expect(r.headers["content-type"], context).toBe(want.type)
      expect(r.headers["content-length"], context).toBe(String(want.body.length))
      expect(r.body.length, context).toBe(want.body.length)
      expect(sha256(r.body), context).toBe(sha256(want.body))
    }

    it("GET serves files byte-exact with Content-Type by extension and Content-Length", async () => {
      const t = target()
      for (const urlPath of Object.keys(fx().files)) expectFile(await curl(t, fx().dir, urlPath), urlPath)
      // HTTP/1.0 is answered too.
      expectFile(await curl(t, fx().dir, "/notes.txt", ["--http1.0"]), "/notes.txt")
    })

    it("HEAD answers the headers and no body, also pipelined before a GET on one connection", async () => {
      const t = target()
      const index = fx().files["/index.html"]!.body
      const notes = fx().files["/notes.txt"]!.body
      const head = await curl(t, fx().dir, "/index.html", ["-I"])
      expect(head.status, describeExec(head.exec)).toBe(200)
      expect(head.headers["content-length"]).toBe(String(index.length))
      expect(head.headers["content-type"]).toBe("text/html; charset=utf-8")
      const [raw] = await rawExchange(t, [{
        name: "head+get",
        data: `HEAD /index.html HTTP/1.1\r\nHost: ${t.dutIp}\r\n\r\nGET /notes.txt HTTP/1.1\r\nHost: ${t.dutIp}\r\nConnection: close\r\n\r\n`
      }])
      const { responses, rest } = splitResponses(Buffer.from(raw!.response, "base64"), ["HEAD", "GET"])
      expect(responses.length, raw!.text).toBe(2)
      expect(responses[0]!.status, raw!.text).toBe(200)
      expect(responses[0]!.headers["content-length"], raw!.text).toBe(String(index.length))
      // The second response starts right after the first's head: HEAD sent no body.
      expect(responses[1]!.status, raw!.text).toBe(200)
      expect(responses[1]!.body.equals(notes), raw!.text).toBe(true)
      expect(rest.length, raw!.text).toBe(0)
      expect(raw!.end).toBe("closed")
    })

    it("answers 404 for files that do not exist", async () => {
      const t = target()
      for (const urlPath of ["/nope.html", "/sub/nope.txt", "/nope/"]) {
        const r = await curl(t, fx().dir, urlPath)
        expect(r.status, `${urlPath}\n${describeExec(r.exec)}`).toBe(404)
      }
    })

    it("serves byte ranges: 206 with Content-Range, 416 when unsatisfiable", async () => {
      const t = target()
      const data = fx().files["/data.bin"]!.body
      const size = data.length
      const cases: Array<[string, number, number]> = [["100-199", 100, 200], ["-500", size - 500, size], [`${size - 10}-`, size - 10, size], ["0-0", 0, 1]]
      for (const [spec, start, end] of cases) {
        const r = await curl(t, fx().dir, "/data.bin", ["-r", spec])
        const context = `Range ${spec}\n${describeExec(r.exec)}\n${JSON.stringify(r.headers)}`
        expect(r.status, context).toBe(206)
        expect(r.headers["content-range"], context).toBe(`bytes ${start}-${end - 1}/${size}`)
        expect(r.headers["content-length"], context).toBe(String(end - start))
        expect(r.body.equals(data.subarray(start, end)), context).toBe(true)
      }
      for (const spec of [`${size}-`, `${size + 1000}-${size + 2000}`]) {
        const r = await curl(t, fx().dir, "/data.bin", ["-r", spec])
        const context = `Range ${spec}\n${describeExec(r.exec)}\n${JSON.stringify(r.headers)}`
        expect(r.status, context).toBe(416)
        expect(r.headers["content-range"], context).toBe(`bytes */${size}`)
      }
    })

    it("answers If-None-Match with the ETag of a first GET by 304 and no body", async () => {
      const t = target()
      for (const urlPath of ["/index.html", "/data.bin"]) {
        const first = await curl(t, fx().dir, urlPath)
        expectFile(first, urlPath)
        const etag = first.headers["etag"]
        expect(etag, JSON.stringify(first.headers)).toMatch(/^(W\/)?"[^"]+"$/)
        const second = await curl(t, fx().dir, urlPath, ["-H", `If-None-Match: ${etag}`])
        expect(second.status, describeExec(second.exec)).toBe(304)
        expect(second.body.length).toBe(0)
        expect(second.headers["etag"]).toBe(etag)
        // Another tag: the file again.
        expectFile(await curl(t, fx().dir, urlPath, ["-H", `If-None-Match: "not-${etag!.replace(/"/g, "")}"`]), urlPath)
      }
    })

    it("redirects a directory without its trailing slash (301 to the slash)", async () => {
      const t = target()
      const r = await curl(t, fx().dir, "/sub")
      expect(r.status, describeExec(r.exec)).toBe(301)
      expect(r.headers["location"], JSON.stringify(r.headers)).toMatch(/^(http:\/\/[^/]+)?\/sub\/$/)
      expectFile(await curl(t, fx().dir, "/sub", ["-L"]), "/sub/")
    })

    it("refuses every path traversal: nothing from outside the root, no dotfile", async () => {
      const t = target()
      const host = `Host: ${t.dutIp}\r\n`
      // curl --path-as-is sends these exactly.
      const viaCurl = [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/.%2e/secret.txt",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/../../../../../../etc/passwd",
        "/%c0%ae%c0%ae/secret.txt",
        "/%252e%252e/secret.txt",
        "/escape.txt",
        "/updir/secret.txt",
        "/.hidden",
        "/sub/%2e%2e/%2e%2e/secret.txt"
      ]
      const viaRaw: Array<RawJob> = [
        ["..\\secret.txt", "/..\\secret.txt"],
        ["sub\\..\\..", "/sub\\..\\..\\secret.txt"],
        ["%5c", "/..%5csecret.txt"],
        ["%2e%2e%5c", "/%2e%2e%5c%2e%2e%5cetc%5cpasswd"],
        ["absolute-form other host, /etc/passwd", "http://example.invalid/etc/passwd"],
        ["absolute-form other host, ..", "http://example.invalid/../secret.txt"],
        ["absolute-form other host, %2e%2e", "http://10.77.9.9/%2e%2e/%2e%2e/etc/passwd"],
        ["absolute-form with userinfo", "http://user@example.invalid/../secret.txt"],
        ["no leading slash", "../secret.txt"],
        ["nul", "/escape.txt%00.html"]
      ].map(([name, target]) => ({ name: name!, data: `GET ${target} HTTP/1.1\r\n${host}Connection: close\r\n\r\n` }))
      const failures: Array<string> = []
      const leaked = (text: string) => text.includes(secretMarker) || text.includes(dotfileMarker) || /root:.*:0:0:/.test(text)
      for (const urlPath of viaCurl) {
        const r = await curl(t, fx().dir, urlPath, ["--path-as-is"])
        const text = r.body.toString("latin1")
        if (leaked(text) || !(r.status >= 400 && r.status < 500 || r.status === 0)) {
          failures.push(`curl --path-as-is ${urlPath}: status ${r.status}, body ${JSON.stringify(text.slice(0, 200))}`)
        } else {
          log(`traversal ${urlPath}: ${r.status}`)
        }
      }
      for (const o of await rawExchange(t, viaRaw)) {
        if (leaked(o.text) || (o.status !== null && !(o.status >= 400 && o.status < 500))) {
          failures.push(`raw ${o.name}: status ${o.status}, ${JSON.stringify(o.text.slice(0, 300))}`)
        } else {
          log(`traversal ${o.name}: ${o.status ?? o.end}`)
        }
      }
      expect(failures).toEqual([])
    })

    it(
      "malformed requests (garbage, 100 KB header line, 10,000 headers, slowloris) get an error or a close, and never stall others",
      async () => {
        const t = target()
        const start = `GET /index.html HTTP/1.1\r\nHost: ${t.dutIp}\r\n`
        const jobs: Array<RawJob> = [
          { name: "garbage", data: Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]), randomBytes(4089)]).toString("latin1") },
          { name: "garbage line", data: `\x7fELF ${randomBytes(32).toString("hex")} HTTP/9.9\r\n\r\n` },
          { name: "100 KB header line", data: `${start}X-Big: ${"a".repeat(100 * 1024)}\r\n\r\n` },
          { name: "100 KB request line", data: `GET /${"a".repeat(100 * 1024)} HTTP/1.1\r\nHost: ${t.dutIp}\r\n\r\n` },
          {
            name: "10,000 headers",
            data: `${start}${Array.from({ length: 10_000 }, (_, i) => `X-H${i}: ${i}\r\n`).join("")}\r\n`
          },
          // A byte per 200 ms, never finished: the server must give up on it (408 or a close), by 20 s.
          { name: "slowloris", data: `${start}User-Agent: trickle\r\nX-Slow: ${"z".repeat(200)}`, byteMs: 200, maxMs: 20_000 }
        ]
        const malformed = rawExchange(t, jobs, 40_000)
        let finished = false
        void malformed.finally(() => (finished = true))
        // Meanwhile, ordinary clients keep being served promptly.
        const probes: Array<{ status: number; seconds: number }> = []
        while (!finished) {
          const r = await curl(t, fx().dir, "/index.html", [], 10_000)
          expectFile(r, "/index.html")
          probes.push({ status: r.status, seconds: r.seconds })
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
        const outcomes = await malformed
        const worst = Math.max(...probes.map((p) => p.seconds))
        log(`while malformed requests were in flight: ${probes.length} GETs, slowest ${(worst * 1000).toFixed(0)} ms`)
        for (const o of outcomes) log(`malformed ${o.name}: status ${o.status ?? "-"}, ${o.end} after ${o.ms} ms, ${o.bytesSent} bytes sent`)
        expect(probes.length).toBeGreaterThan(3)
        expect(worst, JSON.stringify(probes)).toBeLessThan(1.5)
        for (const o of outcomes) {
          const context = `${o.name}: ${JSON.stringify({ ...o, response: undefined, text: o.text.slice(0, 300) })}`
          // An error status, or the connection closed/reset without a success.
          if (o.status !== null) expect(o.status, context).toBeGreaterThanOrEqual(400)
          expect(o.end, context).not.toBe("timeout")
          expect(o.text.includes("<p>index"), context).toBe(false)
        }
        const slow = outcomes.find((o) => o.name === "slowloris")!
        // It was trickling for a while before the server gave up on it.
        expect(slow.ms).toBeGreaterThan(4000)
      },
      60_000
    )

    it(
      "answers 100 concurrent curl requests correctly",
      async () => {
        const t = target()
        const paths = ["/index.html", "/notes.txt", "/sub/", "/style.css", "/data.bin"]
        const out = path.join(fx().dir, "concurrent")
        fs.mkdirSync(out, { recursive: true })
        const script = `
          i=0
          for p in "$@"; do
            i=$((i+1))
            curl -sS --max-time 30 -o "${out}/body.$i" -w '%{http_code}|%{time_total}|%{content_type}' "http://${t.dutIp}$p" > "${out}/code.$i" 2> "${out}/err.$i" &
          done
          wait`
        const urls = Array.from({ length: 100 }, (_, i) => paths[i % 10 === 9 ? 4 : i % 4]!)
        const r = await t.exec("sh", ["-c", script, "sh", ...urls], { timeout: 45_000 })
        expect(r.code, describeExec(r)).toBe(0)
        const failures: Array<string> = []
        let slowest = 0
        urls.forEach((urlPath, k) => {
          const i = k + 1
          const [code, seconds, type] = fs.readFileSync(path.join(out, `code.${i}`), "utf8").trim().split("|")
          slowest = Math.max(slowest, Number(seconds))
          const body = fs.existsSync(path.join(out, `body.${i}`)) ? fs.readFileSync(path.join(out, `body.${i}`)) : Buffer.alloc(0)
          const want = fx().files[urlPath]!
          if (code !== "200" || type !== want.type || !body.equals(want.body)) {
            failures.push(`#${i} ${urlPath}: ${code} ${type} ${body.length} bytes ${fs.readFileSync(path.join(out, `err.${i}`), "utf8").trim()}`)
          }
        })
        log(`100 concurrent curl: ${r.durationMs} ms, slowest ${slowest}s`)
        expect(failures).toEqual([])
      },
      60_000
    )

    const runAb = async (args: ReadonlyArray<string>, n: number) => {
      const t = target()
      const r = await t.exec("ab", [...args, "-n", String(n), "-c", "100", "-s", "20", `http://${t.dutIp}/index.html`], { timeout: 75_000 })
      const ab = parseAb(r.stdout)
      log(`ab ${args.join(" ")} -n ${n} -c 100: ${r.durationMs} ms, ${ab.rps} req/s, p50 ${ab.p50} ms, p99 ${ab.p99} ms, failed ${ab.failed}, non-2xx ${ab.non2xx}`)
      expect(r.code, describeExec(r)).toBe(0)
      expect(ab.complete, describeExec(r)).toBe(n)
      expect(ab.failed, describeExec(r)).toBe(0)
      expect(ab.non2xx, describeExec(r)).toBe(0)
    }

    it("ab -n 20000 -c 100 (a new connection per request): 0 failed, all 2xx", () => runAb([], 20_000), 90_000)

    it("ab -k -n 50000 -c 100 (keep-alive): 0 failed, all 2xx", () => runAb(["-k"], 50_000), 90_000)

    it(
      "wrk -c 100 -d 5: no socket errors, all 2xx",
      async () => {
        const t = target()
        const r = await t.exec("wrk", ["-t", "2", "-c", "100", "-d", "5", "--latency", `http://${t.dutIp}/index.html`], { timeout: 30_000 })
        const wrk = parseWrk(r.stdout)
        log(`wrk -c 100 -d 5: ${wrk.requests} requests, ${wrk.rps} req/s, socket errors ${JSON.stringify(wrk.socketErrors)}, non-2xx/3xx ${wrk.non2xx3xx}`)
        expect(r.code, describeExec(r)).toBe(0)
        expect(wrk.requests, describeExec(r)).toBeGreaterThan(1000)
        expect(wrk.socketErrors, describeExec(r)).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 })
        expect(wrk.non2xx3xx, describeExec(r)).toBe(0)
        // And the server still answers afterwards.
        expectFile(await curl(t, fx().dir, "/data.bin"), "/data.bin")
      },
      45_000
    )

    itIslaOnly("GET /metrics answers Prometheus text with the stack's counters", async () => {
      const t = target()
      const scrape = async () => {
        const r = await curl(t, fx().dir, "/metrics")
        const text = r.body.toString("utf8")
        const islaLines = text.split("\n").filter((line) => /^(# (TYPE|HELP) )?isla_/.test(line))
        const context = `${describeExec(r.exec)}\n${JSON.stringify(r.headers)}\n${islaLines.join("\n")}`
        expect(r.status, context).toBe(200)
        expect(r.headers["content-type"], context).toMatch(/^text\/plain/)
        /** Sample lines of metric `name` carrying every one of `labels`. */
        const sample = (name: string, labels: ReadonlyArray<string> = []) =>
          text
            .split("\n")
            .filter((line) => new RegExp(`^${name}(\\{[^}]*\\})? [-+\\d.eE]+$`).test(line.trim()))
            .filter((line) => labels.every((label) => new RegExp(`[{,]${label}="[^"]*"`).test(line)))
        const value = (name: string) => Number(sample(name)[0]?.trim().split(" ").pop() ?? NaN)
        return { text, context, sample, value }
      }
      // The stack publishes its counters once a second.
      await new Promise((resolve) => setTimeout(resolve, 1200))
      const before = await scrape()
      const get = await t.exec("curl", ["-sS", "--max-time", "10", "-o", "/dev/null", `http://${t.dutIp}/index.html?[1-20]`], { timeout: 15_000 })
      expect(get.code, describeExec(get)).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, 1200))
      const after = await scrape()
      const { context, sample, text } = after
      expect(text, context).toMatch(/^# TYPE isla_frames_received_total counter$/m)
      expect(text, context).toMatch(/^# TYPE isla_frames_sent_total counter$/m)
      // 20 requests and their answers went through in between.
      expect(after.value("isla_frames_received_total") - before.value("isla_frames_received_total"), context).toBeGreaterThanOrEqual(20)
      expect(after.value("isla_frames_sent_total") - before.value("isla_frames_sent_total"), context).toBeGreaterThanOrEqual(20)
      // Labelled samples exist once something was counted: the kernel's IPv6 chatter on the new link is dropped at least.
      expect(sample("isla_frames_dropped_total", ["layer", "reason"]).length, context).toBeGreaterThan(0)
      expect(sample("isla_tcp_connections", ["state"]).length, context).toBeGreaterThan(0)
      expect(sample("isla_tcp_connections", ["state"]).some((line) => /state="Established"/.test(line)), context).toBe(true)
      // SPEC §3: exported even while zero (a counter that no retransmission has touched yet).
      expect(sample("isla_tcp_retransmissions_total").length, `isla_tcp_retransmissions_total is missing\n${context}`).toBe(1)
    })
  })
})
