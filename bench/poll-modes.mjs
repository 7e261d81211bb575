#!/usr/bin/env node
/**
 * Poll-mode benchmark: runs `isla up` in a network namespace of its own, once
 * per poll mode (`--poll adaptive`, `--poll spin`), and measures from the
 * kernel side ICMP echo RTT (`ping -f`, avg/mdev), paced ping latency
 * (p50/p99 of 200 replies at 10 ms intervals) and the stack's CPU use over
 * an idle period. Prints a table, writes bench/results/poll-modes.json and
 * appends to bench/results/poll-modes.md with the date and the command.
 *
 * Usage (root): node bench/poll-modes.mjs [--modes adaptive,spin] [--idle-seconds 10] [--cli dist/cli/main.js]
 * Needs a built CLI (`npm run build`). Everything runs in namespaces named
 * `isla-b<pid>-<mode>`, removed on every exit path (SPEC §7).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  addNamespace,
  checkHost,
  cleanupSync,
  clockTicks,
  commandLine,
  cpuTicks,
  fail,
  fmt,
  inNs,
  initBench,
  markdownTable,
  nsName,
  parseOptions,
  procMem,
  renderTable,
  repoRoot,
  sleep,
  startIslaUp,
  writeResults
} from "./lib.mjs"

const dutIp = "10.77.0.2"
const hostIp = "10.77.0.1"
initBench("poll-modes")

// ---------------------------------------------------------------------------
// Options

const { argv, option, usage } = parseOptions(
  ["--modes", "--idle-seconds", "--cli"],
  "node bench/poll-modes.mjs [--modes adaptive,spin] [--idle-seconds N] [--cli PATH]"
)
const modes = option("--modes", "adaptive,spin").split(",").filter((m) => m !== "")
const idleSeconds = Number(option("--idle-seconds", "10"))
const cliPath = path.resolve(option("--cli", path.join(repoRoot, "dist", "cli", "main.js")))
if (modes.length === 0 || modes.some((m) => m !== "adaptive" && m !== "spin")) usage("--modes takes adaptive and/or spin")
if (!(idleSeconds > 0 && idleSeconds <= 120)) usage("--idle-seconds must be in (0, 120]")

// ---------------------------------------------------------------------------
// Measurements

const parsePing = (output) => {
  const stats = /(\d+) packets transmitted, (\d+) received.*?, ([\d.]+)% packet loss/.exec(output)
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(output)
  return {
    transmitted: stats ? Number(stats[1]) : 0,
    received: stats ? Number(stats[2]) : 0,
    lossPercent: stats ? Number(stats[3]) : 100,
    rtt: rtt ? { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]), mdev: Number(rtt[4]) } : null,
    times: [...output.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]))
  }
}

/** Nearest-rank percentile. */
const percentile = (values, p) => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]
}

// ---------------------------------------------------------------------------
// One mode

const benchMode = async (mode, clkTck) => {
  try {
    const ns = await addNamespace(nsName(mode))
    const dut = await startIslaUp(ns, mode, { cliPath, ip: `${dutIp}/24`, hostIp: `${hostIp}/24`, poll: mode }, { readyTimeoutMs: 15_000, errorLabel: `isla up --poll ${mode}` })

    await sleep(1000) // settle
    const before = cpuTicks(dut.pid)
    await sleep(idleSeconds * 1000)
    const idleCpuSeconds = (cpuTicks(dut.pid) - before) / clkTck
    const idleRssKiB = procMem(dut.pid).rssKiB

    const ping = (pingArgs, timeout) => inNs(ns, "ping", [...pingArgs, dutIp], timeout)
    await ping(["-c", "3", "-i", "0.2", "-W", "1"], 10_000) // warm-up: ARP, JIT
    const floodRun = await ping(["-f", "-c", "10000", "-q", "-w", "60"], 75_000)
    const flood = parsePing(floodRun.stdout)
    const pacedRun = await ping(["-c", "200", "-i", "0.01", "-W", "1"], 30_000)
    const paced = parsePing(pacedRun.stdout)
    if (flood.received === 0 || paced.received === 0) {
      throw new Error(`isla up --poll ${mode} did not answer ping\n${floodRun.stdout}${floodRun.stderr}\n--- stderr\n${dut.state.stderr.trim()}`)
    }

    const exit = await dut.stop()
    return {
      mode,
      flood: {
        transmitted: flood.transmitted,
        received: flood.received,
        lossPercent: flood.lossPercent,
        avgMs: flood.rtt?.avg ?? null,
        mdevMs: flood.rtt?.mdev ?? null,
        minMs: flood.rtt?.min ?? null,
        maxMs: flood.rtt?.max ?? null
      },
      paced: {
        transmitted: paced.transmitted,
        received: paced.received,
        p50Ms: percentile(paced.times, 50),
        p99Ms: percentile(paced.times, 99)
      },
      idle: { seconds: idleSeconds, cpuSeconds: Number(idleCpuSeconds.toFixed(3)), cpuPercent: Number(((idleCpuSeconds / idleSeconds) * 100).toFixed(1)), rssKiB: idleRssKiB },
      exitCode: exit.code
    }
  } finally {
    // Kills the DUT if it still runs and deletes this mode's namespace.
    cleanupSync()
  }
}

// ---------------------------------------------------------------------------
// Main

const main = async () => {
  checkHost(["ip", "ping", "getconf"])
  if (!fs.existsSync(cliPath)) fail(`${cliPath} not found: build the CLI first (npm run build)`)
  const clkTck = await clockTicks()

  const command = commandLine("poll-modes", argv)
  const date = new Date().toISOString()
  const results = []
  for (const mode of modes) {
    process.stderr.write(`poll-modes: [${mode}] starting isla up --poll ${mode}\n`)
    try {
      results.push(await benchMode(mode, clkTck))
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error))
    }
  }

  const header = ["mode", "flood avg ms", "flood mdev ms", "flood loss %", "paced p50 ms", "paced p99 ms", "idle CPU s", "idle CPU %", "idle RSS MiB"]
  const rows = results.map((r) => [
    r.mode,
    fmt(r.flood.avgMs),
    fmt(r.flood.mdevMs),
    fmt(r.flood.lossPercent, 1),
    fmt(r.paced.p50Ms),
    fmt(r.paced.p99Ms),
    fmt(r.idle.cpuSeconds, 2),
    fmt(r.idle.cpuPercent, 1),
    r.idle.rssKiB === null ? "-" : (r.idle.rssKiB / 1024).toFixed(1)
  ])
  process.stdout.write(renderTable(header, rows, { firstLeft: false }))

  const machine = { node: process.version, kernel: os.release(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown" }
  const markdown = [
    `## ${date}`,
    "",
    `Command: \`${command}\` (as root, from the repository root)  `,
    `Machine: ${machine.cpus} × ${machine.cpuModel}, Linux ${machine.kernel}, Node ${machine.node}`,
    "",
    ...markdownTable(header, rows),
    "",
    ""
  ].join("\n")
  writeResults(
    "poll-modes",
    { date, command, idleSeconds, machine, results },
    markdown,
    "# Poll modes: `isla up --poll adaptive` vs `--poll spin`\n\nflood = `ping -f -c 10000 -q`; paced = `ping -c 200 -i 0.01` (per-reply times); idle = CPU (utime+stime) over the idle period after ready + 1 s.\n\n"
  )
}

main().catch((error) => fail(error?.stack ?? String(error)))
