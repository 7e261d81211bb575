/**
 * DHCP and DNS TAP tests: Isla's `isla dhcp`, `isla up --dhcp`, `isla resolve`
 * and `isla fetch` against the Debian dnsmasq (DHCP range and DNS records) in
 * a network namespace of their own. Each namespace holds a persistent TAP
 * (`isla0`, 10.77.0.1/24 on the kernel side) that Isla attaches to and leaves
 * on exit, dnsmasq on 10.77.0.1 and, for `isla fetch`, a Node HTTP server on
 * 10.77.0.1. Every process runs under `timeout`; the namespaces are deleted
 * after each suite (and by the harness on any exit path). Isla only: these
 * are client commands with no kernel counterpart on the DUT side.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest"
import {
  cliPath,
  createNamespace,
  deleteNamespace,
  describeExec,
  describeIslaOnly,
  describeTap,
  type ExecResult,
  namespaceName,
  parsePing,
  run,
  runOk
} from "./harness.js"

const tools = ["dnsmasq", "tcpdump", "ping", "timeout", "sh"]

const log = (message: string) => console.log(`[tap] ${message}`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex")
const tail = (text: string, max = 6000) => (text.length <= max ? text : `…${text.slice(-max)}`)

/** The kernel side of the TAP: dnsmasq, the HTTP server and the tools live here. */
const serverIp = "10.77.0.1"
/** A static address for Isla outside the DHCP range. */
const staticCidr = "10.77.0.2/24"
const rangeFirst = 50
const rangeLast = 99
const mac = "02:00:00:00:00:02"
/** 90 addresses for one name: ~1.5 kB of answer, over the 512 bytes of plain UDP and dnsmasq's EDNS limit. */
const lotsAddresses = Array.from({ length: 90 }, (_, i) => `10.77.2.${i + 1}`)
const httpPort = 8080

// ---------------------------------------------------------------------------
// Long-running processes inside a namespace

interface Line {
  /** Position in the process's output. */
  readonly index: number
  readonly at: number
  readonly stream: "out" | "err"
  readonly text: string
}

/**
 * A process started inside `ns` under `timeout -s KILL` (and a kill timer of
 * our own), its output kept line by line with the time each line arrived.
 */
class Background {
  readonly child: ChildProcess
  readonly lines: Array<Line> = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private status: { code: number | null; signal: NodeJS.Signals | null } | undefined
  private readonly partial = { out: "", err: "" }
  private readonly killTimer: NodeJS.Timeout

  constructor(
    readonly ns: string,
    readonly argv: ReadonlyArray<string>,
    maxMs: number,
    stdin = false
  ) {
    const seconds = String(Math.ceil(maxMs / 1000))
    this.child = spawn("ip", ["netns", "exec", ns, "timeout", "-s", "KILL", seconds, ...argv], {
      detached: true,
      stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"]
    })
    this.child.stdin?.on("error", () => {})
    this.killTimer = setTimeout(() => this.killGroup(), maxMs + 5000)
    this.killTimer.unref()
    const collect = (stream: "out" | "err") => (chunk: Buffer) => {
      const text = this.partial[stream] + chunk.toString("utf8")
      const parts = text.split("\n")
      this.partial[stream] = parts.pop() ?? ""
      const at = Date.now()
      for (const part of parts) this.push(at, stream, part)
    }
    this.child.stdout!.on("data", collect("out"))
    this.child.stderr!.on("data", collect("err"))
    this.exited = new Promise((resolve) => {
      this.child.on("error", (error) => {
        this.push(Date.now(), "err", `cannot spawn: ${error.message}`)
        this.status = { code: null, signal: null }
        resolve(this.status)
      })
      this.child.on("close", (code, signal) => {
        clearTimeout(this.killTimer)
        for (const stream of ["out", "err"] as const) {
          if (this.partial[stream] !== "") this.push(Date.now(), stream, this.partial[stream])
          this.partial[stream] = ""
        }
        this.status = { code, signal }
        resolve(this.status)
      })
    })
  }

  private push(at: number, stream: "out" | "err", text: string): void {
    if (this.lines.length < 200_000) this.lines.push({ index: this.lines.length, at, stream, text })
  }

  running(): boolean {
    return this.status === undefined
  }

  text(stream?: "out" | "err"): string {
    return this.lines.filter((l) => stream === undefined || l.stream === stream).map((l) => l.text).join("\n")
  }

  /** The first line matching `pattern` that arrived at or after `since` (ms since the epoch), or that follows the line `since`. */
  find(pattern: RegExp, since: number | Line = 0): Line | undefined {
    const after = (l: Line) => (typeof since === "number" ? l.at >= since : l.index > since.index)
    return this.lines.find((l) => after(l) && pattern.test(l.text))
  }

  /** Waits for a line matching `pattern` (see `find` for `since`). */
  async waitFor(pattern: RegExp, timeoutMs: number, since: number | Line = 0): Promise<Line> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const line = this.find(pattern, since)
      if (line !== undefined) return line
      if (!this.running()) {
        throw new Error(`${this.argv[0]} exited (${JSON.stringify(this.status)}) without printing ${pattern}\n${tail(this.text())}`)
      }
      if (Date.now() > deadline) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms\n${tail(this.text())}`)
      await sleep(50)
    }
  }

  write(text: string): void {
    this.child.stdin?.write(text)
  }

  /** Sends `signal`, waits up to `graceMs`, then kills the process group. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 3000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running() && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, signal)
      } catch {
        // already gone
      }
      const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref())
      if ((await Promise.race([this.exited, timer])) === "timeout") this.killGroup()
    }
    return this.exited
  }

  private killGroup(): void {
    if (this.child.pid === undefined) return
    try {
      process.kill(-this.child.pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------
// The link: a namespace, a persistent TAP, dnsmasq

interface Lan {
  readonly ns: string
  readonly dir: string
  /** dnsmasq, when started. */
  readonly dnsmasq: Background | undefined
  /** Other background processes to stop with the LAN. */
  readonly others: Array<Background>
  cleanup(): Promise<void>
}

const dnsmasqArgs = (dir: string): Array<string> => [
  "dnsmasq",
  "--no-daemon",
  "--conf-file=/dev/null",
  "--no-resolv",
  "--no-hosts",
  "--interface=isla0",
  "--bind-interfaces",
  `--listen-address=${serverIp}`,
  `--dhcp-range=10.77.0.${rangeFirst},10.77.0.${rangeLast},255.255.255.0,120s`,
  `--dhcp-option=option:router,${serverIp}`,
  `--dhcp-option=option:dns-server,${serverIp}`,
  `--dhcp-leasefile=${path.join(dir, "dnsmasq.leases")}`,
  "--local=/test/",
  `--address=/web.test/${serverIp}`,
  "--host-record=v6.test,fd00::1",
  "--host-record=host.test,10.77.0.5",
  // www → alias → web: dnsmasq answers with both CNAMEs and no address (web.test is an --address),
  // so the resolver must ask again for the target.
  "--cname=alias.test,web.test",
  "--cname=www.test,alias.test",
  // c1 → c2 → host: the whole chain and the address in one answer.
  "--cname=c1.test,c2.test",
  "--cname=c2.test,host.test",
  `--addn-hosts=${path.join(dir, "lots.hosts")}`,
  "--log-dhcp",
  // "extra" adds the client's address/port to each query line.
  "--log-queries=extra"
]

/** A namespace with a persistent TAP `isla0` (10.77.0.1/24 on the kernel side) and, unless told otherwise, dnsmasq. */
const startLan = async (options: { dnsmasq: boolean }): Promise<Lan> => {
  const ns = namespaceName()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `isla-t${process.pid}-dhcpdns-`))
  const others: Array<Background> = []
  let dnsmasq: Background | undefined
  let cleaned = false
  const cleanup = async () => {
    if (cleaned) return
    cleaned = true
    for (const b of others) await b.stop("SIGTERM", 2000)
    if (dnsmasq !== undefined) await dnsmasq.stop("SIGTERM", 2000)
    await deleteNamespace(ns)
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    await createNamespace(ns)
    await runOk("ip", ["-n", ns, "tuntap", "add", "isla0", "mode", "tap"])
    await runOk("ip", ["-n", ns, "addr", "add", `${serverIp}/24`, "dev", "isla0"])
    await runOk("ip", ["-n", ns, "link", "set", "isla0", "up"])
    fs.writeFileSync(path.join(dir, "lots.hosts"), lotsAddresses.map((a) => `${a} lots.test\n`).join(""))
    if (options.dnsmasq) {
      dnsmasq = new Background(ns, dnsmasqArgs(dir), 300_000)
      await dnsmasq.waitFor(/DHCP, sockets bound exclusively to interface isla0/, 10_000)
      await dnsmasq.waitFor(/read .*lots\.hosts - 90 names/, 10_000)
    }
    return { ns, dir, dnsmasq, others, cleanup }
  } catch (error) {
    await cleanup()
    throw error
  }
}

/** Runs `isla ARGS...` in the LAN's namespace under `timeout`. */
const isla = (lan: Lan, args: ReadonlyArray<string>, timeoutMs = 30_000): Promise<ExecResult> =>
  run(
    "ip",
    ["netns", "exec", lan.ns, "timeout", "-s", "KILL", String(Math.ceil(timeoutMs / 1000)), process.execPath, cliPath, ...args],
    { timeout: timeoutMs + 5000 }
  )

/** `isla ARGS...` with stdout written to `outFile` (bytes, not text). */
const islaToFile = (lan: Lan, outFile: string, args: ReadonlyArray<string>, timeoutMs = 30_000): Promise<ExecResult> =>
  run(
    "ip",
    [
      "netns", "exec", lan.ns, "sh", "-c", 'out=$1; shift; exec "$@" >"$out"', "sh", outFile,
      "timeout", "-s", "KILL", String(Math.ceil(timeoutMs / 1000)), process.execPath, cliPath, ...args
    ],
    { timeout: timeoutMs + 5000 }
  )

const staticDns = ["--tap", "isla0", "--ip", staticCidr, "--dns", serverIp]

const inRange = (address: string): boolean => {
  const m = /^10\.77\.0\.(\d+)$/.exec(address)
  return m !== null && Number(m[1]) >= rangeFirst && Number(m[1]) <= rangeLast
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** dnsmasq's log line for a DHCP message about `address` from our MAC. */
const dhcpLine = (kind: string, address: string) => new RegExp(`${kind}\\(isla0\\) ${escape(address)} ${mac}`)

const lanReport = (lan: Lan, extra: Record<string, Background | undefined> = {}): string =>
  [
    `--- dnsmasq (ns ${lan.ns})\n${tail(lan.dnsmasq?.text() ?? "(not started)", 8000)}`,
    ...Object.entries(extra).map(([name, b]) => `--- ${name}\n${tail(b?.text() ?? "(not started)", 8000)}`)
  ].join("\n")

// The HTTP server for `isla fetch`: files from DIR on HOST:PORT, one log line per request.
const httpServerScript = `
const http = require("node:http")
const fs = require("node:fs")
const path = require("node:path")
const [dir, host, port] = process.argv.slice(1)
http.createServer((req, res) => {
  console.log("request " + req.method + " " + req.url + " from " + req.socket.remoteAddress)
  fs.readFile(path.join(dir, path.basename(req.url)), (error, data) => {
    if (error) { res.writeHead(404); res.end(); return }
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": data.length })
    res.end(data)
  })
}).listen(Number(port), host, () => console.log("listening"))
`

// Opens one TCP connection, echoes a line through it, then waits for "go" on
// stdin and echoes another line through the same connection; prints a JSON line per step.
const echoHoldScript = `
const net = require("node:net")
const [host, port] = process.argv.slice(1)
const socket = net.connect({ host, port: Number(port) })
let received = ""
let expected = ""
let onEcho = () => {}
const say = (o) => process.stdout.write(JSON.stringify(o) + "\\n")
const round = (label, next) => {
  expected += label + " " + Math.random().toString(36).slice(2) + "\\n"
  onEcho = () => { if (received.length >= expected.length) { onEcho = () => {}; say({ step: label, ok: received === expected, local: socket.localAddress + ":" + socket.localPort }); next() } }
  socket.write(expected.slice(received.length))
}
socket.on("data", (d) => { received += d.toString("latin1"); onEcho() })
socket.on("error", (e) => { say({ error: e.code || String(e) }); process.exit(1) })
socket.on("close", () => { say({ closed: true }); process.exit(received === expected ? 0 : 1) })
socket.on("connect", () => round("before", () => {
  process.stdin.setEncoding("utf8")
  process.stdin.on("data", (t) => { if (t.includes("go")) round("after", () => socket.end()) })
}))
`

// ---------------------------------------------------------------------------

describeTap("dhcp and dns against dnsmasq", { tools }, () => {
  describeIslaOnly("isla dhcp, isla resolve and isla fetch on one link", () => {
    let lan: Lan | undefined
    const theLan = () => {
      if (lan === undefined) throw new Error("the LAN did not start")
      return lan
    }
    beforeAll(async () => {
      lan = await startLan({ dnsmasq: true })
    }, 30_000)
    afterAll(async () => {
      await lan?.cleanup()
    }, 30_000)

    const onFailure = (ctx: TestContext, extra: () => Record<string, Background | undefined> = () => ({})) =>
      ctx.onTestFailed(() => {
        if (lan !== undefined) console.error(lanReport(lan, extra()))
      })

    it("isla dhcp prints the lease, releases it (dnsmasq logs DHCPRELEASE) and leaves the TAP", async (ctx) => {
      onFailure(ctx)
      const l = theLan()
      const started = Date.now()
      const result = await isla(l, ["dhcp", "--tap", "isla0"], 45_000)
      log(`isla dhcp: ${result.durationMs} ms: ${result.stdout.trim()}`)
      expect(result.code, describeExec(result)).toBe(0)
      const lines = result.stdout.trim().split("\n")
      expect(lines, describeExec(result)).toHaveLength(1)
      const m = /^lease ipv4=(\S+)\/(\d+) router=(\S+) dns=(\S+) lease=(\d+) server=(\S+)$/.exec(lines[0]!)
      expect(m, `unexpected lease line\n${describeExec(result)}`).not.toBeNull()
      const [, address, prefixLength, router, dns, leaseSeconds, server] = m!
      expect(inRange(address!), `${address} is not in 10.77.0.${rangeFirst}-${rangeLast}`).toBe(true)
      expect(prefixLength).toBe("24")
      expect(router).toBe(serverIp)
      expect(dns).toBe(serverIp)
      expect(leaseSeconds).toBe("120")
      expect(server).toBe(serverIp)
      // dnsmasq granted exactly that address to our MAC...
      await l.dnsmasq!.waitFor(dhcpLine("DHCPACK", address!), 5000, started)
      // ...and Isla gave it back before exiting.
      const release = await l.dnsmasq!.waitFor(dhcpLine("DHCPRELEASE", address!), 5000, started).catch(() => undefined)
      expect(release, `dnsmasq logged no DHCPRELEASE for ${address}\n${describeExec(result)}`).toBeDefined()
      // The TAP was there before Isla; it is still there after.
      const link = await run("ip", ["-n", l.ns, "link", "show", "isla0"])
      expect(link.code, describeExec(link)).toBe(0)
    }, 60_000)

    it("isla resolve: an A record", async (ctx) => {
      onFailure(ctx)
      const result = await isla(theLan(), ["resolve", ...staticDns, "web.test"])
      expect(result.code, describeExec(result)).toBe(0)
      expect(result.stdout, describeExec(result)).toBe(`${serverIp}\n`)
      await theLan().dnsmasq!.waitFor(/query\[A\] web\.test from 10\.77\.0\.2$/, 3000)
    })

    it("isla resolve --type AAAA: an AAAA record", async (ctx) => {
      onFailure(ctx)
      const result = await isla(theLan(), ["resolve", ...staticDns, "--type", "AAAA", "v6.test"])
      expect(result.code, describeExec(result)).toBe(0)
      expect(result.stdout, describeExec(result)).toBe("fd00::1\n")
      await theLan().dnsmasq!.waitFor(/query\[AAAA\] v6\.test from 10\.77\.0\.2$/, 3000)
    })

    it("isla resolve follows CNAME chains (www → alias → web asked again; c1 → c2 → host in one answer)", async (ctx) => {
      onFailure(ctx)
      const l = theLan()
      const started = Date.now()
      const www = await isla(l, ["resolve", ...staticDns, "www.test"])
      expect(www.code, describeExec(www)).toBe(0)
      expect(www.stdout, describeExec(www)).toBe(`${serverIp}\n`)
      // dnsmasq answered www.test with the two CNAMEs alone; Isla then asked for the target itself.
      const asked = await l.dnsmasq!.waitFor(/query\[A\] www\.test from 10\.77\.0\.2$/, 3000, started)
      await l.dnsmasq!.waitFor(/config alias\.test is <CNAME>/, 3000, started)
      await l.dnsmasq!.waitFor(/query\[A\] web\.test from 10\.77\.0\.2$/, 3000, asked.at)
      const c1 = await isla(l, ["resolve", ...staticDns, "c1.test"])
      expect(c1.code, describeExec(c1)).toBe(0)
      expect(c1.stdout, describeExec(c1)).toBe("10.77.0.5\n")
    })

    it("isla resolve of a name that does not exist: exit 1, says so on stderr", async (ctx) => {
      onFailure(ctx)
      const result = await isla(theLan(), ["resolve", ...staticDns, "nope.test"])
      expect(result.code, describeExec(result)).toBe(1)
      expect(result.stdout, describeExec(result)).toBe("")
      const errors = result.stderr.split("\n").filter((line) => line.startsWith("isla:"))
      expect(errors, describeExec(result)).toHaveLength(1)
      expect(errors[0], describeExec(result)).toMatch(/NameNotFound|does not exist|not found|NXDOMAIN/i)
      await theLan().dnsmasq!.waitFor(/config nope\.test is NXDOMAIN/, 3000)
    })

    it("isla resolve --dhcp of a 90-address name: all printed, via TCP after a truncated UDP answer", async (ctx) => {
      const l = theLan()
      const dump = new Background(l.ns, ["tcpdump", "-i", "isla0", "-n", "-l", "-U", "port 53"], 60_000)
      l.others.push(dump)
      onFailure(ctx, () => ({ tcpdump: dump }))
      await dump.waitFor(/listening on isla0/, 10_000)
      const started = Date.now()
      const result = await isla(l, ["resolve", "--tap", "isla0", "--dhcp", "lots.test"], 45_000)
      log(`isla resolve --dhcp lots.test: ${result.durationMs} ms, ${result.stdout.trim().split("\n").length} lines`)
      await sleep(500)
      await dump.stop("SIGINT", 3000)
      expect(result.code, describeExec(result)).toBe(0)
      const printed = result.stdout.trim().split("\n")
      expect(printed.length, describeExec(result)).toBe(lotsAddresses.length)
      expect([...printed].sort(), describeExec(result)).toEqual([...lotsAddresses].sort())
      // The servers came from the lease: the queries came from the leased address.
      const query = await l.dnsmasq!.waitFor(/query\[A\] lots\.test from (10\.77\.0\.\d+)$/, 3000, started)
      const leased = /from (\S+)$/.exec(query.text)![1]!
      expect(inRange(leased), query.text).toBe(true)
      // The capture: a truncated UDP answer ("|" after the flags), then a TCP connection to port 53 carrying the query.
      const capture = dump.text("out")
      log(`tcpdump port 53:\n${capture.split("\n").map((s) => s.slice(0, 140)).join("\n")}`)
      expect(capture, capture).toMatch(new RegExp(`IP ${escape(serverIp)}\\.53 > ${escape(leased)}\\.\\d+: \\d+\\*?\\|`))
      expect(capture, capture).toMatch(new RegExp(`IP ${escape(leased)}\\.\\d+ > ${escape(serverIp)}\\.53: Flags \\[S\\]`))
      expect(capture, capture).toMatch(new RegExp(`IP ${escape(leased)}\\.\\d+ > ${escape(serverIp)}\\.53: Flags \\[P\\.\\].*length [1-9]`))
      expect(capture, capture).toMatch(new RegExp(`IP ${escape(serverIp)}\\.53 > ${escape(leased)}\\.\\d+: Flags \\[[.P]+\\].*length [1-9]`))
    }, 60_000)

    describe("isla fetch", () => {
      let server: Background | undefined
      let body: Buffer
      beforeAll(async () => {
        const l = theLan()
        const root = path.join(l.dir, "www")
        fs.mkdirSync(root)
        body = randomBytes(300 * 1024 + 17)
        fs.writeFileSync(path.join(root, "blob.bin"), body)
        server = new Background(l.ns, [process.execPath, "-e", httpServerScript, root, serverIp, String(httpPort)], 120_000)
        l.others.push(server)
        await server.waitFor(/^listening$/, 10_000)
      }, 20_000)

      it("fetches http://web.test:PORT/blob.bin byte-exact with --dns and a static --ip (-v: status on stderr)", async (ctx) => {
        onFailure(ctx, () => ({ "http server": server }))
        const l = theLan()
        const out = path.join(l.dir, "fetch-static.out")
        const started = Date.now()
        const result = await islaToFile(l, out, ["fetch", ...staticDns, "-v", `http://web.test:${httpPort}/blob.bin`])
        log(`isla fetch (static, --dns): ${result.durationMs} ms`)
        expect(result.code, describeExec(result)).toBe(0)
        expect(result.stderr, describeExec(result)).toMatch(/^HTTP\/1\.1 200 /m)
        const got = fs.readFileSync(out)
        expect(got.length, describeExec(result)).toBe(body.length)
        expect(sha256(got)).toBe(sha256(body))
        await l.dnsmasq!.waitFor(/query\[A\] web\.test from 10\.77\.0\.2$/, 3000, started)
        await server!.waitFor(/^request GET \/blob\.bin from 10\.77\.0\.2$/, 3000, started)
      })

      it("fetches it byte-exact with --dhcp (address and DNS server from the lease)", async (ctx) => {
        onFailure(ctx, () => ({ "http server": server }))
        const l = theLan()
        const out = path.join(l.dir, "fetch-dhcp.out")
        const started = Date.now()
        const result = await islaToFile(l, out, ["fetch", "--tap", "isla0", "--dhcp", `http://web.test:${httpPort}/blob.bin`], 45_000)
        log(`isla fetch (--dhcp): ${result.durationMs} ms`)
        expect(result.code, describeExec(result)).toBe(0)
        const got = fs.readFileSync(out)
        expect(got.length, describeExec(result)).toBe(body.length)
        expect(sha256(got)).toBe(sha256(body))
        const request = await server!.waitFor(/^request GET \/blob\.bin from (\S+)$/, 3000, started)
        const from = /from (\S+)$/.exec(request.text)![1]!
        expect(inRange(from), request.text).toBe(true)
        await l.dnsmasq!.waitFor(new RegExp(`query\\[A\\] web\\.test from ${escape(from)}$`), 3000, started)
      }, 60_000)
    })
  })

  describeIslaOnly("the slow ones, side by side", () => {
    it.concurrent(
      "isla up --dhcp: ready with the leased address, answers ping, renews at T1 with a connection open, releases on SIGTERM",
      async ({ expect, onTestFailed }) => {
        const lan = await startLan({ dnsmasq: true })
        let up: Background | undefined
        let client: Background | undefined
        onTestFailed(() => console.error(lanReport(lan, { "isla up": up, "echo client": client })))
        try {
          const started = Date.now()
          up = new Background(lan.ns, [process.execPath, cliPath, "up", "--tap", "isla0", "--dhcp"], 150_000)
          const ready = await up.waitFor(/^ready /, 30_000)
          const boundAt = ready.at
          log(`isla up --dhcp: ready after ${boundAt - started} ms: ${ready.text}`)
          const pairs = Object.fromEntries(
            ready.text.slice(6).trim().split(/\s+/).map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)])
          )
          expect(pairs["tap"], ready.text).toBe("isla0")
          const cidr = /^(\S+)\/24$/.exec(pairs["ipv4"] ?? "")
          expect(cidr, ready.text).not.toBeNull()
          const address = cidr![1]!
          expect(inRange(address), ready.text).toBe(true)
          // dnsmasq did ACK that address to us (its log may lag the wire a little).
          const bound = await lan.dnsmasq!.waitFor(dhcpLine("DHCPACK", address), 5000, started)

          const ping = async () => {
            const result = await run("ip", ["netns", "exec", lan.ns, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", address], {
              timeout: 15_000
            })
            expect(parsePing(result.stdout)?.received, describeExec(result)).toBe(3)
          }
          await ping()

          client = new Background(lan.ns, [process.execPath, "-e", echoHoldScript, address, "7"], 150_000, true)
          const before = await client.waitFor(/"step":"before"/, 10_000)
          expect(JSON.parse(before.text), before.text).toMatchObject({ ok: true })

          // Renewal: a DHCPREQUEST for the same address, well after binding (T1 = 60 s of a 120 s lease), and its ACK.
          const request = await lan.dnsmasq!.waitFor(dhcpLine("DHCPREQUEST", address), 100_000, bound)
          const ack = await lan.dnsmasq!.waitFor(dhcpLine("DHCPACK", address), 10_000, request.at)
          log(`renewal: DHCPREQUEST ${((request.at - boundAt) / 1000).toFixed(1)} s after ready, DHCPACK ${ack.at - request.at} ms later`)
          expect(request.at - boundAt, "the renewal came too early for T1").toBeGreaterThan(45_000)
          expect(request.at - boundAt, "the renewal came too late for T1").toBeLessThan(80_000)
          await sleep(1000)
          expect(up.running(), "isla up exited").toBe(true)
          expect(up.find(/^ready /, boundAt + 1), "a second ready line").toBeUndefined()

          // The connection opened before the renewal still echoes after it, and ping still answers.
          client.write("go\n")
          const after = await client.waitFor(/"step":"after"/, 10_000)
          expect(JSON.parse(after.text), after.text).toMatchObject({ ok: true })
          const closed = await client.exited
          expect(closed.code, client.text()).toBe(0)
          await ping()

          // SIGTERM: exit 0, and the lease is released.
          const stopAt = Date.now()
          const exit = await up.stop("SIGTERM", 6000)
          log(`isla up: exit ${JSON.stringify(exit)} ${Date.now() - stopAt} ms after SIGTERM`)
          expect(exit, up.text()).toEqual({ code: 0, signal: null })
          const release = await lan.dnsmasq!.waitFor(dhcpLine("DHCPRELEASE", address), 5000, stopAt).catch(() => undefined)
          expect(release, `dnsmasq logged no DHCPRELEASE for ${address} after SIGTERM`).toBeDefined()
        } finally {
          await client?.stop("SIGKILL", 1000)
          await up?.stop("SIGKILL", 1000)
          await lan.cleanup()
        }
      },
      150_000
    )

    it.concurrent(
      "isla dhcp with no server: exit 1 and a clear message after about 30 s",
      async ({ expect }) => {
        const lan = await startLan({ dnsmasq: false })
        try {
          const result = await isla(lan, ["dhcp", "--tap", "isla0"], 45_000)
          log(`isla dhcp without a server: exit ${result.code} after ${result.durationMs} ms: ${result.stderr.trim().split("\n").pop()}`)
          expect(result.timedOut, describeExec(result)).toBe(false)
          expect(result.code, describeExec(result)).toBe(1)
          expect(result.stdout, describeExec(result)).toBe("")
          expect(result.stderr, describeExec(result)).toMatch(/^isla: .*no DHCP server/im)
          expect(result.durationMs, describeExec(result)).toBeGreaterThan(25_000)
          expect(result.durationMs, describeExec(result)).toBeLessThan(40_000)
        } finally {
          await lan.cleanup()
        }
      },
      60_000
    )
  })
})
