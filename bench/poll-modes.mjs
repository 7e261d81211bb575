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
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("..", import.meta.url))
const resultsDir = path.join(repoRoot, "bench", "results")
const dutIp = "10.77.0.2"
const hostIp = "10.77.0.1"

// ---------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2)
const option = (name, fallback) => {
  const i = argv.indexOf(name)
  if (i < 0) return fallback
  if (i + 1 >= argv.length) usage(`${name} needs a value`)
  return argv[i + 1]
}
function usage(message) {
  process.stderr.write(`poll-modes: ${message}\nusage: node bench/poll-modes.mjs [--modes adaptive,spin] [--idle-seconds N] [--cli PATH]\n`)
  process.exit(2)
}
for (let i = 0; i < argv.length; i += 2) {
  if (!["--modes", "--idle-seconds", "--cli"].includes(argv[i])) usage(`unknown argument ${argv[i]}`)
}
const modes = option("--modes", "adaptive,spin").split(",").filter((m) => m !== "")
const idleSeconds = Number(option("--idle-seconds", "10"))
const cliPath = path.resolve(option("--cli", path.join(repoRoot, "dist", "cli", "main.js")))
if (modes.length === 0 || modes.some((m) => m !== "adaptive" && m !== "spin")) usage("--modes takes adaptive and/or spin")
if (!(idleSeconds > 0 && idleSeconds <= 120)) usage("--idle-seconds must be in (0, 120]")

const fail = (message) => {
  process.stderr.write(`poll-modes: error: ${message}\n`)
  cleanupSync()
  process.exit(1)
}

// ---------------------------------------------------------------------------
// Cleanup on every exit path

const namespaces = new Set()
const processes = new Set()

function cleanupSync() {
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL")
      } catch {}
    }
  }
  processes.clear()
  for (const ns of namespaces) {
    try {
      const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 5000 })
      for (const pid of pids.split(/\s+/).filter((s) => /^\d+$/.test(s))) {
        try {
          process.kill(Number(pid), "SIGKILL")
        } catch {}
      }
    } catch {}
    try {
      execFileSync("ip", ["netns", "del", ns], { timeout: 5000, stdio: "ignore" })
    } catch {}
  }
  namespaces.clear()
}
process.on("exit", cleanupSync)
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    process.stderr.write(`poll-modes: ${signal}: cleaning up\n`)
    cleanupSync()
    process.kill(process.pid, signal)
  })
}

// ---------------------------------------------------------------------------
// Processes

/** Runs a command with a timeout (kills its process group); resolves {code, stdout, stderr, timedOut}. */
const run = (cmd, args, timeout = 10_000) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    child.stdout.setEncoding("utf8").on("data", (t) => (stdout += t))
    child.stderr.setEncoding("utf8").on("data", (t) => (stderr += t))
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {}
    }, timeout)
    child.on("error", (error) => {
      clearTimeout(timer)
      resolve({ code: null, stdout, stderr: `${stderr}${error.message}`, timedOut })
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, timedOut })
    })
  })

const runOk = async (cmd, args, timeout) => {
  const result = await run(cmd, args, timeout)
  if (result.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${result.code}${result.timedOut ? ", timed out" : ""}): ${result.stderr.trim()}`)
  }
  return result
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** A deadline that does not keep the process alive once nothing else waits. */
const deadline = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref())

const onPath = (tool) =>
  `${process.env.PATH ?? ""}:/usr/sbin:/sbin`.split(":").some((dir) => {
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })

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

const cpuTicks = (pid) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return Number(fields[11]) + Number(fields[12]) // utime + stime
}

const rssKiB = (pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  return match ? Number(match[1]) : null
}

// ---------------------------------------------------------------------------
// One mode

const benchMode = async (mode, clkTck) => {
  const ns = `isla-b${process.pid}-${mode}`
  await runOk("ip", ["netns", "add", ns])
  namespaces.add(ns)
  let child
  try {
    await runOk("ip", ["-n", ns, "link", "set", "lo", "up"])
    const args = ["netns", "exec", ns, process.execPath, cliPath, "up", "--tap", "isla0", "--ip", `${dutIp}/24`, "--host-ip", `${hostIp}/24`, "--poll", mode]
    child = spawn("ip", args, { detached: true, stdio: ["ignore", "pipe", "pipe"] })
    processes.add(child)
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (t) => (stdout += t))
    child.stderr.setEncoding("utf8").on("data", (t) => (stderr = (stderr + t).slice(-20_000)))
    const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })))
    const ready = await Promise.race([
      new Promise((resolve) => {
        const check = () => {
          const line = stdout.split("\n").slice(0, -1).find((l) => l.startsWith("ready "))
          if (line) resolve(line)
        }
        child.stdout.on("data", check)
        check()
      }),
      exited.then(({ code, signal }) => ({ exited: `exited (code ${code}, signal ${signal})` })),
      deadline(15_000).then(() => ({ exited: "printed no ready line within 15 s" }))
    ])
    if (typeof ready !== "string") {
      throw new Error(`isla up --poll ${mode} ${ready.exited}\n--- stderr\n${stderr.trim()}`)
    }
    process.stderr.write(`poll-modes: [${mode}] ${ready}\n`)

    await sleep(1000) // settle
    const before = cpuTicks(child.pid)
    await sleep(idleSeconds * 1000)
    const idleCpuSeconds = (cpuTicks(child.pid) - before) / clkTck
    const idleRssKiB = rssKiB(child.pid)

    const ping = (pingArgs, timeout) => run("ip", ["netns", "exec", ns, "ping", ...pingArgs, dutIp], timeout)
    await ping(["-c", "3", "-i", "0.2", "-W", "1"], 10_000) // warm-up: ARP, JIT
    const floodRun = await ping(["-f", "-c", "10000", "-q", "-w", "60"], 75_000)
    const flood = parsePing(floodRun.stdout)
    const pacedRun = await ping(["-c", "200", "-i", "0.01", "-W", "1"], 30_000)
    const paced = parsePing(pacedRun.stdout)
    if (flood.received === 0 || paced.received === 0) {
      throw new Error(`isla up --poll ${mode} did not answer ping\n${floodRun.stdout}${floodRun.stderr}\n--- stderr\n${stderr.trim()}`)
    }

    process.kill(child.pid, "SIGTERM")
    const exit = await Promise.race([exited, deadline(5000).then(() => null)])
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
      exitCode: exit === null ? "no exit within 5 s of SIGTERM" : exit.code
    }
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL")
      } catch {}
    }
    cleanupSync()
  }
}

// ---------------------------------------------------------------------------
// Main

const fmt = (value, digits = 3) => (value === null || value === undefined ? "-" : Number(value).toFixed(digits))

const main = async () => {
  if (process.platform !== "linux") fail(`needs Linux (this is ${process.platform})`)
  if (process.getuid?.() !== 0) fail("needs root (TAP devices and network namespaces need CAP_NET_ADMIN)")
  if (!fs.existsSync("/dev/net/tun")) fail("/dev/net/tun is missing")
  const missing = ["ip", "ping", "getconf"].filter((tool) => !onPath(tool))
  if (missing.length > 0) fail(`missing tool(s): ${missing.join(", ")}`)
  if (!fs.existsSync(cliPath)) fail(`${cliPath} not found: build the CLI first (npm run build)`)
  const clkTck = Number((await runOk("getconf", ["CLK_TCK"])).stdout.trim())

  const command = `node bench/poll-modes.mjs${argv.length > 0 ? ` ${argv.join(" ")}` : ""}`
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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells) => cells.map((c, i) => c.padStart(widths[i])).join("  ")
  process.stdout.write(`${line(header)}\n${rows.map(line).join("\n")}\n`)

  const machine = { node: process.version, kernel: os.release(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown" }
  fs.mkdirSync(resultsDir, { recursive: true })
  fs.writeFileSync(path.join(resultsDir, "poll-modes.json"), `${JSON.stringify({ date, command, idleSeconds, machine, results }, null, 2)}\n`)
  const markdown = [
    `## ${date}`,
    "",
    `Command: \`${command}\` (as root, from the repository root)  `,
    `Machine: ${machine.cpus} × ${machine.cpuModel}, Linux ${machine.kernel}, Node ${machine.node}`,
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
    ""
  ].join("\n")
  const mdPath = path.join(resultsDir, "poll-modes.md")
  if (!fs.existsSync(mdPath)) fs.writeFileSync(mdPath, "# Poll modes: `isla up --poll adaptive` vs `--poll spin`\n\nflood = `ping -f -c 10000 -q`; paced = `ping -c 200 -i 0.01` (per-reply times); idle = CPU (utime+stime) over the idle period after ready + 1 s.\n\n")
  fs.appendFileSync(mdPath, markdown)
  process.stderr.write(`poll-modes: wrote ${path.relative(repoRoot, path.join(resultsDir, "poll-modes.json"))} and appended to ${path.relative(repoRoot, mdPath)}\n`)
}

main().catch((error) => fail(error?.stack ?? String(error)))
