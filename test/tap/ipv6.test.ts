/**
 * IPv6 TAP tests (issue #7): the device under test on a link where radvd
 * advertises fd00:77:1::/64 from the client namespace. It probes its
 * link-local address (DAD NS) and solicits a router at start, forms its SLAAC
 * address, answers ping -6, UDP and TCP echo and HTTP over IPv6, ignores an NS
 * whose hop limit is not 255, gives up a static address another host holds,
 * and with `--no-ipv6` sends no IPv6 at all. Runs against `isla up` (default)
 * or the Linux kernel (`ISLA_TARGET=linux`), which every test but the
 * isla-only ones must also pass.
 */
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  describeExec,
  describeTap,
  type ExecResult,
  itIslaOnly,
  parsePing,
  runOk,
  type TargetHandle,
  useTarget
} from "./harness.js"
import {
  awaitHostLinkLocal,
  canonicalIpv6,
  type Capture,
  captureFromStart,
  describeFrames,
  type Frame,
  Icmp6Type,
  injectFrames,
  linkLocalOf,
  multicastMacOf,
  neighborSolicitFrame,
  ping6,
  RA_PREFIX,
  type Radvd,
  slaacAddressOf,
  solicitedNodeOf,
  startCapture,
  startLinuxIpv6Services,
  startRadvd,
  sysctl,
  udp6Exchange,
  waitUntil
} from "./ipv6-harness.js"

const tools = ["ping", "tcpdump", "radvd", "python3", "nc", "curl", "sh"]

const MiB = 1024 * 1024

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex")

const log = (message: string) => console.log(`[tap] ${message}`)

/** The DUT's MAC, from its ready line. */
const dutMac = (t: TargetHandle): string => {
  const mac = t.ready["mac"]
  if (mac === undefined) throw new Error(`no mac= in the ready line: ${t.readyLine}`)
  return mac.toLowerCase()
}

/** Expects every one of `count` echo requests answered. */
const expectAllAnswered = (result: ExecResult, count: number) => {
  const summary = parsePing(result.stdout)
  const context = describeExec(result)
  expect(summary, context).toBeDefined()
  expect(summary!.transmitted, context).toBe(count)
  expect(summary!.received, context).toBe(count)
  expect(result.code, context).toBe(0)
}

const isFrom = (mac: string) => (f: Frame) => f.srcMac === mac
const isIcmp6 = (type: number) => (f: Frame) => f.icmp6?.type === type

/** A DAD probe for `target` (RFC 4862 §5.4.2): NS from ::, to the solicited-node group, hop limit 255. */
const isDadProbe = (mac: string, target: string) => (f: Frame) =>
  f.srcMac === mac &&
  f.icmp6?.type === Icmp6Type.NeighborSolicit &&
  f.icmp6.target === target &&
  f.ip6!.src === "::" &&
  f.ip6!.dst === solicitedNodeOf(target) &&
  f.ip6!.hopLimit === 255

/** `curl -g -sS` writing the body to a file and printing status and content type. */
const curl = async (t: TargetHandle, url: string, bodyFile: string): Promise<{ result: ExecResult; status: number; type: string }> => {
  const result = await t.exec(
    "curl",
    ["-g", "-sS", "--max-time", "10", "-o", bodyFile, "-w", "%{http_code} %{content_type}", url],
    { timeout: 15_000 }
  )
  const [status, ...type] = result.stdout.trim().split(" ")
  return { result, status: Number(status), type: type.join(" ") }
}

describeTap("ipv6", { tools }, () => {
  describe("one DUT, radvd on the link", () => {
    let dir: string | undefined
    const tmp = () => {
      if (dir === undefined) dir = fs.mkdtempSync(path.join(os.tmpdir(), `isla-t${process.pid}-ipv6-`))
      return dir
    }
    // Registered before useTarget so that it runs after the target's cleanup.
    afterAll(() => {
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })
    let startCap: Capture | undefined
    const target = useTarget(() => ({
      beforeDut: async (env) => {
        startCap = await captureFromStart(env, path.join(tmp(), "start.pcap"))
      }
    }))
    let radvd: Radvd | undefined
    let services: { stop(): Promise<void> } | undefined
    beforeAll(async () => {
      const t = target()
      radvd = await startRadvd(t.ns, t.hostIfname, tmp())
      if (t.kind === "linux") services = await startLinuxIpv6Services(t)
      await awaitHostLinkLocal(t.ns, t.hostIfname)
    }, 30_000)
    afterAll(async () => {
      await startCap?.stop()
      await radvd?.stop()
      await services?.stop()
    }, 20_000)

    const linkLocal = () => linkLocalOf(dutMac(target()))
    const global = () => slaacAddressOf(RA_PREFIX, dutMac(target()))
    const scoped = (address: string) => `${address}%${target().hostIfname}`

    /** Waits (bounded) until the SLAAC address answers one echo request. */
    const awaitGlobal = async (): Promise<boolean> =>
      waitUntil(async () => {
        const r = await target().exec("ping", ["-6", "-n", "-c", "1", "-W", "1", global()], { timeout: 5000 })
        return r.code === 0
      }, 25_000, 500)

    it(
      "sends a DAD NS for its link-local address and a Router Solicitation at start (capture)",
      async () => {
        const t = target()
        const mac = dutMac(t)
        const ll = linkLocal()
        let frames: Array<Frame> = []
        const seen = await waitUntil(() => {
          frames = startCap!.frames()
          const fromDut = frames.filter(isFrom(mac))
          return fromDut.some(isDadProbe(mac, ll)) && fromDut.some(isIcmp6(Icmp6Type.RouterSolicit))
        }, 15_000)
        const context = `DUT ${mac} link-local ${ll}\n${describeFrames(frames)}\n${await startCap!.text()}`
        expect(seen, context).toBe(true)
        const dad = frames.find(isDadProbe(mac, ll))!
        // RFC 4861 §6.3.7: an RS goes to all-routers with hop limit 255.
        const rs = frames.find((f) => f.srcMac === mac && f.icmp6?.type === Icmp6Type.RouterSolicit)!
        expect(rs.ip6!.dst, context).toBe("ff02::2")
        expect(rs.ip6!.hopLimit, context).toBe(255)
        expect(rs.dstMac, context).toBe("33:33:00:00:00:02")
        expect(dad.dstMac, context).toBe(multicastMacOf(solicitedNodeOf(ll)))
        // RFC 4861 §7.1.1: a solicitation from :: has no source link-layer option.
        expect(dad.icmp6!.sourceLinkLayer, context).toBeUndefined()
        // RFC 4862 §5.4: the tentative address is not used before DAD is done
        // (RetransTimer, 1 s, after the probe).
        const firstUse = frames.find((f) => f.srcMac === mac && f.ip6?.src === ll)
        if (firstUse !== undefined) expect(firstUse.time - dad.time, context).toBeGreaterThanOrEqual(0.9)
        // RFC 4861 §4.1: an RS from :: must not carry the source link-layer option; from the link-local address it should.
        expect(rs.icmp6!.sourceLinkLayer, context).toBe(rs.ip6!.src === "::" ? undefined : mac)
        log(
          `DAD NS at +0, RS from ${rs.ip6!.src} at +${(rs.time - dad.time).toFixed(3)} s, ` +
            `first frame from ${ll} at ${firstUse === undefined ? "(none yet)" : `+${(firstUse.time - dad.time).toFixed(3)} s`}`
        )
      },
      30_000
    )

    itIslaOnly("prints ipv6=<link-local> on the ready line", () => {
      const t = target()
      const value = t.ready["ipv6"]
      expect(value, t.readyLine).toBeDefined()
      const [address, prefix] = value!.split("/")
      expect(canonicalIpv6(address!), t.readyLine).toBe(linkLocal())
      if (prefix !== undefined) expect(prefix, t.readyLine).toBe("64")
    })

    it("answers ping -6 -c 3 on its link-local address", async () => {
      expectAllAnswered(await ping6(target(), scoped(linkLocal()), 3), 3)
    }, 20_000)

    it(
      "ignores an NS with hop limit 64 and answers one with hop limit 255 (RFC 4861 §7.1.1)",
      async () => {
        const t = target()
        const mac = dutMac(t)
        const ll = linkLocal()
        const cap = await startCapture(t.ns, t.hostIfname, path.join(tmp(), "ns-hoplimit.pcap"), { maxMs: 60_000 })
        try {
          // Two made-up neighbours, so that each answer says which probe it answers.
          const bad = { srcMac: "02:00:00:00:00:99", src: "fe80::99" }
          const good = { srcMac: "02:00:00:00:00:98", src: "fe80::98" }
          await injectFrames(t.ns, t.hostIfname, [neighborSolicitFrame({ ...bad, target: ll, hopLimit: 64 })])
          await sleep(1500)
          await injectFrames(t.ns, t.hostIfname, [neighborSolicitFrame({ ...good, target: ll, hopLimit: 255 })])
          const answeredGood = (f: Frame) =>
            f.srcMac === mac && f.icmp6?.type === Icmp6Type.NeighborAdvert && f.ip6!.dst === good.src
          const seen = await waitUntil(() => cap.frames().some(answeredGood), 5000)
          await sleep(500)
          await cap.stop()
          const frames = cap.frames()
          const context = describeFrames(frames)
          expect(seen, `no NA for the hop-limit-255 NS\n${context}`).toBe(true)
          const na = frames.find(answeredGood)!
          expect(na.icmp6!.target, context).toBe(ll)
          expect(na.icmp6!.solicited, context).toBe(true)
          expect(na.ip6!.hopLimit, context).toBe(255)
          expect(na.dstMac, context).toBe(good.srcMac)
          const answeredBad = frames.filter((f) =>
            f.srcMac === mac && (f.dstMac === bad.srcMac || f.ip6?.dst === bad.src)
          )
          expect(answeredBad, `answered the hop-limit-64 NS\n${context}`).toEqual([])
        } finally {
          await cap.stop()
        }
      },
      30_000
    )

    it(
      "forms its SLAAC address from the radvd prefix (after DAD) and answers ping -6 on it",
      async () => {
        const t = target()
        const mac = dutMac(t)
        const address = global()
        const up = await awaitGlobal()
        const frames = startCap!.frames()
        expect(up, `${address} did not answer within 25 s\n${radvd?.log()}\n${describeFrames(frames)}`).toBe(true)
        // It probed the address before using it.
        expect(frames.some(isDadProbe(mac, address)), describeFrames(frames)).toBe(true)
        expectAllAnswered(await ping6(t, address, 3), 3)
        const neigh = await t.exec("ip", ["-6", "neigh", "show", address, "dev", t.hostIfname])
        expect(neigh.stdout.toLowerCase(), describeExec(neigh)).toContain(mac)
      },
      45_000
    )

    it(
      "echoes UDP over IPv6 on port 7 (global and link-local)",
      async () => {
        const t = target()
        expect(await awaitGlobal(), `${global()} is not up`).toBe(true)
        for (const size of [1, 64, 512, 1452]) {
          const payload = randomBytes(size)
          const outcome = await udp6Exchange(t, global(), 7, payload)
          expect(outcome.kind, `size ${size}: ${JSON.stringify({ ...outcome, payload: undefined })}`).toBe("reply")
          if (outcome.kind === "reply") {
            expect(outcome.payload.equals(payload), `size ${size}`).toBe(true)
            expect(canonicalIpv6(outcome.from)).toBe(global())
          }
        }
        const payload = randomBytes(100)
        const outcome = await udp6Exchange(t, scoped(linkLocal()), 7, payload)
        expect(outcome.kind, JSON.stringify({ ...outcome, payload: undefined })).toBe("reply")
        if (outcome.kind === "reply") expect(outcome.payload.equals(payload)).toBe(true)
      },
      60_000
    )

    it(
      "echoes a 4000-byte UDP datagram over IPv6 (fragmented both ways)",
      async () => {
        const t = target()
        expect(await awaitGlobal(), `${global()} is not up`).toBe(true)
        const payload = randomBytes(4000)
        const outcome = await udp6Exchange(t, global(), 7, payload)
        expect(outcome.kind, JSON.stringify({ ...outcome, payload: undefined })).toBe("reply")
        if (outcome.kind === "reply") expect(outcome.payload.equals(payload)).toBe(true)
      },
      40_000
    )

    it(
      "echoes 50 MB of random bytes over TCP/IPv6 on port 7 (nc -N, sha256 compared)",
      async () => {
        const t = target()
        expect(await awaitGlobal(), `${global()} is not up`).toBe(true)
        const size = 50 * MiB
        const input = path.join(tmp(), "echo-in")
        const output = path.join(tmp(), "echo-out")
        const data = randomBytes(size)
        fs.writeFileSync(input, data)
        const nc = await t.exec("sh", ["-c", `nc -N "$1" 7 < "$2" > "$3"`, "sh", global(), input, output], {
          timeout: 60_000
        })
        log(`TCP/IPv6 echo 50 MB: ${nc.durationMs} ms`)
        expect(nc.timedOut, describeExec(nc)).toBe(false)
        expect(nc.code, describeExec(nc)).toBe(0)
        const echoed = fs.readFileSync(output)
        expect(echoed.length, describeExec(nc)).toBe(size)
        expect(sha256(echoed)).toBe(sha256(data))
        fs.rmSync(input)
        fs.rmSync(output)
      },
      120_000
    )

    it(
      "serves HTTP over IPv6 (curl -g http://[global]/ and the link-local address)",
      async () => {
        const t = target()
        expect(await awaitGlobal(), `${global()} is not up`).toBe(true)
        const body = path.join(tmp(), "page.html")
        for (const host of [global(), `${linkLocal()}%25${t.hostIfname}`]) {
          const { result, status, type } = await curl(t, `http://[${host}]/`, body)
          expect(result.code, describeExec(result)).toBe(0)
          expect(status, describeExec(result)).toBe(200)
          expect(type, describeExec(result)).toMatch(/^text\/html/)
          expect(fs.readFileSync(body, "utf8"), describeExec(result)).toMatch(/<html/i)
        }
      },
      40_000
    )

    itIslaOnly(
      "GET /metrics over IPv6 counts frames and shows IPv6 (NDP/ICMPv6) figures",
      async () => {
        const t = target()
        expect(await awaitGlobal(), `${global()} is not up`).toBe(true)
        const body = path.join(tmp(), "metrics.txt")
        const { result, status } = await curl(t, `http://[${global()}]/metrics`, body)
        expect(status, describeExec(result)).toBe(200)
        const text = fs.readFileSync(body, "utf8")
        expect(text).toMatch(/^isla_frames_received_total(\{[^}]*\})? \d+/m)
        const ipv6Lines = text.split("\n").filter((line) => !line.startsWith("#") && /ipv6|icmpv6|ndp/i.test(line))
        expect(ipv6Lines.length, text).toBeGreaterThan(0)
        log(`IPv6 metric lines: ${ipv6Lines.slice(0, 8).join(" | ")}`)
        // The 50 MB echo above went out over TCP/IPv6 in packets the kernel cut (TSO over IPv6):
        // this DUT carried no other bulk TCP.
        expect(Number(/^isla_events_total\{layer="ethernet",event="gso_tx"\} (\d+)/m.exec(text)?.[1] ?? 0), text).toBeGreaterThan(0)
        expect(text).toMatch(/^isla_events_total\{layer="ndp",event="dad_ok"\} \d+/m)
      },
      40_000
    )
  })

  describe("a static address another host already holds (DAD conflict)", () => {
    const duplicate = "fd00:77:2::5"
    let dir: string | undefined
    afterAll(() => {
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })
    let cap: Capture | undefined
    const target = useTarget(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `isla-t${process.pid}-ipv6dad-`))
      return {
        extraArgs: ["--ip6", `${duplicate}/64`],
        // The kernel on the client side holds the address before the DUT starts, and defends it.
        beforeDut: async (env) => {
          cap = await captureFromStart(env, path.join(dir!, "dad.pcap"), { hostAddresses: [`${duplicate}/64`] })
        }
      }
    })
    beforeAll(async () => {
      // The kernel as the DUT is given the same static address once it runs (isla got --ip6).
      const t = target()
      if (t.kind === "linux") await runOk("ip", ["-n", t.dutNs, "addr", "add", `${duplicate}/64`, "dev", t.dutIfname])
      await awaitHostLinkLocal(t.ns, t.hostIfname)
    }, 15_000)
    afterAll(async () => {
      await cap?.stop()
    })

    it(
      "probes the address, then never sends from it nor advertises it (capture)",
      async () => {
        const t = target()
        const mac = dutMac(t)
        const probed = await waitUntil(() => cap!.frames().some(isDadProbe(mac, duplicate)), 10_000)
        expect(probed, `no DAD NS for ${duplicate}\n${describeFrames(cap!.frames())}`).toBe(true)
        // The defender's NA (to all-nodes) is on the wire.
        const defended = await waitUntil(
          () =>
            cap!.frames().some((f) =>
              f.srcMac !== mac && f.icmp6?.type === Icmp6Type.NeighborAdvert && f.icmp6.target === duplicate
            ),
          5000
        )
        expect(defended, `the client side did not defend ${duplicate}\n${describeFrames(cap!.frames())}`).toBe(true)
        if (t.kind === "linux") {
          const addr = await t.exec("ip", ["netns", "exec", t.dutNs, "ip", "-6", "addr", "show", "dev", t.dutIfname])
          expect(addr.stdout, describeExec(addr)).toMatch(/dadfailed/)
        }
        // Asked for the address by a third host, the DUT must not claim it.
        await injectFrames(t.ns, t.hostIfname, [
          neighborSolicitFrame({ srcMac: "02:00:00:00:00:97", src: "fe80::97", target: duplicate, hopLimit: 255 })
        ])
        // And traffic that would make a host with the address answer from it.
        await t.exec("ping", ["-6", "-n", "-c", "2", "-i", "0.3", "-W", "1", "-I", duplicate, `${linkLocalOf(mac)}%${t.hostIfname}`], {
          timeout: 10_000
        })
        await sleep(2000)
        await cap!.stop()
        const frames = cap!.frames()
        const context = describeFrames(frames)
        const used = frames.filter((f) => f.srcMac === mac && f.ip6?.src === duplicate)
        expect(used, `the DUT sent from ${duplicate}\n${context}`).toEqual([])
        const claimed = frames.filter((f) =>
          f.srcMac === mac && f.icmp6?.type === Icmp6Type.NeighborAdvert && f.icmp6.target === duplicate
        )
        expect(claimed, `the DUT advertised ${duplicate}\n${context}`).toEqual([])
        // The link-local address is unaffected.
        expectAllAnswered(await ping6(t, `${linkLocalOf(mac)}%${t.hostIfname}`, 2), 2)
      },
      40_000
    )

    itIslaOnly("logs the address as a duplicate and leaves it off the ready line", async () => {
      const t = target()
      const logged = await waitUntil(
        () => t.stderr().split("\n").some((line) => /duplicate|in use|conflict|dad/i.test(line) && line.includes(duplicate)),
        10_000
      )
      expect(logged, `no stderr line saying ${duplicate} is a duplicate\n${t.stderr()}`).toBe(true)
      expect(t.readyLine).not.toContain(duplicate)
    }, 15_000)
  })

  describe("IPv6 off (isla --no-ipv6; the kernel with disable_ipv6=1)", () => {
    let dir: string | undefined
    afterAll(() => {
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })
    let cap: Capture | undefined
    const target = useTarget(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `isla-t${process.pid}-noipv6-`))
      return {
        extraArgs: ["--no-ipv6"],
        beforeDut: async (env) => {
          if (env.kind === "linux") {
            await sysctl(env.dutNs, {
              "net.ipv6.conf.all.disable_ipv6": "1",
              [`net.ipv6.conf.${env.dutIfname}.disable_ipv6`]: "1"
            })
          }
          cap = await captureFromStart(env, path.join(dir!, "noipv6.pcap"))
        }
      }
    })
    afterAll(async () => {
      await cap?.stop()
    })

    itIslaOnly("has no ipv6= on the ready line", () => {
      const t = target()
      expect(t.ready["ipv6"], t.readyLine).toBeUndefined()
    })

    it(
      "sends no IPv6 frame at all, even when pinged over IPv6, while IPv4 works",
      async () => {
        const t = target()
        const mac = dutMac(t)
        // Multicast and unicast IPv6 pings that an IPv6 host would answer, and an NS.
        await t.exec("ping", ["-6", "-n", "-c", "3", "-i", "0.3", "-W", "1", `ff02::1%${t.hostIfname}`], { timeout: 10_000 })
        const unicast = await t.exec("ping", ["-6", "-n", "-c", "2", "-i", "0.3", "-W", "1", `${linkLocalOf(mac)}%${t.hostIfname}`], {
          timeout: 10_000
        })
        expect(parsePing(unicast.stdout)?.received ?? 0, describeExec(unicast)).toBe(0)
        await injectFrames(t.ns, t.hostIfname, [
          neighborSolicitFrame({ srcMac: "02:00:00:00:00:96", src: "fe80::96", target: linkLocalOf(mac), hopLimit: 255 })
        ])
        expectAllAnswered(await t.exec("ping", ["-n", "-c", "3", "-i", "0.2", "-W", "2", t.dutIp], { timeout: 15_000 }), 3)
        await sleep(2000)
        await cap!.stop()
        const frames = cap!.frames()
        const fromDut = frames.filter(isFrom(mac))
        const context = `${describeFrames(frames)}\n--- DUT stderr\n${t.stderr().slice(-4000)}`
        expect(fromDut.filter((f) => f.ethertype === 0x86dd), context).toEqual([])
        // The capture did see the DUT: its IPv4 echo replies.
        expect(fromDut.filter((f) => f.ethertype === 0x0800).length, context).toBeGreaterThanOrEqual(3)
      },
      40_000
    )
  })
})
