/**
 * IPv6 helpers for the TAP tests (issue #7): radvd advertising a prefix on the
 * client side of the link, tcpdump captures read back as decoded frames,
 * hand-built NDP frames injected through an AF_PACKET socket (python3), a
 * UDP-over-IPv6 exchange and, for the `linux` target, echo and HTTP services
 * bound to `::` in the DUT's namespace. Everything runs inside the harness's
 * namespaces, and every child process is bounded in time.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Ethernet from "../../src/protocols/ethernet.js"
import * as Ip6 from "../../src/protocols/ipv6/header.js"
import {
  formatIpv6,
  interfaceIdFromMac,
  linkLocalFromMac,
  multicastMac,
  parseIpv6,
  solicitedNodeMulticast
} from "../../src/protocols/ipv6/address.js"
import * as Ndp from "../../src/protocols/ipv6/ndp.js"
import {
  type DutEnvironment,
  type ExecResult,
  run,
  runOk,
  type TargetHandle,
  udpExchange,
  type UdpOutcome
} from "./harness.js"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The prefix radvd advertises (SLAAC) and the client side's own address in it. */
export const RA_PREFIX = "fd00:77:1::"
export const RA_PREFIX_LENGTH = 64
export const HOST_GLOBAL = "fd00:77:1::1"

// ---------------------------------------------------------------------------
// Addresses

/** Parses "aa:bb:cc:dd:ee:ff". */
export const parseMac = (text: string): Uint8Array => {
  const parts = text.split(":")
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-f]{2}$/i.test(p))) throw new Error(`bad MAC ${JSON.stringify(text)}`)
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)))
}

/** Lower-case "aa:bb:cc:dd:ee:ff". */
export const formatMac = (mac: Uint8Array): string => [...mac].map((b) => b.toString(16).padStart(2, "0")).join(":")

const mustParseIpv6 = (text: string): Uint8Array => {
  const bytes = parseIpv6(text)
  if (bytes === undefined) throw new Error(`bad IPv6 address ${JSON.stringify(text)}`)
  return bytes
}

/** RFC 5952 text of an address given as text (so that comparisons are canonical). */
export const canonicalIpv6 = (text: string): string => formatIpv6(mustParseIpv6(text))

/** The EUI-64 link-local address of a MAC: 02:00:00:00:00:02 → fe80::ff:fe00:2. */
export const linkLocalOf = (mac: string): string => formatIpv6(linkLocalFromMac(parseMac(mac)))

/** The SLAAC address (RFC 4862 §5.5.3, modified EUI-64) of a MAC in a /64 prefix. */
export const slaacAddressOf = (prefix: string, mac: string): string => {
  const bytes = mustParseIpv6(prefix).slice()
  bytes.set(interfaceIdFromMac(parseMac(mac)), 8)
  return formatIpv6(bytes)
}

/** The Ethernet address of a multicast group (RFC 2464 §7): 33:33 and its low 32 bits. */
export const multicastMacOf = (group: string): string => formatMac(multicastMac(mustParseIpv6(group)))

/** The solicited-node group of an address (ff02::1:ffXX:XXXX). */
export const solicitedNodeOf = (address: string): string => formatIpv6(solicitedNodeMulticast(mustParseIpv6(address)))

// ---------------------------------------------------------------------------
// Bounded polling

/** Calls `check` every `intervalMs` until it returns true or `timeoutMs` has passed; returns its last answer. */
export const waitUntil = async (
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 250
): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  const maxRounds = Math.ceil(timeoutMs / intervalMs) + 1
  for (let round = 0; round < maxRounds; round++) {
    if (await check()) return true
    if (Date.now() >= deadline) break
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())))
  }
  return false
}

// ---------------------------------------------------------------------------
// Background processes in a namespace (tcpdump, radvd, services)

/** A long-running command inside a namespace, killed after `maxMs` at the latest. */
class Background {
  readonly child: ChildProcess
  private out = ""
  private err = ""
  private exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private readonly killer: NodeJS.Timeout

  constructor(readonly ns: string, readonly argv: ReadonlyArray<string>, maxMs: number) {
    // `ip netns exec` execs the command in place: the pid is the command's own.
    this.child = spawn("ip", ["netns", "exec", ns, ...argv], { detached: true, stdio: ["ignore", "pipe", "pipe"] })
    this.child.stdout!.setEncoding("utf8").on("data", (t: string) => {
      if (this.out.length < 1_000_000) this.out += t
    })
    this.child.stderr!.setEncoding("utf8").on("data", (t: string) => {
      if (this.err.length < 1_000_000) this.err += t
    })
    this.exited = new Promise((resolve) => {
      this.child.on("error", (e) => {
        this.err += `cannot spawn ${argv.join(" ")}: ${e.message}\n`
        this.exitStatus = { code: null, signal: null }
        resolve(this.exitStatus)
      })
      this.child.on("close", (code, signal) => {
        this.exitStatus = { code, signal }
        resolve(this.exitStatus)
      })
    })
    this.killer = setTimeout(() => this.signal("SIGKILL"), maxMs)
    this.killer.unref()
  }

  stdout(): string {
    return this.out
  }

  stderr(): string {
    return this.err
  }

  running(): boolean {
    return this.exitStatus === undefined
  }

  private signal(signal: NodeJS.Signals) {
    if (this.child.pid === undefined || !this.running()) return
    try {
      process.kill(-this.child.pid, signal)
    } catch {
      // already gone
    }
  }

  /** `signal`, up to `graceMs`, then SIGKILL. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 3000): Promise<void> {
    if (this.running()) {
      this.signal(signal)
      const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref())
      if ((await Promise.race([this.exited, timer])) === "timeout") {
        this.signal("SIGKILL")
        await this.exited
      }
    }
    clearTimeout(this.killer)
  }

  describe(): string {
    return `$ ip netns exec ${this.ns} ${this.argv.join(" ")}\n--- stdout\n${this.out.slice(-4000)}\n--- stderr\n${this.err.slice(-4000)}`
  }
}

// ---------------------------------------------------------------------------
// Captures: tcpdump writes, we decode the pcap ourselves

/** One captured Ethernet frame, decoded as far as IPv6/ICMPv6. */
export interface Frame {
  /** Seconds since the epoch. */
  readonly time: number
  readonly srcMac: string
  readonly dstMac: string
  readonly ethertype: number
  readonly ip6?: {
    readonly src: string
    readonly dst: string
    readonly hopLimit: number
    /** The upper-layer protocol after any hop-by-hop / destination options headers. */
    readonly upper: number
  }
  readonly icmp6?: {
    readonly type: number
    readonly code: number
    /** NS/NA target. */
    readonly target?: string
    /** NA flags: R, S, O. */
    readonly router?: boolean
    readonly solicited?: boolean
    readonly override?: boolean
    /** The source link-layer address option of an RS, NS or RA, when present. */
    readonly sourceLinkLayer?: string
  }
  readonly bytes: Uint8Array
}

/** ICMPv6 types the tests look for. */
export const Icmp6Type = {
  EchoRequest: 128,
  EchoReply: 129,
  RouterSolicit: 133,
  RouterAdvert: 134,
  NeighborSolicit: 135,
  NeighborAdvert: 136,
  Mldv2Report: 143
} as const

const decodeFrame = (time: number, b: Uint8Array): Frame | undefined => {
  if (b.length < 14) return undefined
  const dstMac = formatMac(b.subarray(0, 6))
  const srcMac = formatMac(b.subarray(6, 12))
  const ethertype = (b[12]! << 8) | b[13]!
  const base = { time, srcMac, dstMac, ethertype, bytes: b }
  if (ethertype !== Ethernet.EtherType.Ipv6 || b.length < 14 + 40) return base
  const ip = 14
  const src = formatIpv6(b, ip + 8)
  const dst = formatIpv6(b, ip + 24)
  const hopLimit = b[ip + 7]!
  let next = b[ip + 6]!
  let o = ip + 40
  // Skip hop-by-hop (0) and destination options (60) headers, bounded.
  for (let i = 0; i < 8 && (next === 0 || next === 60) && o + 2 <= b.length; i++) {
    const len = (b[o + 1]! + 1) * 8
    next = b[o]!
    o += len
  }
  const ip6 = { src, dst, hopLimit, upper: next }
  if (next !== 58 || o + 4 > b.length) return { ...base, ip6 }
  const type = b[o]!
  const code = b[o + 1]!
  if ((type === Icmp6Type.NeighborSolicit || type === Icmp6Type.NeighborAdvert) && o + 24 <= b.length) {
    const flags = b[o + 4]!
    const sourceLinkLayer = type === Icmp6Type.NeighborSolicit ? sourceLinkLayerOption(b, o + 24) : undefined
    return {
      ...base,
      ip6,
      icmp6: {
        type,
        code,
        target: formatIpv6(b, o + 8),
        ...(sourceLinkLayer === undefined ? {} : { sourceLinkLayer }),
        ...(type === Icmp6Type.NeighborAdvert ?
          { router: (flags & 0x80) !== 0, solicited: (flags & 0x40) !== 0, override: (flags & 0x20) !== 0 } :
          {})
      }
    }
  }
  const optionsAt = type === Icmp6Type.RouterSolicit ? 8 : type === Icmp6Type.RouterAdvert ? 16 : undefined
  if (optionsAt !== undefined) {
    const sourceLinkLayer = sourceLinkLayerOption(b, o + optionsAt)
    return { ...base, ip6, icmp6: { type, code, ...(sourceLinkLayer === undefined ? {} : { sourceLinkLayer }) } }
  }
  return { ...base, ip6, icmp6: { type, code } }
}

/** The first source link-layer address option (type 1) in the NDP options from `o` to the end, bounded. */
const sourceLinkLayerOption = (b: Uint8Array, o: number): string | undefined => {
  for (let i = 0; i < 32 && o + 8 <= b.length; i++) {
    const len = b[o + 1]! * 8
    if (len === 0) return undefined
    if (b[o] === 1) return formatMac(b.subarray(o + 2, o + 8))
    o += len
  }
  return undefined
}

/** Decodes a classic pcap file (either byte order, µs or ns stamps); a truncated last record is ignored. */
export const readPcap = (bytes: Uint8Array): Array<Frame> => {
  if (bytes.length < 24) return []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const magicLe = view.getUint32(0, true)
  let little: boolean
  let nano: boolean
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    little = true
    nano = magicLe === 0xa1b23c4d
  } else {
    const magicBe = view.getUint32(0, false)
    if (magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) throw new Error(`not a pcap file (magic ${magicLe.toString(16)})`)
    little = false
    nano = magicBe === 0xa1b23c4d
  }
  const frames: Array<Frame> = []
  let o = 24
  while (o + 16 <= bytes.length) {
    const sec = view.getUint32(o, little)
    const frac = view.getUint32(o + 4, little)
    const incl = view.getUint32(o + 8, little)
    if (o + 16 + incl > bytes.length) break
    const frame = decodeFrame(sec + frac / (nano ? 1e9 : 1e6), bytes.slice(o + 16, o + 16 + incl))
    if (frame !== undefined) frames.push(frame)
    o += 16 + incl
  }
  return frames
}

/** A running tcpdump on one interface of a namespace. */
export interface Capture {
  readonly file: string
  /** The frames captured so far (tcpdump -U flushes per packet). */
  frames(): Array<Frame>
  /** `tcpdump -r FILE -nn -e -v [filter]` of what was captured, for messages. */
  text(filter?: ReadonlyArray<string>): Promise<string>
  /** Stops tcpdump (SIGINT, flushing), then SIGKILL after 3 s. Idempotent. */
  stop(): Promise<void>
}

/**
 * Starts `tcpdump -i IFNAME -w FILE -U` in `ns` and resolves once it listens.
 * Killed after `maxMs` (default 5 min) whatever happens.
 */
export const startCapture = async (
  ns: string,
  ifname: string,
  file: string,
  options: { readonly filter?: ReadonlyArray<string>; readonly maxMs?: number } = {}
): Promise<Capture> => {
  // -Z root: tcpdump would otherwise drop to its own user and fail to write in our temp dir.
  const proc = new Background(
    ns,
    ["tcpdump", "-i", ifname, "-w", file, "-U", "-n", "-Z", "root", ...(options.filter ?? [])],
    options.maxMs ?? 300_000
  )
  const listening = await waitUntil(() => /listening on/.test(proc.stderr()) || !proc.running(), 8000, 50)
  if (!listening || !proc.running()) {
    await proc.stop("SIGKILL")
    throw new Error(`tcpdump did not start listening\n${proc.describe()}`)
  }
  return {
    file,
    frames: () => (fs.existsSync(file) ? readPcap(fs.readFileSync(file)) : []),
    text: async (filter = []) => {
      const result = await run("tcpdump", ["-r", file, "-nn", "-e", "-v", ...filter], { timeout: 10_000 })
      return `${result.stdout}${result.stderr}`
    },
    stop: () => proc.stop("SIGINT", 3000)
  }
}

/** One line per frame, for assertion messages. */
export const describeFrames = (frames: ReadonlyArray<Frame>, max = 60): string =>
  frames
    .slice(-max)
    .map((f) =>
      `${f.time.toFixed(6)} ${f.srcMac} > ${f.dstMac} 0x${f.ethertype.toString(16)}` +
      (f.ip6 ? ` ${f.ip6.src} > ${f.ip6.dst} hlim ${f.ip6.hopLimit} nh ${f.ip6.upper}` : "") +
      (f.icmp6 ? ` icmp6 ${f.icmp6.type}/${f.icmp6.code}${f.icmp6.target ? ` target ${f.icmp6.target}` : ""}` : "")
    )
    .join("\n")

// ---------------------------------------------------------------------------
// Frame injection

// Sends each hex argument as one frame on the interface (AF_PACKET, SOCK_RAW).
const injectScript = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for h in sys.argv[2:]:
    s.send(bytes.fromhex(h))
s.close()
`

/** Writes raw Ethernet frames onto `ifname` in `ns` (towards the DUT). */
export const injectFrames = async (ns: string, ifname: string, frames: ReadonlyArray<Uint8Array>): Promise<void> => {
  await runOk(
    "ip",
    ["netns", "exec", ns, "python3", "-c", injectScript, ifname, ...frames.map((f) => Buffer.from(f).toString("hex"))],
    { timeout: 10_000 }
  )
}

/** A Neighbor Solicitation frame (RFC 4861 §4.3), built with the repo's own wire code. */
export const neighborSolicitFrame = (o: {
  readonly srcMac: string
  /** Default: the multicast MAC of `dst`. */
  readonly dstMac?: string
  /** The IPv6 source (:: for a DAD probe, then no source link-layer option). */
  readonly src: string
  /** Default: the solicited-node group of `target`. */
  readonly dst?: string
  readonly target: string
  /** 255 is the only valid value (RFC 4861 §7.1.1). */
  readonly hopLimit: number
}): Uint8Array => {
  const src = mustParseIpv6(o.src)
  const target = mustParseIpv6(o.target)
  const dst = o.dst === undefined ? solicitedNodeMulticast(target) : mustParseIpv6(o.dst)
  const dstMac = o.dstMac === undefined ? multicastMac(dst) : parseMac(o.dstMac)
  const srcMac = parseMac(o.srcMac)
  const unspecified = src.every((b) => b === 0)
  const repr: Ndp.NdpRepr = {
    _tag: "NeighborSolicit",
    target,
    options: unspecified ? [] : [{ _tag: "SourceLinkLayer", address: srcMac }]
  }
  const ndpLen = Ndp.bufferLen(repr)
  const frame = new Uint8Array(Ethernet.HEADER_LEN + Ip6.HEADER_LEN + ndpLen)
  Ethernet.emitHeader(frame, 0, dstMac, srcMac, Ethernet.EtherType.Ipv6)
  Ip6.emit(
    { src, dst, nextHeader: 58, payloadLength: ndpLen, hopLimit: o.hopLimit, trafficClass: 0, flowLabel: 0 },
    frame,
    Ethernet.HEADER_LEN
  )
  Ndp.emit(repr, src, dst, frame, Ethernet.HEADER_LEN + Ip6.HEADER_LEN)
  return frame
}

// ---------------------------------------------------------------------------
// The client side's IPv6 and radvd

/**
 * Namespaced sysctls (safe: they live and die with `ns`), written through
 * /proc/sys, which shows the writer's own network namespace (no procps needed).
 * Keys are dotted (`net.ipv6.conf.all.forwarding`); interface names in them must not contain dots.
 */
export const sysctl = async (ns: string, settings: Readonly<Record<string, string>>): Promise<void> => {
  for (const [key, value] of Object.entries(settings)) {
    if (!/^net(\.[\w-]+)+$/.test(key)) throw new Error(`unexpected sysctl key ${JSON.stringify(key)}`)
    const file = `/proc/sys/${key.replaceAll(".", "/")}`
    await runOk("ip", ["netns", "exec", ns, "sh", "-c", `echo "$1" > "$2"`, "sh", value, file], { timeout: 5000 })
  }
}

/**
 * Kernel IPv6 on in `ns` and forwarding on (radvd wants a router). Call
 * before the client-side interface exists or before the DUT starts.
 */
export const prepareClientIpv6 = async (ns: string): Promise<void> => {
  await sysctl(ns, {
    "net.ipv6.conf.all.disable_ipv6": "0",
    "net.ipv6.conf.default.disable_ipv6": "0",
    "net.ipv6.conf.all.forwarding": "1"
  })
}

/**
 * A `beforeDut` hook body: makes sure the client-side interface exists and is
 * up with IPv6 on, and starts a capture on it, so that the DUT's first
 * frames (DAD NS, RS) are captured. For isla the TAP is created here (isla
 * attaches to an existing TAP); for linux the DUT's veth end is taken down
 * while the capture starts and brought up again, so the kernel's DAD and RS
 * come after the capture listens.
 */
export const captureFromStart = async (
  env: DutEnvironment,
  file: string,
  options: { readonly hostAddresses?: ReadonlyArray<string> } = {}
): Promise<Capture> => {
  await prepareClientIpv6(env.ns)
  if (env.kind === "isla") {
    await runOk("ip", ["-n", env.ns, "tuntap", "add", "dev", env.hostIfname, "mode", "tap"])
  } else {
    await runOk("ip", ["-n", env.dutNs, "link", "set", env.dutIfname, "down"])
  }
  await sysctl(env.ns, { [`net.ipv6.conf.${env.hostIfname}.disable_ipv6`]: "0" })
  await runOk("ip", ["-n", env.ns, "link", "set", env.hostIfname, "up"])
  for (const cidr of options.hostAddresses ?? []) {
    await runOk("ip", ["-n", env.ns, "addr", "add", cidr, "dev", env.hostIfname, "nodad"])
  }
  const capture = await startCapture(env.ns, env.hostIfname, file)
  if (env.kind === "linux") {
    await runOk("ip", ["-n", env.dutNs, "link", "set", env.dutIfname, "up"])
    // The carrier comes a moment later (linkwatch); the reference services
    // read the interface's MAC through libuv, which skips a link not running.
    const running = await waitUntil(async () => {
      const link = await run("ip", ["-n", env.dutNs, "link", "show", env.dutIfname])
      return /state UP/.test(link.stdout)
    }, 5000, 50)
    if (!running) {
      await capture.stop()
      throw new Error(`${env.dutIfname} in ${env.dutNs} did not come up`)
    }
  }
  return capture
}

/**
 * Waits (bounded) until the client side's own link-local address on `ifname`
 * has passed DAD: until then the kernel sources even link-local traffic from
 * another address (e.g. `HOST_GLOBAL`), which a host without a route to it
 * rightly cannot answer.
 */
export const awaitHostLinkLocal = async (ns: string, ifname: string, timeoutMs = 10_000): Promise<void> => {
  let last = ""
  const ready = await waitUntil(async () => {
    const result = await run("ip", ["-n", ns, "-6", "addr", "show", "dev", ifname, "scope", "link"])
    last = result.stdout
    return /inet6 fe80:/.test(last) && !/tentative/.test(last)
  }, timeoutMs, 100)
  if (!ready) throw new Error(`the link-local address of ${ifname} in ${ns} did not pass DAD within ${timeoutMs} ms\n${last}`)
}

/** A running radvd. */
export interface Radvd {
  readonly configFile: string
  running(): boolean
  log(): string
  stop(): Promise<void>
}

/**
 * Starts radvd in `ns` on `ifname` advertising `RA_PREFIX/64` (on-link,
 * autonomous) with RDNSS `HOST_GLOBAL`, every 3-4 s; gives `ifname` the
 * address `HOST_GLOBAL/64` first. Killed after `maxMs` (default 10 min).
 */
export const startRadvd = async (
  ns: string,
  ifname: string,
  dir: string,
  options: { readonly maxMs?: number } = {}
): Promise<Radvd> => {
  await prepareClientIpv6(ns)
  const have = await run("ip", ["-n", ns, "-6", "addr", "show", "dev", ifname])
  if (!have.stdout.includes(`${HOST_GLOBAL}/`)) {
    await runOk("ip", ["-n", ns, "addr", "add", `${HOST_GLOBAL}/${RA_PREFIX_LENGTH}`, "dev", ifname, "nodad"])
  }
  const configFile = path.join(dir, "radvd.conf")
  const pidFile = path.join(dir, "radvd.pid")
  fs.writeFileSync(
    configFile,
    [
      `interface ${ifname} {`,
      "  AdvSendAdvert on;",
      "  MinRtrAdvInterval 3;",
      "  MaxRtrAdvInterval 4;",
      `  prefix ${RA_PREFIX}/${RA_PREFIX_LENGTH} {`,
      "    AdvOnLink on;",
      "    AdvAutonomous on;",
      "    AdvValidLifetime 3600;",
      "    AdvPreferredLifetime 1800;",
      "  };",
      `  RDNSS ${HOST_GLOBAL} {`,
      "    AdvRDNSSLifetime 8;",
      "  };",
      "};",
      ""
    ].join("\n"),
    { mode: 0o644 }
  )
  const proc = new Background(
    ns,
    ["radvd", "--nodaemon", "--config", configFile, "--pidfile", pidFile, "--logmethod", "stderr", "--debug", "1"],
    options.maxMs ?? 600_000
  )
  // radvd writes its pid file once it has read the config and opened its socket.
  const started = await waitUntil(() => fs.existsSync(pidFile) || !proc.running(), 8000, 50)
  if (!started || !proc.running()) {
    await proc.stop("SIGKILL")
    throw new Error(`radvd did not start\n${proc.describe()}\n--- ${configFile}\n${fs.readFileSync(configFile, "utf8")}`)
  }
  return {
    configFile,
    running: () => proc.running(),
    log: () => proc.describe(),
    stop: () => proc.stop("SIGTERM", 3000)
  }
}

// ---------------------------------------------------------------------------
// Clients

/**
 * Sends `payload` from the client namespace to `[host]:port` over udp6 (a
 * link-local `host` takes `%ifname`), resending up to `tries` times, and
 * reports the first reply, socket error or a timeout (harness.ts's `udpExchange`).
 */
export const udp6Exchange = (
  t: TargetHandle,
  host: string,
  port: number,
  payload: Uint8Array,
  options: { readonly perTryMs?: number; readonly tries?: number } = {}
): Promise<UdpOutcome> => udpExchange(t, port, payload, { ...options, host, family: 6 })

/** `ping -6 -c COUNT -i 0.2 -W 2 ADDRESS` in the client namespace. */
export const ping6 = (t: TargetHandle, address: string, count = 3): Promise<ExecResult> =>
  t.exec("ping", ["-6", "-n", "-c", String(count), "-i", "0.2", "-W", "2", address], { timeout: count * 2000 + 10_000 })

// ---------------------------------------------------------------------------
// The linux target's services over IPv6

// reference-services.mjs binds 0.0.0.0 only; these bind [::] with ipv6Only
// beside them: UDP and TCP echo on 7, and an HTTP page on 80.
const ipv6ServicesScript = `
const dgram = require("node:dgram")
const net = require("node:net")
const http = require("node:http")
const page = Buffer.from("<!doctype html>\\n<html lang=\\"en\\"><title>reference</title>\\n<h1>Node http over IPv6 on the kernel stack</h1>\\n</html>\\n")
const udp = dgram.createSocket({ type: "udp6", ipv6Only: true })
udp.on("message", (m, r) => udp.send(m, r.port, r.address))
const conns = new Set()
const echo = net.createServer((c) => { conns.add(c); c.on("close", () => conns.delete(c)); c.on("error", () => c.destroy()); c.pipe(c) })
const web = http.createServer((req, res) => {
  if (req.url === "/" || req.url === "/index.html") {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Length": page.length })
    res.end(page)
  } else {
    res.writeHead(404, { "Content-Length": 0 })
    res.end()
  }
})
let pending = 3
const up = () => { if (--pending === 0) process.stdout.write("ready\\n") }
udp.bind({ port: 7, address: "::", ipv6Only: true }, up)
echo.listen({ port: 7, host: "::", ipv6Only: true }, up)
web.listen({ port: 80, host: "::", ipv6Only: true }, up)
const stop = () => { udp.close(); for (const c of conns) c.destroy(); echo.close(); web.close(); setTimeout(() => process.exit(0), 50).unref() }
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
`

/** Echo (UDP+TCP 7) and HTTP (80) on [::] in the linux DUT's namespace; resolves when bound. */
export const startLinuxIpv6Services = async (t: TargetHandle, maxMs = 600_000): Promise<{ stop(): Promise<void> }> => {
  const proc = new Background(t.dutNs, [process.execPath, "-e", ipv6ServicesScript], maxMs)
  const ready = await waitUntil(() => proc.stdout().includes("ready") || !proc.running(), 10_000, 50)
  if (!ready || !proc.running()) {
    await proc.stop("SIGKILL")
    throw new Error(`the IPv6 reference services did not start\n${proc.describe()}`)
  }
  return { stop: () => proc.stop("SIGTERM", 3000) }
}
