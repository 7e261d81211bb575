/**
 * Shared code of the benchmark scripts (bench/*.mjs).
 *
 * Contract:
 * - Call `initBench(tag)` once, first: it names the script in every message
 *   and installs the cleanup that runs on every exit path (normal exit,
 *   `fail`, SIGINT/SIGTERM/SIGHUP).
 * - Namespaces are named `isla-b<pid>-<suffix>` (`nsName`) and exist only
 *   while registered: `addNamespace` registers before anything else happens
 *   in them, `cleanupSync` kills what runs in them and deletes them.
 * - Every child process is spawned in its own process group, registered for
 *   cleanup, and bounded: `run` kills its group at the timeout, `startDut`
 *   waits a bounded time for the `ready ` line and `stop` SIGKILLs after 5 s.
 * - Nothing here touches the root network namespace except `ip netns`
 *   add/del/pids/exec and `ip -n NS ...` on the registered namespaces.
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root and the results folder. */
export const repoRoot = fileURLToPath(new URL("..", import.meta.url))
export const resultsDir = path.join(repoRoot, "bench", "results")
/** The kernel-stack baseline DUT (Node net/http on a veth). */
export const referenceServices = path.join(repoRoot, "test", "tap", "reference-services.mjs")

let tag = "bench"
const namespaces = new Set()
const processes = new Set()
const tempDirs = new Set()

// ---------------------------------------------------------------------------
// Setup, cleanup and failure

/** Names the script in messages and installs cleanup on exit and on SIGINT/SIGTERM/SIGHUP (which are re-raised after cleanup). */
export const initBench = (name) => {
  tag = name
  process.on("exit", cleanupSync)
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(signal, () => {
      process.stderr.write(`${tag}: ${signal}: cleaning up\n`)
      cleanupSync()
      process.kill(process.pid, signal)
    })
  }
}

/** Kills every registered process (group and pid) and everything in the registered namespaces, deletes those namespaces and temporary folders. */
export function cleanupSync() {
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {}
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
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true })
    } catch {}
  }
  tempDirs.clear()
}

/** Prints `<tag>: error: message`, cleans up and exits 1. */
export const fail = (message) => {
  process.stderr.write(`${tag}: error: ${message}\n`)
  cleanupSync()
  process.exit(1)
}

// ---------------------------------------------------------------------------
// Options

/**
 * Parses `--name value` pairs: unknown names and missing values end the
 * script with the usage line (exit 2). Returns {argv, option(name, fallback), usage(message)}.
 */
export const parseOptions = (known, usageLine) => {
  const argv = process.argv.slice(2)
  const usage = (message) => {
    process.stderr.write(`${tag}: ${message}\nusage: ${usageLine}\n`)
    process.exit(2)
  }
  for (let i = 0; i < argv.length; i += 2) {
    if (!known.includes(argv[i])) usage(`unknown argument ${argv[i]}`)
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`)
  }
  const option = (name, fallback) => {
    const i = argv.indexOf(name)
    return i < 0 ? fallback : argv[i + 1]
  }
  return { argv, option, usage }
}

/** The command line as recorded in the results: `node bench/<script>.mjs <args>`. */
export const commandLine = (script, argv) => `node bench/${script}.mjs${argv.length > 0 ? ` ${argv.join(" ")}` : ""}`

// ---------------------------------------------------------------------------
// Processes

/**
 * Runs a command in its own process group with a timeout (kills the group);
 * resolves {code, stdout, stderr, timedOut, ms}. stdout/stderr keep their
 * last `stdoutTail`/`stderrTail` characters.
 */
export const run = (cmd, args, timeout = 10_000, { stdoutTail = Infinity, stderrTail = 20_000 } = {}) =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(cmd, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] })
    processes.add(child)
    let stdout = ""
    let stderr = ""
    let timedOut = false
    child.stdout.setEncoding("utf8").on("data", (t) => (stdout = (stdout + t).slice(-stdoutTail)))
    child.stderr.setEncoding("utf8").on("data", (t) => (stderr = (stderr + t).slice(-stderrTail)))
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {}
    }, timeout)
    child.on("error", (error) => {
      clearTimeout(timer)
      processes.delete(child)
      resolve({ code: null, stdout, stderr: `${stderr}${error.message}`, timedOut, ms: Date.now() - started })
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      processes.delete(child)
      resolve({ code, stdout, stderr, timedOut, ms: Date.now() - started })
    })
  })

/** `run`, throwing unless the exit code is 0. */
const runOk = async (cmd, args, timeout, limits) => {
  const result = await run(cmd, args, timeout, limits)
  if (result.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${result.code}${result.timedOut ? ", timed out" : ""}): ${result.stderr.trim()}`)
  }
  return result
}
/** `run` inside a namespace (`ip netns exec NS cmd args`). */
export const inNs = (ns, cmd, args, timeout, limits) => run("ip", ["netns", "exec", ns, cmd, ...args], timeout, limits)

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** A deadline that does not keep the process alive once nothing else waits. */
const deadline = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref())

/** Whether an executable is on PATH (or in /usr/sbin, /sbin). */
export const onPath = (tool) =>
  `${process.env.PATH ?? ""}:/usr/sbin:/sbin`.split(":").some((dir) => {
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })

/**
 * Starts a long-running DUT process in a namespace and waits (at most
 * `readyTimeoutMs`) for its `ready ` line; throws `<errorLabel> exited ...`
 * otherwise. Returns {child, pid, ready, state: {stdout, stderr}, stop, alive};
 * `stop()` sends SIGTERM, SIGKILLs the group after 5 s and resolves {code, signal, stderrTail}.
 */
export const startDut = async (ns, label, args, { readyTimeoutMs = 20_000, errorLabel = label } = {}) => {
  const child = spawn("ip", ["netns", "exec", ns, ...args], { detached: true, stdio: ["ignore", "pipe", "pipe"] })
  processes.add(child)
  const state = { stdout: "", stderr: "" }
  child.stdout.setEncoding("utf8").on("data", (t) => (state.stdout += t))
  child.stderr.setEncoding("utf8").on("data", (t) => (state.stderr = (state.stderr + t).slice(-20_000)))
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })))
  const ready = await Promise.race([
    new Promise((resolve) => {
      const check = () => {
        const line = state.stdout.split("\n").slice(0, -1).find((l) => l.startsWith("ready "))
        if (line) resolve(line)
      }
      child.stdout.on("data", check)
      check()
    }),
    exited.then(({ code, signal }) => ({ exited: `exited (code ${code}, signal ${signal})` })),
    deadline(readyTimeoutMs).then(() => ({ exited: `printed no ready line within ${readyTimeoutMs / 1000} s` }))
  ])
  if (typeof ready !== "string") throw new Error(`${errorLabel} ${ready.exited}\n--- stderr\n${state.stderr.trim()}`)
  process.stderr.write(`${tag}: [${label}] ${ready}\n`)
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode, stderrTail: state.stderr.trim().split("\n").slice(-5) }
    try {
      process.kill(child.pid, "SIGTERM")
    } catch {}
    const exit = await Promise.race([exited, deadline(5000).then(() => null)])
    if (exit === null) {
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {}
    }
    return { code: exit === null ? "no exit within 5 s of SIGTERM" : exit.code, signal: exit?.signal ?? null, stderrTail: state.stderr.trim().split("\n").slice(-5) }
  }
  // `ip netns exec` execs the command, so child.pid is the DUT process itself.
  return { child, pid: child.pid, ready, state, stop, alive: () => child.exitCode === null && child.signalCode === null }
}

/** `startDut` for `isla up` on TAP isla0 with `--host-ip` (the kernel end of the TAP in the same namespace); `extra` is appended. */
export const startIslaUp = (ns, label, { cliPath, ip, hostIp, poll, extra = [] }, options) =>
  startDut(ns, label, [process.execPath, cliPath, "up", "--tap", "isla0", "--ip", ip, "--host-ip", hostIp, "--poll", poll, ...extra], options)

/** The record of a DUT that has exited: code, signal, last 8 log lines. */
export const dutExitedRecord = (dut) => ({ code: dut.child.exitCode, signal: dut.child.signalCode, stderrTail: dut.state.stderr.trim().split("\n").slice(-8) })

/** Why a measurement is skipped (time budget spent, DUT gone), or null. */
export const skipReason = (startedAt, budgetMs, dut) => {
  if (Date.now() - startedAt > budgetMs) return "skipped: the benchmark's time budget is spent"
  if (!dut.alive()) return "skipped: the DUT process has exited"
  return null
}

// ---------------------------------------------------------------------------
// Namespaces and temporary folders

/** `isla-b<pid>-<suffix>`. */
export const nsName = (suffix) => `isla-b${process.pid}-${suffix}`

/** Creates a namespace, registers it for cleanup and sets its lo up. */
export const addNamespace = async (ns) => {
  await runOk("ip", ["netns", "add", ns])
  namespaces.add(ns)
  await runOk("ip", ["-n", ns, "link", "set", "lo", "up"])
  return ns
}

/** Deletes a namespace now (errors ignored) and unregisters it. */
export const removeNamespace = (ns) => {
  try {
    execFileSync("ip", ["netns", "del", ns], { timeout: 5000, stdio: "ignore" })
  } catch {}
  namespaces.delete(ns)
}

/**
 * The baseline's network: namespaces `isla-b<pid>-base` (client, veth-c
 * 10.77.2.1/24) and `isla-b<pid>-dut` (veth-d 10.77.2.2/24). Returns {clientNs, dutNs, dutIp}.
 */
export const addBaselineNetwork = async () => {
  const clientNs = await addNamespace(nsName("base"))
  const dutNs = await addNamespace(nsName("dut"))
  const dutIp = "10.77.2.2"
  // Created inside the client namespace, the peer moved straight into the DUT namespace: nothing touches the root namespace.
  await runOk("ip", ["-n", clientNs, "link", "add", "veth-c", "type", "veth", "peer", "name", "veth-d", "netns", dutNs])
  await runOk("ip", ["-n", clientNs, "addr", "add", "10.77.2.1/24", "dev", "veth-c"])
  await runOk("ip", ["-n", dutNs, "addr", "add", `${dutIp}/24`, "dev", "veth-d"])
  await runOk("ip", ["-n", clientNs, "link", "set", "veth-c", "up"])
  await runOk("ip", ["-n", dutNs, "link", "set", "veth-d", "up"])
  return { clientNs, dutNs, dutIp }
}

/** A temporary folder `isla-b<pid>-XXXXXX`, removed by cleanup. */
export const makeTempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `isla-b${process.pid}-`))
  tempDirs.add(dir)
  return dir
}

// ---------------------------------------------------------------------------
// Host checks and probes

/** Fails unless on Linux as root with /dev/net/tun and the given tools (`hint` is appended to the message). */
export const checkHost = (tools, hint = "") => {
  if (process.platform !== "linux") fail(`needs Linux (this is ${process.platform})`)
  if (process.getuid?.() !== 0) fail("needs root (TAP devices and network namespaces need CAP_NET_ADMIN)")
  if (!fs.existsSync("/dev/net/tun")) fail("/dev/net/tun is missing")
  const missing = tools.filter((tool) => !onPath(tool))
  if (missing.length > 0) fail(`missing tool(s): ${missing.join(", ")}${hint}`)
}

/** Clock ticks per second (`getconf CLK_TCK`), the unit of `cpuTicks`. */
export const clockTicks = async () => Number((await runOk("getconf", ["CLK_TCK"])).stdout.trim())

/** utime + stime of a process, all threads, in clock ticks (/proc/PID/stat). */
export const cpuTicks = (pid) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return Number(fields[11]) + Number(fields[12])
}

/** VmRSS and VmHWM of a process in KiB (/proc/PID/status), null where missing. */
export const procMem = (pid) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const get = (key) => {
    const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)
    return m ? Number(m[1]) : null
  }
  return { rssKiB: get("VmRSS"), hwmKiB: get("VmHWM") }
}

/** nproc, CPU model, kernel and Node version. */
export const machineInfo = async () => ({
  nproc: Number((await run("nproc", [], 5000)).stdout.trim()) || os.availableParallelism(),
  cpuModel: /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown",
  kernel: os.release(),
  node: process.version
})

// ---------------------------------------------------------------------------
// Numbers, tables and result files

/** Median of the finite numbers among `values`, null if none. */
export const median = (values) => {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** A number with `digits` decimals, "-" for null/undefined/non-finite. */
export const fmt = (value, digits = 3) => (value === null || value === undefined || !Number.isFinite(value) ? "-" : Number(value).toFixed(digits))
/** a/b with `digits` decimals, "-" unless both are numbers and b is not 0. */
export const ratio = (a, b, digits) => (typeof a === "number" && typeof b === "number" && b !== 0 ? fmt(a / b, digits) : "-")

/** A plain-text table: columns padded to their widest cell, the first left-aligned unless `firstLeft` is false, the others right-aligned. */
export const renderTable = (header, rows, { firstLeft = true } = {}) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)))
  const line = (cells) => cells.map((c, i) => (i === 0 && firstLeft ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ")
  return `${line(header)}\n${rows.map(line).join("\n")}\n`
}

/** A markdown table as lines. */
export const markdownTable = (header, rows) => [
  `| ${header.join(" | ")} |`,
  `| ${header.map(() => "---").join(" | ")} |`,
  ...rows.map((row) => `| ${row.join(" | ")} |`)
]

/** Markdown list lines: each target's DUT exit code/signal and last log lines. */
export const dutExitLines = (results) =>
  results.map((r) => `- ${r.name}: code ${r.dutExit.code}${r.dutExit.signal ? ` signal ${r.dutExit.signal}` : ""}; ${r.dutExit.stderrTail.map((l) => `\`${l.replace(/`/g, "'")}\``).join(" ") || "(no log)"}`)

/**
 * Writes bench/results/<name>.json (replaced) and appends `markdown` to
 * bench/results/<name>.md, which starts with `preamble` when it is new.
 */
export const writeResults = (name, json, markdown, preamble) => {
  fs.mkdirSync(resultsDir, { recursive: true })
  const jsonPath = path.join(resultsDir, `${name}.json`)
  fs.writeFileSync(jsonPath, `${JSON.stringify(json, null, 2)}\n`)
  const mdPath = path.join(resultsDir, `${name}.md`)
  if (!fs.existsSync(mdPath)) fs.writeFileSync(mdPath, preamble)
  fs.appendFileSync(mdPath, markdown)
  process.stderr.write(`${tag}: wrote ${path.relative(repoRoot, jsonPath)} and appended to ${path.relative(repoRoot, mdPath)}\n`)
}
