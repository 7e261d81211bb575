import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Random, TestClock } from "effect"
import { type FrameHandler, type LinkDevice, LinkError } from "../../src/layers/Link.js"
import { FaultInjector, MemoryLink } from "../../src/layers/link/index.js"
import type { FaultOptions } from "../../src/layers/link/FaultInjector.js"

/** A 60-byte frame whose bytes 14..17 carry `n` (big-endian) and the rest a pattern. */
const frame = (n: number, length = 60): Uint8Array => {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = (i * 7) & 0xff
  bytes[14] = n >>> 24
  bytes[15] = (n >>> 16) & 0xff
  bytes[16] = (n >>> 8) & 0xff
  bytes[17] = n & 0xff
  return bytes
}

const idOf = (bytes: Uint8Array): number => ((bytes[14]! << 24) | (bytes[15]! << 16) | (bytes[16]! << 8) | bytes[17]!) >>> 0

const drain = (link: LinkDevice): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  const handler: FrameHandler = (buffer, offset, length) => out.push(buffer.slice(offset, offset + length))
  link.unsafeReceive(handler, Infinity)
  return out
}

const bitsDiffering = (a: Uint8Array, b: Uint8Array): number => {
  let bits = 0
  for (let i = 0; i < a.length; i++) {
    let x = a[i]! ^ b[i]!
    while (x !== 0) {
      bits += x & 1
      x >>>= 1
    }
  }
  return bits
}

/** Sends `count` frames through an injector on a fresh pair (1 ms of TestClock per 5 frames) and returns what arrived. */
const run = (options: FaultOptions, count: number) =>
  Effect.gen(function*() {
    const [a, b] = yield* MemoryLink.pair({ queueLimit: count * 2 + 16 })
    const faulty = yield* FaultInjector.wrap(a, options)
    for (let i = 0; i < count; i++) {
      faulty.unsafeTransmit(frame(i), 0, 60)
      if (i % 5 === 4) yield* TestClock.adjust("1 millis")
    }
    yield* TestClock.adjust("1 seconds")
    faulty.unsafeRelease()
    return { delivered: drain(b), counters: { ...faulty.counters } }
  })

const everything: FaultOptions = {
  loss: 0.1,
  duplicate: 0.1,
  reorder: 0.1,
  corrupt: 0.1,
  delayMillis: 2,
  jitterMillis: 3
}

describe("FaultInjector", () => {
  it.effect("passes frames through untouched with no faults", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const faulty = yield* FaultInjector.wrap(a, {})
      expect(faulty.name).toBe(a.name)
      expect(faulty.mtu).toBe(a.mtu)
      for (let i = 0; i < 5; i++) expect(faulty.unsafeTransmit(frame(i), 0, 60)).toBe(true)
      expect(faulty.held()).toBe(0)
      expect(drain(b).map(idOf)).toEqual([0, 1, 2, 3, 4])
      // The receive direction is not faulted.
      b.unsafeTransmit(frame(9), 0, 60)
      expect(drain(faulty).map(idOf)).toEqual([9])
    }))

  it.effect("the same seed gives the same delivered sequence", () =>
    Effect.gen(function*() {
      const first = yield* run(everything, 500).pipe(Effect.withRandom(Random.make("seed")))
      const second = yield* run(everything, 500).pipe(Effect.withRandom(Random.make("seed")))
      const other = yield* run(everything, 500).pipe(Effect.withRandom(Random.make("another seed")))
      expect(second.delivered).toEqual(first.delivered)
      expect(second.counters).toEqual(first.counters)
      expect(other.delivered).not.toEqual(first.delivered)
      expect(first.counters.droppedLoss).toBeGreaterThan(0)
      expect(first.counters.duplicated).toBeGreaterThan(0)
      expect(first.counters.reordered).toBeGreaterThan(0)
      expect(first.counters.corrupted).toBeGreaterThan(0)
      expect(first.counters.delayed).toBeGreaterThan(0)
    }))

  it.effect("loses about the configured share of 10,000 frames", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair({ queueLimit: 16 })
      const faulty = yield* FaultInjector.wrap(a, { loss: 0.2 })
      let delivered = 0
      const count: FrameHandler = () => {
        delivered++
      }
      const bytes = frame(0)
      for (let i = 0; i < 10_000; i++) {
        // Lost frames look sent to the sender.
        expect(faulty.unsafeTransmit(bytes, 0, 60)).toBe(true)
        b.unsafeReceive(count, Infinity)
      }
      const lost = 10_000 - delivered
      expect(faulty.counters.droppedLoss).toBe(lost)
      // Binomial(10000, 0.2): sd = 40, so ±200 is five sigma.
      expect(lost).toBeGreaterThan(1800)
      expect(lost).toBeLessThan(2200)
    }).pipe(Effect.withRandom(Random.make(42))))

  it.effect("duplicates frames", () =>
    Effect.gen(function*() {
      const { counters, delivered } = yield* run({ duplicate: 0.3 }, 200)
      const ids = delivered.map(idOf)
      expect(counters.duplicated).toBeGreaterThan(20)
      expect(ids.length).toBe(200 + counters.duplicated)
      // Every frame arrives, a duplicate right after its original.
      expect(ids).toEqual([...ids].sort((x, y) => x - y))
      expect([...new Set(ids)]).toEqual(Array.from({ length: 200 }, (_, i) => i))
      for (const bytes of delivered) expect(bytes).toEqual(frame(idOf(bytes)))
    }).pipe(Effect.withRandom(Random.make("dup"))))

  it.effect("reorders frames but delivers all of them", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const faulty = yield* FaultInjector.wrap(a, { reorder: 0.25, reorderDelayMillis: 5 })
      // A burst at one instant: held frames come after all the rest.
      for (let i = 0; i < 100; i++) faulty.unsafeTransmit(frame(i), 0, 60)
      const early = drain(b).map(idOf)
      expect(faulty.counters.reordered).toBeGreaterThan(5)
      expect(early.length).toBe(100 - faulty.counters.reordered)
      expect(faulty.held()).toBe(faulty.counters.reordered)
      yield* TestClock.adjust("4 millis")
      faulty.unsafeRelease()
      expect(drain(b)).toEqual([])
      yield* TestClock.adjust("1 millis")
      faulty.unsafeRelease()
      const late = drain(b).map(idOf)
      const ids = [...early, ...late]
      expect(ids).not.toEqual([...ids].sort((x, y) => x - y))
      expect([...ids].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i))
      // Held frames keep their own order among themselves.
      expect(late).toEqual([...late].sort((x, y) => x - y))
    }).pipe(Effect.withRandom(Random.make("reorder"))))

  it.effect("delay holds frames until the TestClock passes it", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const faulty = yield* FaultInjector.wrap(a, { delayMillis: 10 })
      faulty.unsafeTransmit(frame(1), 0, 60)
      yield* TestClock.adjust("3 millis")
      faulty.unsafeTransmit(frame(2), 0, 60)
      expect(faulty.nextReleaseMillis()).toBe(10)
      expect(faulty.counters.delayed).toBe(2)
      yield* TestClock.adjust("6 millis")
      faulty.unsafeRelease()
      expect(drain(b)).toEqual([])
      yield* TestClock.adjust("1 millis")
      // Receiving on the wrapper releases due frames too.
      expect(drain(faulty)).toEqual([])
      expect(drain(b).map(idOf)).toEqual([1])
      yield* TestClock.adjust("3 millis")
      // So does transmitting, before the new frame is sent.
      faulty.unsafeTransmit(frame(3), 0, 60)
      expect(drain(b).map(idOf)).toEqual([2])
      expect(faulty.held()).toBe(1)
    }))

  it.effect("awaitReadable wakes by the next release time", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const faulty = yield* FaultInjector.wrap(a, { delayMillis: 10 })
      faulty.unsafeTransmit(frame(1), 0, 60)
      const waiter = yield* Effect.fork(faulty.awaitReadable(Infinity))
      yield* TestClock.adjust("9 millis")
      expect(waiter.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(waiter)
      // The poll loop then polls the wrapper, which lets the frame go.
      faulty.unsafeReceive(() => {}, 16)
      expect(drain(b).map(idOf)).toEqual([1])
      // A shorter timeout still wins.
      faulty.unsafeTransmit(frame(2), 0, 60)
      const short = yield* Effect.fork(faulty.awaitReadable(4))
      yield* TestClock.adjust("4 millis")
      yield* Fiber.join(short)
      expect(faulty.held()).toBe(1)
    }))

  it.effect("a frame held while the poll loop sleeps wakes it, to sleep until the frame's release", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const faulty = yield* FaultInjector.wrap(a, { delayMillis: 10 })
      // The loop sleeps with nothing held; then a user's fiber sends.
      const asleep = yield* Effect.fork(faulty.awaitReadable(Infinity))
      yield* TestClock.adjust("1 millis")
      expect(asleep.unsafePoll()).toBeNull()
      faulty.unsafeTransmit(frame(1), 0, 60)
      yield* Fiber.join(asleep)
      // Its next wait ends at the release time.
      const next = yield* Effect.fork(faulty.awaitReadable(Infinity))
      yield* TestClock.adjust("9 millis")
      expect(next.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(next)
      faulty.unsafeReceive(() => {}, 16)
      expect(drain(b).map(idOf)).toEqual([1])
    }))

  it.effect("jitter spreads delays over [delay, delay + jitter)", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const faulty = yield* FaultInjector.wrap(a, { delayMillis: 10, jitterMillis: 20 })
      for (let i = 0; i < 200; i++) faulty.unsafeTransmit(frame(i), 0, 60)
      yield* TestClock.adjust("9 millis")
      faulty.unsafeRelease()
      expect(drain(b)).toEqual([])
      yield* TestClock.adjust("11 millis")
      faulty.unsafeRelease()
      const firstHalf = drain(b).length
      expect(firstHalf).toBeGreaterThan(50)
      expect(firstHalf).toBeLessThan(150)
      yield* TestClock.adjust("10 millis")
      faulty.unsafeRelease()
      expect(firstHalf + drain(b).length).toBe(200)
    }).pipe(Effect.withRandom(Random.make("jitter"))))

  it.effect("a bandwidth limit spaces frames by size*8/rate and drops when the buffer is full", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      // 8000 bit/s = 1000 bytes/s: a 100-byte frame takes 100 ms on the wire.
      const faulty = yield* FaultInjector.wrap(a, { bandwidthBitsPerSecond: 8000, bufferFrames: 3 })
      for (let i = 0; i < 5; i++) expect(faulty.unsafeTransmit(frame(i, 100), 0, 100)).toBe(i < 3)
      expect(faulty.counters.droppedBandwidth).toBe(2)
      expect(faulty.nextReleaseMillis()).toBe(100)
      const arrivals: Array<[number, number]> = []
      let now = 0
      for (const t of [1, 99, 100, 101, 199, 200, 299, 300, 400]) {
        yield* TestClock.adjust(`${t - now} millis`)
        now = t
        faulty.unsafeRelease()
        for (const bytes of drain(b)) arrivals.push([t, idOf(bytes)])
      }
      expect(arrivals).toEqual([[100, 0], [200, 1], [300, 2]])
      expect(faulty.held()).toBe(0)

      // The buffer frees up as frames leave; an idle link starts again from now.
      yield* TestClock.adjust("1000 millis")
      expect(faulty.unsafeTransmit(frame(7, 50), 0, 50)).toBe(true)
      expect(faulty.unsafeTransmit(frame(8, 200), 0, 200)).toBe(true)
      yield* TestClock.adjust("49 millis")
      faulty.unsafeRelease()
      expect(drain(b)).toEqual([])
      yield* TestClock.adjust("1 millis")
      faulty.unsafeRelease()
      expect(drain(b).map(idOf)).toEqual([7])
      yield* TestClock.adjust("199 millis")
      faulty.unsafeRelease()
      expect(drain(b)).toEqual([])
      yield* TestClock.adjust("1 millis")
      faulty.unsafeRelease()
      expect(drain(b).map(idOf)).toEqual([8])
    }))

  it.effect("corruption flips exactly one bit past the Ethernet header, never in the caller's buffer", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const faulty = yield* FaultInjector.wrap(a, { corrupt: 1 })
      const original = frame(5, 80)
      const bytes = original.slice()
      for (let i = 0; i < 50; i++) faulty.unsafeTransmit(bytes, 0, 80)
      expect(bytes).toEqual(original)
      const delivered = drain(b)
      expect(delivered.length).toBe(50)
      expect(faulty.counters.corrupted).toBe(50)
      const positions = new Set<number>()
      for (const d of delivered) {
        expect(bitsDiffering(d, original)).toBe(1)
        expect(d.subarray(0, 14)).toEqual(original.subarray(0, 14))
        positions.add(d.findIndex((x, i) => x !== original[i]))
      }
      expect(positions.size).toBeGreaterThan(10)

      // Held frames are corrupted in their copy too.
      const [c, d] = yield* MemoryLink.pair()
      const delayed = yield* FaultInjector.wrap(c, { corrupt: 1, delayMillis: 1 })
      delayed.unsafeTransmit(bytes, 0, 80)
      expect(bytes).toEqual(original)
      yield* TestClock.adjust("1 millis")
      delayed.unsafeRelease()
      const [held] = drain(d)
      expect(bitsDiffering(held!, original)).toBe(1)
    }).pipe(Effect.withRandom(Random.make("corrupt"))))

  it.effect("wrapping both ends of a pair faults both directions", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const fa = yield* FaultInjector.wrap(a, { loss: 1 })
      const fb = yield* FaultInjector.wrap(b, { loss: 1 })
      fa.unsafeTransmit(frame(1), 0, 60)
      fb.unsafeTransmit(frame(2), 0, 60)
      expect(drain(fb)).toEqual([])
      expect(drain(fa)).toEqual([])
      expect(fa.counters.droppedLoss + fb.counters.droppedLoss).toBe(2)
    }))

  it.effect("the wrapped link's failure shows through", () =>
    Effect.gen(function*() {
      const [a] = yield* MemoryLink.pair()
      let failure: LinkError | undefined
      const failing: LinkDevice = {
        ...a,
        get failure() {
          return failure
        }
      }
      const faulty = yield* FaultInjector.wrap(failing, {})
      expect(faulty.failure).toBeUndefined()
      failure = new LinkError({ reason: "Vanished", message: "gone" })
      expect(faulty.failure).toBe(failure)
    }))

  it.effect("held frames are bounded by holdLimit", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const faulty = yield* FaultInjector.wrap(a, { delayMillis: 5, holdLimit: 4 })
      for (let i = 0; i < 6; i++) expect(faulty.unsafeTransmit(frame(i), 0, 60)).toBe(i < 4)
      expect(faulty.counters.droppedOverflow).toBe(2)
      yield* TestClock.adjust("5 millis")
      faulty.unsafeRelease()
      expect(drain(b).map(idOf)).toEqual([0, 1, 2, 3])
      // Slots are reused.
      for (let i = 6; i < 10; i++) expect(faulty.unsafeTransmit(frame(i), 0, 60)).toBe(true)
      yield* TestClock.adjust("5 millis")
      faulty.unsafeRelease()
      expect(drain(b).map(idOf)).toEqual([6, 7, 8, 9])
    }))
})
