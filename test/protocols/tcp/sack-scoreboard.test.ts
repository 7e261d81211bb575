import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { SackScoreboard, type SackRange } from "../../../src/protocols/tcp/sack-scoreboard.js"

const MSS = 1000

/** Sequence numbers relative to a base near the 2^32 wrap, so every test also crosses it. */
const BASE = 0xffff_f000
const at = (offset: number): number => (BASE + offset) >>> 0
const block = (start: number, end: number): SackRange => ({ start: at(start), end: at(end) })
const rel = (ranges: ReadonlyArray<SackRange>): Array<[number, number]> =>
  ranges.map((r) => [(r.start - BASE) >>> 0, (r.end - BASE) >>> 0])

const board = (...blocks: Array<[number, number]>): SackScoreboard => {
  const sb = new SackScoreboard()
  sb.reset(at(0))
  sb.update(at(0), blocks.map(([s, e]) => block(s, e)), blocks.length)
  return sb
}

describe("SackScoreboard update", () => {
  it("records blocks, merges overlapping and touching ones, and counts new bytes", () => {
    const sb = new SackScoreboard()
    sb.reset(at(0))
    expect(sb.update(at(0), [block(3000, 4000), block(1000, 2000)], 2)).toBe(2000)
    expect(rel(sb.ranges())).toEqual([[1000, 2000], [3000, 4000]])
    expect(sb.update(at(0), [block(1500, 3000)], 1)).toBe(1000) // touches the right one: one range
    expect(rel(sb.ranges())).toEqual([[1000, 4000]])
    expect(sb.update(at(0), [block(1000, 4000)], 1)).toBe(0) // nothing new
    expect(sb.update(at(0), [block(500, 5000), block(7000, 8000)], 2)).toBe(500 + 1000 + 1000)
    expect(rel(sb.ranges())).toEqual([[500, 5000], [7000, 8000]])
    expect(sb.sackedBytes).toBe(5500)
    expect(sb.highestSacked).toBe(at(8000))
  })

  it("reads only the first `count` blocks", () => {
    const sb = new SackScoreboard()
    sb.reset(at(0))
    expect(sb.update(at(0), [block(1000, 2000), block(3000, 4000), block(5000, 6000)], 1)).toBe(1000)
    expect(sb.rangeCount).toBe(1)
  })

  it("prunes and trims below snd.una, and skips D-SACK and empty blocks", () => {
    const sb = board([1000, 2000], [3000, 4000], [5000, 6000])
    expect(sb.update(at(3500), [], 0)).toBe(0)
    expect(rel(sb.ranges())).toEqual([[3500, 4000], [5000, 6000]])
    expect(sb.sackedBytes).toBe(1500)
    // D-SACK below snd.una (RFC 2883), an empty block, a reversed block: ignored.
    expect(sb.update(at(3500), [block(1000, 2000), block(7000, 7000), block(9000, 8000)], 3)).toBe(0)
    // A block straddling snd.una counts only above it.
    expect(sb.update(at(4500), [block(4000, 5000)], 1)).toBe(500)
    expect(rel(sb.ranges())).toEqual([[4500, 6000]])
    // An older snd.una (a reordered ACK) does not move it back.
    sb.update(at(100), [], 0)
    expect(sb.isSacked(at(4600))).toBe(true)
    expect(sb.update(at(6000), [], 0)).toBe(0)
    expect(sb.rangeCount).toBe(0)
    expect(sb.sackedBytes).toBe(0)
    expect(sb.highestSacked).toBeUndefined()
  })

  it("answers isSacked within the ranges only", () => {
    const sb = board([1000, 2000])
    expect(sb.isSacked(at(999))).toBe(false)
    expect(sb.isSacked(at(1000))).toBe(true)
    expect(sb.isSacked(at(1999))).toBe(true)
    expect(sb.isSacked(at(2000))).toBe(false)
    expect(sb.isSacked(at(-1))).toBe(false)
  })

  it("is bounded: when full, a new range below the top evicts the top one; one above is dropped", () => {
    const sb = new SackScoreboard(4)
    sb.reset(at(0))
    for (let i = 1; i <= 4; i++) sb.update(at(0), [block(i * 2000, i * 2000 + 1000)], 1)
    expect(sb.rangeCount).toBe(4)
    expect(sb.update(at(0), [block(20_000, 21_000)], 1)).toBe(0)
    expect(sb.update(at(0), [block(500, 600)], 1)).toBe(100)
    expect(rel(sb.ranges())).toEqual([[500, 600], [2000, 3000], [4000, 5000], [6000, 7000]])
    expect(sb.sackedBytes).toBe(3100)
    // Merging never needs room.
    expect(sb.update(at(0), [block(3000, 4000)], 1)).toBe(1000)
    expect(rel(sb.ranges())).toEqual([[500, 600], [2000, 5000], [6000, 7000]])
  })

  it("clear forgets everything; reset also moves snd.una", () => {
    const sb = board([1000, 2000])
    sb.clear()
    expect(sb.rangeCount).toBe(0)
    expect(sb.sackedBytes).toBe(0)
    sb.reset(at(5000))
    expect(sb.update(at(5000), [block(4000, 4500)], 1)).toBe(0)
  })
})

describe("SackScoreboard IsLost (RFC 6675 §4)", () => {
  it("needs DupThresh discontiguous SACKed segments above", () => {
    const sb = board([1000, 2000], [3000, 4000])
    expect(sb.isLost(at(0), MSS)).toBe(false) // 2 segments, 2000 bytes
    sb.update(at(0), [block(5000, 6000)], 1)
    expect(sb.isLost(at(0), MSS)).toBe(true)
    expect(sb.isLost(at(2500), MSS)).toBe(false) // only 2 above
    expect(sb.isLost(at(1500), MSS)).toBe(false) // SACKed itself
  })

  it("or more than (DupThresh − 1)·MSS SACKed bytes above", () => {
    expect(board([1000, 3000]).isLost(at(0), MSS)).toBe(false)
    expect(board([1000, 3001]).isLost(at(0), MSS)).toBe(true)
    // Three small discontiguous SACKed segments count as three.
    expect(board([1000, 1100], [1200, 1300], [1400, 1500]).isLost(at(0), MSS)).toBe(true)
  })
})

describe("SackScoreboard NextSeg and SetPipe", () => {
  // Ten segments sent [0, 10000); the peer SACKs 2, 3, 4 and 6.
  const example = () => board([2000, 5000], [6000, 7000])
  const una = at(0)
  const nxt = at(10_000)

  it("NextSeg takes lost holes in order and respects HighRxt", () => {
    const sb = example()
    expect(rel([sb.nextSegmentToRetransmit(una, nxt, una, MSS)!])).toEqual([[0, 1000]])
    expect(rel([sb.nextSegmentToRetransmit(una, nxt, at(1000), MSS)!])).toEqual([[1000, 2000]])
    expect(rel([sb.nextSegmentToRetransmit(una, nxt, at(1500), MSS)!])).toEqual([[1500, 2000]])
    // Segment 5 has only one SACKed segment above it: not lost, and nothing above is.
    expect(sb.nextSegmentToRetransmit(una, nxt, at(2000), MSS)).toBeUndefined()
    // Once 7, 8 and 9 are SACKed too, segment 5 is lost.
    sb.update(una, [block(7000, 10_000)], 1)
    expect(rel([sb.nextSegmentToRetransmit(una, nxt, at(2000), MSS)!])).toEqual([[5000, 6000]])
    expect(sb.nextSegmentToRetransmit(una, nxt, at(6000), MSS)).toBeUndefined()
  })

  it("NextSeg needs a SACKed range above the hole (rule 1.b)", () => {
    const sb = board([0, 3000])
    expect(sb.nextSegmentToRetransmit(una, nxt, una, MSS)).toBeUndefined()
    expect(new SackScoreboard().nextSegmentToRetransmit(0, 10_000, 0, MSS)).toBeUndefined()
  })

  it("SetPipe counts unSACKed bytes not lost, plus those retransmitted", () => {
    const sb = example()
    // Lost hole [0, 2000): 0. Hole [5000, 6000): 1000. Hole [7000, 10000): 3000.
    expect(sb.pipe(una, nxt, una, MSS)).toBe(4000)
    // Segment 0 retransmitted: it is in the network again.
    expect(sb.pipe(una, nxt, at(1000), MSS)).toBe(5000)
    expect(sb.pipe(una, nxt, at(2000), MSS)).toBe(6000)
    // A retransmitted byte that is not lost counts twice (RFC 6675 SetPipe (a) and (b)).
    expect(sb.pipe(una, nxt, at(5500), MSS)).toBe(6500)
    // Without SACK information the pipe is the flight size.
    expect(new SackScoreboard().pipe(una, nxt, una, MSS)).toBe(10_000)
    expect(sb.pipe(una, una, una, MSS)).toBe(0)
  })

  it("SetPipe after snd.una advances past the first hole", () => {
    const sb = example()
    // The retransmissions of 0 and 1 arrive: a partial ACK up to 5000 (the SACKed 2..4 included).
    sb.update(at(5000), [block(6000, 7000)], 1)
    expect(rel(sb.ranges())).toEqual([[6000, 7000]])
    expect(sb.pipe(at(5000), nxt, at(5000), MSS)).toBe(1000 + 3000)
  })
})

describe("SackScoreboard invariants", () => {
  it("keeps ranges sorted, disjoint, non-adjacent, above snd.una and bounded; sackedBytes is their sum", () => {
    const op = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.array(
          fc.tuple(fc.integer({ min: -3000, max: 60_000 }), fc.integer({ min: 0, max: 8000 })).map(([s, n]) => block(s, s + n)),
          { maxLength: 4 }
        )
      },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 8000 }) }
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 60 }), (maxRanges, ops) => {
        const sb = new SackScoreboard(maxRanges)
        let una = 0
        sb.reset(at(una))
        for (const o of ops) {
          let added: number
          if (typeof o === "number") {
            una += o
            added = sb.update(at(una), [], 0)
          } else {
            const before = sb.sackedBytes
            added = sb.update(at(una), o, o.length)
            expect(added).toBeGreaterThanOrEqual(0)
            expect(sb.sackedBytes).toBeLessThanOrEqual(before + added)
          }
          const ranges = rel(sb.ranges()).map(([s, e]) => [s - una, e - una] as const)
          expect(ranges.length).toBeLessThanOrEqual(maxRanges)
          let sum = 0
          let previousEnd = -1
          for (const [s, e] of ranges) {
            expect(s).toBeGreaterThanOrEqual(0)
            expect(e).toBeGreaterThan(s)
            expect(s).toBeGreaterThan(previousEnd)
            previousEnd = e
            sum += e - s
          }
          expect(sb.sackedBytes).toBe(sum)
          // Pipe never exceeds twice the flight, nor goes negative.
          const nxt = at(una + 70_000)
          const pipe = sb.pipe(at(una), nxt, at(una + 5000), MSS)
          expect(pipe).toBeGreaterThanOrEqual(0)
          expect(pipe).toBeLessThanOrEqual(70_000 + 5000)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("agrees with a per-byte model of IsLost and SetPipe", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 12 })), { maxLength: 8 }),
        fc.integer({ min: 0, max: 70 }),
        fc.integer({ min: 1, max: 7 }),
        (blocks, highRxt, mss) => {
          const flight = 72
          const sb = new SackScoreboard()
          sb.reset(at(0))
          sb.update(at(0), blocks.map(([s, n]) => block(s, Math.min(flight, s + n))), blocks.length)
          const sacked = (b: number) => sb.isSacked(at(b))
          // Model: IsLost per byte by scanning the SACKed bytes above.
          const lost = (b: number): boolean => {
            if (sacked(b)) return false
            let bytes = 0
            let segments = 0
            let inRun = 0
            for (let x = b + 1; x < flight; x++) {
              if (sacked(x)) {
                bytes++
                inRun++
                if (inRun === 1 || (inRun - 1) % mss === 0) segments++
              } else inRun = 0
            }
            return segments >= 3 || bytes > 2 * mss
          }
          let model = 0
          for (let b = 0; b < flight; b++) {
            expect(sb.isLost(at(b), mss)).toBe(lost(b))
            if (sacked(b)) continue
            if (!lost(b)) model++
            if (b < highRxt) model++
          }
          expect(sb.pipe(at(0), at(flight), at(highRxt), mss)).toBe(model)
          // NextSeg: the first lost unSACKed byte at or above HighRxt.
          let first = -1
          for (let b = highRxt; b < flight; b++) {
            if (lost(b)) {
              first = b
              break
            }
          }
          const next = sb.nextSegmentToRetransmit(at(0), at(flight), at(highRxt), mss)
          if (first < 0) expect(next).toBeUndefined()
          else {
            expect(next).toBeDefined()
            expect((next!.start - BASE) >>> 0).toBe(first)
            const length = (next!.end - next!.start) >>> 0
            expect(length).toBeGreaterThan(0)
            expect(length).toBeLessThanOrEqual(mss)
            for (let b = first; b < first + length; b++) expect(sacked(b)).toBe(false)
          }
        }
      ),
      { numRuns: 500 }
    )
  })
})
