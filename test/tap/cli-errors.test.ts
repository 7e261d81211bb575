/**
 * `isla up`'s failures as a user meets them: one clear line on stderr and the
 * right exit code when not root, when the TAP name is taken or is not a TAP,
 * when the TAP vanishes under a running stack, and on bad usage. Each case
 * runs in a namespace of its own.
 */
import { afterEach, expect, it } from "vitest"
import {
  cliPath,
  createNamespace,
  deleteNamespace,
  describeExec,
  describeIslaOnly,
  describeTap,
  namespaceName,
  run,
  startTarget,
  type TargetHandle
} from "./harness.js"

const namespaces: Array<string> = []
const targets: Array<TargetHandle> = []
afterEach(async () => {
  for (const t of targets.splice(0)) await t.cleanup()
  for (const ns of namespaces.splice(0)) await deleteNamespace(ns)
})

const freshNamespace = async () => {
  const ns = namespaceName()
  await createNamespace(ns)
  namespaces.push(ns)
  return ns
}

const isla = (ns: string, args: ReadonlyArray<string>, timeout = 15_000) =>
  run("ip", ["netns", "exec", ns, "node", cliPath, ...args], { timeout })

/** Exactly one non-empty line on stderr, starting with "isla: ". */
const oneLine = (stderr: string) => {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "")
  expect(lines, stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^isla: /)
  return lines[0]!
}

describeTap("isla up failures", { tools: ["setpriv"] }, () => {
  describeIslaOnly("as a user would see them", () => {
    it("not root: exit 1 and one line saying why", async () => {
      const ns = await freshNamespace()
      const r = await run("ip", [
        "netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        "node", cliPath, "up", "--tap", "isla0"
      ], { timeout: 15_000 })
      expect(r.code, describeExec(r)).toBe(1)
      expect(oneLine(r.stderr)).toMatch(/permission denied.*root|CAP_NET_ADMIN/)
      expect(r.stdout).not.toMatch(/^ready /m)
    }, 20_000)

    it("the name is a non-TAP interface: exit 1, NameInUse", async () => {
      const ns = await freshNamespace()
      await run("ip", ["-n", ns, "link", "add", "x0", "type", "veth", "peer", "name", "x1"])
      const r = await isla(ns, ["up", "--tap", "x0"])
      expect(r.code, describeExec(r)).toBe(1)
      expect(oneLine(r.stderr)).toMatch(/x0 exists and is not a TAP/)
    }, 20_000)

    it("the TAP is held by another stack: exit 1, busy", async () => {
      const t = await startTarget()
      targets.push(t)
      const r = await isla(t.ns, ["up", "--tap", t.dutIfname, "--ip", "10.77.0.3/24"])
      expect(r.code, describeExec(r)).toBe(1)
      expect(oneLine(r.stderr)).toMatch(/busy/)
      expect(t.running()).toBe(true)
    }, 30_000)

    it("the TAP vanishes under a running stack: exit 1, gone", async () => {
      const t = await startTarget()
      targets.push(t)
      await run("ip", ["-n", t.ns, "link", "del", t.dutIfname])
      const code = await t.stop("SIGCONT", 10_000)
      expect(code, t.stderr()).toBe(1)
      expect(t.stderr()).toMatch(/isla: .*isla0 is gone/)
    }, 30_000)
  })
})

describeTap("isla usage errors (no TAP is opened; still inside a namespace)", { tools: [] }, () => {
  it.each([
    [["up", "--workers", "4"], /--workers/],
    [["up", "--ip", "10.1.2.3"], /--ip/],
    [["up", "--mac", "nonsense"], /--mac/],
    [["up", "--poll", "sometimes"], /adaptive, spin/],
    [["up", "--no-such-option"], /no-such-option/],
    [["bogus"], /bogus|Invalid subcommand/i]
  ])("isla %j exits 2 with a usage message", async (args, pattern) => {
    const r = await isla(await freshNamespace(), args as Array<string>)
    expect(r.code, describeExec(r)).toBe(2)
    expect(r.stderr + r.stdout).toMatch(pattern as RegExp)
    expect(r.stderr).toMatch(/usage: isla/)
  }, 20_000)
})
