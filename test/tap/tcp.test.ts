/**
 * TCP TAP tests: the kernel's own TCP clients (nc, socat, node `net`, ss)
 * against the device under test's echo (7), discard (9) and source (19)
 * services, from a client namespace; and Isla's active open (`Tcp.connect`)
 * to a kernel listener. Runs against `isla up` (default) or the Linux kernel
 * (`ISLA_TARGET=linux`), which every test but the isla-only one must pass.
 */
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { describeExec, describeTap, type ExecResult, itIslaOnly, type TargetHandle, useTarget } from "./harness.js"
import { injectFrames } from "./ipv6-harness.js"

const tools = ["nc", "socat", "ss", "sh", "head", "curl", "python3"]

/** Isla as a TCP client over a TAP of its own (the active-open test). */
const tcpClientPath = fileURLToPath(new URL("./tcp-client.mjs", import.meta.url))

const MiB = 1024 * 1024

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex")

const log = (message: string) => console.log(`[tap] ${message}`)

/** The RFC 864 pattern both targets send on port 19: 95 rotating 72-character lines, repeated. */
const chargenBlock = (() => {
  const bytes: Array<number> = []
  for (let line = 0; line < 95; line++) {
    for (let j = 0; j < 72; j++) bytes.push(32 + ((line + j) % 95))
    bytes.push(13, 10)
  }
  return Buffer.from(bytes)
})()

/** sha256 of the first `length` bytes of the endless chargen stream. */
const chargenSha256 = (length: number): string => {
  const hash = createHash("sha256")
  let left = length
  while (left >= chargenBlock.length) {
    hash.update(chargenBlock)
    left -= chargenBlock.length
  }
  hash.update(chargenBlock.subarray(0, left))
  return hash.digest("hex")
}

// Reads stdin to its end; prints {"bytes":N,"sha256":H}.
const countAndHashScript = `
const hash = require("node:crypto").createHash("sha256")
let bytes = 0
process.stdin.on("data", (c) => { bytes += c.length; hash.update(c) })
process.stdin.on("end", () => process.stdout.write(JSON.stringify({ bytes, sha256: hash.digest("hex") }) + "\\n"))
`

// Opens TOTAL connections to host:port in waves of WAVE, keeping every one
// open, so that all are established at once; then writes a distinct message on
// each, reads each echo back and compares, then half-closes all and waits for
// the server's FIN. Prints one JSON summary line; exits 0 only if all passed.
const manyConnectionsScript = `
const net = require("node:net")
const { randomBytes } = require("node:crypto")
const [host, port, total, wave, timeoutMs] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)))
const started = Date.now()
const summary = { total, connected: 0, maxOpen: 0, echoed: 0, mismatched: 0, closedCleanly: 0, errors: {}, phaseMs: {} }
let open = 0
const finish = (extra) => {
  Object.assign(summary, extra, { totalMs: Date.now() - started })
  const ok = summary.connected === total && summary.maxOpen === total && summary.echoed === total &&
    summary.mismatched === 0 && summary.closedCleanly === total && Object.keys(summary.errors).length === 0
  process.stdout.write(JSON.stringify(summary) + "\\n", () => process.exit(ok ? 0 : 1))
}
setTimeout(() => finish({ timedOut: true }), timeoutMs).unref()
const conns = []
const connectOne = (i) => new Promise((resolve) => {
  const c = { i, socket: net.connect({ host, port }), message: Buffer.from(\`conn \${i} \${randomBytes(8 + (i % 57)).toString("hex")}\\n\`), received: [], got: 0, onData: undefined, onClose: undefined, errored: false }
  c.socket.setNoDelay(true)
  c.socket.on("error", (e) => {
    c.errored = true
    summary.errors[e.code || String(e)] = (summary.errors[e.code || String(e)] || 0) + 1
    resolve()
  })
  c.socket.on("connect", () => {
    summary.connected++
    open++
    if (open > summary.maxOpen) summary.maxOpen = open
    resolve()
  })
  c.socket.on("data", (d) => { c.received.push(d); c.got += d.length; c.onData?.() })
  c.socket.on("close", () => { open--; c.onClose?.() })
  conns.push(c)
})
const main = async () => {
  let t = Date.now()
  for (let first = 0; first < total; first += wave) {
    const batch = []
    for (let i = first; i < Math.min(first + wave, total); i++) batch.push(connectOne(i))
    await Promise.all(batch)
  }
  summary.phaseMs.connect = Date.now() - t
  t = Date.now()
  await Promise.all(conns.map((c) => new Promise((resolve) => {
    if (c.errored) return resolve()
    c.onData = () => {
      if (c.got < c.message.length) return
      c.onData = undefined
      if (Buffer.concat(c.received).equals(c.message)) summary.echoed++
      else summary.mismatched++
      resolve()
    }
    c.onClose = resolve
    c.socket.write(c.message)
  })))
  summary.phaseMs.echo = Date.now() - t
  t = Date.now()
  // Half-close; the echo server closes its side in turn (its FIN ends our read side).
  await Promise.all(conns.map((c) => new Promise((resolve) => {
    if (c.errored || c.socket.destroyed) return resolve()
    c.socket.on("end", () => { summary.closedCleanly++ })
    c.onClose = resolve
    c.socket.end()
  })))
  summary.phaseMs.close = Date.now() - t
  finish({})
}
main().catch((e) => finish({ crashed: String(e && e.stack || e) }))
`

// Connects, makes one echo round trip, then prints \`ss -tino\` for the connection
// (it is open while ss runs) as {"local":"A:P","ss":"..."}. ss prints the
// negotiated "ts" and "sack" only with -o (its show_options); "wscale:" always.
const ssWhileOpenScript = `
const net = require("node:net")
const { execFileSync } = require("node:child_process")
const [host, port] = process.argv.slice(1)
const socket = net.connect({ host, port: Number(port) }, () => socket.write("ping\\n"))
socket.once("data", () => {
  const ss = execFileSync("ss", ["-tino", "dst", host + ":" + port], { encoding: "utf8", timeout: 5000 })
  process.stdout.write(JSON.stringify({ local: socket.localAddress + ":" + socket.localPort, ss }) + "\\n", () => socket.end())
})
socket.on("close", () => process.exit(0))
socket.on("error", (e) => { process.stderr.write(String(e) + "\\n"); process.exit(1) })
setTimeout(() => { process.stderr.write("timed out\\n"); process.exit(1) }, 8000).unref()
`

// Connects to a closed port and prints the error code.
const connectErrorScript = `
const net = require("node:net")
const [host, port] = process.argv.slice(1)
const socket = net.connect({ host, port: Number(port) })
socket.on("connect", () => { process.stdout.write("connected\\n"); process.exit(0) })
socket.on("error", (e) => { process.stdout.write((e.code || String(e)) + "\\n"); process.exit(0) })
setTimeout(() => { process.stdout.write("timeout\\n"); process.exit(0) }, 8000).unref()
`

/** Runs `sh -c SCRIPT sh ARGS...` in the client namespace. */
const shell = (t: TargetHandle, script: string, args: ReadonlyArray<string>, timeout: number): Promise<ExecResult> =>
  t.exec("sh", ["-c", script, "sh", ...args], { timeout })

const mbps = (bytes: number, ms: number) => `${((bytes * 8) / (ms * 1000)).toFixed(0)} Mbit/s`

describeTap("tcp", { tools }, () => {
  describe("one DUT for the file", () => {
    let dir: string | undefined
    const tmp = () => {
      if (dir === undefined) dir = fs.mkdtempSync(path.join(os.tmpdir(), `isla-t${process.pid}-tcp-`))
      return dir
    }
    afterAll(() => {
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })
    const target = useTarget()

    it(
      "echoes 50 MB of random bytes on port 7 (nc -N, sha256 compared)",
      async () => {
        const t = target()
        const size = 50 * MiB
        const input = path.join(tmp(), "echo-in")
        const output = path.join(tmp(), "echo-out")
        const data = randomBytes(size)
        fs.writeFileSync(input, data)
        // -N: shut down the sending side at end of input, then read until the server's FIN.
        const nc = await shell(t, `nc -N "$1" 7 < "$2" > "$3"`, [t.dutIp, input, output], 60_000)
        log(`echo 50 MB: ${nc.durationMs} ms (${mbps(2 * size, nc.durationMs)} both ways)`)
        expect(nc.timedOut, describeExec(nc)).toBe(false)
        expect(nc.code, describeExec(nc)).toBe(0)
        const echoed = fs.readFileSync(output)
        expect(echoed.length, describeExec(nc)).toBe(size)
        expect(sha256(echoed)).toBe(sha256(data))
      },
      90_000
    )

    it(
      "discards 200 MB on port 9 (nc -N exits 0 within 60 s)",
      async () => {
        const t = target()
        const nc = await shell(t, `head -c 200M /dev/zero | nc -N "$1" 9`, [t.dutIp], 60_000)
        log(`discard 200 MB: ${nc.durationMs} ms (${mbps(200 * MiB, nc.durationMs)})`)
        expect(nc.timedOut, describeExec(nc)).toBe(false)
        expect(nc.code, describeExec(nc)).toBe(0)
        expect(nc.stdout, describeExec(nc)).toBe("")
      },
      75_000
    )

    it(
      "sources 200 MB of the chargen pattern on port 19 (nc | head -c 200M)",
      async () => {
        const t = target()
        const size = 200 * MiB
        const result = await shell(
          t,
          `nc -d "$1" 19 | head -c "$2" | "$3" -e "$4"`,
          [t.dutIp, String(size), process.execPath, countAndHashScript],
          60_000
        )
        log(`source 200 MB: ${result.durationMs} ms (${mbps(size, result.durationMs)})`)
        expect(result.timedOut, describeExec(result)).toBe(false)
        expect(result.code, describeExec(result)).toBe(0)
        const got = JSON.parse(result.stdout.trim()) as { bytes: number; sha256: string }
        expect(got.bytes, describeExec(result)).toBe(size)
        expect(got.sha256, "the bytes are the RFC 864 line pattern").toBe(chargenSha256(size))
      },
      75_000
    )

    it(
      "echoes a distinct message on each of 1,000 concurrent connections",
      async () => {
        const t = target()
        const result = await t.exec(
          process.execPath,
          ["-e", manyConnectionsScript, t.dutIp, "7", "1000", "100", "45000"],
          { timeout: 60_000 }
        )
        log(`1000 connections: ${result.durationMs} ms ${result.stdout.trim()}`)
        expect(result.timedOut, describeExec(result)).toBe(false)
        const summary = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>
        expect(summary, describeExec(result)).toMatchObject({
          connected: 1000,
          maxOpen: 1000,
          echoed: 1000,
          mismatched: 0,
          closedCleanly: 1000,
          errors: {}
        })
        expect(result.code, describeExec(result)).toBe(0)
      },
      75_000
    )

    it("refuses a connection to a closed port (RST: nc sees refused, node gets ECONNREFUSED)", async () => {
      const t = target()
      const nc = await t.exec("nc", ["-n", "-z", "-v", "-w", "5", t.dutIp, "5555"], { timeout: 10_000 })
      expect(nc.timedOut, describeExec(nc)).toBe(false)
      expect(nc.code, describeExec(nc)).toBe(1)
      expect(nc.stderr, describeExec(nc)).toMatch(/refused/i)
      // Refused at once by a RST, not after -w runs out.
      expect(nc.durationMs, describeExec(nc)).toBeLessThan(3000)
      const node = await t.exec(process.execPath, ["-e", connectErrorScript, t.dutIp, "5556"], { timeout: 15_000 })
      expect(node.stdout.trim(), describeExec(node)).toBe("ECONNREFUSED")
      // An open port next to it still accepts.
      const open = await t.exec("nc", ["-n", "-z", "-v", "-w", "5", t.dutIp, "7"], { timeout: 10_000 })
      expect(open.code, describeExec(open)).toBe(0)
    })

    it("negotiates window scaling, SACK and timestamps (ss -tino on an open connection)", async () => {
      const t = target()
      const result = await t.exec(process.execPath, ["-e", ssWhileOpenScript, t.dutIp, "7"], { timeout: 15_000 })
      expect(result.code, describeExec(result)).toBe(0)
      const { local, ss } = JSON.parse(result.stdout.trim()) as { local: string; ss: string }
      const lines = ss.split("\n")
      const row = lines.findIndex((line) => line.includes(local) && line.includes(`${t.dutIp}:7`))
      expect(row, `no ss row for ${local}\n${ss}`).toBeGreaterThanOrEqual(0)
      const info = lines[row + 1] ?? ""
      log(`ss -tino: ${lines[row]!.trim()} | ${info.trim()}`)
      expect(lines[row], ss).toMatch(/^ESTAB/)
      expect(info, ss).toMatch(/(^|\s)ts(\s|$)/)
      expect(info, ss).toMatch(/(^|\s)sack(\s|$)/)
      expect(info, ss).toMatch(/(^|\s)wscale:\d+,\d+(\s|$)/)
      expect(info, ss).toMatch(/(^|\s)mss:\d+/)
    })

    itIslaOnly(
      "TSO both ways (virtio-net offload): the kernel's large segments taken whole, Isla's own cut by the kernel; a frame whose UDP checksum is wrong is still dropped",
      async () => {
        const t = target()
        const metric = async (pattern: RegExp) => {
          const r = await t.exec("curl", ["-s", `http://${t.dutIp}/metrics`])
          return Number(pattern.exec(r.stdout)?.[1] ?? 0)
        }
        // After the 200 MB above: the kernel sent segments larger than the MTU, each read whole.
        const large = await metric(/^isla_events_total\{layer="ethernet",event="large_frame_rx"\} (\d+)/m)
        log(`frames past the MTU (TSO segments) so far: ${large}`)
        expect(large).toBeGreaterThan(0)
        // After the 200 MB source above: Isla sent packets of several MSS for the kernel to segment.
        const gso = await metric(/^isla_events_total\{layer="ethernet",event="gso_tx"\} (\d+)/m)
        log(`packets Isla sent for the kernel to segment (TSO): ${gso}`)
        expect(gso).toBeGreaterThan(0)
        // A UDP datagram to the echo port with a wrong checksum, put on the wire by a packet
        // socket (no offload: the TAP marks it unchecked), is dropped and counted, not echoed.
        const badBefore = await metric(/^isla_frames_dropped_total\{layer="udp",reason="bad_checksum"\} (\d+)/m)
        const mac = (text: string) => Uint8Array.from(text.split(":").map((h) => parseInt(h, 16)))
        const hostMac = (await t.exec("cat", [`/sys/class/net/${t.hostIfname}/address`])).stdout.trim()
        const ip = (text: string) => text.split(".").map(Number)
        const payload = Buffer.from("checksum")
        const frame = new Uint8Array(14 + 20 + 8 + payload.length)
        frame.set(mac(t.ready["mac"]!), 0)
        frame.set(mac(hostMac), 6)
        frame.set([0x08, 0x00], 12)
        const ipHeader = [0x45, 0, 0, 20 + 8 + payload.length, 0, 1, 0x40, 0, 64, 17, 0, 0, ...ip(t.hostIp), ...ip(t.dutIp)]
        let sum = 0
        for (let i = 0; i < 20; i += 2) sum += (ipHeader[i]! << 8) | ipHeader[i + 1]!
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
        ipHeader[10] = (~sum >>> 8) & 0xff
        ipHeader[11] = ~sum & 0xff
        frame.set(ipHeader, 14)
        frame.set([0x9c, 0x40, 0, 7, 0, 8 + payload.length, 0x12, 0x34], 34)
        frame.set(payload, 42)
        await injectFrames(t.ns, t.hostIfname, [frame])
        await sleep(300)
        const badAfter = await metric(/^isla_frames_dropped_total\{layer="udp",reason="bad_checksum"\} (\d+)/m)
        expect(badAfter - badBefore).toBe(1)
      },
      30_000
    )

    itIslaOnly(
      "connects out with Tcp.connect to a socat echo listener and moves 1 MB both ways",
      async () => {
        const t = target()
        // A second TAP for the client stack in the same namespace, on the upper half of the harness's /24
        // (the more specific route wins over the DUT's 10.77.0.0/24 on the host side).
        const listenPort = "7007"
        const hostSide = "10.77.0.129"
        // One connection, then exit; -t 10 leaves the echo time to drain after the client's FIN.
        const socat = t.exec("socat", ["-t", "10", `TCP-LISTEN:${listenPort},reuseaddr`, "EXEC:cat"], { timeout: 45_000 })
        let listening = false
        for (let i = 0; i < 50 && !listening; i++) {
          const ss = await t.exec("ss", ["-Htln", "sport", "=", `:${listenPort}`])
          listening = ss.stdout.trim() !== ""
          if (!listening) await sleep(100)
        }
        expect(listening, "socat did not start listening").toBe(true)
        const client = await t.exec(
          process.execPath,
          [
            tcpClientPath,
            "--tap", "isla1",
            "--ip", "10.77.0.130/25",
            "--host-ip", `${hostSide}/25`,
            "--to", `${hostSide}:${listenPort}`,
            "--bytes", String(MiB),
            "--timeout", "30000"
          ],
          { timeout: 40_000 }
        )
        log(`Tcp.connect, 1 MB echoed: ${client.durationMs} ms ${client.stdout.trim()}`)
        expect(client.code, describeExec(client)).toBe(0)
        const result = JSON.parse(client.stdout.trim()) as {
          sent: string
          received: string
          sentBytes: number
          receivedBytes: number
          options: { windowScale: unknown; sack: boolean; timestamps: boolean }
        }
        expect(result.sentBytes).toBe(MiB)
        expect(result.receivedBytes, client.stdout).toBe(MiB)
        expect(result.received, client.stdout).toBe(result.sent)
        // The kernel listener agreed to every option Isla offered.
        expect(result.options.sack && result.options.timestamps && result.options.windowScale !== undefined).toBe(true)
        const listener = await socat
        expect(listener.code, describeExec(listener)).toBe(0)
        // The client's TAP went away with it.
        const link = await t.exec("ip", ["link", "show", "isla1"])
        expect(link.code, describeExec(link)).not.toBe(0)
      },
      60_000
    )
  })
})
