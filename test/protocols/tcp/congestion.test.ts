import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { type CongestionControl, initialWindow, makeCongestionControl } from "../../../src/protocols/tcp/congestion.js"
import { Cubic, CUBIC_ALPHA, cubicK, cubicWindow } from "../../../src/protocols/tcp/cubic.js"
import { MAX_WINDOW, NewReno } from "../../../src/protocols/tcp/newreno.js"

const MSS = 1000

/** Acks one full window in MSS-sized ACKs spread evenly over `rtt` ms from `start`, the sender always cwnd-limited. */
const ackRound = (cc: CongestionControl, start: number, rtt: number): number => {
  const segments = Math.max(1, Math.floor(cc.cwnd / MSS))
  for (let i = 0; i < segments; i++) {
    cc.onAck(MSS, start + ((i + 1) * rtt) / segments, rtt, cc.cwnd - MSS)
  }
  return start + rtt
}

/** Grows a fresh controller by slow start to exactly `segments` segments. */
const grownTo = <C extends CongestionControl>(cc: C, segments: number): C => {
  while (cc.cwnd < segments * MSS) cc.onAck(Math.min(MSS, segments * MSS - cc.cwnd), 0, 100, cc.cwnd)
  expect(cc.cwnd).toBe(segments * MSS)
  return cc
}

describe("initial window (RFC 6928)", () => {
  it("is min(10·MSS, max(2·MSS, 14600))", () => {
    expect(initialWindow(1460)).toBe(14_600)
    expect(initialWindow(536)).toBe(5360)
    expect(initialWindow(1000)).toBe(10_000)
    expect(initialWindow(9000)).toBe(18_000)
    expect(new NewReno(1460).cwnd).toBe(14_600)
    expect(new Cubic(1460).cwnd).toBe(14_600)
  })

  it("is chosen afresh when the MSS is set before any data, kept in segments after", () => {
    const cc = new NewReno(536)
    cc.setMss(1460)
    expect(cc.cwnd).toBe(14_600)
    cc.onAck(1460, 0, 10, 14_600)
    expect(cc.cwnd).toBe(16_060)
    cc.setMss(1000) // 11 segments
    expect(cc.cwnd).toBe(11_000)
  })

  it("makeCongestionControl builds either algorithm", () => {
    expect(makeCongestionControl("newreno", 1460).name).toBe("newreno")
    expect(makeCongestionControl("cubic", 1460).name).toBe("cubic")
    expect(makeCongestionControl("cubic", 1460).ssthresh).toBe(Infinity)
  })
})

describe("NewReno", () => {
  it("grows by the bytes acked in slow start, at most 2 MSS per ACK (RFC 3465 L = 2·SMSS)", () => {
    const cc = new NewReno(MSS)
    expect(cc.cwnd).toBe(10_000)
    cc.onAck(MSS, 0, 100, 9000)
    expect(cc.cwnd).toBe(11_000)
    cc.onAck(500, 1, 100, 10_000)
    expect(cc.cwnd).toBe(11_500)
    cc.onAck(5 * MSS, 2, 100, 6000) // a stretch ACK: capped at 2 MSS
    expect(cc.cwnd).toBe(13_500)
  })

  it("doubles per RTT in slow start with one ACK per segment", () => {
    const cc = new NewReno(MSS)
    const end = ackRound(cc, 0, 100)
    expect(cc.cwnd).toBe(20_000)
    ackRound(cc, end, 100)
    expect(cc.cwnd).toBe(40_000)
  })

  it("does not grow while application-limited", () => {
    const cc = new NewReno(MSS)
    cc.onAck(MSS, 0, 100, 0) // 1 segment was in flight, window 10
    expect(cc.cwnd).toBe(10_000)
  })

  it("enters recovery with ssthresh = max(FlightSize/2, 2·MSS), cwnd = ssthresh + 3·MSS (RFC 5681 §3.2)", () => {
    const cc = grownTo(new NewReno(MSS), 20)
    cc.onEnterRecovery(10, 20_000, 12_345)
    expect(cc.inRecovery).toBe(true)
    expect(cc.ssthresh).toBe(10_000)
    expect(cc.cwnd).toBe(13_000)
    // A second loss signal in the same recovery changes nothing.
    cc.onEnterRecovery(11, 20_000, 99_999)
    expect(cc.ssthresh).toBe(10_000)
    const small = new NewReno(MSS)
    small.onEnterRecovery(0, 3000, 0)
    expect(small.ssthresh).toBe(2000)
    expect(small.cwnd).toBe(5000)
  })

  it("inflates per duplicate ACK, deflates on a partial ACK (RFC 6582 step 5), exits to ssthresh", () => {
    const cc = grownTo(new NewReno(MSS), 20)
    cc.onEnterRecovery(0, 20_000, 20_000)
    cc.onDupAck()
    cc.onDupAck()
    expect(cc.cwnd).toBe(15_000)
    cc.onPartialAck(4000) // −4000 + 1 MSS
    expect(cc.cwnd).toBe(12_000)
    cc.onPartialAck(400) // less than an MSS: nothing added back
    expect(cc.cwnd).toBe(11_600)
    cc.onAck(5000, 1, 100, 10_000) // ignored during recovery
    expect(cc.cwnd).toBe(11_600)
    cc.onExitRecovery(2)
    expect(cc.inRecovery).toBe(false)
    expect(cc.cwnd).toBe(10_000)
  })

  it("grows about one MSS per RTT in congestion avoidance (byte counted)", () => {
    const cc = grownTo(new NewReno(MSS), 20)
    cc.onEnterRecovery(0, 20_000, 0)
    cc.onExitRecovery(0)
    expect(cc.cwnd).toBe(10_000)
    let now = 0
    for (let round = 1; round <= 5; round++) {
      now = ackRound(cc, now, 100)
      expect(cc.cwnd).toBe(10_000 + round * MSS)
    }
    // Half a window of bytes: no increase yet; the rest completes it.
    const before = cc.cwnd
    cc.onAck(before / 2, now, 100, before)
    expect(cc.cwnd).toBe(before)
    cc.onAck(before / 2, now, 100, before)
    expect(cc.cwnd).toBe(before + MSS)
  })

  it("carries the bytes past ssthresh into congestion avoidance", () => {
    const cc = grownTo(new NewReno(MSS), 20)
    cc.onRetransmitTimeout(0, 20_000) // ssthresh 10 000, cwnd 1 MSS
    while (cc.cwnd < 9500) cc.onAck(MSS, 0, 100, cc.cwnd)
    expect(cc.cwnd).toBe(10_000)
    expect(cc.ssthresh).toBe(10_000)
  })

  it("on RTO: ssthresh = max(FlightSize/2, 2·MSS), cwnd = 1 MSS; held on a repeated RTO (RFC 5681 §3.1)", () => {
    const cc = grownTo(new NewReno(MSS), 30)
    cc.onRetransmitTimeout(0, 30_000)
    expect(cc.ssthresh).toBe(15_000)
    expect(cc.cwnd).toBe(MSS)
    cc.onRetransmitTimeout(1000, 30_000)
    expect(cc.ssthresh).toBe(15_000)
    expect(cc.cwnd).toBe(MSS)
    // After new data is acked, the next RTO reduces again.
    cc.onAck(MSS, 2000, 100, 0)
    cc.onRetransmitTimeout(3000, 8000)
    expect(cc.ssthresh).toBe(4000)
  })

  it("an RTO ends recovery", () => {
    const cc = grownTo(new NewReno(MSS), 20)
    cc.onEnterRecovery(0, 20_000, 0)
    cc.onRetransmitTimeout(1, 20_000)
    expect(cc.inRecovery).toBe(false)
    expect(cc.cwnd).toBe(MSS)
  })

  it("restarts from min(cwnd, IW) after idleness (RFC 5681 §4.1)", () => {
    const cc = grownTo(new NewReno(MSS), 30)
    cc.onIdle(0)
    expect(cc.cwnd).toBe(10_000)
    const small = new NewReno(MSS)
    small.onRetransmitTimeout(0, 0)
    small.onIdle(1)
    expect(small.cwnd).toBe(MSS)
  })
})

describe("CUBIC (RFC 9438)", () => {
  it("computes K per eq. 2", () => {
    // W_max = 100, cwnd_epoch = 70: K = ∛(30 / 0.4) = ∛75
    expect(cubicK(100, 70)).toBeCloseTo(4.217163, 5)
    expect(cubicK(10, 7)).toBeCloseTo(1.957434, 5)
    expect(cubicK(50, 60)).toBe(0)
    expect(cubicWindow(cubicK(100, 70), cubicK(100, 70), 100)).toBeCloseTo(100, 9)
    expect(cubicWindow(0, cubicK(100, 70), 100)).toBeCloseTo(70, 9)
    expect(CUBIC_ALPHA).toBeCloseTo(0.9 / 1.7, 12)
  })

  it("after a loss: ssthresh = 0.7·flight, W_max = the window before, cwnd = 0.7·W_max", () => {
    const cc = grownTo(new Cubic(MSS), 100)
    cc.onEnterRecovery(0, 100_000, 0)
    expect(cc.ssthresh).toBe(70_000)
    expect(cc.wMax).toBe(100_000)
    expect(cc.cwnd).toBe(73_000) // + 3 MSS during recovery (RFC 5681 §3.2)
    cc.onExitRecovery(10)
    expect(cc.cwnd).toBe(70_000)
    // The epoch starts with the first ACK in congestion avoidance.
    cc.onAck(MSS, 20, 100, 69_000)
    expect(cc.epochStartedAt).toBe(20)
    expect(cc.k).toBeCloseTo(Math.cbrt(75), 9)
  })

  it("follows W_cubic(t): concave up to W_max at t = K, then convex", () => {
    // A 200 ms RTT keeps the Reno estimate (α_cubic per RTT) below the curve for 9 s.
    const rtt = 200
    const cc = grownTo(new Cubic(MSS), 100)
    cc.onEnterRecovery(0, 100_000, 0)
    cc.onExitRecovery(0)
    const k = Math.cbrt(75)
    let now = 0
    const samples = new Map<number, number>()
    for (let round = 1; round <= 45; round++) {
      now = ackRound(cc, now, rtt)
      if (round % 5 === 0) samples.set(round / 5, cc.cwnd / MSS)
    }
    const epoch = cc.epochStartedAt!
    expect(epoch).toBeGreaterThan(0)
    expect(epoch).toBeLessThan(rtt)
    for (const [second, segments] of samples) {
      const t = second - epoch / 1000
      // The window chases W_cubic one RTT ahead, from below.
      expect(segments).toBeGreaterThan(cubicWindow(t, k, 100) - 1)
      expect(segments).toBeLessThan(cubicWindow(t + rtt / 1000, k, 100) + 0.5)
    }
    const growth = (s: number) => samples.get(s + 1)! - samples.get(s)!
    // Concave: each second adds less than the one before, up to K ≈ 4.2 s ...
    expect(growth(1)).toBeGreaterThan(growth(2))
    expect(growth(2)).toBeGreaterThan(growth(3))
    // ... a plateau near W_max ...
    expect(Math.abs(samples.get(4)! - 100)).toBeLessThan(1.5)
    expect(Math.abs(samples.get(5)! - 100)).toBeLessThan(1.5)
    // ... then convex: probing beyond W_max faster and faster.
    expect(growth(6)).toBeGreaterThan(growth(5))
    expect(growth(7)).toBeGreaterThan(growth(6))
    expect(growth(8)).toBeGreaterThan(growth(7))
    expect(samples.get(9)!).toBeGreaterThan(120)
  })

  it("takes the Reno estimate when it is above the curve, in the convex region too", () => {
    const rtt = 100
    const cc = grownTo(new Cubic(MSS), 100)
    cc.onEnterRecovery(0, 100_000, 0)
    cc.onExitRecovery(0)
    let now = 0
    let reno = 70
    for (let round = 1; round <= 70; round++) {
      now = ackRound(cc, now, rtt)
      reno += reno < 100 ? CUBIC_ALPHA : 1
    }
    const t = (now - cc.epochStartedAt!) / 1000
    const segments = cc.cwnd / MSS
    expect(segments).toBeGreaterThan(cubicWindow(t + rtt / 1000, Math.cbrt(75), 100))
    expect(Math.abs(segments - reno)).toBeLessThan(2)
  })

  it("is Reno-friendly when RTT·cwnd is small (§4.3)", () => {
    const rtt = 10
    const cc = grownTo(new Cubic(MSS), 20)
    cc.onEnterRecovery(0, 20_000, 0)
    cc.onExitRecovery(0)
    expect(cc.cwnd).toBe(14_000)
    let now = 0
    let rounds = 0
    // W_est grows by α_cubic per RTT up to cwnd_prior (20), then by 1 per RTT.
    let expected = 14
    while (rounds < 100) {
      now = ackRound(cc, now, rtt)
      rounds++
      expected += expected < 20 ? CUBIC_ALPHA : 1
    }
    const t = (now - cc.epochStartedAt!) / 1000
    const cubic = cubicWindow(t, cubicK(20, 14), 20)
    expect(cubic).toBeLessThan(20) // CUBIC alone would still be below W_max after 1 s
    const segments = cc.cwnd / MSS
    expect(segments).toBeGreaterThan(cubic + 50)
    expect(Math.abs(segments - expected)).toBeLessThan(3)
  })

  it("lowers W_max on a loss below the previous W_max (fast convergence, §4.7)", () => {
    const cc = grownTo(new Cubic(MSS), 100)
    cc.onEnterRecovery(0, 100_000, 0)
    cc.onExitRecovery(0)
    expect(cc.wMax).toBe(100_000)
    let now = 0
    while (cc.cwnd < 80_000) now = ackRound(cc, now, 100)
    const before = cc.cwnd / MSS
    expect(before).toBeLessThan(100)
    cc.onEnterRecovery(now, cc.cwnd, 0)
    expect(cc.wMax / MSS).toBeCloseTo((before * 1.7) / 2, 2)
    expect(cc.ssthresh).toBe(Math.floor(before * MSS * 0.7))
    // A loss above W_max sets it to the window instead.
    cc.onExitRecovery(now)
    while (cc.cwnd < 100_000) now = ackRound(cc, now, 100)
    const peak = cc.cwnd / MSS
    cc.onEnterRecovery(now, cc.cwnd, 0)
    expect(cc.wMax / MSS).toBeCloseTo(peak, 2)
  })

  it("on RTO: ssthresh = 0.7·flight, cwnd = 1 MSS, then K = 0 from the window at the next epoch (§4.8)", () => {
    const cc = grownTo(new Cubic(MSS), 50)
    cc.onRetransmitTimeout(0, 50_000)
    expect(cc.ssthresh).toBe(35_000)
    expect(cc.cwnd).toBe(MSS)
    let now = 0
    while (cc.cwnd < cc.ssthresh) cc.onAck(MSS, now, 100, cc.cwnd)
    expect(cc.cwnd).toBe(35_000)
    expect(cc.epochStartedAt).toBeUndefined()
    ackRound(cc, now, 100)
    expect(cc.k).toBe(0)
    expect(cc.wMax).toBeGreaterThanOrEqual(35_000)
    expect(cc.cwnd).toBeGreaterThan(35_000)
  })

  it("does not count application-limited time toward t (§5.8)", () => {
    const cc = grownTo(new Cubic(MSS), 100)
    cc.onEnterRecovery(0, 100_000, 0)
    cc.onExitRecovery(0)
    cc.onAck(MSS, 100, 100, 69_000)
    const epoch = cc.epochStartedAt!
    cc.onAck(MSS, 5100, 100, 0) // 5 s later, almost nothing in flight
    expect(cc.epochStartedAt).toBe(epoch + 5000)
    expect(cc.cwnd).toBeLessThan(71_000)
  })
})

type Event =
  | { readonly _tag: "ack"; readonly bytes: number; readonly dt: number; readonly rtt: number | undefined; readonly flight: number }
  | { readonly _tag: "loss"; readonly flight: number }
  | { readonly _tag: "dupack" }
  | { readonly _tag: "partial"; readonly bytes: number }
  | { readonly _tag: "exit" }
  | { readonly _tag: "rto"; readonly flight: number }
  | { readonly _tag: "idle" }
  | { readonly _tag: "mss"; readonly mss: number }

const anyNumber = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2_000_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, Number.NaN, Infinity, -Infinity, 2 ** 40, 0.5) }
)

const event: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      _tag: fc.constant("ack" as const),
      bytes: anyNumber,
      dt: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(-5, Number.NaN, 1e12)),
      rtt: fc.option(fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.constantFrom(Number.NaN, -1, Infinity)), { nil: undefined }),
      flight: anyNumber
    })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("loss" as const), flight: anyNumber }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("dupack" as const) }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("partial" as const), bytes: anyNumber }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("exit" as const) }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("rto" as const), flight: anyNumber }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("idle" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("mss" as const),
      mss: fc.oneof(fc.integer({ min: 1, max: 9000 }), fc.constantFrom(0, -1, Number.NaN, 1e9))
    })
  }
)

describe("both controllers under random events", () => {
  for (const name of ["newreno", "cubic"] as const) {
    it(`${name}: cwnd stays a finite whole number of bytes in [1 MSS, MAX_WINDOW]`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 9000 }), fc.array(event, { maxLength: 200 }), (initialMss, events) => {
          const cc = makeCongestionControl(name, initialMss)
          let mss = initialMss
          let now = 0
          for (const e of events) {
            switch (e._tag) {
              case "ack":
                now += e.dt
                cc.onAck(e.bytes, now, e.rtt, e.flight)
                break
              case "loss":
                cc.onEnterRecovery(now, e.flight, 0)
                break
              case "dupack":
                cc.onDupAck()
                break
              case "partial":
                cc.onPartialAck(e.bytes)
                break
              case "exit":
                cc.onExitRecovery(now)
                break
              case "rto":
                cc.onRetransmitTimeout(now, e.flight)
                break
              case "idle":
                cc.onIdle(now)
                break
              case "mss":
                cc.setMss(e.mss)
                if (Number.isFinite(e.mss) && e.mss >= 1) mss = Math.min(65_535, Math.floor(e.mss))
                break
            }
            expect(Number.isInteger(cc.cwnd)).toBe(true)
            expect(cc.cwnd).toBeGreaterThanOrEqual(mss)
            expect(cc.cwnd).toBeLessThanOrEqual(MAX_WINDOW)
            expect(cc.ssthresh === Infinity || (Number.isInteger(cc.ssthresh) && cc.ssthresh >= 2 * mss)).toBe(true)
          }
        }),
        { numRuns: 300 }
      )
    })
  }
})
