#!/usr/bin/env node
/**
 * Bulk TCP benchmark (SPEC §6, "bulk TCP throughput in and out"): Isla against
 * the kernel stack, measured from the client side with the same tools.
 *
 * - isla: `isla up` on a TAP in namespace `isla-b<pid>-isla`, with `--host-ip`
 *   so the kernel end of the TAP (the client) is in the same namespace.
 * - baseline: test/tap/reference-services.mjs (Node `net` on the kernel stack)
 *   in namespace `isla-b<pid>-dut`, behind a veth pair whose other end (the
 *   client) is in namespace `isla-b<pid>-base`. Offloads stay at their
 *   defaults; they are recorded (with `ethtool -k` when installed).
 *
 * Per run: bulk IN (`head -c N /dev/zero | nc -N DUT 9`, ends when the DUT has
 * read everything and closed), bulk OUT (`nc -d DUT 19 | head -c N >/dev/null`)
 * and echo (`nc -N DUT 7 < random file | sha256sum`, compared with the file's
 * hash). For each transfer: wall time (inside the client shell), Gbit/s, the
 * DUT process CPU time (utime+stime from /proc), its RSS before/after, kernel
 * TCP counter deltas of the client namespace (and of the DUT namespace for the
 * baseline), interface drop deltas and the last `ss -tin` sample of the
 * connection. Medians over --runs. Prints a table, writes
 * bench/results/tcp-bulk.json and appends to bench/results/tcp-bulk.md.
 *
 * Usage (root): node bench/tcp-bulk.mjs [--bytes 1G] [--runs 3] [--poll adaptive|spin]
 *                 [--echo-bytes 100M] [--targets isla,baseline] [--cli dist/cli/main.js]
 * Needs a built CLI (`npm run build`), nc (OpenBSD), head, sha256sum, ss, ip.
 * Everything runs in namespaces named `isla-b<pid>-*`, removed on every exit
 * path (SPEC §7); addresses are 10.77.x.x inside them only.
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  addBaselineNetwork,
  addNamespace,
  checkHost,
  cleanupSync,
  clockTicks,
  commandLine,
  cpuTicks,
  dutExitedRecord,
  dutExitLines,
  fail,
  fmt,
  inNs,
  initBench,
  machineInfo,
  makeTempDir,
  markdownTable,
  median,
  nsName,
  onPath,
  parseOptions,
  procMem,
  ratio,
  referenceServices,
  removeNamespace,
  renderTable,
  repoRoot,
  run,
  skipReason,
  sleep,
  startDut,
  startIslaUp,
  writeResults
} from "./lib.mjs"

const tag = "tcp-bulk"
initBench(tag)

// ---------------------------------------------------------------------------
// Options

const { argv, option, usage } = parseOptions(
  ["--bytes", "--runs", "--poll", "--echo-bytes", "--targets", "--cli"],
  "node bench/tcp-bulk.mjs [--bytes 1G] [--runs 3] [--poll adaptive|spin] [--echo-bytes 100M] [--targets isla,baseline] [--cli PATH]"
)
/** "1G", "512M", "64K", "1000" → bytes (binary suffixes, like head -c). */
const parseSize = (name, text) => {
  const m = /^(\d+(?:\.\d+)?)([KMG]i?B?)?$/i.exec(text)
  if (!m) usage(`${name}: expected a size like 1G, 512M or 1000000, got "${text}"`)
  const unit = (m[2] ?? "").charAt(0).toUpperCase()
  const bytes = Math.round(Number(m[1]) * ({ "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 })[unit])
  if (!(bytes >= 1024 && bytes <= 64 * 1024 ** 3)) usage(`${name}: must be between 1K and 64G`)
  return bytes
}
const bytes = parseSize("--bytes", option("--bytes", "1G"))
const echoBytes = parseSize("--echo-bytes", option("--echo-bytes", "100M"))
const runs = Number(option("--runs", "3"))
const poll = option("--poll", "adaptive")
const targets = option("--targets", "isla,baseline").split(",").filter((t) => t !== "")
const cliPath = path.resolve(option("--cli", path.join(repoRoot, "dist", "cli", "main.js")))
if (!(Number.isInteger(runs) && runs >= 1 && runs <= 20)) usage("--runs must be an integer in [1, 20]")
if (poll !== "adaptive" && poll !== "spin") usage("--poll takes adaptive or spin")
if (targets.length === 0 || targets.some((t) => t !== "isla" && t !== "baseline")) usage("--targets takes isla and/or baseline")

/** Per-transfer time limit: generous (a floor of 25 MB/s) plus 30 s. */
const transferTimeoutMs = (n) => Math.round(30_000 + (n / 25e6) * 1000)
/** Once the whole benchmark has run this long, remaining transfers are skipped (and reported as such). */
const budgetMs = 20 * 60_000

// ---------------------------------------------------------------------------
// Probes

/** Kernel SNMP counters of a namespace (Ip/Tcp from /proc/net/snmp, TcpExt/IpExt from /proc/net/netstat). */
const snmp = async (ns) => {
  const out = await inNs(ns, "cat", ["/proc/net/snmp", "/proc/net/netstat"], 5000)
  const counters = {}
  const lines = out.stdout.split("\n")
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = lines[i].split(/\s+/)
    const values = lines[i + 1].split(/\s+/)
    const prefix = head[0].replace(/:$/, "")
    if (!["Ip", "Tcp", "TcpExt", "IpExt"].includes(prefix)) continue
    for (let k = 1; k < head.length; k++) counters[`${prefix}${head[k]}`] = Number(values[k])
  }
  return counters
}
const counterDelta = (before, after) => {
  const delta = {}
  for (const [key, value] of Object.entries(after)) {
    if (key === "TcpCurrEstab" || key === "TcpMaxConn") continue
    const d = value - (before[key] ?? 0)
    if (d !== 0) delta[key] = d
  }
  return delta
}
/** The interesting subset for the table: segments retransmitted and signs of loss. */
const retransOf = (delta) => ({
  retransSegs: delta.TcpRetransSegs ?? 0,
  fastRetrans: delta.TcpExtTCPFastRetrans ?? 0,
  timeouts: delta.TcpExtTCPTimeouts ?? 0,
  lossProbes: delta.TcpExtTCPLossProbes ?? 0,
  ofoQueued: delta.TcpExtTCPOFOQueue ?? 0,
  dsackSent: (delta.TcpExtTCPDSACKOldSent ?? 0) + (delta.TcpExtTCPDSACKOfoSent ?? 0)
})

const linkStats = async (ns, dev) => {
  const out = await inNs(ns, "ip", ["-s", "-j", "link", "show", "dev", dev], 5000)
  try {
    const s = JSON.parse(out.stdout)[0].stats64
    return { rxPackets: s.rx.packets, rxDropped: s.rx.dropped, txPackets: s.tx.packets, txDropped: s.tx.dropped, rxErrors: s.rx.errors, txErrors: s.tx.errors }
  } catch {
    return null
  }
}
const linkDelta = (a, b) => (a && b ? Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - a[k]])) : null)

/** Samples `ss -tin` for connections to dst:port every second; keeps the last non-empty sample. */
const ssSampler = (ns, dst, port) => {
  let last = null
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const out = await inNs(ns, "ss", ["-tinH", "state", "established", "dst", `${dst}:${port}`], 3000)
      const text = out.stdout.trim()
      if (text !== "") last = text.replace(/\s+/g, " ")
      for (let i = 0; i < 10 && !stopped; i++) await sleep(100)
    }
  })()
  return async () => {
    stopped = true
    await loop
    return last
  }
}
const parseSs = (text) => {
  if (!text) return null
  const pick = (re) => {
    const m = re.exec(text)
    return m ? m[1] : null
  }
  return {
    retrans: pick(/\bretrans:(\d+\/\d+)/),
    lost: pick(/\blost:(\d+)/),
    rtt: pick(/\brtt:([\d./]+)/),
    cwnd: pick(/\bcwnd:(\d+)/),
    ssthresh: pick(/\bssthresh:(\d+)/),
    sndWscale: pick(/\bwscale:(\d+),\d+/),
    mss: pick(/\bmss:(\d+)/),
    deliveryRate: pick(/\bdelivery_rate ([\d.]+\w*bps)/),
    rcvSpace: pick(/\brcv_space:(\d+)/),
    reordering: pick(/\breordering:(\d+)/),
    reordSeen: pick(/\breord_seen:(\d+)/),
    rcvOooPack: pick(/\brcv_ooopack:(\d+)/),
    busy: pick(/\bbusy:(\d+ms)/),
    rwndLimited: pick(/\brwnd_limited:(\S+)/),
    sndbufLimited: pick(/\bsndbuf_limited:(\S+)/)
  }
}

// ---------------------------------------------------------------------------
// Transfers (run by the client in its namespace; timed inside the shell)

const shellFor = (kind, dst, n, echoFile) => {
  const timed = (body) => `s=$(date +%s%N); ${body}; e=$(date +%s%N); echo "T $s $e $rc"`
  switch (kind) {
    case "in":
      return timed(`head -c ${n} /dev/zero | nc -N ${dst} 9; rc=$?`)
    case "out":
      return timed(`nc -d ${dst} 19 | head -c ${n} > /dev/null; rc=$?`)
    case "echo":
      return timed(`h=$(nc -N ${dst} 7 < '${echoFile}' | sha256sum); rc=$?; echo "H $h"`)
  }
}

const transfer = async (target, kind, n, ctx) => {
  const { clientNs, dutIp, dut, dutNs, clientDev } = target
  const port = { in: 9, out: 19, echo: 7 }[kind]
  const record = { kind, bytes: n }
  const skip = skipReason(ctx.startedAt, budgetMs, dut)
  if (skip !== null) {
    record.error = skip
    return record
  }
  const snmpClient0 = await snmp(clientNs)
  const snmpDut0 = dutNs ? await snmp(dutNs) : null
  const link0 = await linkStats(clientNs, clientDev)
  const mem0 = procMem(dut.pid)
  const cpu0 = cpuTicks(dut.pid)
  const stopSs = ssSampler(clientNs, dutIp, port)
  const timeout = transferTimeoutMs(n)
  const result = await inNs(clientNs, "sh", ["-c", shellFor(kind, dutIp, n, ctx.echoFile)], timeout)
  const cpu1 = dut.alive() ? cpuTicks(dut.pid) : null
  const mem1 = dut.alive() ? procMem(dut.pid) : null
  const ssLast = await stopSs()
  const link1 = await linkStats(clientNs, clientDev)
  const snmpClient1 = await snmp(clientNs)
  const snmpDut1 = dutNs ? await snmp(dutNs) : null

  const t = /^T (\d+) (\d+) (\d+)$/m.exec(result.stdout)
  if (!dut.alive()) {
    record.dutExited = dutExitedRecord(dut)
    process.stderr.write(`${tag}: [${target.name}] the DUT process exited during ${kind}: ${JSON.stringify(record.dutExited)}\n`)
  }
  const clientDelta = counterDelta(snmpClient0, snmpClient1)
  record.clientCounters = clientDelta
  if (snmpDut0) record.dutCounters = counterDelta(snmpDut0, snmpDut1)
  record.clientRetrans = retransOf(clientDelta)
  if (record.dutCounters) record.dutRetrans = retransOf(record.dutCounters)
  record.clientLink = linkDelta(link0, link1)
  record.ss = ssLast
  record.ssParsed = parseSs(ssLast)
  record.dutCpuSeconds = cpu1 === null ? null : Number(((cpu1 - cpu0) / ctx.clkTck).toFixed(2))
  record.rssBeforeKiB = mem0.rssKiB
  record.rssAfterKiB = mem1?.rssKiB ?? null
  record.hwmAfterKiB = mem1?.hwmKiB ?? null
  if (result.timedOut) {
    record.error = `timed out after ${(timeout / 1000).toFixed(0)} s (stall?)`
  } else if (!t) {
    record.error = `client produced no timing (exit ${result.code}): ${result.stderr.trim().slice(-300)}`
  } else {
    const seconds = (Number(BigInt(t[2]) - BigInt(t[1])) / 1e9)
    record.seconds = Number(seconds.toFixed(4))
    record.gbps = Number(((n * 8) / seconds / 1e9).toFixed(3))
    if (record.dutCpuSeconds !== null) record.dutCpuPercent = Number(((record.dutCpuSeconds / seconds) * 100).toFixed(1))
    const rc = Number(t[3])
    if (kind === "in") {
      const sent = clientDelta.IpExtOutOctets ?? 0
      if (rc !== 0) record.error = `nc exited ${rc}: ${result.stderr.trim().slice(-300)}`
      else if (sent < n) record.error = `client sent only ${sent} IP bytes for ${n} payload bytes`
    } else if (kind === "out") {
      const received = clientDelta.IpExtInOctets ?? 0
      if (rc !== 0) record.error = `pipeline exited ${rc}: ${result.stderr.trim().slice(-300)}`
      else if (received < n) record.error = `client received only ${received} IP bytes (short read: the DUT closed early?)`
    } else {
      const h = /^H ([0-9a-f]{64})/m.exec(result.stdout)
      record.sha256Match = h !== null && h[1] === ctx.echoHash
      if (!record.sha256Match) record.error = `echoed data differs (sha256 ${h ? h[1] : "none"} ≠ ${ctx.echoHash}; nc exit ${rc}) ${result.stderr.trim().slice(-300)}`
    }
  }
  const summary = record.error
    ? `ERROR ${record.error}`
    : `${record.seconds.toFixed(3)} s, ${record.gbps.toFixed(3)} Gbit/s, DUT CPU ${record.dutCpuSeconds} s, client retrans ${record.clientRetrans.retransSegs}, ss retrans ${record.ssParsed?.retrans ?? "-"}`
  process.stderr.write(`${tag}: [${target.name}] ${kind} ${n} B: ${summary}\n`)
  return record
}

// ---------------------------------------------------------------------------
// Targets

const linkInfo = async (ns, dev) => {
  const info = { dev }
  const out = await inNs(ns, "ip", ["-d", "-j", "link", "show", "dev", dev], 5000)
  try {
    const l = JSON.parse(out.stdout)[0]
    Object.assign(info, {
      mtu: l.mtu,
      qlen: l.txqlen,
      kind: l.linkinfo?.info_kind ?? null,
      numTxQueues: l.num_tx_queues,
      numRxQueues: l.num_rx_queues,
      gsoMaxSize: l.gso_max_size,
      gsoMaxSegs: l.gso_max_segs,
      tsoMaxSize: l.tso_max_size,
      tsoMaxSegs: l.tso_max_segs,
      groMaxSize: l.gro_max_size
    })
  } catch {}
  if (ctxGlobal.ethtool) {
    const k = await inNs(ns, "ethtool", ["-k", dev], 5000)
    info.ethtoolK = k.code === 0
      ? Object.fromEntries(
        k.stdout.split("\n").map((line) => /^\s*([\w-]+): (on|off)( \[fixed\])?/.exec(line)).filter((m) => m).map((m) => [m[1], m[2] + (m[3] ? " [fixed]" : "")])
      )
      : `ethtool -k failed: ${k.stderr.trim()}`
  } else {
    info.ethtoolK = "ethtool not installed: offload flags not recorded (left at defaults); gso/gro/tso sizes above are from ip -d link"
  }
  return info
}
const ctxGlobal = { ethtool: false }

const tcpSysctls = async (ns) => {
  const keys = ["net.ipv4.tcp_congestion_control", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_sack", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_window_scaling", "net.core.default_qdisc"]
  const out = await inNs(ns, "sysctl", keys, 5000)
  return Object.fromEntries(out.stdout.trim().split("\n").map((l) => l.split(" = ")).filter((p) => p.length === 2))
}

const setupIsla = async () => {
  const ns = await addNamespace(nsName("isla"))
  const dutIp = "10.77.1.2"
  const dut = await startIslaUp(ns, "isla", { cliPath, ip: `${dutIp}/24`, hostIp: "10.77.1.1/24", poll })
  return {
    name: "isla",
    description: `isla up --poll ${poll} on TAP isla0 (${dutIp}/24); client = kernel side of the TAP (10.77.1.1/24), same namespace ${ns}`,
    clientNs: ns,
    dutNs: null,
    dutIp,
    clientDev: "isla0",
    dut,
    namespaces: [ns],
    links: [await linkInfo(ns, "isla0")],
    sysctls: await tcpSysctls(ns)
  }
}

const setupBaseline = async () => {
  const { clientNs, dutNs, dutIp } = await addBaselineNetwork()
  const dut = await startDut(dutNs, "baseline", [process.execPath, referenceServices, "--ifname", "veth-d", "--ip", `${dutIp}/24`])
  return {
    name: "baseline",
    description: `test/tap/reference-services.mjs (Node net, kernel TCP) in ${dutNs} on veth-d (${dutIp}/24); client in ${clientNs} on veth-c (10.77.2.1/24)`,
    clientNs,
    dutNs,
    dutIp,
    clientDev: "veth-c",
    dut,
    namespaces: [clientNs, dutNs],
    links: [await linkInfo(clientNs, "veth-c"), await linkInfo(dutNs, "veth-d")],
    sysctls: await tcpSysctls(clientNs)
  }
}

const benchTarget = async (name, ctx) => {
  process.stderr.write(`${tag}: [${name}] setting up\n`)
  const target = name === "isla" ? await setupIsla() : await setupBaseline()
  try {
    // Reachability, ARP and JIT warm-up; not recorded in the medians.
    const ping = await inNs(target.clientNs, "ping", ["-c", "3", "-i", "0.2", "-W", "1", target.dutIp], 10_000)
    if (!/ [1-9]\d* received/.test(ping.stdout)) throw new Error(`${name}: DUT does not answer ping\n${ping.stdout}${ping.stderr}`)
    const warmup = []
    const warmBytes = Math.min(bytes, 64 * 1024 ** 2)
    for (const kind of ["in", "out"]) warmup.push(await transfer(target, kind, warmBytes, ctx))
    warmup.push(await transfer(target, "echo", echoBytes, ctx))
    const idle = procMem(target.dut.pid)

    const measured = []
    for (let r = 0; r < runs; r++) {
      for (const kind of ["in", "out", "echo"]) {
        const rec = await transfer(target, kind, kind === "echo" ? echoBytes : bytes, ctx)
        rec.run = r + 1
        measured.push(rec)
      }
    }
    const summarize = (kind) => {
      const recs = measured.filter((m) => m.kind === kind)
      const ok = recs.filter((m) => !m.error)
      return {
        bytes: kind === "echo" ? echoBytes : bytes,
        ok: ok.length,
        failed: recs.length - ok.length,
        errors: recs.filter((m) => m.error).map((m) => `run ${m.run}: ${m.error}`),
        seconds: median(ok.map((m) => m.seconds)),
        gbps: median(ok.map((m) => m.gbps)),
        dutCpuSeconds: median(ok.map((m) => m.dutCpuSeconds)),
        dutCpuPercent: median(ok.map((m) => m.dutCpuPercent)),
        rssAfterKiB: median(recs.map((m) => m.rssAfterKiB)),
        maxRssKiB: Math.max(...recs.map((m) => m.rssAfterKiB ?? 0), ...recs.map((m) => m.rssBeforeKiB ?? 0)),
        clientRetransSegs: recs.map((m) => m.clientRetrans?.retransSegs ?? null),
        dutRetransSegs: recs.map((m) => m.dutRetrans?.retransSegs ?? null),
        ssRetrans: recs.map((m) => m.ssParsed?.retrans ?? null),
        clientOfo: recs.map((m) => m.clientRetrans?.ofoQueued ?? null),
        clientDsack: recs.map((m) => m.clientRetrans?.dsackSent ?? null),
        clientTxDropped: recs.map((m) => m.clientLink?.txDropped ?? null)
      }
    }
    const exit = await target.dut.stop()
    return {
      name,
      description: target.description,
      namespaces: target.namespaces,
      ready: target.dut.ready,
      links: target.links,
      sysctls: target.sysctls,
      idleAfterWarmup: idle,
      finalHwmKiB: measured.at(-1)?.hwmAfterKiB ?? null,
      summary: { in: summarize("in"), out: summarize("out"), echo: summarize("echo") },
      warmup,
      runs: measured,
      dutExit: exit
    }
  } finally {
    await target.dut.stop().catch(() => {})
    for (const ns of target.namespaces) removeNamespace(ns)
  }
}

// ---------------------------------------------------------------------------
// Main

const main = async () => {
  checkHost(["ip", "ping", "nc", "head", "sha256sum", "ss", "sh", "date", "getconf", "sysctl"])
  const ncHelp = await run("nc", ["-h"], 5000)
  if (!/OpenBSD netcat/.test(ncHelp.stdout + ncHelp.stderr)) fail("nc is not OpenBSD netcat (needs -N and -d): apt-get install netcat-openbsd")
  if (targets.includes("isla") && !fs.existsSync(cliPath)) fail(`${cliPath} not found: build the CLI first (npm run build)`)
  ctxGlobal.ethtool = onPath("ethtool")
  const clkTck = await clockTicks()

  const tmp = makeTempDir()
  const echoFile = path.join(tmp, "echo.bin")
  const echoHash = (() => {
    const fd = fs.openSync(echoFile, "w")
    const hash = crypto.createHash("sha256")
    for (let left = echoBytes; left > 0;) {
      const chunk = crypto.randomBytes(Math.min(left, 1 << 20))
      fs.writeSync(fd, chunk)
      hash.update(chunk)
      left -= chunk.length
    }
    fs.closeSync(fd)
    return hash.digest("hex")
  })()
  const ctx = { clkTck, echoFile, echoHash, startedAt: Date.now() }

  const command = commandLine("tcp-bulk", argv)
  const date = new Date().toISOString()
  const machine = {
    ...(await machineInfo()),
    ethtool: ctxGlobal.ethtool ? "installed" : "not installed"
  }
  const results = []
  for (const name of targets) {
    try {
      results.push(await benchTarget(name, ctx))
    } catch (error) {
      fail(error instanceof Error ? error.stack ?? error.message : String(error))
    }
  }
  cleanupSync()
  const elapsedSeconds = Math.round((Date.now() - ctx.startedAt) / 1000)

  // Table
  const isla = results.find((r) => r.name === "isla")?.summary
  const base = results.find((r) => r.name === "baseline")?.summary
  const mib = (kib) => (typeof kib === "number" ? kib / 1024 : null)
  const size = (n) => (n % 1024 ** 3 === 0 ? `${n / 1024 ** 3} GiB` : n % 1024 ** 2 === 0 ? `${n / 1024 ** 2} MiB` : `${n} B`)
  const metrics = [
    [`bulk in (discard :9, ${size(bytes)}) Gbit/s`, (s) => s?.in.gbps, 3],
    [`bulk out (source :19, ${size(bytes)}) Gbit/s`, (s) => s?.out.gbps, 3],
    [`echo (:7, ${size(echoBytes)}) s`, (s) => s?.echo.seconds, 3],
    ["echo Gbit/s (each way)", (s) => s?.echo.gbps, 3],
    ["DUT CPU s, bulk in", (s) => s?.in.dutCpuSeconds, 2],
    ["DUT CPU s, bulk out", (s) => s?.out.dutCpuSeconds, 2],
    ["DUT CPU s, echo", (s) => s?.echo.dutCpuSeconds, 2],
    ["DUT CPU %, bulk in", (s) => s?.in.dutCpuPercent, 1],
    ["DUT CPU %, bulk out", (s) => s?.out.dutCpuPercent, 1],
    ["DUT RSS MiB after bulk in", (s) => mib(s?.in.rssAfterKiB), 1],
    ["DUT RSS MiB after bulk out", (s) => mib(s?.out.rssAfterKiB), 1],
    ["DUT RSS MiB after echo", (s) => mib(s?.echo.rssAfterKiB), 1]
  ]
  const header = ["metric (median)", "isla", "baseline", "isla/baseline"]
  const rows = metrics.map(([label, get, digits]) => [label, fmt(get(isla), digits), fmt(get(base), digits), ratio(get(isla), get(base), 3)])
  const retransRows = results.flatMap((r) =>
    ["in", "out", "echo"].map((kind) => {
      const s = r.summary[kind]
      return [
        `${r.name} ${kind}`,
        `${s.ok}/${s.ok + s.failed}`,
        s.clientRetransSegs.join(","),
        r.name === "baseline" ? s.dutRetransSegs.join(",") : "n/a",
        s.ssRetrans.map((x) => x ?? "-").join(","),
        s.clientOfo.map((x) => x ?? "-").join(","),
        s.clientDsack.map((x) => x ?? "-").join(","),
        s.clientTxDropped.map((x) => x ?? "-").join(",")
      ]
    })
  )
  const retransHeader = ["target transfer", "ok", "client RetransSegs", "DUT-ns RetransSegs", "ss retrans (last sample)", "client OFO queued", "client DSACK sent", "client dev tx dropped"]
  process.stdout.write(renderTable(header, rows))
  process.stdout.write(`\n${renderTable(retransHeader, retransRows)}`)
  const errors = results.flatMap((r) => ["in", "out", "echo"].flatMap((k) => r.summary[k].errors.map((e) => `${r.name} ${k} ${e}`)))
  if (errors.length > 0) process.stdout.write(`\nerrors:\n${errors.map((e) => `  ${e}`).join("\n")}\n`)

  // Files
  const json = { date, command, elapsedSeconds, options: { bytes, runs, poll, echoBytes, targets }, machine, tools: { in: shellFor("in", "DUT", bytes), out: shellFor("out", "DUT", bytes), echo: shellFor("echo", "DUT", echoBytes, "FILE") }, results }
  const offloads = results.flatMap((r) =>
    r.links.map((l) => `- ${r.name} ${l.dev} (${l.kind ?? "?"}): mtu ${l.mtu}, qlen ${l.qlen}, gso_max_size ${l.gsoMaxSize}, tso_max_size ${l.tsoMaxSize}, gro_max_size ${l.groMaxSize}; offloads: ${typeof l.ethtoolK === "string" ? l.ethtoolK : Object.entries(l.ethtoolK).filter(([k]) => /segmentation|receive-offload|checksum|scatter/.test(k)).map(([k, v]) => `${k} ${v}`).join(", ")}`)
  )
  const markdown = [
    `## ${date}`,
    "",
    `Command: \`${command}\` (as root, from the repository root; ${elapsedSeconds} s)  `,
    `Machine: nproc ${machine.nproc}, ${machine.cpuModel}, Linux ${machine.kernel}, Node ${machine.node}  `,
    `Sizes: bulk ${size(bytes)} per transfer, echo ${size(echoBytes)}, ${runs} run(s) per target (medians), poll mode ${poll}`,
    "",
    ...markdownTable(header, rows),
    "",
    "Retransmissions and drops per run (kernel counters of the client namespace; for the baseline also of the DUT namespace; `ss -tin` = last 1 s sample of the client socket):",
    "",
    ...markdownTable(retransHeader, retransRows),
    "",
    "Links and offloads:",
    "",
    ...offloads,
    ...results.map((r) => `- ${r.name} client TCP: ${Object.entries(r.sysctls).map(([k, v]) => `${k.replace(/^net\.(ipv4|core)\./, "")}=${v.replace(/\s+/g, " ")}`).join(", ")}`),
    "",
    "DUT exit (last log lines):",
    "",
    ...dutExitLines(results),
    ...(errors.length > 0 ? ["", "Errors:", "", ...errors.map((e) => `- ${e}`)] : []),
    "",
    ""
  ].join("\n")
  writeResults(
    "tcp-bulk",
    json,
    markdown,
    [
      "# Bulk TCP: `isla up` vs Node `net` on the kernel stack",
      "",
      "Written by `bench/tcp-bulk.mjs`. Client side, same tools for both targets:",
      "bulk in = `head -c N /dev/zero | nc -N DUT 9` (ends when the DUT has read all and closed);",
      "bulk out = `nc -d DUT 19 | head -c N > /dev/null`; echo = `nc -N DUT 7 < random file | sha256sum` (hash checked).",
      "Times are taken inside the client shell (`date +%s%N`). DUT CPU = utime+stime of the DUT process from /proc over the transfer;",
      "for the baseline this leaves out most kernel TCP work (softirq), which is charged to whichever task runs, often the client.",
      "isla: TAP in one namespace, client = kernel end of the TAP. baseline: veth pair between a client namespace and a DUT namespace.",
      "Kernel TCP counters are per namespace: they include connections left over from an earlier timed-out transfer.",
      "",
      ""
    ].join("\n")
  )
}

main().catch((error) => fail(error?.stack ?? String(error)))
