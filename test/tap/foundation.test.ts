/**
 * Foundation TAP tests: the device under test answers the kernel's own
 * clients (ping, nc, a node UDP socket) from a client namespace. Runs against
 * `isla up` (default) or the Linux kernel (`ISLA_TARGET=linux`), which every
 * test but the isla-only ones must also pass.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import {
  clockTicksPerSecond,
  cpuTicks,
  describeExec,
  describeIslaOnly,
  describeTap,
  itIslaOnly,
  parsePing,
  type TargetHandle,
  udpExchange,
  useTarget
} from "./harness.js"

const tools = ["ping", "nc", "tcpdump", "getconf"]

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs ping in the client namespace and expects every request answered. */
const expectPingAnswered = async (target: TargetHandle, args: ReadonlyArray<string>, count: number, timeout: number) => {
  const result = await target.exec("ping", [...args, target.dutIp], { timeout })
  const summary = parsePing(result.stdout)
  const context = describeExec(result)
  expect(summary, context).toBeDefined()
  expect(summary!.transmitted, context).toBe(count)
  expect(summary!.received, context).toBe(count)
  expect(summary!.lossPercent, context).toBe(0)
  expect(result.code, context).toBe(0)
  return summary!
}

// `nc -u` needs a write after the ICMP error has arrived to see it: with -z,
// netcat-openbsd writes "X", writes "X" again, then once a second until -w
// runs out, and exits 1 as soon as a write fails with ECONNREFUSED (it prints
// nothing then). An open port keeps it writing until -w and exits 0. -w 2
// leaves a userspace stack two seconds to send its port unreachable.
const ncUdpProbe = (port: number, dutIp: string) => ["-n", "-u", "-z", "-v", "-w", "2", dutIp, String(port)]

describeTap("foundation", { tools }, () => {
  describe("one DUT for the file", () => {
    const target = useTarget()

    it("prints a ready line with tap=, mac= and ipv4=", () => {
      const t = target()
      expect(t.readyLine.startsWith("ready ")).toBe(true)
      expect(t.ready["ipv4"], t.readyLine).toBe(`${t.dutIp}/${t.prefixLength}`)
      expect(t.ready["tap"], t.readyLine).toBe(t.dutIfname)
      expect(t.ready["mac"], t.readyLine).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i)
    })

    itIslaOnly(
      "idles: under 0.3 s of CPU in 10 s after ready",
      async () => {
        const t = target()
        const ticksPerSecond = await clockTicksPerSecond()
        await sleep(1000) // settle: start-up work, the kernel's IPv6 chatter on the new link
        const before = cpuTicks(t.pid)
        await sleep(10_000)
        const used = (cpuTicks(t.pid) - before) / ticksPerSecond
        console.log(`[tap] idle CPU over 10 s: ${used.toFixed(3)} s (pid ${t.pid})`)
        expect(used).toBeLessThan(0.3)
      },
      20_000
    )

    it("answers ping -c 5 -i 0.2 with 0% loss", async () => {
      await expectPingAnswered(target(), ["-c", "5", "-i", "0.2", "-W", "2"], 5, 15_000)
    })

    it(
      "answers ping -f -c 10000 with 0% loss",
      async () => {
        const summary = await expectPingAnswered(target(), ["-f", "-c", "10000", "-w", "60"], 10_000, 75_000)
        console.log(`[tap] ping -f: rtt min/avg/max/mdev = ${JSON.stringify(summary.rtt)} ms`)
      },
      90_000
    )

    it("answers ping -s 4000 (fragmented both ways)", async () => {
      await expectPingAnswered(target(), ["-s", "4000", "-c", "3", "-i", "0.2", "-W", "2"], 3, 15_000)
    })

    it("echoes UDP datagrams of random bytes on port 7", async () => {
      const t = target()
      for (const size of [1, 64, 512, 1472]) {
        const payload = randomBytes(size)
        const outcome = await udpExchange(t, 7, payload)
        expect(outcome.kind, `size ${size}: ${JSON.stringify(outcome)}`).toBe("reply")
        if (outcome.kind === "reply") expect(outcome.payload.equals(payload), `size ${size}`).toBe(true)
      }
    })

    it("echoes a 4000-byte UDP datagram (fragmented both ways)", async () => {
      const payload = randomBytes(4000)
      const outcome = await udpExchange(target(), 7, payload)
      expect(outcome.kind, JSON.stringify({ ...outcome, payload: undefined })).toBe("reply")
      if (outcome.kind === "reply") {
        expect(outcome.payload.length).toBe(payload.length)
        expect(outcome.payload.equals(payload)).toBe(true)
      }
    })

    it("discards on UDP port 9: no reply and no ICMP error", async () => {
      const t = target()
      const outcome = await udpExchange(t, 9, randomBytes(100), { perTryMs: 400, tries: 3 })
      expect(outcome).toEqual({ kind: "timeout", sent: 3 })
      // The same nc probe as the closed-port test below, against an open port: exit 0.
      const nc = await t.exec("nc", ncUdpProbe(9, t.dutIp), { timeout: 10_000 })
      expect(nc.code, describeExec(nc)).toBe(0)
    })

    it("answers a closed UDP port with ICMP port unreachable (nc -u sees it refused)", async () => {
      const t = target()
      const nc = await t.exec("nc", ncUdpProbe(5555, t.dutIp), { timeout: 10_000 })
      expect(nc.timedOut, describeExec(nc)).toBe(false)
      expect(nc.code, describeExec(nc)).toBe(1)
      // The same ICMP error as a socket error: a connected socket gets ECONNREFUSED.
      const outcome = await udpExchange(t, 5556, randomBytes(16), { perTryMs: 500, tries: 4 })
      expect(outcome.kind === "error" ? outcome.code : JSON.stringify(outcome)).toBe("ECONNREFUSED")
    })
  })

  describeIslaOnly("pcap and shutdown", () => {
    let dir: string | undefined
    const pcapPath = () => path.join(dir!, "capture.pcap")
    // Registered before useTarget so that it runs after the target's cleanup.
    afterAll(() => {
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })
    const target = useTarget(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `isla-t${process.pid}-pcap-`))
      return { extraArgs: ["--pcap", pcapPath()] }
    })

    it("answers ping while capturing", async () => {
      await expectPingAnswered(target(), ["-c", "3", "-i", "0.2", "-W", "2"], 3, 15_000)
    })

    it("exits 0 on SIGTERM and removes its TAP", async () => {
      const t = target()
      const code = await t.stop("SIGTERM", 5000)
      expect(code, `exit code after SIGTERM\n${t.stderr()}`).toBe(0)
      const link = await t.exec("ip", ["link", "show", t.dutIfname])
      expect(link.code, `the TAP should be gone\n${describeExec(link)}`).not.toBe(0)
    })

    it("wrote a pcap that tcpdump reads, with the echo request and reply", async () => {
      const t = target()
      expect(await t.stop("SIGTERM", 5000)).toBe(0) // flushes the capture (no-op when already stopped)
      const pcap = pcapPath()
      expect(fs.existsSync(pcap), `${pcap} missing`).toBe(true)
      const dump = await t.exec("tcpdump", ["-r", pcap, "-nn"], { timeout: 10_000 })
      expect(dump.code, describeExec(dump)).toBe(0)
      expect(dump.stdout, describeExec(dump)).toMatch(new RegExp(`${t.hostIp} > ${t.dutIp}: ICMP echo request`))
      expect(dump.stdout, describeExec(dump)).toMatch(new RegExp(`${t.dutIp} > ${t.hostIp}: ICMP echo reply`))
    })
  })
})
