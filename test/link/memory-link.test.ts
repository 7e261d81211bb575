import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import type { FrameHandler, LinkDevice } from "../../src/layers/Link.js"
import { MemoryLink } from "../../src/layers/link/index.js"

const frame = (n: number, length = 60): Uint8Array => {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = (n * 31 + i) & 0xff
  return bytes
}

/** Drains every queued frame into copies. */
const drain = (link: LinkDevice, max = Infinity): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  const handler: FrameHandler = (buffer, offset, length) => out.push(buffer.slice(offset, offset + length))
  link.unsafeReceive(handler, max)
  return out
}

describe("MemoryLink", () => {
  it.effect("delivers frames in order, byte-identical, both ways", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      expect(a.name).toBe("mem0")
      expect(b.name).toBe("mem1")
      expect(a.mtu).toBe(1500)
      const sent = [frame(1, 60), frame(2, 1514), frame(3, 14), frame(4, 200)]
      // Send from an offset inside a bigger buffer, then scribble over it: the link copied.
      for (const f of sent) {
        const big = new Uint8Array(f.length + 10)
        big.set(f, 7)
        expect(a.unsafeTransmit(big, 7, f.length)).toBe(true)
        big.fill(0xee)
      }
      expect(b.queued()).toBe(4)
      expect(drain(b, 2)).toEqual(sent.slice(0, 2))
      expect(drain(b)).toEqual(sent.slice(2))
      expect(drain(b)).toEqual([])
      expect(a.counters).toEqual({ framesIn: 0, framesOut: 4, dropped: 0 })
      expect(b.counters).toEqual({ framesIn: 4, framesOut: 0, dropped: 0 })

      expect(b.unsafeTransmit(frame(9), 0, 60)).toBe(true)
      expect(drain(a)).toEqual([frame(9)])
      expect(drain(b)).toEqual([])
    }))

  it.effect("drops and counts frames when the queue is full, and frames over mtu + 14", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair({ queueLimit: 3, mtu: 100 })
      for (let i = 0; i < 5; i++) expect(a.unsafeTransmit(frame(i), 0, 60)).toBe(i < 3)
      expect(a.counters).toEqual({ framesIn: 0, framesOut: 3, dropped: 2 })
      expect(drain(b)).toEqual([frame(0), frame(1), frame(2)])
      // The ring wraps around and keeps order.
      for (let i = 5; i < 8; i++) expect(a.unsafeTransmit(frame(i), 0, 60)).toBe(true)
      expect(drain(b, 1)).toEqual([frame(5)])
      expect(a.unsafeTransmit(frame(8), 0, 60)).toBe(true)
      expect(drain(b)).toEqual([frame(6), frame(7), frame(8)])

      expect(a.unsafeTransmit(frame(0, 114), 0, 114)).toBe(true)
      expect(a.unsafeTransmit(frame(0, 115), 0, 115)).toBe(false)
      expect(a.counters.dropped).toBe(3)
      expect(drain(b)).toEqual([frame(0, 114)])
    }))

  it.effect("a frame sent into the receiving end from inside the handler does not overwrite it", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair({ queueLimit: 2 })
      a.unsafeTransmit(frame(1), 0, 60)
      a.unsafeTransmit(frame(2), 0, 60)
      const seen: Array<Uint8Array> = []
      b.unsafeReceive((buffer, offset, length) => {
        const copy = buffer.slice(offset, offset + length)
        // Queue is full while the handler runs: this one is dropped, not written over us.
        a.unsafeTransmit(frame(3), 0, 60)
        seen.push(copy)
        expect(buffer.slice(offset, offset + length)).toEqual(copy)
      }, 1)
      expect(seen).toEqual([frame(1)])
      expect(drain(b)).toEqual([frame(2)])
    }))

  it.effect("awaitReadable completes at once when a frame is queued", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      a.unsafeTransmit(frame(1), 0, 60)
      yield* b.awaitReadable(Infinity)
      expect(drain(b)).toEqual([frame(1)])
    }))

  it.effect("awaitReadable wakes when the peer transmits", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const waiter = yield* Effect.fork(b.awaitReadable(Infinity))
      yield* Effect.yieldNow()
      expect(waiter.unsafePoll()).toBeNull()
      a.unsafeTransmit(frame(1), 0, 60)
      yield* Fiber.join(waiter)
      expect(drain(b)).toEqual([frame(1)])
    }))

  it.effect("awaitReadable times out on the Clock", () =>
    Effect.gen(function*() {
      const [, b] = yield* MemoryLink.pair()
      const waiter = yield* Effect.fork(b.awaitReadable(100))
      yield* TestClock.adjust("99 millis")
      expect(waiter.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(waiter)
      // Infinity never times out.
      const forever = yield* Effect.fork(b.awaitReadable(Infinity))
      yield* TestClock.adjust("1 days")
      expect(forever.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(forever)
    }))

  it.effect("unsafeWake resumes a waiter, and is kept for the next wait when nobody waits", () =>
    Effect.gen(function*() {
      const [, b] = yield* MemoryLink.pair()
      const waiter = yield* Effect.fork(b.awaitReadable(Infinity))
      yield* Effect.yieldNow()
      expect(waiter.unsafePoll()).toBeNull()
      b.unsafeWake()
      yield* Fiber.join(waiter)

      b.unsafeWake()
      yield* b.awaitReadable(Infinity)
      // Consumed: the next wait blocks again.
      const again = yield* Effect.fork(b.awaitReadable(Infinity))
      yield* Effect.yieldNow()
      expect(again.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(again)
    }))

  it.effect("an interrupted waiter is forgotten", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const first = yield* Effect.fork(b.awaitReadable(50))
      yield* TestClock.adjust("50 millis")
      yield* Fiber.join(first)
      const second = yield* Effect.fork(b.awaitReadable(Infinity))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(second)
      a.unsafeTransmit(frame(1), 0, 60)
      yield* b.awaitReadable(Infinity)
      expect(b.queued()).toBe(1)
    }))
})
