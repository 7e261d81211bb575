/**
 * Two stacks over the in-memory link pair, with faults injected on both
 * directions, driven by TestClock: they resolve each other by ARP, ping each
 * other, and exchange UDP through the echo service, deterministically.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Random, type Context, type Scope } from "effect"
import { udpEcho } from "../../src/cli/services.js"
import * as Icmp from "../../src/layers/Icmp.js"
import { Link } from "../../src/layers/Link.js"
import { FaultInjector, MemoryLink } from "../../src/layers/link/index.js"
import type { FaultOptions } from "../../src/layers/link/FaultInjector.js"
import * as Stack from "../../src/layers/Stack.js"
import * as Udp from "../../src/layers/Udp.js"
import { parseIpv4, parseMac } from "../../src/protocols/address.js"
import { PollLoop } from "../../src/runtime/PollLoop.js"
import { driveTestClock as driveClock } from "./discrete-event.js"

const ipA = parseIpv4("10.0.0.1")!
const ipB = parseIpv4("10.0.0.2")!

/** Builds two stacks joined by a faulty in-memory pair, in the current scope. */
const twoStacks = (faults: FaultOptions) =>
  Effect.gen(function*() {
    const [a, b] = yield* MemoryLink.pair()
    const fa = yield* FaultInjector.wrap(a, faults)
    const fb = yield* FaultInjector.wrap(b, faults)
    const stackA = yield* Layer.build(
      Stack.layer({ mac: parseMac("02:00:00:00:00:01")!, ipv4: { address: ipA, prefixLength: 24 } }).pipe(
        Layer.provide(Layer.succeed(Link, fa))
      )
    )
    const stackB = yield* Layer.build(
      Stack.layer({ mac: parseMac("02:00:00:00:00:02")!, ipv4: { address: ipB, prefixLength: 24 } }).pipe(
        Layer.provide(Layer.succeed(Link, fb))
      )
    )
    return { stackA, stackB, fa, fb }
  })


/** Retries `effect` up to `attempts` times; returns the result and how many tries it took. */
const withRetries = <A, E, R>(effect: Effect.Effect<A, E, R>, attempts: number) =>
  Effect.gen(function*() {
    for (let i = 1; ; i++) {
      const r = yield* Effect.either(effect)
      if (r._tag === "Right") return { value: r.right, tries: i }
      if (i >= attempts) return yield* Effect.fail(r.left)
    }
  })

const scenario = (faults: FaultOptions, pings: number, messages: number) =>
  Effect.gen(function*() {
    const { fa, fb, stackA, stackB } = yield* twoStacks(faults)
    yield* Effect.forkScoped(driveClock)
    const inA = <A, E, R extends Stack.Services | Scope.Scope>(e: Effect.Effect<A, E, R>) =>
      Effect.provide(e, stackA as Context.Context<Stack.Services>)
    const inB = <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.provide(e, stackB as Context.Context<Stack.Services>)
    yield* inB(udpEcho(7))

    const trace: Array<string> = []
    // A pings B and B pings A, each ping retried until answered.
    for (let i = 0; i < pings; i++) {
      const ab = yield* inA(withRetries(Icmp.echo(ipB, { timeout: "500 millis", size: 100 }), 20))
      const ba = yield* inB(withRetries(Icmp.echo(ipA, { timeout: "500 millis", size: 100 }), 20))
      expect(ab.value.from).toBe(ipB)
      expect(ba.value.from).toBe(ipA)
      trace.push(`ping ${i} ${ab.tries}/${ba.tries}`)
    }
    // UDP through B's echo service: every message comes back byte-identical.
    const socket = yield* inA(Udp.bind(0))
    for (let i = 0; i < messages; i++) {
      const data = new Uint8Array(200 + i)
      for (let j = 0; j < data.length; j++) data[j] = (i * 31 + j) & 0xff
      // Late echoes of earlier retries may still arrive: wait for the one of this message.
      const answer = Effect.iterate(undefined as Udp.Datagram | undefined, {
        while: (d) => d === undefined || d.data.length !== data.length,
        body: () => socket.take
      })
      const r = yield* withRetries(
        Effect.zipRight(
          socket.send({ address: ipB, port: 7 }, data),
          answer.pipe(Effect.timeoutFail({ duration: "300 millis", onTimeout: () => "timeout" as const }))
        ),
        30
      )
      expect(r.value!.from).toEqual({ address: ipB, port: 7 })
      expect(r.value!.data).toEqual(data)
      trace.push(`udp ${i} ${r.tries}`)
    }
    const loopA = yield* inA(PollLoop)
    return { trace, fa: { ...fa.counters }, fb: { ...fb.counters }, dropsA: loopA.counters.summary() }
  }).pipe(Effect.scoped, Effect.withRandom(Random.make("isla-two-stacks")))

describe("two stacks over a faulty in-memory link", () => {
  it.effect("ping and UDP echo with 20% loss and reordering, deterministically", () =>
    Effect.gen(function*() {
      const faults: FaultOptions = { loss: 0.2, reorder: 0.2, reorderDelayMillis: 5 }
      const first = yield* scenario(faults, 8, 16)
      // Faults really happened, in both directions.
      expect(first.fa.droppedLoss).toBeGreaterThan(0)
      expect(first.fb.droppedLoss).toBeGreaterThan(0)
      expect(first.fa.reordered + first.fb.reordered).toBeGreaterThan(0)
      // Some exchange needed a retry.
      expect(first.trace.some((t) => !/ 1(\/1)?$/.test(t))).toBe(true)
      // The same seed gives the same run.
      const second = yield* scenario(faults, 8, 16)
      expect(second.trace).toEqual(first.trace)
      expect(second.fa).toEqual(first.fa)
    }), 60_000)

  it.effect("a clean link answers the first ping and every datagram at once", () =>
    Effect.gen(function*() {
      const r = yield* scenario({}, 3, 5)
      expect(r.trace).toEqual(["ping 0 1/1", "ping 1 1/1", "ping 2 1/1", "udp 0 1", "udp 1 1", "udp 2 1", "udp 3 1", "udp 4 1"])
    }))
})

