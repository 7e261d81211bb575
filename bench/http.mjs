#!/usr/bin/env node
/**
 * HTTP benchmark (SPEC §6, "HTTP keep-alive" and "HTTP new connection per
 * request"): `isla up --http DIR` against Node's own `http` server on the
 * kernel stack, both serving the same small static file, measured from the
 * client side with the same tools.
 *
 * - isla: `isla up` on a TAP in namespace `isla-b<pid>-isla`, with `--host-ip`
 *   so the kernel end of the TAP (the client) is in the same namespace.
 * - baseline: test/tap/reference-services.mjs (Node `http` on the kernel
 *   stack, same static-file rules) in namespace `isla-b<pid>-dut`, behind a
 *   veth pair whose other end (the client) is in namespace `isla-b<pid>-base`.
 *
 * Per run: `ab -n N -c 100` (a new connection per request; ab's own
 * percentiles) and `wrk -t 2 -c 100 -d S --latency` (keep-alive), the runs
 * alternating between the two targets (both up all along). For each:
 * req/s, p50/p99 latency, failed / non-2xx / socket errors, the DUT
 * process's CPU time (utime+stime from /proc) and RSS. Medians over --runs.
 * Prints a table with isla/baseline ratios, writes bench/results/http.json
 * and appends to bench/results/http.md with the date, command and machine.
 *
 * Usage (root): node bench/http.mjs [--runs 3] [--ab-requests 20000] [--wrk-seconds 10]
 *                 [--size 100] [--poll adaptive|spin] [--targets isla,baseline] [--cli dist/isla.mjs]
 * Needs a built CLI (`npm run build`), ab (apache2-utils), wrk, ip.
 * Everything runs in namespaces named `isla-b<pid>-*`, removed on every exit
 * path (SPEC §7); addresses are 10.77.x.x inside them only.
 */
import * as fs from "node:fs"
import * as os from "node:os"
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

const tag = "http"
const concurrency = 100
initBench(tag)

// ---------------------------------------------------------------------------
// Options

const { argv, option, usage } = parseOptions(
  ["--runs", "--ab-requests", "--wrk-seconds", "--size", "--poll", "--targets", "--cli"],
  "node bench/http.mjs [--runs 3] [--ab-requests 20000] [--wrk-seconds 10] [--size 100] [--poll adaptive|spin] [--targets isla,baseline] [--cli PATH]"
)
const runs = Number(option("--runs", "3"))
const abRequests = Number(option("--ab-requests", "20000"))
const wrkSeconds = Number(option("--wrk-seconds", "10"))
const fileSize = Number(option("--size", "100"))
const poll = option("--poll", "adaptive")
const targets = option("--targets", "isla,baseline").split(",").filter((t) => t !== "")
const cliPath = path.resolve(option("--cli", path.join(repoRoot, "dist", "isla.mjs")))
if (!(Number.isInteger(runs) && runs >= 1 && runs <= 10)) usage("--runs must be an integer in [1, 10]")
if (!(Number.isInteger(abRequests) && abRequests >= concurrency && abRequests <= 1_000_000)) usage(`--ab-requests must be an integer in [${concurrency}, 1000000]`)
if (!(Number.isInteger(wrkSeconds) && wrkSeconds >= 1 && wrkSeconds <= 120)) usage("--wrk-seconds must be an integer in [1, 120]")
if (!(Number.isInteger(fileSize) && fileSize >= 1 && fileSize <= 16 * 1024 * 1024)) usage("--size must be an integer number of bytes in [1, 16M]")
if (poll !== "adaptive" && poll !== "spin") usage("--poll takes adaptive or spin")
if (targets.length === 0 || targets.some((t) => t !== "isla" && t !== "baseline")) usage("--targets takes isla and/or baseline")

/** ab's time limit: a floor of 200 req/s, plus 30 s. */
const abTimeoutMs = Math.round(30_000 + (abRequests / 200) * 1000)
const wrkTimeoutMs = (wrkSeconds + 30) * 1000
/** Once the whole benchmark has run this long, remaining measurements are skipped (and reported as such). */
const budgetMs = 20 * 60_000
/** Client output kept (the tail): ab and wrk reports are short. */
const clientLimits = { stdoutTail: 200_000 }

// ---------------------------------------------------------------------------
// Probes and parsers

/** ab's report: requests, failures, req/s, its percentile table (ms, whole numbers). */
const parseAb = (output) => {
  const num = (re) => {
    const m = re.exec(output)
    return m === null ? null : Number(m[1])
  }
  const failedDetail = /^Failed requests:\s+\d+\s*\n\s+\(([^)]*)\)/m.exec(output)?.[1] ?? null
  return {
    complete: num(/^Complete requests:\s+(\d+)/m),
    failed: num(/^Failed requests:\s+(\d+)/m),
    failedDetail,
    // Printed only when there are any.
    non2xx: num(/^Non-2xx responses:\s+(\d+)/m) ?? 0,
    rps: num(/^Requests per second:\s+([\d.]+)/m),
    meanMs: num(/^Time per request:\s+([\d.]+) \[ms\] \(mean\)$/m),
    p50Ms: num(/^\s+50%\s+(\d+)/m),
    p90Ms: num(/^\s+90%\s+(\d+)/m),
    p99Ms: num(/^\s+99%\s+(\d+)/m),
    maxMs: num(/^\s+100%\s+(\d+)/m)
  }
}

/** "1.23ms", "870.00us", "1.02s" → ms. */
const wrkDuration = (text) => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? "")
  if (m === null) return null
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]]
}

/** wrk --latency's report. */
const parseWrk = (output) => {
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  const pct = (p) => wrkDuration(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(output)?.[1])
  return {
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? NaN),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? NaN),
    socketErrors: socketErrors === null ? { connect: 0, read: 0, write: 0, timeout: 0 } : {
      connect: Number(socketErrors[1]),
      read: Number(socketErrors[2]),
      write: Number(socketErrors[3]),
      timeout: Number(socketErrors[4])
    },
    non2xx3xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    p50Ms: pct(50),
    p75Ms: pct(75),
    p90Ms: pct(90),
    p99Ms: pct(99),
    meanMs: wrkDuration(/^\s+Latency\s+(\S+)/m.exec(output)?.[1])
  }
}

// ---------------------------------------------------------------------------
// Measurements (the client runs in its namespace)

const clientCommand = (kind, dutIp) =>
  kind === "ab"
    ? ["ab", "-q", "-n", String(abRequests), "-c", String(concurrency), "-s", "30", `http://${dutIp}/index.html`]
    : ["wrk", "-t", "2", "-c", String(concurrency), "-d", String(wrkSeconds), "--latency", `http://${dutIp}/index.html`]

const measure = async (target, kind, ctx) => {
  const { clientNs, dutIp, dut } = target
  const record = { kind }
  const skip = skipReason(ctx.startedAt, budgetMs, dut)
  if (skip !== null) {
    record.error = skip
    return record
  }
  const [cmd, ...args] = clientCommand(kind, dutIp)
  record.loadAvg1Before = Number(os.loadavg()[0].toFixed(2))
  const mem0 = procMem(dut.pid)
  const cpu0 = cpuTicks(dut.pid)
  const result = await inNs(clientNs, cmd, args, kind === "ab" ? abTimeoutMs : wrkTimeoutMs, clientLimits)
  const cpu1 = dut.alive() ? cpuTicks(dut.pid) : null
  const mem1 = dut.alive() ? procMem(dut.pid) : null
  if (!dut.alive()) {
    record.dutExited = dutExitedRecord(dut)
  }
  const parsed = kind === "ab" ? parseAb(result.stdout) : parseWrk(result.stdout)
  Object.assign(record, parsed)
  record.wallSeconds = Number((result.ms / 1000).toFixed(3))
  record.dutCpuSeconds = cpu1 === null ? null : Number(((cpu1 - cpu0) / ctx.clkTck).toFixed(2))
  // ab's duration is its own; wrk's is -d. CPU % over the client's wall time.
  if (record.dutCpuSeconds !== null) record.dutCpuPercent = Number(((record.dutCpuSeconds / (result.ms / 1000)) * 100).toFixed(1))
  if (record.dutCpuSeconds !== null && typeof parsed.rps === "number" && parsed.rps > 0) {
    const requests = kind === "ab" ? parsed.complete : parsed.requests
    if (requests > 0) record.dutCpuMicrosPerRequest = Number(((record.dutCpuSeconds / requests) * 1e6).toFixed(1))
  }
  record.rssBeforeKiB = mem0.rssKiB
  record.rssAfterKiB = mem1?.rssKiB ?? null
  record.hwmAfterKiB = mem1?.hwmKiB ?? null
  if (result.timedOut) {
    record.error = `timed out after ${((kind === "ab" ? abTimeoutMs : wrkTimeoutMs) / 1000).toFixed(0)} s`
  } else if (result.code !== 0) {
    record.error = `${cmd} exited ${result.code}: ${(result.stderr.trim() || result.stdout.trim()).slice(-300)}`
  } else if (kind === "ab") {
    if (parsed.complete !== abRequests || parsed.failed !== 0 || parsed.non2xx !== 0) {
      record.error = `ab: complete ${parsed.complete}/${abRequests}, failed ${parsed.failed}${parsed.failedDetail ? ` (${parsed.failedDetail})` : ""}, non-2xx ${parsed.non2xx}`
    }
  } else {
    const e = parsed.socketErrors
    if (e.connect + e.read + e.write + e.timeout > 0 || parsed.non2xx3xx > 0 || !(parsed.requests > 0)) {
      record.error = `wrk: ${parsed.requests} requests, socket errors ${JSON.stringify(e)}, non-2xx/3xx ${parsed.non2xx3xx}`
    }
  }
  if (record.error) record.output = result.stdout.slice(-3000)
  const summary = record.error
    ? `ERROR ${record.error}`
    : `${parsed.rps} req/s, p50 ${parsed.p50Ms} ms, p99 ${parsed.p99Ms} ms, DUT CPU ${record.dutCpuSeconds} s (${record.dutCpuPercent} %)`
  process.stderr.write(`${tag}: [${target.name}] ${kind}: ${summary}\n`)
  return record
}

// ---------------------------------------------------------------------------
// Targets

const setupIsla = async (root) => {
  const ns = await addNamespace(nsName("isla"))
  const dutIp = "10.77.1.2"
  const dut = await startIslaUp(ns, "isla", { cliPath, ip: `${dutIp}/24`, hostIp: "10.77.1.1/24", poll, extra: ["--http", root] })
  return {
    name: "isla",
    description: `isla up --poll ${poll} --http DIR on TAP isla0 (${dutIp}/24); client = kernel side of the TAP (10.77.1.1/24), same namespace ${ns}`,
    clientNs: ns,
    dutIp,
    dut,
    namespaces: [ns]
  }
}

const setupBaseline = async (root) => {
  const { clientNs, dutNs, dutIp } = await addBaselineNetwork()
  const dut = await startDut(dutNs, "baseline", [process.execPath, referenceServices, "--ifname", "veth-d", "--ip", `${dutIp}/24`, "--http", root])
  return {
    name: "baseline",
    description: `test/tap/reference-services.mjs --http DIR (Node http, kernel TCP) in ${dutNs} on veth-d (${dutIp}/24); client in ${clientNs} on veth-c (10.77.2.1/24)`,
    clientNs,
    dutIp,
    dut,
    namespaces: [clientNs, dutNs]
  }
}

/** Sets a target up, checks the file it serves and warms it up (JIT, ARP): not recorded. */
const prepareTarget = async (name, ctx) => {
  process.stderr.write(`${tag}: [${name}] setting up\n`)
  const target = name === "isla" ? await setupIsla(ctx.root) : await setupBaseline(ctx.root)
  target.measured = []
  const check = await inNs(target.clientNs, "curl", ["-sS", "--max-time", "5", `http://${target.dutIp}/index.html`], 10_000)
  if (check.code !== 0 || check.stdout !== ctx.body) throw new Error(`${name}: GET /index.html did not return the file\n${check.stdout.slice(0, 300)}${check.stderr}`)
  const warm = await inNs(target.clientNs, "ab", ["-q", "-k", "-n", "5000", "-c", "20", `http://${target.dutIp}/index.html`], 60_000)
  if (warm.code !== 0) throw new Error(`${name}: warm-up ab failed: ${warm.stderr.trim()}`)
  await sleep(500)
  target.idle = procMem(target.dut.pid)
  return target
}

const summarizeTarget = async (target) => {
  const measured = target.measured
  const summarize = (kind) => {
    const recs = measured.filter((m) => m.kind === kind)
    const ok = recs.filter((m) => !m.error)
    return {
      ok: ok.length,
      failed: recs.length - ok.length,
      errors: recs.filter((m) => m.error).map((m) => `run ${m.run}: ${m.error}`),
      rps: median(ok.map((m) => m.rps)),
      p50Ms: median(ok.map((m) => m.p50Ms)),
      p99Ms: median(ok.map((m) => m.p99Ms)),
      meanMs: median(ok.map((m) => m.meanMs)),
      dutCpuSeconds: median(ok.map((m) => m.dutCpuSeconds)),
      dutCpuPercent: median(ok.map((m) => m.dutCpuPercent)),
      dutCpuMicrosPerRequest: median(ok.map((m) => m.dutCpuMicrosPerRequest)),
      rssAfterKiB: median(recs.map((m) => m.rssAfterKiB)),
      allRps: recs.map((m) => m.rps ?? null)
    }
  }
  const exit = await target.dut.stop()
  return {
    name: target.name,
    description: target.description,
    namespaces: target.namespaces,
    ready: target.dut.ready,
    idleAfterWarmup: target.idle,
    finalHwmKiB: measured.at(-1)?.hwmAfterKiB ?? null,
    summary: { ab: summarize("ab"), wrk: summarize("wrk") },
    runs: measured,
    dutExit: exit
  }
}

const removeTarget = async (target) => {
  await target.dut.stop().catch(() => {})
  for (const ns of target.namespaces) removeNamespace(ns)
}

/**
 * Both targets run side by side (the idle one costs little: isla's adaptive
 * poll loop parks), and the runs alternate between them, so that load from
 * elsewhere on the machine falls on both alike.
 */
const benchAll = async (ctx) => {
  const prepared = []
  try {
    for (const name of targets) prepared.push(await prepareTarget(name, ctx))
    for (let r = 0; r < runs; r++) {
      for (const target of prepared) {
        for (const kind of ["ab", "wrk"]) {
          await sleep(1000)
          const rec = await measure(target, kind, ctx)
          rec.run = r + 1
          target.measured.push(rec)
        }
      }
    }
    const results = []
    for (const target of prepared) results.push(await summarizeTarget(target))
    return results
  } finally {
    for (const target of prepared) await removeTarget(target)
  }
}

// ---------------------------------------------------------------------------
// Main

const main = async () => {
  checkHost(["ip", "ab", "wrk", "curl", "getconf"], " (apt-get install -y apache2-utils wrk curl iproute2)")
  if (targets.includes("isla") && !fs.existsSync(cliPath)) fail(`${cliPath} not found: build the CLI first (npm run build)`)
  const clkTck = await clockTicks()

  // The served file: `fileSize` bytes of HTML.
  const tmp = makeTempDir()
  const root = path.join(tmp, "www")
  fs.mkdirSync(root)
  const head = "<!doctype html><title>bench</title><p>"
  const tail = "</p>\n"
  const body = fileSize >= head.length + tail.length ? head + "x".repeat(fileSize - head.length - tail.length) + tail : "x".repeat(fileSize)
  fs.writeFileSync(path.join(root, "index.html"), body)
  const ctx = { clkTck, root, body, startedAt: Date.now() }

  const command = commandLine("http", argv)
  const date = new Date().toISOString()
  const version = async (cmd, args, re) => {
    const r = await run(cmd, args, 5000)
    return re.exec(r.stdout + r.stderr)?.[1] ?? "unknown"
  }
  const machine = {
    ...(await machineInfo()),
    ab: `ab ${await version("ab", ["-V"], /Version (\S+)/)}`,
    wrk: `wrk ${await version("wrk", ["--version"], /^wrk (\S+)/m)}`
  }
  let results
  try {
    results = await benchAll(ctx)
  } catch (error) {
    fail(error instanceof Error ? error.stack ?? error.message : String(error))
  }
  cleanupSync()
  const elapsedSeconds = Math.round((Date.now() - ctx.startedAt) / 1000)

  // Table
  const isla = results.find((r) => r.name === "isla")?.summary
  const base = results.find((r) => r.name === "baseline")?.summary
  const mib = (kib) => (typeof kib === "number" ? kib / 1024 : null)
  const newConn = `ab -n ${abRequests} -c ${concurrency} (new connection per request)`
  const keepAlive = `wrk -c ${concurrency} -d ${wrkSeconds} (keep-alive)`
  const metrics = [
    [`${newConn}: req/s`, (s) => s?.ab.rps, 0],
    [`${newConn}: p50 ms`, (s) => s?.ab.p50Ms, 0],
    [`${newConn}: p99 ms`, (s) => s?.ab.p99Ms, 0],
    [`${newConn}: DUT CPU %`, (s) => s?.ab.dutCpuPercent, 1],
    [`${newConn}: DUT CPU µs/request`, (s) => s?.ab.dutCpuMicrosPerRequest, 1],
    [`${newConn}: DUT RSS MiB after`, (s) => mib(s?.ab.rssAfterKiB), 1],
    [`${keepAlive}: req/s`, (s) => s?.wrk.rps, 0],
    [`${keepAlive}: p50 ms`, (s) => s?.wrk.p50Ms, 2],
    [`${keepAlive}: p99 ms`, (s) => s?.wrk.p99Ms, 2],
    [`${keepAlive}: DUT CPU %`, (s) => s?.wrk.dutCpuPercent, 1],
    [`${keepAlive}: DUT CPU µs/request`, (s) => s?.wrk.dutCpuMicrosPerRequest, 1],
    [`${keepAlive}: DUT RSS MiB after`, (s) => mib(s?.wrk.rssAfterKiB), 1]
  ]
  const header = ["metric (median)", "isla", "baseline", "isla/baseline"]
  const rows = metrics.map(([label, get, digits]) => [label, fmt(get(isla), digits), fmt(get(base), digits), ratio(get(isla), get(base), 2)])
  const runRows = results.flatMap((r) =>
    ["ab", "wrk"].map((kind) => {
      const s = r.summary[kind]
      const loads = r.runs.filter((m) => m.kind === kind).map((m) => m.loadAvg1Before ?? "-")
      return [`${r.name} ${kind}`, `${s.ok}/${s.ok + s.failed}`, s.allRps.map((x) => (x === null ? "-" : Math.round(x))).join(", "), loads.join(", ")]
    })
  )
  const runHeader = ["target tool", "runs ok", "req/s per run", "1-min load average before each run"]
  process.stdout.write(renderTable(header, rows))
  process.stdout.write(`\n${renderTable(runHeader, runRows)}`)
  const errors = results.flatMap((r) => ["ab", "wrk"].flatMap((k) => r.summary[k].errors.map((e) => `${r.name} ${k} ${e}`)))
  if (errors.length > 0) process.stdout.write(`\nerrors:\n${errors.map((e) => `  ${e}`).join("\n")}\n`)

  // Files
  const json = {
    date,
    command,
    elapsedSeconds,
    options: { runs, abRequests, wrkSeconds, concurrency, fileSize, poll, targets },
    machine,
    tools: { ab: clientCommand("ab", "DUT").join(" "), wrk: clientCommand("wrk", "DUT").join(" ") },
    results
  }
  const markdown = [
    `## ${date}`,
    "",
    `Command: \`${command}\` (as root, from the repository root; ${elapsedSeconds} s)  `,
    `Machine: nproc ${machine.nproc}, ${machine.cpuModel}, Linux ${machine.kernel}, Node ${machine.node}, ${machine.ab}, ${machine.wrk}  `,
    `File: /index.html, ${fileSize} bytes; ${runs} run(s) per target (medians); isla poll mode ${poll}`,
    "",
    ...markdownTable(header, rows),
    "",
    ...markdownTable(runHeader, runRows),
    "",
    "DUT exit (last log lines):",
    "",
    ...dutExitLines(results),
    ...(errors.length > 0 ? ["", "Errors:", "", ...errors.map((e) => `- ${e}`)] : []),
    "",
    ""
  ].join("\n")
  writeResults(
    "http",
    json,
    markdown,
    [
      "# HTTP: `isla up --http` vs Node `http` on the kernel stack",
      "",
      "Written by `bench/http.mjs`. Both targets serve the same small static file (`/index.html`) from disk, read per request.",
      `Clients, the same for both: \`${clientCommand("ab", "DUT").join(" ")}\` (HTTP/1.0, a new connection per request; its own`,
      `percentiles, whole ms) and \`${clientCommand("wrk", "DUT").join(" ")}\` (HTTP/1.1 keep-alive).`,
      "DUT CPU = utime+stime of the DUT process from /proc over the client's run; for the baseline this leaves out most kernel",
      "TCP work (softirq), which is charged to whichever task runs, often the client. isla: TAP in one namespace, client = kernel",
      "end of the TAP. baseline: test/tap/reference-services.mjs behind a veth pair between a client namespace and a DUT namespace.",
      "Both targets are up during the whole run and the runs alternate between them (isla ab, isla wrk, baseline ab, baseline wrk, ...),",
      "so that other load on the machine falls on both alike. The clients, the DUTs and the kernel share the machine's CPUs.",
      "",
      ""
    ].join("\n")
  )
}

main().catch((error) => fail(error?.stack ?? String(error)))
