import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { RttEstimator } from "../../../src/protocols/tcp/rtt.js"

describe("RttEstimator (RFC 6298)", () => {
  it("starts at the initial RTO with no estimate", () => {
    const rtt = new RttEstimator()
    expect(rtt.rto).toBe(1000)
    expect(rtt.srtt).toBeUndefined()
    expect(rtt.rttvar).toBeUndefined()
    expect(rtt.backoffCount).toBe(0)
    expect(new RttEstimator({ initialRtoMillis: 3000 }).rto).toBe(3000)
  })

  it("takes the first sample as SRTT = R, RTTVAR = R/2 (§2.2)", () => {
    const rtt = new RttEstimator()
    rtt.sample(100)
    expect(rtt.srtt).toBe(100)
    expect(rtt.rttvar).toBe(50)
    // RTO = SRTT + max(G, 4·RTTVAR) = 100 + 200
    expect(rtt.rto).toBe(300)
  })

  it("smooths later samples with α = 1/8, β = 1/4, RTTVAR from the old SRTT (§2.3)", () => {
    const rtt = new RttEstimator()
    rtt.sample(100)
    rtt.sample(200)
    // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5
    expect(rtt.rttvar).toBe(62.5)
    expect(rtt.srtt).toBe(112.5)
    expect(rtt.rto).toBe(112.5 + 250)
    rtt.sample(112.5)
    // RTTVAR = 3/4·62.5 + 0 = 46.875; SRTT unchanged
    expect(rtt.rttvar).toBe(46.875)
    expect(rtt.srtt).toBe(112.5)
    expect(rtt.rto).toBe(112.5 + 187.5)
  })

  it("uses the clock granularity when the variation is tiny", () => {
    const rtt = new RttEstimator({ minRtoMillis: 0, granularityMillis: 10 })
    rtt.sample(40)
    for (let i = 0; i < 200; i++) rtt.sample(40)
    // RTTVAR decays toward 0, so RTO → SRTT + G
    expect(rtt.rttvar!).toBeLessThan(1e-6)
    expect(rtt.rto).toBeCloseTo(50, 5)
  })

  it("clamps to the minimum (200 ms, Linux's TCP_RTO_MIN) and the maximum (60 s)", () => {
    const small = new RttEstimator()
    small.sample(10) // 10 + 20 = 30
    expect(small.rto).toBe(200)
    const rfc = new RttEstimator({ minRtoMillis: 1000 })
    rfc.sample(10)
    expect(rfc.rto).toBe(1000)
    const big = new RttEstimator()
    big.sample(40_000) // 40 s + 80 s
    expect(big.rto).toBe(60_000)
  })

  it("doubles on backoff up to the maximum (§5.5) and resets", () => {
    const rtt = new RttEstimator()
    rtt.sample(100) // RTO 300
    const seen: Array<number> = []
    for (let i = 0; i < 10; i++) {
      rtt.backoff()
      seen.push(rtt.rto)
    }
    expect(seen).toEqual([600, 1200, 2400, 4800, 9600, 19_200, 38_400, 60_000, 60_000, 60_000])
    expect(rtt.backoffCount).toBe(10)
    rtt.resetBackoff()
    expect(rtt.rto).toBe(300)
    expect(rtt.backoffCount).toBe(0)
  })

  it("backs off the initial RTO before any sample", () => {
    const rtt = new RttEstimator()
    rtt.backoff()
    rtt.backoff()
    expect(rtt.rto).toBe(4000)
    expect(rtt.srtt).toBeUndefined()
  })

  it("replaces a backed-off RTO with one from a new sample", () => {
    const rtt = new RttEstimator()
    rtt.sample(100)
    rtt.backoff()
    rtt.backoff()
    rtt.sample(100)
    // RTTVAR = 3/4·50 = 37.5; RTO = 100 + 150
    expect(rtt.rto).toBe(250)
    expect(rtt.backoffCount).toBe(0)
  })

  it("ignores samples that are negative or not finite", () => {
    const rtt = new RttEstimator()
    rtt.sample(-5)
    rtt.sample(Number.NaN)
    rtt.sample(Infinity)
    expect(rtt.srtt).toBeUndefined()
    expect(rtt.rto).toBe(1000)
  })

  it("keeps the RTO within [min, max] for any samples and backoffs", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ min: 0, max: 1e7, noNaN: true }), fc.constant(-1), fc.constant("backoff" as const), fc.constant("reset" as const)), { maxLength: 100 }),
        (events) => {
          const rtt = new RttEstimator()
          for (const event of events) {
            if (event === "backoff") rtt.backoff()
            else if (event === "reset") rtt.resetBackoff()
            else rtt.sample(event)
            expect(rtt.rto).toBeGreaterThanOrEqual(200)
            expect(rtt.rto).toBeLessThanOrEqual(60_000)
            expect(Number.isFinite(rtt.rto)).toBe(true)
          }
        }
      )
    )
  })
})
