/**
 * The DHCP and DNS services under TestClock: a client stack and a server
 * stack over the in-memory link; the server stack runs a tiny DHCP server
 * (port 67) and DNS server (port 53) written with Isla's own message modules
 * and Udp sockets. Losses are chosen by the test (drop the first OFFER, the
 * first ACK, ...), and a discrete-event clock moves time to the next timer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, type Context, Effect, Layer, Random, type Scope, Stream } from "effect"
import * as Dhcp from "../../src/layers/Dhcp.js"
import * as Dns from "../../src/layers/Dns.js"
import { Ipv4Config } from "../../src/layers/Ipv4Config.js"
import { Link } from "../../src/layers/Link.js"
import { MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import * as Udp from "../../src/layers/Udp.js"
import { parseIpv4, parseMac } from "../../src/protocols/address.js"
import * as DhcpMsg from "../../src/protocols/dhcp/message.js"
import * as DnsMsg from "../../src/protocols/dns/message.js"
import { isMalformed } from "../../src/protocols/malformed.js"
import { driveTestClock as driveClock } from "./discrete-event.js"

const serverIp = parseIpv4("10.9.0.1")!
const leased = parseIpv4("10.9.0.50")!
const webIp = parseIpv4("10.9.0.7")!


interface ServerLog {
  readonly messages: Array<{ type: number; at: number }>
}

/** A DHCP server on the server stack: offers `leased`, lease 120 s; `drop(type, n)` loses the n-th reply of a type. */
const dhcpServer = (log: ServerLog, drop: (replyType: number, n: number) => boolean) =>
  Effect.gen(function*() {
    const socket = yield* Udp.bind(67)
    const sent = new Map<number, number>()
    yield* socket.receive.pipe(
      Stream.runForEach((d) =>
        Effect.gen(function*() {
          const m = DhcpMsg.parse(d.data)
          if (isMalformed(m) || m.messageType === undefined) return
          log.messages.push({ type: m.messageType, at: yield* Clock.currentTimeMillis })
          const reply = m.messageType === DhcpMsg.MessageType.Discover ?
            DhcpMsg.MessageType.Offer :
            m.messageType === DhcpMsg.MessageType.Request ?
            DhcpMsg.MessageType.Ack :
            undefined
          if (reply === undefined) return
          const n = (sent.get(reply) ?? 0) + 1
          sent.set(reply, n)
          if (drop(reply, n)) return
          const bytes = DhcpMsg.emit({
            op: DhcpMsg.Op.BootReply,
            htype: 1,
            hops: 0,
            xid: m.xid,
            secs: 0,
            broadcast: m.broadcast,
            ciaddr: 0,
            yiaddr: leased,
            siaddr: 0,
            giaddr: 0,
            chaddr: m.chaddr,
            messageType: reply,
            serverIdentifier: serverIp,
            leaseTime: 120,
            subnetMask: 0xffffff00,
            router: [serverIp],
            dnsServers: [serverIp]
          })
          yield* socket.send({ address: 0xffffffff, port: 68 }, bytes).pipe(Effect.ignore)
        })
      ),
      Effect.forkScoped
    )
  })

/** A DNS server on the server stack: web.test A 10.9.0.7, alias.test CNAME web.test, everything else NXDOMAIN. */
const dnsServer = (queries: Array<string>) =>
  Effect.gen(function*() {
    const socket = yield* Udp.bind(53)
    yield* socket.receive.pipe(
      Stream.runForEach((d) =>
        Effect.gen(function*() {
          const q = DnsMsg.parse(d.data)
          if (isMalformed(q) || q.questions.length !== 1) return
          const question = q.questions[0]!
          const name = question.name.toLowerCase()
          queries.push(name)
          const answers: Array<DnsMsg.ResourceRecord> = []
          if (name === "alias.test") {
            answers.push({ name: question.name, type: DnsMsg.Type.CNAME, class: 1, ttl: 60, data: { _tag: "CNAME", target: "web.test" } })
            answers.push({ name: "web.test", type: DnsMsg.Type.A, class: 1, ttl: 60, data: { _tag: "A", address: webIp } })
          } else if (name === "web.test" && question.type === DnsMsg.Type.A) {
            answers.push({ name: question.name, type: DnsMsg.Type.A, class: 1, ttl: 60, data: { _tag: "A", address: webIp } })
          }
          const soa: DnsMsg.ResourceRecord = {
            name: "test",
            type: DnsMsg.Type.SOA,
            class: 1,
            ttl: 60,
            data: { _tag: "SOA", mname: "ns.test", rname: "admin.test", serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 30 }
          }
          const bytes = DnsMsg.emit({
            ...q,
            response: true,
            recursionAvailable: true,
            rcode: answers.length === 0 && name !== "web.test" ? DnsMsg.Rcode.NXDomain : DnsMsg.Rcode.NoError,
            answers,
            authorities: answers.length === 0 ? [soa] : [],
            additionals: []
          })
          yield* socket.send(d.from, bytes).pipe(Effect.ignore)
        })
      ),
      Effect.forkScoped
    )
  })

type Services = Stack.Services | Dhcp.Dhcp | Dns.Dns

const world = (drop: (replyType: number, n: number) => boolean) =>
  Effect.gen(function*() {
    const [a, b] = yield* MemoryLink.pair()
    const server = yield* Layer.build(
      Stack.layer({ mac: parseMac("02:00:00:00:00:01")!, ipv4: { address: serverIp, prefixLength: 24 } }).pipe(
        Layer.provide(Layer.succeed(Link, a))
      )
    )
    const log: ServerLog = { messages: [] }
    const queries: Array<string> = []
    yield* Effect.provide(Effect.all([dhcpServer(log, drop), dnsServer(queries)]), server)
    yield* Effect.forkScoped(driveClock)
    const base = Stack.layer({ mac: parseMac("02:00:00:00:00:02")! }).pipe(Layer.provide(Layer.succeed(Link, b)))
    const withDns = Dns.layer().pipe(Layer.provideMerge(base))
    const client = yield* Layer.build(
      Layer.merge(withDns, Dhcp.layer({ timing: { jitterMillis: 0 } }).pipe(Layer.provide(withDns)))
    )
    const inClient = <A, E, R extends Services | Scope.Scope>(e: Effect.Effect<A, E, R>) =>
      Effect.provide(e, client as Context.Context<Services>)
    return { log, queries, inClient }
  }).pipe(Effect.withRandom(Random.make("isla-dhcp")))

const types = (log: ServerLog) => log.messages.map((m) => m.type)
const { Ack: ACK, Discover: DISCOVER, Offer: OFFER, Release: RELEASE, Request: REQUEST } = DhcpMsg.MessageType

describe("DHCP client over the in-memory link, under TestClock", () => {
  it.scoped("DORA, the lease published into Ipv4Config (address, gateway, DNS)", () =>
    Effect.gen(function*() {
      const { inClient, log } = yield* world(() => false)
      const lease = yield* inClient(Dhcp.awaitLease(60_000))
      expect(lease).toMatchObject({ address: leased, prefixLength: 24, router: serverIp, dns: [serverIp], leaseSeconds: 120 })
      expect(types(log)).toEqual([DISCOVER, REQUEST])
      const cfg = yield* inClient(Ipv4Config)
      expect(cfg.address).toBe(leased)
      expect(cfg.gateway).toBe(serverIp)
      expect(cfg.settings.dns).toEqual([serverIp])
    }))

  it.scoped("a lost OFFER and a lost ACK are retransmitted with backoff", () =>
    Effect.gen(function*() {
      const { inClient, log } = yield* world((type, n) => n === 1 && (type === OFFER || type === ACK))
      yield* inClient(Dhcp.awaitLease(120_000))
      expect(types(log)).toEqual([DISCOVER, DISCOVER, REQUEST, REQUEST])
      // RFC 2131 §4.1: the first retransmission after 4 s (no jitter in this test).
      expect(log.messages[1]!.at - log.messages[0]!.at).toBe(4000)
      expect(log.messages[3]!.at - log.messages[2]!.at).toBe(4000)
    }))

  it.scoped("renews at T1 (60 s of a 120 s lease) by unicast and keeps the address", () =>
    Effect.gen(function*() {
      const { inClient, log } = yield* world(() => false)
      const lease = yield* inClient(Dhcp.awaitLease(60_000))
      const boundAt = log.messages[1]!.at
      yield* Effect.sleep("70 seconds")
      expect(types(log)).toEqual([DISCOVER, REQUEST, REQUEST])
      expect(log.messages[2]!.at - boundAt).toBeGreaterThanOrEqual(59_000)
      expect(log.messages[2]!.at - boundAt).toBeLessThanOrEqual(61_000)
      const cfg = yield* inClient(Ipv4Config)
      expect(cfg.address).toBe(lease.address)
    }))

  it.scoped("without a server, awaitLease fails with NoServer", () =>
    Effect.gen(function*() {
      const { inClient } = yield* world(() => true)
      const r = yield* inClient(Dhcp.awaitLease(30_000)).pipe(Effect.flip)
      expect(r.reason).toBe("NoServer")
    }))

  it.effect("releases the lease when its scope closes", () =>
    Effect.gen(function*() {
      const log = yield* Effect.scoped(
        Effect.gen(function*() {
          const w = yield* world(() => false)
          yield* w.inClient(Dhcp.awaitLease(60_000))
          return w.log
        })
      )
      expect(types(log)).toContain(RELEASE)
    }))
})

describe("DNS resolver over the in-memory link, under TestClock", () => {
  it.scoped("resolves A records, follows a CNAME, caches, and reports NXDOMAIN", () =>
    Effect.gen(function*() {
      const { inClient, queries } = yield* world(() => false)
      yield* inClient(Dhcp.awaitLease(60_000))
      const a = yield* inClient(Dns.resolve("web.test", "A"))
      expect(a.map((x) => x._tag === "A" && x.address)).toEqual([webIp])
      const c = yield* inClient(Dns.resolve("alias.test", "A"))
      expect(c.map((x) => x._tag === "A" && x.address)).toEqual([webIp])
      const before = queries.length
      yield* inClient(Dns.resolve("web.test", "A"))
      expect(queries.length).toBe(before) // from the cache
      const e = yield* inClient(Dns.resolve("nope.test", "A")).pipe(Effect.flip)
      expect(e.reason).toBe("NameNotFound")
      // After the TTL the cache forgets and asks again.
      yield* Effect.sleep("61 seconds")
      yield* inClient(Dns.resolve("web.test", "A"))
      expect(queries.length).toBe(before + 2)
    }))
})
