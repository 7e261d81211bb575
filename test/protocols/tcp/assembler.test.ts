import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { Assembler, DEFAULT_MAX_RANGES, type SackBlock } from "../../../src/protocols/tcp/assembler.js"
import { RingBuffer } from "../../../src/protocols/tcp/ring-buffer.js"

const rangesOf = (a: Assembler): Array<[number, number]> => {
  const out: Array<[number, number]> = []
  a.forEachRange((start, end) => out.push([start, end]))
  return out
}

const assemblerWith = (ranges: ReadonlyArray<readonly [number, number]>, maxRanges?: number): Assembler => {
  const a = new Assembler(maxRanges)
  for (const [start, end] of ranges) expect(a.add(start, end - start)).toBe(true)
  return a
}

const sacks = (a: Assembler, max: number): Array<[number, number]> => {
  const out: Array<SackBlock> = []
  const n = a.sackBlocks(out, max)
  return out.slice(0, n).map((b) => [b.start, b.end])
}

describe("Assembler add", () => {
  it("starts empty with the default limit", () => {
    const a = new Assembler()
    expect(a.maxRanges).toBe(DEFAULT_MAX_RANGES)
    expect(a.maxRanges).toBe(32)
    expect(a.isEmpty).toBe(true)
    expect(a.rangeCount).toBe(0)
    expect(a.bytes).toBe(0)
    expect(a.removeFront()).toBe(0)
  })

  it("keeps separate ranges sorted", () => {
    const a = assemblerWith([[20, 30], [5, 10], [40, 41]])
    expect(rangesOf(a)).toEqual([[5, 10], [20, 30], [40, 41]])
    expect(a.rangeCount).toBe(3)
    expect(a.bytes).toBe(16)
    expect(a.isEmpty).toBe(false)
  })

  it("merges overlaps on either side", () => {
    const a = assemblerWith([[10, 20]])
    expect(a.add(15, 10)).toBe(true)
    expect(rangesOf(a)).toEqual([[10, 25]])
    expect(a.add(5, 7)).toBe(true)
    expect(rangesOf(a)).toEqual([[5, 25]])
    expect(a.bytes).toBe(20)
  })

  it("merges adjacent ranges on either side", () => {
    const a = assemblerWith([[10, 20]])
    expect(a.add(20, 5)).toBe(true)
    expect(a.add(4, 6)).toBe(true)
    expect(rangesOf(a)).toEqual([[4, 25]])
    expect(a.rangeCount).toBe(1)
    expect(a.bytes).toBe(21)
  })

  it("absorbs a contained range and a duplicate, and grows a contained one", () => {
    const a = assemblerWith([[10, 20]])
    expect(a.add(12, 3)).toBe(true)
    expect(a.add(10, 10)).toBe(true)
    expect(rangesOf(a)).toEqual([[10, 20]])
    expect(a.bytes).toBe(10)
    expect(a.add(5, 30)).toBe(true)
    expect(rangesOf(a)).toEqual([[5, 35]])
    expect(a.bytes).toBe(30)
  })

  it("bridges several ranges at once", () => {
    const a = assemblerWith([[10, 12], [14, 16], [18, 20], [22, 24], [30, 31]])
    expect(a.add(11, 11)).toBe(true) // overlaps the first, swallows two, touches the fourth
    expect(rangesOf(a)).toEqual([[10, 24], [30, 31]])
    expect(a.bytes).toBe(15)
    expect(a.add(0, 40)).toBe(true)
    expect(rangesOf(a)).toEqual([[0, 40]])
    expect(a.rangeCount).toBe(1)
    expect(a.bytes).toBe(40)
  })

  it("accepts an empty range without change and refuses bad arguments", () => {
    const a = assemblerWith([[10, 20]])
    expect(a.add(50, 0)).toBe(true)
    expect(a.add(-1, 5)).toBe(false)
    expect(a.add(5, -1)).toBe(false)
    expect(a.add(1.5, 2)).toBe(false)
    expect(a.add(Number.NaN, 2)).toBe(false)
    expect(rangesOf(a)).toEqual([[10, 20]])
    expect(a.bytes).toBe(10)
  })

  it("refuses a new separate range at the limit, changing nothing", () => {
    const a = assemblerWith([[10, 20], [30, 40], [50, 60]], 3)
    const before = rangesOf(a)
    const sackBefore = sacks(a, 4)
    expect(a.add(70, 5)).toBe(false)
    expect(a.add(22, 5)).toBe(false)
    expect(a.add(1, 5)).toBe(false)
    expect(rangesOf(a)).toEqual(before)
    expect(sacks(a, 4)).toEqual(sackBefore)
    expect(a.bytes).toBe(30)
    // Merging never needs a new range, so it still works at the limit.
    expect(a.add(15, 20)).toBe(true)
    expect(rangesOf(a)).toEqual([[10, 40], [50, 60]])
    expect(a.add(70, 5)).toBe(true)
    expect(a.rangeCount).toBe(3)
  })

  it("always accepts in-order data at offset 0, even at the limit", () => {
    const a = assemblerWith([[10, 20], [30, 40]], 2)
    expect(a.add(0, 5)).toBe(true)
    expect(a.rangeCount).toBe(3)
    expect(a.removeFront()).toBe(5)
    expect(rangesOf(a)).toEqual([[5, 15], [25, 35]])
    expect(a.rangeCount).toBe(2)
    // While the front range waits, no further out-of-order range gets in.
    expect(a.add(0, 1)).toBe(true)
    expect(a.add(20, 2)).toBe(false)
    expect(a.removeFront()).toBe(1)
  })

  it("clears", () => {
    const a = assemblerWith([[10, 20], [30, 40]])
    a.clear()
    expect(a.isEmpty).toBe(true)
    expect(a.bytes).toBe(0)
    expect(sacks(a, 4)).toEqual([])
    expect(a.add(3, 1)).toBe(true)
    expect(rangesOf(a)).toEqual([[3, 4]])
  })
})

describe("Assembler removeFront", () => {
  it("returns 0 while there is a hole at the front", () => {
    const a = assemblerWith([[1, 5]])
    expect(a.removeFront()).toBe(0)
    expect(rangesOf(a)).toEqual([[1, 5]])
  })

  it("takes the front range and shifts the others down by its length", () => {
    const a = assemblerWith([[10, 20], [30, 40], [45, 50]])
    expect(a.add(0, 10)).toBe(true) // fills the hole and merges with [10, 20)
    expect(a.removeFront()).toBe(20)
    expect(rangesOf(a)).toEqual([[10, 20], [25, 30]])
    expect(a.bytes).toBe(15)
    expect(a.removeFront()).toBe(0)
    expect(a.add(0, 10)).toBe(true)
    expect(a.removeFront()).toBe(20)
    expect(rangesOf(a)).toEqual([[5, 10]])
    expect(a.add(0, 5)).toBe(true)
    expect(a.removeFront()).toBe(10)
    expect(a.isEmpty).toBe(true)
    expect(a.bytes).toBe(0)
  })
})

/**
 * RFC 2018 §3 and §4 examples: left window edge 5000, eight 500-byte segments
 * (5000..8999), SACK blocks as absolute sequence numbers.
 */
class SackReceiver {
  readonly assembler = new Assembler()
  rcvNxt: number
  constructor(rcvNxt: number) {
    this.rcvNxt = rcvNxt
  }
  /** The segment [seq, seq + len) arrives; returns the ACK and its SACK blocks. */
  segment(seq: number, len: number): { ack: number; sack: Array<[number, number]> } {
    expect(this.assembler.add((seq - this.rcvNxt) >>> 0, len)).toBe(true)
    this.rcvNxt = (this.rcvNxt + this.assembler.removeFront()) >>> 0
    const sack = sacks(this.assembler, 4).map(([s, e]): [number, number] => [
      (this.rcvNxt + s) >>> 0,
      (this.rcvNxt + e) >>> 0
    ])
    return { ack: this.rcvNxt, sack }
  }
}

describe("Assembler SACK blocks (RFC 2018)", () => {
  it("§3 case 2: the first segment is lost, the other seven arrive", () => {
    const r = new SackReceiver(5000)
    const acks = [5500, 6000, 6500, 7000, 7500, 8000, 8500].map((seq) => r.segment(seq, 500))
    expect(acks.map((a) => a.ack)).toEqual([5000, 5000, 5000, 5000, 5000, 5000, 5000])
    expect(acks.map((a) => a.sack)).toEqual([
      [[5500, 6000]],
      [[5500, 6500]],
      [[5500, 7000]],
      [[5500, 7500]],
      [[5500, 8000]],
      [[5500, 8500]],
      [[5500, 9000]]
    ])
    expect(r.segment(5000, 500)).toEqual({ ack: 9000, sack: [] })
  })

  it("§3 case 3: segments 2, 4, 6 and 8 are lost; then 4 and 2 arrive late", () => {
    const r = new SackReceiver(5000)
    expect(r.segment(5000, 500)).toEqual({ ack: 5500, sack: [] })
    expect(r.segment(6000, 500)).toEqual({ ack: 5500, sack: [[6000, 6500]] })
    expect(r.segment(7000, 500)).toEqual({ ack: 5500, sack: [[7000, 7500], [6000, 6500]] })
    expect(r.segment(8000, 500)).toEqual({ ack: 5500, sack: [[8000, 8500], [7000, 7500], [6000, 6500]] })
    // "the 4th packet is received out of order": only two blocks are left to report.
    expect(r.segment(6500, 500)).toEqual({ ack: 5500, sack: [[6000, 7500], [8000, 8500]] })
    // "the 2nd segment is received".
    expect(r.segment(5500, 500)).toEqual({ ack: 7500, sack: [[8000, 8500]] })
  })

  it("§4: the newest block first, then the most recently added others, up to the room", () => {
    const a = assemblerWith([[10, 20], [30, 40], [50, 60], [70, 80], [90, 100]])
    expect(sacks(a, 3)).toEqual([[90, 100], [70, 80], [50, 60]])
    expect(a.add(31, 2)).toBe(true) // a retransmitted segment inside [30, 40) triggers the next ACK
    expect(sacks(a, 3)).toEqual([[30, 40], [90, 100], [70, 80]])
    expect(a.add(20, 1)).toBe(true) // extends [10, 20)
    expect(sacks(a, 4)).toEqual([[10, 21], [30, 40], [90, 100], [70, 80]])
    expect(sacks(a, 10)).toHaveLength(5)
    expect(sacks(a, 0)).toEqual([])
  })

  it("never reports the range at the front, nor anything below it", () => {
    const a = assemblerWith([[10, 20], [30, 40]])
    expect(a.add(0, 10)).toBe(true)
    expect(sacks(a, 4)).toEqual([[30, 40]]) // [0, 20) is in-order data, not a SACK block
    a.removeFront()
    expect(sacks(a, 4)).toEqual([[10, 20]])
  })

  it("reuses the objects in `out` and keeps entries past the count", () => {
    const a = assemblerWith([[10, 20], [30, 40]])
    const first = { start: -1, end: -1 }
    const spare = { start: -7, end: -7 }
    const out: Array<SackBlock> = [first]
    expect(a.sackBlocks(out, 4)).toBe(2)
    expect(out[0]).toBe(first)
    expect(out).toEqual([{ start: 30, end: 40 }, { start: 10, end: 20 }])
    const second = out[1]
    out.push(spare)
    expect(a.sackBlocks(out, 1)).toBe(1)
    expect(out[0]).toBe(first)
    expect(out[1]).toBe(second)
    expect(out[2]).toBe(spare)
    expect(spare).toEqual({ start: -7, end: -7 })
  })

  it("works across the 2^32 sequence wrap", () => {
    const r = new SackReceiver(0xffff_fe00)
    expect(r.segment(0xffff_ff00, 0x200)).toEqual({ ack: 0xffff_fe00, sack: [[0xffff_ff00, 0x100]] })
    expect(r.segment(0xffff_fe00, 0x100)).toEqual({ ack: 0x100, sack: [] })
  })
})

interface Write {
  readonly start: number
  readonly length: number
}

describe("Assembler with a RingBuffer, properties", () => {
  const streamOf = (n: number): Uint8Array => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = (i * 13 + 7) & 0xff
    return out
  }

  const writeArb: fc.Arbitrary<Write> = fc.record({
    start: fc.integer({ min: 0, max: 299 }),
    length: fc.integer({ min: 0, max: 40 })
  })

  it("delivers exactly the covered prefix of the stream, never holding more than the limit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.tuple(writeArb, fc.integer({ min: 0, max: 30 })), { maxLength: 80 }),
        (maxRanges, capacity, writes) => {
          const total = 300
          const stream = streamOf(total)
          const ring = new RingBuffer(capacity)
          const assembler = new Assembler(maxRanges)
          const accepted = new Array<boolean>(total).fill(false)
          const received: Array<number> = []
          let rcvNxt = 0
          const read = (n: number) => {
            const dst = new Uint8Array(n)
            const k = ring.dequeue(dst, 0, n)
            received.push(...dst.subarray(0, k))
          }
          for (const [w, appRead] of writes) {
            // Trim what lies before rcv.nxt, then clip to the window (the ring's free space), as TCP would.
            const start = Math.max(w.start, rcvNxt)
            const end = Math.min(w.start + w.length, total, rcvNxt + ring.free)
            if (end > start) {
              const offset = start - rcvNxt
              if (assembler.add(offset, end - start)) {
                expect(ring.writeUnallocated(offset, stream, start, end - start)).toBe(end - start)
                accepted.fill(true, start, end)
              }
            }
            const n = assembler.removeFront()
            expect(ring.enqueueUnallocated(n)).toBe(n)
            rcvNxt += n
            let outOfOrder = 0
            assembler.forEachRange((s) => {
              if (s > 0) outOfOrder++
            })
            expect(outOfOrder).toBeLessThanOrEqual(maxRanges)
            expect(assembler.rangeCount).toBeLessThanOrEqual(maxRanges)
            expect(assembler.bytes).toBe(accepted.slice(rcvNxt).filter(Boolean).length)
            read(appRead)
          }
          read(ring.length)
          let covered = 0
          while (covered < total && accepted[covered]) covered++
          expect(rcvNxt).toBe(covered)
          expect(received).toEqual([...stream.subarray(0, covered)])
        }
      ),
      { numRuns: 500 }
    )
  })

  it("keeps ranges sorted, disjoint and non-adjacent, and SACK blocks are ranges past the front", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(writeArb, fc.constant("front" as const)), { maxLength: 100 }),
        (maxRanges, ops) => {
          const a = new Assembler(maxRanges)
          const held = new Set<number>()
          const out: Array<SackBlock> = []
          for (const op of ops) {
            if (op === "front") {
              const n = a.removeFront()
              for (let i = 0; i < n; i++) expect(held.delete(i)).toBe(true)
              const shifted = [...held].map((x) => x - n)
              held.clear()
              for (const x of shifted) held.add(x)
            } else {
              const before = rangesOf(a)
              if (a.add(op.start, op.length)) {
                for (let i = op.start; i < op.start + op.length; i++) held.add(i)
              } else {
                expect(rangesOf(a)).toEqual(before)
              }
            }
            const ranges = rangesOf(a)
            for (let i = 0; i < ranges.length; i++) {
              const [s, e] = ranges[i]!
              expect(s).toBeLessThan(e)
              if (i > 0) expect(s).toBeGreaterThan(ranges[i - 1]![1])
            }
            expect(ranges.filter(([s]) => s > 0).length).toBeLessThanOrEqual(maxRanges)
            expect(a.bytes).toBe(held.size)
            expect(ranges.reduce((sum, [s, e]) => sum + e - s, 0)).toBe(held.size)
            for (const x of held) expect(ranges.some(([s, e]) => s <= x && x < e)).toBe(true)
            const k = a.sackBlocks(out, 4)
            expect(k).toBe(Math.min(4, ranges.filter(([s]) => s > 0).length))
            const reported = out.slice(0, k).map((b): [number, number] => [b.start, b.end])
            for (const block of reported) expect(ranges).toContainEqual(block)
            expect(new Set(reported.map(([s]) => s)).size).toBe(k)
            if (op !== "front" && op.length > 0 && k > 0 && reported[0]![0] > 0) {
              // The first block holds the range just added, unless that range is at the front.
              const [s, e] = reported[0]!
              const [first] = ranges.filter(([rs, re]) => rs <= op.start && op.start + op.length <= re)
              if (first !== undefined && first[0] > 0) expect([s, e]).toEqual(first)
            }
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})
