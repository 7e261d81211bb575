import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { RingBuffer } from "../../../src/protocols/tcp/ring-buffer.js"

const bytesOf = (...values: Array<number>): Uint8Array => Uint8Array.from(values)

/** 1, 2, 3 … n, as a source of recognisable bytes. */
const seq = (n: number, from = 1): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (from + i) & 0xff
  return out
}

const drain = (ring: RingBuffer): Array<number> => {
  const out = new Uint8Array(ring.length)
  expect(ring.dequeue(out, 0, out.length)).toBe(out.length)
  return [...out]
}

const chunks = (ring: RingBuffer, offset: number, len: number): Array<[number, number]> => {
  const seen: Array<[number, number]> = []
  ring.forEachReadable(offset, len, (_buffer, start, length) => seen.push([start, length]))
  return seen
}

const readable = (ring: RingBuffer, offset: number, len: number): Array<number> => {
  const out: Array<number> = []
  ring.forEachReadable(offset, len, (buffer, start, length) => {
    for (let i = 0; i < length; i++) out.push(buffer[start + i]!)
  })
  return out
}

/** A ring of 8 whose front sits at storage index 6, holding nothing. */
const wrappedRing = (): RingBuffer => {
  const ring = new RingBuffer(8)
  ring.enqueue(seq(6, 100), 0, 6)
  ring.discard(6)
  return ring
}

describe("RingBuffer basics", () => {
  it("starts empty with the capacity it was given", () => {
    const ring = new RingBuffer(16)
    expect(ring.capacity).toBe(16)
    expect(ring.length).toBe(0)
    expect(ring.free).toBe(16)
    expect(ring.isEmpty).toBe(true)
    expect(ring.isFull).toBe(false)
  })

  it("enqueues up to the free space and dequeues in order", () => {
    const ring = new RingBuffer(4)
    expect(ring.enqueue(seq(6), 0, 6)).toBe(4)
    expect(ring.isFull).toBe(true)
    expect(ring.free).toBe(0)
    expect(ring.enqueue(seq(1), 0, 1)).toBe(0)
    const out = new Uint8Array(3)
    expect(ring.dequeue(out, 0, 3)).toBe(3)
    expect([...out]).toEqual([1, 2, 3])
    expect(ring.length).toBe(1)
    expect(drain(ring)).toEqual([4])
    expect(ring.isEmpty).toBe(true)
    expect(ring.dequeue(out, 0, 3)).toBe(0)
  })

  it("clips to the source and destination arrays", () => {
    const ring = new RingBuffer(16)
    expect(ring.enqueue(seq(5), 3, 10)).toBe(2)
    expect(ring.enqueue(seq(5), 9, 10)).toBe(0)
    expect(ring.enqueue(seq(5), -1, 1)).toBe(1) // a negative offset counts as 0
    const out = new Uint8Array(4)
    expect(ring.peek(0, out, 2, 10)).toBe(2)
    expect([...out]).toEqual([0, 0, 4, 5])
    expect(ring.dequeue(out, 4, 1)).toBe(0)
    expect(drain(ring)).toEqual([4, 5, 1])
  })

  it("ignores negative and empty counts", () => {
    const ring = new RingBuffer(8)
    ring.enqueue(seq(4), 0, 4)
    expect(ring.enqueue(seq(4), 0, -2)).toBe(0)
    expect(ring.discard(-3)).toBe(0)
    expect(ring.enqueueUnallocated(-1)).toBe(0)
    expect(ring.peek(0, new Uint8Array(4), 0, -1)).toBe(0)
    expect(ring.forEachReadable(0, 0, () => expect.unreachable())).toBe(0)
    expect(ring.length).toBe(4)
  })

  it("discards from the front, at most what it holds", () => {
    const ring = new RingBuffer(8)
    ring.enqueue(seq(5), 0, 5)
    expect(ring.discard(2)).toBe(2)
    expect(ring.discard(10)).toBe(3)
    expect(ring.isEmpty).toBe(true)
  })

  it("clear forgets readable and parked bytes", () => {
    const ring = wrappedRing()
    ring.enqueue(seq(3), 0, 3)
    ring.writeUnallocated(1, seq(2, 50), 0, 2)
    ring.clear()
    expect(ring.length).toBe(0)
    expect(ring.free).toBe(8)
    expect(ring.enqueue(seq(8), 0, 8)).toBe(8)
    expect(drain(ring)).toEqual([...seq(8)])
  })

  it("a ring of capacity 0 holds nothing and never throws", () => {
    const ring = new RingBuffer(0)
    expect(ring.isEmpty && ring.isFull).toBe(true)
    expect(ring.enqueue(seq(3), 0, 3)).toBe(0)
    expect(ring.writeUnallocated(0, seq(3), 0, 3)).toBe(0)
    expect(ring.enqueueUnallocated(3)).toBe(0)
    expect(ring.dequeue(new Uint8Array(3), 0, 3)).toBe(0)
    expect(ring.forEachReadable(0, 3, () => expect.unreachable())).toBe(0)
  })

  it("copies long runs as well as short ones", () => {
    const ring = new RingBuffer(3000)
    const data = seq(2000)
    ring.enqueue(data, 0, 2000)
    ring.discard(1500)
    expect(ring.enqueue(data, 0, 2000)).toBe(2000) // wraps, both copies long
    const out = new Uint8Array(2500)
    expect(ring.dequeue(out, 0, 2500)).toBe(2500)
    expect([...out.subarray(500)]).toEqual([...data])
  })
})

describe("RingBuffer wraparound", () => {
  it("enqueue and dequeue across the end of the storage", () => {
    const ring = wrappedRing()
    expect(ring.enqueue(seq(5), 0, 5)).toBe(5) // storage 6,7,0,1,2
    expect(chunks(ring, 0, 5)).toEqual([[6, 2], [0, 3]])
    const out = new Uint8Array(5)
    expect(ring.dequeue(out, 0, 5)).toBe(5)
    expect([...out]).toEqual([1, 2, 3, 4, 5])
  })

  it("fills the whole ring from a wrapped front", () => {
    const ring = wrappedRing()
    expect(ring.enqueue(seq(9), 0, 9)).toBe(8)
    expect(ring.isFull).toBe(true)
    expect(chunks(ring, 0, 8)).toEqual([[6, 2], [0, 6]])
    expect(drain(ring)).toEqual([...seq(8)])
  })

  it("discard across the end moves the front past it", () => {
    const ring = wrappedRing()
    ring.enqueue(seq(6), 0, 6)
    expect(ring.discard(3)).toBe(3) // front now at storage 1
    expect(chunks(ring, 0, 3)).toEqual([[1, 3]])
    expect(drain(ring)).toEqual([4, 5, 6])
  })

  it("peek across the end and exactly at the wrap point", () => {
    const ring = wrappedRing()
    ring.enqueue(seq(6), 0, 6) // storage 6,7 | 0..3
    const out = new Uint8Array(6)
    expect(ring.peek(1, out, 0, 6)).toBe(5)
    expect([...out.subarray(0, 5)]).toEqual([2, 3, 4, 5, 6])
    out.fill(0)
    expect(ring.peek(2, out, 0, 3)).toBe(3) // starts exactly at storage index 0
    expect([...out.subarray(0, 3)]).toEqual([3, 4, 5])
    expect(ring.peek(0, out, 0, 2)).toBe(2) // ends exactly at the end of the storage
    expect([...out.subarray(0, 2)]).toEqual([1, 2])
    expect(ring.peek(6, out, 0, 1)).toBe(0)
    expect(ring.peek(9, out, 0, 1)).toBe(0)
    expect(ring.length).toBe(6)
  })

  it("forEachReadable visits one chunk or two, from any offset", () => {
    const ring = wrappedRing()
    ring.enqueue(seq(6), 0, 6)
    expect(chunks(ring, 0, 2)).toEqual([[6, 2]])
    expect(chunks(ring, 2, 10)).toEqual([[0, 4]])
    expect(chunks(ring, 1, 3)).toEqual([[7, 1], [0, 2]])
    expect(ring.forEachReadable(1, 3, () => {})).toBe(3)
    expect(readable(ring, 0, 6)).toEqual([...seq(6)])
    expect(ring.forEachReadable(6, 1, () => expect.unreachable())).toBe(0)
    expect(ring.length).toBe(6)
  })

  it("writeUnallocated at and across the wrap point, clipped to the free space", () => {
    const ring = new RingBuffer(8)
    ring.enqueue(seq(4), 0, 4)
    ring.discard(2) // front at storage 2, end at 4, free 6: storage 4..7, 0..1
    expect(ring.writeUnallocated(4, bytesOf(50, 51, 52, 53), 0, 4)).toBe(2) // storage 0..1, clipped
    expect(ring.writeUnallocated(6, bytesOf(60), 0, 1)).toBe(0) // past the free space
    expect(ring.writeUnallocated(2, bytesOf(40, 41), 0, 2)).toBe(2) // storage 6..7, up to the wrap point
    expect(ring.writeUnallocated(0, bytesOf(30, 31), 0, 2)).toBe(2)
    expect(ring.length).toBe(2) // nothing became readable
    expect(ring.enqueueUnallocated(10)).toBe(6)
    expect(drain(ring)).toEqual([3, 4, 30, 31, 40, 41, 50, 51])
  })

  it("writeUnallocated straddling the wrap point", () => {
    const ring = wrappedRing() // front and end at storage 6
    expect(ring.writeUnallocated(1, seq(4, 10), 0, 4)).toBe(4) // storage 7, 0, 1, 2
    expect(ring.writeUnallocated(0, bytesOf(9), 0, 1)).toBe(1)
    expect(ring.enqueueUnallocated(5)).toBe(5)
    expect(chunks(ring, 0, 5)).toEqual([[6, 2], [0, 3]])
    expect(drain(ring)).toEqual([9, 10, 11, 12, 13])
  })

  it("enqueueUnallocated makes earlier parked writes readable in order, leaving the rest parked", () => {
    const ring = wrappedRing()
    ring.enqueue(bytesOf(1), 0, 1)
    // Out of order: bytes 4..5 then 2..3 (offsets past the end, 1-based payload values).
    expect(ring.writeUnallocated(2, bytesOf(4, 5), 0, 2)).toBe(2)
    expect(ring.writeUnallocated(5, bytesOf(7), 0, 1)).toBe(1)
    expect(ring.writeUnallocated(0, bytesOf(2, 3), 0, 2)).toBe(2)
    expect(ring.enqueueUnallocated(4)).toBe(4)
    expect(readable(ring, 0, 10)).toEqual([1, 2, 3, 4, 5])
    // The parked byte 7 survives emptying the ring: the front is not reset.
    expect(drain(ring)).toEqual([1, 2, 3, 4, 5])
    expect(ring.writeUnallocated(0, bytesOf(6), 0, 1)).toBe(1)
    expect(ring.enqueueUnallocated(2)).toBe(2)
    expect(drain(ring)).toEqual([6, 7])
  })

  it("enqueue overwrites parked bytes at the same place", () => {
    const ring = wrappedRing()
    ring.writeUnallocated(0, bytesOf(9, 9, 9), 0, 3)
    ring.enqueue(bytesOf(1, 2), 0, 2)
    ring.enqueueUnallocated(1)
    expect(drain(ring)).toEqual([1, 2, 9])
  })
})

type Op =
  | { readonly op: "enqueue"; readonly data: Array<number>; readonly srcOffset: number; readonly len: number }
  | { readonly op: "dequeue"; readonly len: number; readonly dstOffset: number }
  | { readonly op: "discard"; readonly n: number }
  | { readonly op: "peek"; readonly offset: number; readonly len: number }
  | { readonly op: "writeUnallocated"; readonly offset: number; readonly data: Array<number> }
  | { readonly op: "enqueueUnallocated"; readonly n: number }
  | { readonly op: "forEachReadable"; readonly offset: number; readonly len: number }
  | { readonly op: "clear" }

const small = fc.integer({ min: 0, max: 24 })
const data = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 24 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("enqueue" as const), data, srcOffset: small, len: small }),
  fc.record({ op: fc.constant("dequeue" as const), len: small, dstOffset: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ op: fc.constant("discard" as const), n: small }),
  fc.record({ op: fc.constant("peek" as const), offset: small, len: small }),
  fc.record({ op: fc.constant("writeUnallocated" as const), offset: small, data }),
  fc.record({ op: fc.constant("enqueueUnallocated" as const), n: small }),
  fc.record({ op: fc.constant("forEachReadable" as const), offset: small, len: small }),
  fc.constant({ op: "clear" as const })
)

/** Compares actual bytes with the model; `undefined` in the model is a byte whose value is unspecified. */
const matches = (actual: ArrayLike<number>, model: ReadonlyArray<number | undefined>): void => {
  expect(actual.length).toBe(model.length)
  for (let i = 0; i < model.length; i++) if (model[i] !== undefined) expect(actual[i]).toBe(model[i])
}

describe("RingBuffer against a model", () => {
  it("behaves like a queue plus parked bytes past its end", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(opArb, { maxLength: 60 }), (capacity, ops) => {
        const ring = new RingBuffer(capacity)
        // Readable bytes, then what the free space holds, both as offsets from their start.
        let queue: Array<number | undefined> = []
        let parked: Array<number | undefined> = []
        for (const op of ops) {
          switch (op.op) {
            case "enqueue": {
              const src = Uint8Array.from(op.data)
              const n = Math.min(op.len, capacity - queue.length, Math.max(0, src.length - op.srcOffset))
              expect(ring.enqueue(src, op.srcOffset, op.len)).toBe(n)
              queue.push(...op.data.slice(op.srcOffset, op.srcOffset + n))
              parked = parked.slice(n)
              break
            }
            case "dequeue": {
              const dst = new Uint8Array(op.dstOffset + op.len)
              const n = Math.min(op.len, queue.length)
              expect(ring.dequeue(dst, op.dstOffset, op.len)).toBe(n)
              matches(dst.subarray(op.dstOffset, op.dstOffset + n), queue.slice(0, n))
              queue = queue.slice(n)
              break
            }
            case "discard": {
              const n = Math.min(op.n, queue.length)
              expect(ring.discard(op.n)).toBe(n)
              queue = queue.slice(n)
              break
            }
            case "peek": {
              const dst = new Uint8Array(op.len)
              const n = Math.max(0, Math.min(op.len, queue.length - op.offset))
              expect(ring.peek(op.offset, dst, 0, op.len)).toBe(n)
              matches(dst.subarray(0, n), queue.slice(op.offset, op.offset + n))
              break
            }
            case "writeUnallocated": {
              const free = capacity - queue.length
              const n = Math.max(0, Math.min(op.data.length, free - op.offset))
              expect(ring.writeUnallocated(op.offset, Uint8Array.from(op.data), 0, op.data.length)).toBe(n)
              for (let i = 0; i < n; i++) parked[op.offset + i] = op.data[i]
              break
            }
            case "enqueueUnallocated": {
              const n = Math.min(op.n, capacity - queue.length)
              expect(ring.enqueueUnallocated(op.n)).toBe(n)
              for (let i = 0; i < n; i++) queue.push(parked[i])
              parked = parked.slice(n)
              break
            }
            case "forEachReadable": {
              const n = Math.max(0, Math.min(op.len, queue.length - op.offset))
              const seen: Array<number> = []
              expect(
                ring.forEachReadable(op.offset, op.len, (buffer, start, length) => {
                  expect(length).toBeGreaterThan(0)
                  expect(start + length).toBeLessThanOrEqual(capacity)
                  for (let i = 0; i < length; i++) seen.push(buffer[start + i]!)
                })
              ).toBe(n)
              matches(seen, queue.slice(op.offset, op.offset + n))
              break
            }
            case "clear": {
              ring.clear()
              queue = []
              parked = []
              break
            }
          }
          expect(ring.length).toBe(queue.length)
          expect(ring.free).toBe(capacity - queue.length)
          expect(ring.isEmpty).toBe(queue.length === 0)
          expect(ring.isFull).toBe(queue.length === capacity)
        }
      }),
      { numRuns: 500 }
    )
  })
})

describe("RingBuffer storage growth", () => {
  it("starts small, grows only as data needs, and keeps readable and parked bytes in place", () => {
    const ring = new RingBuffer(256 * 1024)
    expect(ring.allocated).toBe(4096)
    const src = new Uint8Array(10_000).map((_, i) => i & 0xff)
    // Wrap the small storage first: enqueue 3000, drop 2500, enqueue 3000 more.
    ring.enqueue(src, 0, 3000)
    ring.discard(2500)
    ring.enqueue(src, 3000, 3000)
    expect(ring.allocated).toBe(4096)
    // Park out-of-order bytes past the end, which forces growth across the wrap.
    expect(ring.writeUnallocated(2000, src, 8000, 1000)).toBe(1000)
    expect(ring.allocated).toBeGreaterThan(4096)
    ring.writeUnallocated(0, src, 6000, 2000)
    expect(ring.enqueueUnallocated(3000)).toBe(3000)
    const out = new Uint8Array(ring.length)
    ring.dequeue(out, 0, out.length)
    expect(Array.from(out)).toEqual(Array.from(src.subarray(2500, 9000)))
    expect(ring.allocated).toBeLessThanOrEqual(16384)
  })

  it("never allocates past its capacity", () => {
    const ring = new RingBuffer(5000)
    ring.enqueue(new Uint8Array(6000), 0, 6000)
    expect(ring.length).toBe(5000)
    expect(ring.allocated).toBe(5000)
  })
})

describe("RingBuffer release", () => {
  it("gives its storage back only when empty, and grows again on the next write", () => {
    const ring = new RingBuffer(64 * 1024)
    ring.enqueue(new Uint8Array(10), 0, 10)
    ring.release()
    expect(ring.allocated).toBe(4096)
    ring.discard(10)
    ring.release()
    expect(ring.allocated).toBe(0)
    expect(ring.enqueue(Uint8Array.of(1, 2, 3), 0, 3)).toBe(3)
    const out = new Uint8Array(3)
    ring.dequeue(out, 0, 3)
    expect(Array.from(out)).toEqual([1, 2, 3])
  })
})
