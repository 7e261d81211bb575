/**
 * `isla ping` against the kernel: a namespace with a persistent TAP whose
 * kernel side has 10.77.0.1/24, fd00:77::1/64 and the EUI-64 link-local of
 * its MAC; each test runs the one-shot `isla ping` on that TAP and reads its
 * iputils-style output and exit code.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import {
  cliPath,
  createNamespace,
  deleteNamespace,
  describeExec,
  describeIslaOnly,
  describeTap,
  type ExecResult,
  namespaceName,
  parsePing,
  run,
  runOk
} from "./harness.js"

const kernelIp = "10.77.0.1"
const islaCidr = "10.77.0.2/24"
const silentIp = "10.77.0.99"
const kernelMac = "02:00:00:00:00:01"
/** The modified EUI-64 link-local of `kernelMac` (RFC 4291 appendix A). */
const kernelLinkLocal = "fe80::ff:fe00:1"
const kernelGlobal = "fd00:77::1"
const islaGlobal = "fd00:77::2/64"

let ns: string | undefined
let dir: string | undefined

/** Runs `isla ping ARGS...` in the namespace under `timeout`. */
const islaPing = (args: ReadonlyArray<string>, timeoutMs = 30_000): Promise<ExecResult> =>
  run(
    "ip",
    [
      "netns", "exec", ns!, "timeout", "-s", "KILL", String(Math.ceil(timeoutMs / 1000)),
      process.execPath, cliPath, "ping", "--tap", "isla0", "--ip", islaCidr, ...args
    ],
    { timeout: timeoutMs + 5000 }
  )

/** Expects every one of `count` requests answered, and returns the parsed output. */
const expectAnswered = (result: ExecResult, count: number) => {
  const context = describeExec(result)
  const summary = parsePing(result.stdout)
  expect(summary, context).toBeDefined()
  expect(summary!.transmitted, context).toBe(count)
  expect(summary!.received, context).toBe(count)
  expect(summary!.lossPercent, context).toBe(0)
  expect(summary!.times.length, context).toBe(count)
  expect(summary!.rtt, context).toBeDefined()
  expect(result.code, context).toBe(0)
  const seqs = [...result.stdout.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b)
  expect(seqs, context).toEqual(Array.from({ length: count }, (_, i) => i + 1))
  return summary!
}

describeTap("isla ping", { tools: ["sh", "timeout", "dnsmasq"] }, () => {
  describeIslaOnly("against the kernel on a TAP", () => {
    beforeAll(async () => {
      ns = namespaceName()
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `isla-t${process.pid}-ping-`))
      await createNamespace(ns)
      await runOk("ip", ["-n", ns, "tuntap", "add", "isla0", "mode", "tap"])
      await runOk("ip", ["-n", ns, "link", "set", "isla0", "address", kernelMac])
      // No DAD on the kernel side, so its addresses answer as soon as isla brings the carrier up.
      await runOk("ip", ["netns", "exec", ns, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/isla0/accept_dad"])
      await runOk("ip", ["-n", ns, "addr", "add", `${kernelIp}/24`, "dev", "isla0"])
      await runOk("ip", ["-n", ns, "addr", "add", `${kernelGlobal}/64`, "dev", "isla0", "nodad"])
      await runOk("ip", ["-n", ns, "link", "set", "isla0", "up"])
    }, 30_000)

    afterAll(async () => {
      if (ns !== undefined) await deleteNamespace(ns)
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })

    it("IPv4: -c 3 -i 0.2, every request answered, iputils output", async () => {
      const result = await islaPing(["-c", "3", "-i", "0.2", kernelIp])
      const summary = expectAnswered(result, 3)
      const context = describeExec(result)
      expect(result.stdout, context).toContain(`PING ${kernelIp} (${kernelIp}) 56(84) bytes of data.`)
      expect(result.stdout, context).toMatch(new RegExp(`^64 bytes from ${kernelIp.replace(/\./g, "\\.")}: icmp_seq=1 ttl=64 time=[\\d.]+ ms$`, "m"))
      expect(result.stdout, context).toContain(`--- ${kernelIp} ping statistics ---`)
      expect(summary.rtt!.min, context).toBeLessThanOrEqual(summary.rtt!.avg)
      expect(summary.rtt!.avg, context).toBeLessThanOrEqual(summary.rtt!.max)
    })

    it("IPv4: -s 4000, fragmented both ways", async () => {
      const result = await islaPing(["-c", "2", "-i", "0.2", "-s", "4000", kernelIp])
      expectAnswered(result, 2)
      expect(result.stdout, describeExec(result)).toContain("4000(4028) bytes of data.")
      expect(result.stdout, describeExec(result)).toMatch(/^4008 bytes from /m)
    })

    it("IPv4: a silent host: exit 1, 100% packet loss", async () => {
      const result = await islaPing(["-c", "2", "-i", "0.2", "-W", "1", silentIp])
      const context = describeExec(result)
      const summary = parsePing(result.stdout)
      expect(summary, context).toBeDefined()
      expect(summary!.transmitted, context).toBe(2)
      expect(summary!.received, context).toBe(0)
      expect(summary!.lossPercent, context).toBe(100)
      expect(summary!.rtt, context).toBeUndefined()
      expect(result.code, context).toBe(1)
      expect(result.stderr, context).toMatch(/no reply/)
    })

    it("IPv6: the kernel's link-local address with its zone", async () => {
      const result = await islaPing(["-c", "3", "-i", "0.2", `${kernelLinkLocal}%isla0`])
      expectAnswered(result, 3)
      expect(result.stdout, describeExec(result)).toMatch(new RegExp(`^64 bytes from ${kernelLinkLocal}%isla0: icmp_seq=1 ttl=64 `, "m"))
    })

    it("IPv6: a global address (isla's from --ip6)", async () => {
      const result = await islaPing(["--ip6", islaGlobal, "-c", "3", "-i", "0.2", kernelGlobal])
      expectAnswered(result, 3)
      expect(result.stdout, describeExec(result)).toMatch(new RegExp(`^64 bytes from ${kernelGlobal}: icmp_seq=1 ttl=64 `, "m"))
    })

    it("IPv6: -s 4000, fragmented both ways", async () => {
      const result = await islaPing(["-c", "2", "-i", "0.2", "-s", "4000", `${kernelLinkLocal}%isla0`])
      expectAnswered(result, 2)
      expect(result.stdout, describeExec(result)).toMatch(/^4008 bytes from /m)
    })

    it("without -c: pings until SIGINT, then prints the statistics and exits 0", async () => {
      const result = await run(
        "ip",
        [
          "netns", "exec", ns!, "timeout", "--foreground", "--preserve-status", "-s", "INT", "2",
          process.execPath, cliPath, "ping", "--tap", "isla0", "--ip", islaCidr, "-i", "0.2", kernelIp
        ],
        { timeout: 20_000 }
      )
      const context = describeExec(result)
      const summary = parsePing(result.stdout)
      expect(summary, context).toBeDefined()
      expect(summary!.received, context).toBeGreaterThanOrEqual(2)
      expect(summary!.received, context).toBe(summary!.transmitted)
      expect(result.code, context).toBe(0)
    })

    it("by name: its A address, else its AAAA (dnsmasq on the kernel side)", async () => {
      // Daemonized; deleting the namespace kills it.
      await runOk("ip", [
        "netns", "exec", ns!, "dnsmasq", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--interface=isla0",
        "--bind-interfaces", `--listen-address=${kernelIp}`, "--local=/test/", `--host-record=kernel.test,${kernelIp}`,
        `--host-record=v6only.test,${kernelGlobal}`, `--pid-file=${path.join(dir!, "dnsmasq.pid")}`
      ])
      const v4 = await islaPing(["--dns", kernelIp, "-c", "2", "-i", "0.2", "kernel.test"])
      expectAnswered(v4, 2)
      expect(v4.stdout, describeExec(v4)).toContain(`PING kernel.test (${kernelIp}) 56(84) bytes of data.`)
      const v6 = await islaPing(["--dns", kernelIp, "--ip6", islaGlobal, "-c", "2", "-i", "0.2", "v6only.test"])
      expectAnswered(v6, 2)
      expect(v6.stdout, describeExec(v6)).toContain(`PING v6only.test (${kernelGlobal}) 56 data bytes`)
      const missing = await islaPing(["--dns", kernelIp, "-c", "1", "nope.test"])
      expect(missing.code, describeExec(missing)).toBe(1)
      expect(missing.stderr, describeExec(missing)).toMatch(/nope\.test/)
    })

    it("bad usage exits 2: no host, -c 0, a zone that is not the TAP", async () => {
      for (const args of [[], ["-c", "0", kernelIp], ["-c", "1", `${kernelLinkLocal}%eth9`]]) {
        const result = await islaPing(args)
        expect(result.code, describeExec(result)).toBe(2)
      }
    })
  })
})
