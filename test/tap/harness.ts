/**
 * TAP test harness with two targets, like gVisor's packetimpact: the device
 * under test (DUT) is `isla up` on a TAP device (`ISLA_TARGET=isla`, the
 * default) or the Linux kernel behind a veth pair (`ISLA_TARGET=linux`), and
 * the tests drive it from a client network namespace with the kernel's tools.
 * Everything lives in namespaces this module creates and deletes (SPEC §7);
 * every child process runs with a timeout.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, beforeEach, describe, it } from "vitest"

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
/** The built CLI that the `isla` target runs (the bundle `npm run build` makes; test/global-setup.ts runs it). */
export const cliPath = path.join(repoRoot, "dist", "isla.mjs")
/** The kernel-side services that the `linux` target runs. */
export const referenceServicesPath = fileURLToPath(new URL("./reference-services.mjs", import.meta.url))

/** Which implementation plays the device under test. */
export type TargetKind = "isla" | "linux"

/** The target selected by `ISLA_TARGET` (default `isla`). */
export const targetKind = (): TargetKind => {
  const value = process.env["ISLA_TARGET"] ?? "isla"
  if (value !== "isla" && value !== "linux") {
    throw new Error(`ISLA_TARGET must be "isla" or "linux", got ${JSON.stringify(value)}`)
  }
  return value
}

/** True when `ISLA_REQUIRE_TAP` turns every missing prerequisite into a failure (SPEC §0). */
export const tapRequired = (): boolean => {
  const value = process.env["ISLA_REQUIRE_TAP"]
  return value !== undefined && value !== "" && value !== "0"
}

// ---------------------------------------------------------------------------
// Child processes with timeouts

/** What a finished (or killed) command left behind. */
export interface ExecResult {
  /** Exit code; null when the process died of a signal (e.g. killed on timeout). */
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** True when the command overran its timeout and was killed. */
  readonly timedOut: boolean
  readonly durationMs: number
  /** The command line, for messages. */
  readonly command: string
}

/** Options of `run` and `TargetHandle.exec`. */
export interface ExecOptions {
  /** Kill the command (its whole process group, SIGKILL) after this many ms. Default 10 s. */
  readonly timeout?: number
  /** Bytes written to the command's stdin, which is then closed. */
  readonly input?: string | Uint8Array
}

const outputCap = 16 * 1024 * 1024

/**
 * Runs a command in the test's own namespace (the root namespace when called
 * directly; only use that for `ip netns ...` and file tools) with a timeout.
 */
export const run = (cmd: string, args: ReadonlyArray<string>, options: ExecOptions = {}): Promise<ExecResult> => {
  const timeout = options.timeout ?? 10_000
  const command = [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")
  const started = Date.now()
  return new Promise((resolve, reject) => {
    // A process group of its own, so that a timeout kills the command's children too.
    const child = spawn(cmd, args, { detached: true, stdio: ["pipe", "pipe", "pipe"] })
    const stdout: Array<Buffer> = []
    const stderr: Array<Buffer> = []
    let outBytes = 0
    let timedOut = false
    const collect = (into: Array<Buffer>) => (chunk: Buffer) => {
      if (outBytes < outputCap) into.push(chunk)
      outBytes += chunk.length
    }
    child.stdout.on("data", collect(stdout))
    child.stderr.on("data", collect(stderr))
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child, "SIGKILL")
    }, timeout)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(new Error(`cannot run ${command}: ${error.message}`))
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        timedOut,
        durationMs: Date.now() - started,
        command
      })
    })
    child.stdin.on("error", () => {}) // the command may exit without reading its input
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
  })
}

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

/** A multi-line description of a command's outcome, for assertion messages. */
export const describeExec = (result: ExecResult): string =>
  [
    `$ ${result.command}`,
    `exit ${result.code}${result.signal ? ` signal ${result.signal}` : ""}${result.timedOut ? " (timed out, killed)" : ""} after ${result.durationMs} ms`,
    `--- stdout\n${tail(result.stdout, 4000)}`,
    `--- stderr\n${tail(result.stderr, 4000)}`
  ].join("\n")

const tail = (text: string, max: number): string => (text.length <= max ? text : `…${text.slice(-max)}`)

/** Runs a command and throws with its output unless it exits 0. */
export const runOk = async (cmd: string, args: ReadonlyArray<string>, options: ExecOptions = {}): Promise<ExecResult> => {
  const result = await run(cmd, args, options)
  if (result.code !== 0) throw new Error(`command failed\n${describeExec(result)}`)
  return result
}

// ---------------------------------------------------------------------------
// Namespaces and processes this run owns, removed on every exit path

interface Registry {
  readonly namespaces: Set<string>
  readonly processes: Set<ChildProcess>
  counter: number
  reaperStarted: boolean
}

const registryKey = Symbol.for("isla.test.tap.registry")

const registry: Registry = (() => {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>
  const existing = holder[registryKey]
  if (existing !== undefined) return existing
  const created: Registry = { namespaces: new Set(), processes: new Set(), counter: 0, reaperStarted: false }
  holder[registryKey] = created
  // Last resort when afterAll did not run: synchronous cleanup on exit and on
  // the signals that end a test run, then die of the signal as usual.
  process.once("exit", cleanupAllSync)
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      cleanupAllSync()
      process.kill(process.pid, signal)
    })
  }
  return created
})()

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null

const namespacePidsSync = (ns: string): Array<number> => {
  try {
    return execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] })
      .split(/\s+/)
      .filter((s) => /^\d+$/.test(s))
      .map(Number)
  } catch {
    return []
  }
}

/** Kills what still runs inside `ns` (all started by this run) and deletes it. */
const deleteNamespaceSync = (ns: string) => {
  for (const pid of namespacePidsSync(ns)) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  try {
    execFileSync("ip", ["netns", "del", ns], { timeout: 5000, stdio: "ignore" })
  } catch {
    // already gone
  }
  registry.namespaces.delete(ns)
}

function cleanupAllSync() {
  for (const child of registry.processes) {
    if (isRunning(child) && child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  }
  registry.processes.clear()
  for (const ns of [...registry.namespaces]) deleteNamespaceSync(ns)
}

const namespacePrefix = `isla-t${process.pid}-`

/** A fresh namespace name unique to this process: `isla-t<pid>-<n>`. */
export const namespaceName = (): string => `${namespacePrefix}${++registry.counter}`

// For a test process that dies of SIGKILL (no exit handler runs): a detached
// watcher that, once this process is gone, kills what runs in our namespaces
// and deletes them. It exits by itself then; while we live it only polls.
const reaperScript = `
const { execFileSync } = require("node:child_process")
const parent = Number(process.argv[1])
const prefix = process.argv[2]
const alive = () => { try { process.kill(parent, 0); return true } catch (e) { return e.code === "EPERM" } }
const run = (args) => { try { return execFileSync("ip", args, { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] }) } catch { return "" } }
const sweep = () => {
  for (const line of run(["netns", "list"]).split("\\n")) {
    const ns = line.trim().split(/\\s+/)[0]
    if (!ns || !ns.startsWith(prefix)) continue
    for (const pid of run(["netns", "pids", ns]).split(/\\s+/).filter((s) => /^\\d+$/.test(s))) {
      try { process.kill(Number(pid), "SIGKILL") } catch {}
    }
    run(["netns", "del", ns])
  }
}
const timer = setInterval(() => { if (!alive()) { clearInterval(timer); sweep() } }, 500)
`

const startReaper = () => {
  if (registry.reaperStarted) return
  registry.reaperStarted = true
  const reaper = spawn(process.execPath, ["-e", reaperScript, String(process.pid), namespacePrefix], {
    detached: true,
    stdio: "ignore"
  })
  reaper.on("error", () => {})
  reaper.unref()
}

/** Creates a namespace with `lo` up; it is deleted by `deleteNamespace` or on exit. */
export const createNamespace = async (ns: string): Promise<void> => {
  startReaper()
  await runOk("ip", ["netns", "add", ns])
  registry.namespaces.add(ns)
  await runOk("ip", ["-n", ns, "link", "set", "lo", "up"])
}

/** Kills the processes left in `ns` and deletes it. */
export const deleteNamespace = async (ns: string): Promise<void> => {
  deleteNamespaceSync(ns)
}

// ---------------------------------------------------------------------------
// Prerequisites (SPEC §0)

const onPath = (tool: string): boolean =>
  (process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
    .split(":")
    .concat(["/usr/sbin", "/sbin"])
    .some((dir) => {
      try {
        fs.accessSync(path.join(dir, tool), fs.constants.X_OK)
        return true
      } catch {
        return false
      }
    })

/** Why TAP tests cannot run here, or undefined when they can. `ip` is always needed. */
export const missingPrerequisite = (tools: ReadonlyArray<string>): string | undefined => {
  if (process.platform !== "linux") return `not Linux (${process.platform})`
  if (process.getuid?.() !== 0) return "not root (TAP and network namespaces need CAP_NET_ADMIN)"
  if (!fs.existsSync("/dev/net/tun")) return "/dev/net/tun is missing"
  const missing = ["ip", ...tools].filter((tool) => !onPath(tool))
  if (missing.length > 0) return `client tool(s) missing: ${missing.join(", ")}`
  return undefined
}

/** Options of `describeTap`. */
export interface TapSuiteOptions {
  /** Client tools the suite runs (besides `ip` and `node`), e.g. ping, nc, tcpdump. */
  readonly tools: ReadonlyArray<string>
}

/**
 * A describe block for TAP tests: skipped with a printed reason when a
 * prerequisite is missing, or failing when `ISLA_REQUIRE_TAP` is set.
 */
export const describeTap = (name: string, options: TapSuiteOptions, body: () => void): void => {
  const reason = missingPrerequisite(options.tools)
  if (reason === undefined) {
    describe(`${name} [target ${targetKind()}]`, body)
  } else if (tapRequired()) {
    describe(name, () => {
      it("has its TAP prerequisites", () => {
        throw new Error(`ISLA_REQUIRE_TAP is set but ${reason}`)
      })
    })
  } else {
    console.warn(`[tap] skipping "${name}": ${reason} (set ISLA_REQUIRE_TAP=1 to make this a failure)`)
    describe.skip(`${name} [skipped: ${reason}]`, body)
  }
}

const islaOnlyReason = () => `only meaningful for the isla target (ISLA_TARGET=${targetKind()})`

/** A test that only makes sense against Isla (pcap, TAP removal, CPU use): skipped with a reason under `linux`. */
export const itIslaOnly = (name: string, fn: () => Promise<void> | void, timeout?: number): void => {
  if (targetKind() === "isla") {
    it(name, fn, timeout)
  } else {
    console.warn(`[tap] skipping "${name}": ${islaOnlyReason()}`)
    it.skip(`${name} [skipped: ${islaOnlyReason()}]`, fn, timeout)
  }
}

/** A describe block that only makes sense against Isla; skipped with a reason under `linux`. */
export const describeIslaOnly = (name: string, body: () => void): void => {
  if (targetKind() === "isla") {
    describe(name, body)
  } else {
    console.warn(`[tap] skipping "${name}": ${islaOnlyReason()}`)
    describe.skip(`${name} [skipped: ${islaOnlyReason()}]`, body)
  }
}

// ---------------------------------------------------------------------------
// Targets

/** Options of `startTarget`. */
export interface StartOptions {
  /** Arguments appended to `isla up ...` (isla target only), e.g. `["--pcap", file]`. */
  readonly extraArgs?: ReadonlyArray<string>
  /** How long to wait for the `ready` line. Default 15 s. */
  readonly readyTimeoutMs?: number
  /** Defaults to `targetKind()`. */
  readonly kind?: TargetKind
  /** The TAP name for the isla target. Default `isla0` (the namespace is ours alone). */
  readonly tap?: string
  /**
   * Runs after the namespaces (and, for linux, the veth pair) exist and just
   * before the DUT process starts: e.g. to start a capture that must see the
   * DUT's first frames. For isla the TAP does not exist yet (isla creates it
   * when missing; the hook may create it). A failure aborts the start.
   */
  readonly beforeDut?: (env: DutEnvironment) => Promise<void>
}

/** What `StartOptions.beforeDut` is told: where the DUT is about to run. */
export interface DutEnvironment {
  readonly kind: TargetKind
  readonly ns: string
  readonly dutNs: string
  readonly hostIfname: string
  readonly dutIfname: string
}

/** A running device under test and the client namespace facing it. */
export interface TargetHandle {
  readonly kind: TargetKind
  /** The client namespace, where the kernel's tools run. */
  readonly ns: string
  /** The namespace the DUT lives in: `ns` for isla, `<ns>-dut` for linux. */
  readonly dutNs: string
  /** The DUT's address, "10.77.0.2". */
  readonly dutIp: string
  /** The client (kernel) side's address, "10.77.0.1". */
  readonly hostIp: string
  readonly prefixLength: number
  /** The client-side interface in `ns`: the TAP for isla, the veth end for linux. */
  readonly hostIfname: string
  /** The DUT's interface name (isla: the TAP, in `ns`; linux: the veth end in `dutNs`). */
  readonly dutIfname: string
  /** Pid of the DUT process (`isla up` or the reference services). */
  readonly pid: number
  /** The full `ready ...` line and its key=value pairs. */
  readonly readyLine: string
  readonly ready: Readonly<Record<string, string>>
  /** Runs a command inside the client namespace with a timeout (default 10 s). */
  exec(cmd: string, args: ReadonlyArray<string>, options?: ExecOptions): Promise<ExecResult>
  /** Sends `signal` (default SIGTERM), waits up to `graceMs` (default 5 s), then SIGKILLs. Resolves to the exit code (null if killed by a signal). Idempotent. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>
  /** True until the DUT process has exited. */
  running(): boolean
  /** Everything the DUT wrote to stderr so far (its logs). */
  stderr(): string
  /** Everything the DUT wrote to stdout so far. */
  stdout(): string
  /** Stops the DUT and deletes the namespaces. Idempotent. */
  cleanup(): Promise<void>
}

const dutIp = "10.77.0.2"
const hostIp = "10.77.0.1"
const prefixLength = 24

/** Parses `ready k=v k=v ...` into its pairs; unknown keys are kept, bare words ignored. */
export const parseReadyLine = (line: string): Record<string, string> => {
  const pairs: Record<string, string> = {}
  for (const word of line.slice("ready ".length).trim().split(/\s+/)) {
    const eq = word.indexOf("=")
    if (eq > 0) pairs[word.slice(0, eq)] = word.slice(eq + 1)
  }
  return pairs
}

const logCap = 2 * 1024 * 1024

/** The DUT process: output collection, the ready line, exit tracking. */
class DutProcess {
  readonly child: ChildProcess
  readonly pid: number
  private readonly stdoutChunks: Array<string> = []
  private readonly stderrChunks: Array<string> = []
  private stderrBytes = 0
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined

  constructor(readonly command: ReadonlyArray<string>) {
    const [cmd, ...args] = command
    this.child = spawn(cmd!, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] })
    registry.processes.add(this.child)
    this.exited = new Promise((resolve) => {
      this.child.on("error", (error) => {
        this.stderrChunks.push(`harness: cannot spawn ${command.join(" ")}: ${error.message}\n`)
        this.exitStatus = { code: null, signal: null }
        resolve(this.exitStatus)
      })
      // "close" rather than "exit": by then stdout and stderr are drained too.
      this.child.on("close", (code, signal) => {
        this.exitStatus = { code, signal }
        registry.processes.delete(this.child)
        resolve(this.exitStatus)
      })
    })
    this.pid = this.child.pid ?? -1
    this.child.stdout!.setEncoding("utf8").on("data", (text: string) => this.stdoutChunks.push(text))
    this.child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      this.stderrChunks.push(text)
      this.stderrBytes += text.length
      while (this.stderrBytes > logCap && this.stderrChunks.length > 1) {
        this.stderrBytes -= this.stderrChunks.shift()!.length
      }
    })
  }

  stdout(): string {
    return this.stdoutChunks.join("")
  }

  stderr(): string {
    return this.stderrChunks.join("")
  }

  running(): boolean {
    return this.exitStatus === undefined
  }

  /** Resolves with the first stdout line starting with `ready `. */
  waitReady(timeoutMs: number): Promise<string> {
    const readyLine = () =>
      this.stdout()
        .split("\n")
        .slice(0, -1) // complete lines only
        .find((line) => line.startsWith("ready "))
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = readyLine()
        if (line !== undefined) {
          finish()
          resolve(line.trimEnd())
        }
      }
      const timer = setTimeout(() => {
        finish()
        reject(new Error(`no "ready " line on stdout within ${timeoutMs} ms\n${this.report()}`))
      }, timeoutMs)
      const finish = () => {
        clearTimeout(timer)
        this.child.stdout!.off("data", check)
      }
      // Registered after the collecting listener, so stdout() already holds each new chunk.
      this.child.stdout!.on("data", check)
      void this.exited.then(({ code, signal }) => {
        check()
        if (readyLine() === undefined) {
          finish()
          reject(new Error(`the DUT exited (code ${code}, signal ${signal}) before printing "ready "\n${this.report()}`))
        }
      })
      check()
    })
  }

  async stop(signal: NodeJS.Signals, graceMs: number): Promise<number | null> {
    if (this.running()) {
      try {
        process.kill(this.pid, signal)
      } catch {
        // already gone
      }
      const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref())
      if ((await Promise.race([this.exited, timer])) === "timeout") {
        this.stderrChunks.push(`harness: no exit ${graceMs} ms after ${signal}; sending SIGKILL\n`)
        killGroup(this.child, "SIGKILL")
        await this.exited
      }
    }
    return (await this.exited).code
  }

  report(): string {
    return [`$ ${this.command.join(" ")}`, `--- DUT stdout\n${tail(this.stdout(), 8000)}`, `--- DUT stderr\n${tail(this.stderr(), 20000)}`].join("\n")
  }
}

/**
 * Creates the namespaces, starts the DUT and waits for its `ready` line. On
 * failure everything created so far is removed before the error is thrown.
 */
export const startTarget = async (options: StartOptions = {}): Promise<TargetHandle> => {
  const kind = options.kind ?? targetKind()
  const ns = namespaceName()
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000
  const owned: Array<string> = []
  let dut: DutProcess | undefined
  const teardown = async () => {
    if (dut !== undefined) await dut.stop("SIGTERM", 5000)
    for (const name of owned.reverse()) await deleteNamespace(name)
    owned.length = 0
  }
  try {
    await createNamespace(ns)
    owned.push(ns)
    let dutNs = ns
    let hostIfname: string
    let dutIfname: string
    if (kind === "linux") {
      dutNs = `${ns}-dut`
      await createNamespace(dutNs)
      owned.push(dutNs)
      hostIfname = "veth-c"
      dutIfname = "veth-d"
      // Created from inside `ns` with its peer placed straight into `dutNs`: nothing touches the root namespace.
      await runOk("ip", ["-n", ns, "link", "add", hostIfname, "type", "veth", "peer", "name", dutIfname, "netns", dutNs])
      await runOk("ip", ["-n", ns, "addr", "add", `${hostIp}/${prefixLength}`, "dev", hostIfname])
      await runOk("ip", ["-n", dutNs, "addr", "add", `${dutIp}/${prefixLength}`, "dev", dutIfname])
      await runOk("ip", ["-n", ns, "link", "set", hostIfname, "up"])
      await runOk("ip", ["-n", dutNs, "link", "set", dutIfname, "up"])
      await options.beforeDut?.({ kind, ns, dutNs, hostIfname, dutIfname })
      dut = new DutProcess([
        "ip", "netns", "exec", dutNs, process.execPath, referenceServicesPath,
        "--ifname", dutIfname, "--ip", `${dutIp}/${prefixLength}`
      ])
    } else {
      if (!fs.existsSync(cliPath)) {
        throw new Error(`${cliPath} does not exist: the CLI is not built (test/global-setup.ts runs \`npm run build\`)`)
      }
      const tap = options.tap ?? "isla0"
      hostIfname = tap
      dutIfname = tap
      await options.beforeDut?.({ kind, ns, dutNs, hostIfname, dutIfname })
      dut = new DutProcess([
        "ip", "netns", "exec", ns, process.execPath, cliPath, "up",
        "--tap", tap, "--ip", `${dutIp}/${prefixLength}`, "--host-ip", `${hostIp}/${prefixLength}`,
        ...(options.extraArgs ?? [])
      ])
    }
    const readyLine = await dut.waitReady(readyTimeoutMs)
    const process_ = dut
    let cleaned = false
    return {
      kind,
      ns,
      dutNs,
      dutIp,
      hostIp,
      prefixLength,
      hostIfname,
      dutIfname,
      pid: process_.pid,
      readyLine,
      ready: parseReadyLine(readyLine),
      exec: (cmd, args, execOptions) => run("ip", ["netns", "exec", ns, cmd, ...args], execOptions),
      stop: (signal = "SIGTERM", graceMs = 5000) => process_.stop(signal, graceMs),
      running: () => process_.running(),
      stderr: () => process_.stderr(),
      stdout: () => process_.stdout(),
      cleanup: async () => {
        if (cleaned) return
        cleaned = true
        await teardown()
      }
    }
  } catch (error) {
    await teardown()
    throw error
  }
}

/**
 * Starts one target for the enclosing describe block (beforeAll), prints the
 * DUT's logs when a test fails, and cleans up (afterAll). Returns a getter.
 */
export const useTarget = (options: StartOptions | (() => StartOptions) = {}): (() => TargetHandle) => {
  let handle: TargetHandle | undefined
  let startError: unknown
  beforeAll(async () => {
    try {
      handle = await startTarget(typeof options === "function" ? options() : options)
    } catch (error) {
      startError = error
      throw error
    }
  }, 60_000)
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (handle === undefined) return
      console.error(
        `[tap] DUT (${handle.kind}, pid ${handle.pid}, ns ${handle.ns}) ${handle.running() ? "running" : "exited"}\n` +
          `--- DUT stdout\n${tail(handle.stdout(), 4000)}\n--- DUT stderr\n${tail(handle.stderr(), 20000)}`
      )
    })
  })
  afterAll(async () => {
    await handle?.cleanup()
  }, 30_000)
  return () => {
    if (handle === undefined) throw new Error(`the target did not start: ${String(startError)}`)
    return handle
  }
}

// ---------------------------------------------------------------------------
// Client-side measurements

/** The summary of an iputils `ping` run. */
export interface PingSummary {
  readonly transmitted: number
  readonly received: number
  readonly lossPercent: number
  readonly rtt: { readonly min: number; readonly avg: number; readonly max: number; readonly mdev: number } | undefined
  /** Per-reply `time=` values in ms (absent with -f / -q). */
  readonly times: ReadonlyArray<number>
}

/** Parses iputils ping output; undefined when there is no statistics line. */
export const parsePing = (output: string): PingSummary | undefined => {
  const stats = /(\d+) packets transmitted, (\d+) received.*?, ([\d.]+)% packet loss/.exec(output)
  if (stats === null) return undefined
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(output)
  return {
    transmitted: Number(stats[1]),
    received: Number(stats[2]),
    lossPercent: Number(stats[3]),
    rtt: rtt === null ? undefined : { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]), mdev: Number(rtt[4]) },
    times: [...output.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]))
  }
}

/** The outcome of one UDP exchange from the client namespace. */
export type UdpOutcome =
  | { readonly kind: "reply"; readonly payload: Buffer; readonly from: string; readonly sent: number }
  | { readonly kind: "error"; readonly code: string; readonly sent: number }
  | { readonly kind: "timeout"; readonly sent: number }

// A connected UDP socket (udp4 or udp6): replies must come from the DUT's address
// and port, and an ICMP port unreachable surfaces as an ECONNREFUSED 'error' event.
const udpClientScript = `
const dgram = require("node:dgram")
const [host, port, hex, perTryMs, tries, family] = process.argv.slice(1)
const payload = Buffer.from(hex, "hex")
const socket = dgram.createSocket(family === "6" ? "udp6" : "udp4")
let sent = 0
let timer
const done = (result) => {
  clearTimeout(timer)
  process.stdout.write(JSON.stringify({ ...result, sent }) + "\\n", () => process.exit(0))
}
socket.on("error", (e) => done({ error: e.code || String(e) }))
socket.on("message", (m, rinfo) => done({ reply: m.toString("hex"), from: rinfo.address }))
const attempt = () => {
  if (sent >= Number(tries)) return done({ timeout: true })
  sent++
  socket.send(payload, (e) => { if (e) done({ error: e.code || String(e) }) })
  timer = setTimeout(attempt, Number(perTryMs))
}
socket.connect(Number(port), host, attempt)
`

/** Options of `udpExchange`. */
export interface UdpExchangeOptions {
  /** Wait this long for an answer before sending again. Default 1000 ms. */
  readonly perTryMs?: number
  /** Send at most this many times. Default 3. */
  readonly tries?: number
  /** The address to send to (default the DUT's IPv4 address); a link-local IPv6 one takes `%ifname`. */
  readonly host?: string
  /** 6 for a udp6 socket (default 4). */
  readonly family?: 4 | 6
}

/**
 * Sends `payload` from the client namespace to `dutIp:port` over a connected
 * UDP socket (resending until `tries`) and reports the first reply, the first
 * socket error (ECONNREFUSED for ICMP port unreachable), or a timeout.
 */
export const udpExchange = async (
  target: TargetHandle,
  port: number,
  payload: Uint8Array,
  options: UdpExchangeOptions = {}
): Promise<UdpOutcome> => {
  const perTryMs = options.perTryMs ?? 1000
  const tries = options.tries ?? 3
  const result = await target.exec(
    process.execPath,
    [
      "-e",
      udpClientScript,
      options.host ?? target.dutIp,
      String(port),
      Buffer.from(payload).toString("hex"),
      String(perTryMs),
      String(tries),
      String(options.family ?? 4)
    ],
    { timeout: perTryMs * tries + 10_000 }
  )
  const line = result.stdout.trim().split("\n").pop() ?? ""
  let parsed: { reply?: string; from?: string; error?: string; timeout?: boolean; sent: number }
  try {
    parsed = JSON.parse(line)
  } catch {
    throw new Error(`UDP client gave no result\n${describeExec(result)}`)
  }
  if (parsed.reply !== undefined) {
    return { kind: "reply", payload: Buffer.from(parsed.reply, "hex"), from: parsed.from ?? "", sent: parsed.sent }
  }
  if (parsed.error !== undefined) return { kind: "error", code: parsed.error, sent: parsed.sent }
  return { kind: "timeout", sent: parsed.sent }
}

/** `getconf CLK_TCK`: the unit of utime/stime in /proc/PID/stat. */
export const clockTicksPerSecond = async (): Promise<number> => {
  const result = await runOk("getconf", ["CLK_TCK"])
  const ticks = Number(result.stdout.trim())
  if (!Number.isInteger(ticks) || ticks <= 0) throw new Error(`unexpected CLK_TCK ${JSON.stringify(result.stdout)}`)
  return ticks
}

/** utime + stime of a process (all its threads), in clock ticks, from /proc/PID/stat. */
export const cpuTicks = (pid: number): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // utime and stime are fields 14 and 15 of the whole line; field 3 is fields[0] here.
  return Number(fields[11]) + Number(fields[12])
}
