/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): wraparound,
 * antisymmetry, add/diff inverses and window membership.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import {
  seqAdd,
  seqDiff,
  seqGe,
  seqGt,
  seqInRange,
  seqLe,
  seqLt,
  seqMax,
  seqMin
} from "../../../src/protocols/tcp/seq.js"

const u32 = FastCheck.integer({ min: 0, max: 0xffffffff })
/** Distances that keep two numbers comparable (|d| < 2^31). */
const distance = FastCheck.integer({ min: -0x7fffffff, max: 0x7fffffff })

describe("seq", () => {
  it("wraps around 2^32", () => {
    expect(seqLt(0xfffffff0, 5)).toBe(true)
    expect(seqGt(5, 0xfffffff0)).toBe(true)
    expect(seqLe(0xfffffff0, 5)).toBe(true)
    expect(seqGe(5, 0xfffffff0)).toBe(true)
    expect(seqAdd(0xfffffff0, 0x20)).toBe(0x10)
    expect(seqAdd(5, -6)).toBe(0xffffffff)
    expect(seqDiff(5, 0xfffffff0)).toBe(21)
    expect(seqDiff(0xfffffff0, 5)).toBe(-21)
    expect(seqMax(0xfffffff0, 5)).toBe(5)
    expect(seqMin(0xfffffff0, 5)).toBe(0xfffffff0)
  })

  it("equal numbers", () => {
    expect(seqLt(7, 7)).toBe(false)
    expect(seqGt(7, 7)).toBe(false)
    expect(seqLe(7, 7)).toBe(true)
    expect(seqGe(7, 7)).toBe(true)
    expect(seqDiff(7, 7)).toBe(0)
  })

  it("results are unsigned 32-bit", () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0)
    expect(seqAdd(0, 0xffffffff)).toBe(0xffffffff)
    expect(seqAdd(0x80000000, 0x80000000)).toBe(0)
    expect(seqMax(0x7fffffff, 0x80000000)).toBe(0x80000000)
  })

  it("numbers 2^31 apart are each before the other (as Linux's before())", () => {
    expect(seqDiff(0x80000000, 0)).toBe(-0x80000000)
    expect(seqLt(0, 0x80000000)).toBe(true)
    expect(seqLt(0x80000000, 0)).toBe(true)
  })

  it("seqInRange across the wrap, and empty and full-size windows", () => {
    expect(seqInRange(0xfffffff0, 0xfffffff0, 5)).toBe(true)
    expect(seqInRange(0, 0xfffffff0, 5)).toBe(true)
    expect(seqInRange(4, 0xfffffff0, 5)).toBe(true)
    expect(seqInRange(5, 0xfffffff0, 5)).toBe(false)
    expect(seqInRange(0xffffffef, 0xfffffff0, 5)).toBe(false)
    expect(seqInRange(9, 9, 9)).toBe(false)
    // A window of 2^32 − 1 numbers holds everything but the one before `start`.
    expect(seqInRange(0x80000000, 10, 9)).toBe(true)
    expect(seqInRange(9, 10, 9)).toBe(false)
  })

  describe("properties", () => {
    it("seqAdd and seqDiff are inverses", () => {
      FastCheck.assert(
        FastCheck.property(u32, distance, (a, d) => {
          const b = seqAdd(a, d)
          expect(b).toBeGreaterThanOrEqual(0)
          expect(b).toBeLessThanOrEqual(0xffffffff)
          expect(seqDiff(b, a)).toBe(d)
          expect(seqAdd(a, seqDiff(b, a))).toBe(b)
        })
      )
      FastCheck.assert(
        FastCheck.property(u32, u32, (a, b) => {
          expect(seqAdd(b, seqDiff(a, b))).toBe(a)
        })
      )
    })

    it("comparisons are antisymmetric, total and agree with seqDiff", () => {
      FastCheck.assert(
        FastCheck.property(u32, distance, (a, d) => {
          const b = seqAdd(a, d)
          expect(seqLt(a, b)).toBe(d > 0)
          expect(seqGt(a, b)).toBe(d < 0)
          expect(seqLt(a, b) && seqLt(b, a)).toBe(false)
          expect(seqLt(a, b)).toBe(seqGt(b, a))
          expect(seqLe(a, b)).toBe(seqGe(b, a))
          expect(seqLe(a, b)).toBe(!seqGt(a, b))
          expect(seqGe(a, b)).toBe(!seqLt(a, b))
          expect([seqLt(a, b), a === b, seqGt(a, b)].filter(Boolean)).toHaveLength(1)
        })
      )
    })

    it("seqMax and seqMin pick one of the two, in order", () => {
      FastCheck.assert(
        FastCheck.property(u32, distance, (a, d) => {
          const b = seqAdd(a, d)
          const hi = seqMax(a, b)
          const lo = seqMin(a, b)
          expect([a, b]).toContain(hi)
          expect([a, b]).toContain(lo)
          expect(seqLe(lo, hi)).toBe(true)
          expect(seqMax(b, a)).toBe(hi)
          expect(seqMin(b, a)).toBe(lo)
        })
      )
    })

    it("seqInRange(s + k, s, s + n) holds exactly for k < n (0 ≤ k < 2^32)", () => {
      FastCheck.assert(
        FastCheck.property(u32, u32, u32, (start, size, k) => {
          expect(seqInRange(seqAdd(start, k), start, seqAdd(start, size))).toBe(k < size)
        })
      )
      // Near the edges, where random draws rarely land.
      FastCheck.assert(
        FastCheck.property(
          u32,
          FastCheck.integer({ min: 0, max: 8 }),
          FastCheck.integer({ min: -4, max: 12 }),
          (s, n, d) => {
            expect(seqInRange(seqAdd(s, d), s, seqAdd(s, n))).toBe(d >= 0 && d < n)
          }
        )
      )
    })

    it("seqInRange agrees with seqLe/seqLt for windows below 2^31", () => {
      FastCheck.assert(
        FastCheck.property(u32, FastCheck.integer({ min: 0, max: 0x7fffffff }), distance, (start, size, d) => {
          const end = seqAdd(start, size)
          const x = seqAdd(start, d)
          expect(seqInRange(x, start, end)).toBe(seqLe(start, x) && seqLt(x, end))
        })
      )
    })
  })
})
