/**
 * `Icmp.echo` and `Icmp.ping` between two stacks over the in-memory link,
 * under TestClock: replies over IPv4 and IPv6 (fragmented too), RTTs from the
 * Clock, timeouts from a silent host, an ICMP error about our request, and
 * the hard failures that end the stream.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Exit, Layer, Stream, type Scope } from "effect"
import * as Icmp from "../../src/layers/Icmp.js"
import { Ipv6 } from "../../src/layers/Ipv6.js"
import { Link, type LinkDevice } from "../../src/layers/Link.js"
import { FaultInjector, MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import { parseIpv4, parseMac } from "../../src/protocols/address.js"
import { linkLocalFromMac, parseIpv6 } from "../../src/protocols/ipv6/address.js"
import { driveTestClock as driveClock } from "./discrete-event.js"

const ipA = parseIpv4("10.0.0.1")!
const ipB = parseIpv4("10.0.0.2")!
const macA = parseMac("02:00:00:00:00:01")!
const macB = parseMac("02:00:00:00:00:02")!
const llB = linkLocalFromMac(macB)


/** Drops IPv4 fragments after the first (offset ≠ 0) that `link` sends. */
const dropLaterFragments = (link: LinkDevice): LinkDevice => ({
  ...link,
  unsafeTransmit: (b, o, l) => {
    const ipv4 = b[o + 12] === 0x08 && b[o + 13] === 0x00
    if (ipv4 && (((b[o + 20]! << 8) | b[o + 21]!) & 0x1fff) !== 0) return true
    return link.unsafeTransmit(b, o, l)
  }
})

/** Two stacks, A and B, over a pair delaying each frame 5 ms; runs `f` with A's context and a driven clock. */
const twoStacks = <A, E>(
  f: (inA: <X, EX>(e: Effect.Effect<X, EX, Stack.Services | Scope.Scope>) => Effect.Effect<X, EX, Scope.Scope>) => Effect.Effect<A, E, Scope.Scope>,
  wrapA: (link: LinkDevice) => LinkDevice = (l) => l
) =>
  Effect.gen(function*() {
    const [a, b] = yield* MemoryLink.pair()
    const fa = yield* FaultInjector.wrap(a, { delayMillis: 5 })
    const fb = yield* FaultInjector.wrap(b, { delayMillis: 5 })
    const stackA = yield* Layer.build(
      Stack.layer({ mac: macA, ipv4: { address: ipA, prefixLength: 24 } }).pipe(Layer.provide(Layer.succeed(Link, wrapA(fa))))
    )
    yield* Layer.build(
      Stack.layer({ mac: macB, ipv4: { address: ipB, prefixLength: 24 }, ipv4Options: { reassembly: { timeoutMillis: 2_000 } } })
        .pipe(Layer.provide(Layer.succeed(Link, fb)))
    )
    yield* Effect.forkScoped(driveClock)
    return yield* f((e) => Effect.provide(e, stackA as Context.Context<Stack.Services>))
  }).pipe(Effect.scoped)

describe("Icmp.echo and Icmp.ping between two stacks", () => {
  it.effect("IPv4 echo: a Reply with sequence, size, TTL and the Clock's RTT (ARP first)", () =>
    twoStacks((inA) =>
      Effect.gen(function*() {
        const first = yield* inA(Icmp.echo(ipB))
        expect(first).toMatchObject({ _tag: "Reply", from: ipB, bytes: 64, ttl: 64 })
        // The first request waited for ARP (B learns A's MAC from the request, so it answers at once).
        expect(first.rttMillis).toBeCloseTo(15, 3)
        const second = yield* inA(Icmp.echo(ipB, { size: 100, ttl: 3 }))
        expect(second).toMatchObject({ _tag: "Reply", from: ipB, bytes: 108, seq: first.seq + 1 })
        expect(second.rttMillis).toBeCloseTo(10, 3)
      })
    ))

  it.effect("IPv4 ping: count requests an interval apart, one Reply each, sequence from 1", () =>
    twoStacks((inA) =>
      Effect.gen(function*() {
        const outcomes = yield* inA(Stream.runCollect(Icmp.ping(ipB, { count: 4, interval: "1 second" })))
        const replies = Chunk.toReadonlyArray(outcomes)
        expect(replies.map((r) => r._tag)).toEqual(["Reply", "Reply", "Reply", "Reply"])
        expect(replies.map((r) => r.seq)).toEqual([1, 2, 3, 4])
        for (const r of replies.slice(1)) if (r._tag === "Reply") expect(r.rttMillis).toBeCloseTo(10, 3)
        // A second ping counts from 1 again, under its own identifier.
        const again = yield* inA(Stream.runCollect(Icmp.ping(ipB, { count: 2, interval: "10 millis" })))
        expect(Chunk.toReadonlyArray(again).map((r) => [r._tag, r.seq])).toEqual([["Reply", 1], ["Reply", 2]])
      })
    ))

  it.effect("IPv4 ping -s 4000: fragmented both ways, the reply whole", () =>
    twoStacks((inA) =>
      Effect.gen(function*() {
        const outcomes = Chunk.toReadonlyArray(yield* inA(Stream.runCollect(Icmp.ping(ipB, { count: 2, size: 4000, interval: "100 millis" }))))
        expect(outcomes.map((r) => r._tag === "Reply" ? r.bytes : r._tag)).toEqual([4008, 4008])
      })
    ))

  it.effect("a silent host: every request a Timeout; echo fails with TimedOut", () =>
    twoStacks((inA) =>
      Effect.gen(function*() {
        const silent = parseIpv4("10.0.0.9")!
        const outcomes = yield* inA(Stream.runCollect(Icmp.ping(silent, { count: 3, interval: "200 millis", timeout: "500 millis" })))
        expect(Chunk.toReadonlyArray(outcomes)).toEqual([
          { _tag: "Timeout", seq: 1 },
          { _tag: "Timeout", seq: 2 },
          { _tag: "Timeout", seq: 3 }
        ])
        const exit = yield* Effect.exit(inA(Icmp.echo(silent, { timeout: "300 millis" })))
        expect(exit).toMatchObject(Exit.fail({ reason: "TimedOut" }))
      })
    ))

  it.effect("an ICMP error about our request (reassembly time exceeded) is an Unreachable outcome", () =>
    twoStacks(
      (inA) =>
        Effect.gen(function*() {
          yield* inA(Icmp.echo(ipB)) // resolve B first
          const outcomes = yield* inA(Stream.runCollect(Icmp.ping(ipB, { count: 1, size: 3000, timeout: "10 seconds" })))
          expect(Chunk.toReadonlyArray(outcomes)).toEqual([
            { _tag: "Unreachable", seq: 1, from: ipB, type: 11, code: 1, message: "Frag reassembly time exceeded" }
          ])
          const exit = yield* Effect.exit(inA(Icmp.echo(ipB, { size: 3000, timeout: "10 seconds" })))
          expect(exit).toMatchObject(Exit.fail({ reason: "Unreachable" }))
        }),
      dropLaterFragments
    ))

  it.effect("hard failures fail the stream: NoRoute off-link without a gateway, TooBig over 65507 bytes", () =>
    twoStacks((inA) =>
      Effect.gen(function*() {
        const far = parseIpv4("192.168.9.9")!
        const noRoute = yield* Effect.exit(inA(Stream.runCollect(Icmp.ping(far, { count: 2 }))))
        expect(noRoute).toMatchObject(Exit.fail({ _tag: "IcmpError", reason: "NoRoute" }))
        const tooBig = yield* Effect.exit(inA(Icmp.echo(ipB, { size: 65_508 })))
        expect(tooBig).toMatchObject(Exit.fail({ reason: "TooBig" }))
      })
    ))

  it.effect("IPv6 echo to the peer's link-local address, and ping -s 4000 over IPv6", () =>
    twoStacks((inA) =>
      Effect.gen(function*() {
        const v6 = yield* inA(Ipv6)
        yield* v6.linkLocal
        const reply = yield* inA(Icmp.echo(llB, { timeout: "5 seconds" }))
        expect(reply).toMatchObject({ _tag: "Reply", from: llB, bytes: 64, ttl: 64 })
        const big = Chunk.toReadonlyArray(
          yield* inA(Stream.runCollect(Icmp.ping(llB, { count: 2, size: 4000, interval: "100 millis" })))
        )
        expect(big.map((r) => r._tag === "Reply" ? r.bytes : r._tag)).toEqual([4008, 4008])
        const gone = parseIpv6("fe80::99")!
        const lost = Chunk.toReadonlyArray(
          yield* inA(Stream.runCollect(Icmp.ping(gone, { count: 1, timeout: "5 seconds" })))
        )
        expect(lost.map((r) => r._tag)).toEqual([expect.stringMatching(/^(Timeout|Unreachable)$/)])
      })
    ))
})
