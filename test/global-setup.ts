/**
 * Vitest global setup: builds the package once (`npm run build`: tsc, then
 * the esbuild bundle) so TAP tests run the current `dist/isla.mjs`, and removes network
 * namespaces left by an earlier test run whose process is gone (SPEC §7).
 * `ISLA_SKIP_BUILD=1` skips the build (e.g. when dist/ is already fresh).
 */
import { execFileSync, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("..", import.meta.url))

const build = () => {
  if (process.env["ISLA_SKIP_BUILD"] === "1") {
    console.warn("[global-setup] ISLA_SKIP_BUILD=1: not building the CLI")
    return
  }
  const started = Date.now()
  const result = spawnSync("npm", ["run", "build", "--silent"], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 300_000,
    killSignal: "SIGKILL"
  })
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error?.message ?? (result.signal !== null ? `killed by ${result.signal}` : `exit ${result.status}`)
    throw new Error(
      `[global-setup] building the CLI failed (npm run build: ${why})\n${result.stdout ?? ""}${result.stderr ?? ""}`
    )
  }
  console.log(`[global-setup] built the CLI in ${Date.now() - started} ms`)
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Deletes namespaces named by the TAP harness or the benchmarks
 * (`isla-t<pid>-<n>[-dut]`, `isla-b<pid>-...`) whose owning process has exited,
 * after killing what still runs inside them (processes those runs started).
 */
const sweepOrphanNamespaces = () => {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return
  let listing: string
  try {
    listing = execFileSync("ip", ["netns", "list"], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] })
  } catch {
    return
  }
  for (const line of listing.split("\n")) {
    const match = /^(isla-[tb](\d+)-\S+)/.exec(line.trim())
    if (match === null || isAlive(Number(match[2]))) continue
    const ns = match[1]!
    try {
      const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 5000 })
      for (const pid of pids.split(/\s+/).filter((s) => /^\d+$/.test(s))) {
        try {
          process.kill(Number(pid), "SIGKILL")
        } catch {
          // already gone
        }
      }
      execFileSync("ip", ["netns", "del", ns], { timeout: 5000, stdio: "ignore" })
      console.warn(`[global-setup] removed orphaned namespace ${ns}`)
    } catch {
      // someone else removed it meanwhile
    }
  }
}

export default function setup(): () => void {
  sweepOrphanNamespaces()
  build()
  return sweepOrphanNamespaces
}
