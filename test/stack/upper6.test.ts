/**
 * The upper layers over IPv6 between two Isla stacks that have no IPv4
 * address: UDP echo and port unreachable, HTTP with `fetch` to a bracketed
 * literal, and DNS over an IPv6 server (AAAA, `lookupHost` falling back from
 * A to AAAA, then `fetch` by name). Discrete-event simulation, seeded.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import * as Dns from "../../src/layers/Dns.js"
import * as Http from "../../src/layers/Http.js"
import * as Ipv6 from "../../src/layers/Ipv6.js"
import { Link } from "../../src/layers/Link.js"
import { MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import * as Udp from "../../src/layers/Udp.js"
import { parseMac } from "../../src/protocols/address.js"
import * as DnsMsg from "../../src/protocols/dns/message.js"
import { formatIpv6 } from "../../src/protocols/ipv6/address.js"
import { isMalformed } from "../../src/protocols/malformed.js"
import { PollLoop } from "../../src/runtime/PollLoop.js"
import { simulate } from "./tcp-sim-harness.js"

const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)

/** Two IPv6-only stacks on the in-memory link; B has a resolver pointed at A's link-local address. */
const world = Effect.gen(function*() {
  const [a, b] = yield* MemoryLink.pair()
  const A = yield* Layer.build(Stack.layer({ mac: parseMac("02:00:00:00:00:01")! }).pipe(Layer.provide(Layer.succeed(Link, a))))
  const llA = yield* Effect.provide(Effect.flatMap(Ipv6.Ipv6, (s) => s.linkLocal), A)
  const base = Stack.layer({ mac: parseMac("02:00:00:00:00:02")! }).pipe(Layer.provide(Layer.succeed(Link, b)))
  const B = yield* Layer.build(Dns.layer({ servers: [llA] }).pipe(Layer.provideMerge(base)))
  const llB = yield* Effect.provide(Effect.flatMap(Ipv6.Ipv6, (s) => s.linkLocal), B)
  return { A, B: B as Context.Context<Stack.Services | Dns.Dns>, llA, llB }
})

/** A's DNS server: web.test AAAA → `address` (and no A record); everything else NXDOMAIN. */
const dnsServer = (address: Uint8Array) =>
  Effect.gen(function*() {
    const socket = yield* Udp.bind(53)
    yield* socket.receive.pipe(
      Stream.runForEach((d) => {
        const q = DnsMsg.parse(d.data)
        if (isMalformed(q) || q.questions.length !== 1) return Effect.void
        const question = q.questions[0]!
        const known = question.name.toLowerCase() === "web.test"
        const answers: Array<DnsMsg.ResourceRecord> = known && question.type === DnsMsg.Type.AAAA ?
          [{ name: question.name, type: DnsMsg.Type.AAAA, class: 1, ttl: 60, data: { _tag: "AAAA", address } }] :
          []
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
          rcode: known ? DnsMsg.Rcode.NoError : DnsMsg.Rcode.NXDomain,
          answers,
          authorities: answers.length === 0 ? [soa] : [],
          additionals: []
        })
        return socket.send(d.from, bytes).pipe(Effect.ignore)
      }),
      Effect.forkScoped
    )
  })

describe("upper layers over IPv6 between two stacks", () => {
  it.effect("UDP echo both ways with IPv6 endpoints; a closed port answers ICMPv6 port unreachable", () =>
    Effect.gen(function*() {
      const { A, B, llA, llB } = yield* world
      const server = yield* Effect.provide(Udp.bind(7), A)
      yield* server.receive.pipe(Stream.runForEach((d) => server.send(d.from, d.data)), Effect.forkScoped)
      const client = yield* Effect.provide(Udp.bind(0), B)
      yield* client.send({ address: llA, port: 7 }, text("hello over IPv6"))
      const reply = yield* client.take
      expect(str(reply.data)).toBe("hello over IPv6")
      expect(formatIpv6(reply.from.address as Uint8Array)).toBe(formatIpv6(llA))
      expect(reply.from.port).toBe(7)
      expect(formatIpv6(reply.to as Uint8Array)).toBe(formatIpv6(llB))
      // A closed port: A drops the datagram and answers with an ICMPv6 error (RFC 4443 §3.1).
      const loopA = yield* Effect.provide(PollLoop, A)
      const udpA = loopA.counters.layer("udp")
      const icmpB = yield* Effect.provide(PollLoop, B)
      const before = icmpB.counters.framesIn
      yield* client.send({ address: llA, port: 9999 }, text("nobody"))
      yield* Effect.sleep("10 millis")
      expect(udpA.drops["no_socket"]).toBe(1)
      expect(icmpB.counters.framesIn).toBeGreaterThan(before)
    }).pipe(Effect.scoped, simulate("udp6")))

  it.effect("HTTP over IPv6: fetch http://[fe80::…]/ from a server on the other stack", () =>
    Effect.gen(function*() {
      const { A, B, llA } = yield* world
      yield* Effect.provide(
        Http.serve(80, (req) =>
          Effect.succeed({
            status: 200,
            headers: [{ name: "Content-Type", value: "text/plain" }],
            body: text(`hello ${req.target} from ${formatIpv6(req.remote.address as Uint8Array)}`)
          })),
        A
      )
      const response = yield* Effect.provide(Http.fetch(`http://[${formatIpv6(llA)}]/six`), B)
      expect(response.status).toBe(200)
      expect(str(response.body)).toBe("hello /six from fe80::ff:fe00:2")
    }).pipe(Effect.scoped, simulate("http6")))

  it.effect("DNS over an IPv6 server: AAAA, lookupHost falls back from A to AAAA, fetch by name", () =>
    Effect.gen(function*() {
      const { A, B, llA } = yield* world
      yield* Effect.provide(dnsServer(llA), A)
      yield* Effect.provide(
        Http.serve(80, () => Effect.succeed({ status: 200, headers: [], body: text("by name") })),
        A
      )
      const aaaa = yield* Effect.provide(Dns.resolve("web.test", "AAAA"), B)
      expect(aaaa.map((r) => formatIpv6(r.address as Uint8Array))).toEqual(["fe80::ff:fe00:1"])
      const host = yield* Effect.provide(Dns.lookupHost("web.test"), B)
      expect(formatIpv6(host as Uint8Array)).toBe("fe80::ff:fe00:1")
      const missing = yield* Effect.provide(Dns.resolve("nope.test", "AAAA"), B).pipe(Effect.flip)
      expect(missing.reason).toBe("NameNotFound")
      const response = yield* Effect.provide(Http.fetch("http://web.test/", { lookup: Dns.lookupHost }), B)
      expect(str(response.body)).toBe("by name")
    }).pipe(Effect.scoped, simulate("dns6")))
})
