import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { type ReassemblyResult, Reassembler, type ReassemblyOptions } from "../../src/protocols/reassembly.js"

interface Fragment {
  readonly offset: number
  readonly length: number
  readonly more: boolean
}

const payloadOf = (length: number, seed = 1): Uint8Array => {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7) & 0xff
  return bytes
}

/** Cuts `length` bytes into fragments of `size` bytes (a multiple of 8), in order. */
const fragmentsOf = (length: number, size: number): Array<Fragment> => {
  const out: Array<Fragment> = []
  for (let offset = 0; offset < length; offset += size) {
    const n = Math.min(size, length - offset)
    out.push({ offset, length: n, more: offset + n < length })
  }
  return out
}

/** A small harness: fragments of `payload` under `key`, context "ctx" on offset 0. */
const feeder = (r: Reassembler<string>, payload: Uint8Array, key = "k") =>
(f: Fragment, now = 0): ReassemblyResult<string> => {
  // Put the fragment in the middle of a bigger buffer to exercise bytesOffset.
  const frame = new Uint8Array(f.length + 20)
  frame.set(payload.subarray(f.offset, f.offset + f.length), 14)
  return r.input(key, f.offset, f.more, frame, 14, f.length, now, f.offset === 0 ? `ctx:${key}` : undefined)
}

const expectComplete = (result: ReassemblyResult<string>, payload: Uint8Array, context = "ctx:k") => {
  expect(result._tag).toBe("Complete")
  if (result._tag !== "Complete") return
  expect(result.payload).toEqual(payload)
  expect(result.context).toBe(context)
}

const expectDropped = (result: ReassemblyResult<string>, reason: string) =>
  expect(result).toEqual({ _tag: "Dropped", reason })

const run = (order: ReadonlyArray<Fragment>, length = 1000, options?: ReassemblyOptions) => {
  const r = new Reassembler<string>(options)
  const payload = payloadOf(length)
  const feed = feeder(r, payload)
  const results = order.map((f) => feed(f))
  return { r, payload, results }
}

describe("Reassembler completes", () => {
  it("in order", () => {
    const frags = fragmentsOf(1000, 184)
    const { payload, r, results } = run(frags)
    results.slice(0, -1).forEach((res) => expect(res._tag).toBe("Incomplete"))
    expectComplete(results.at(-1)!, payload)
    expect(r.bytes).toBe(0)
    expect(r.datagrams).toBe(0)
    expect(r.pollAt()).toBe(Infinity)
  })

  it("in reverse order, keeping the context of the offset-0 fragment", () => {
    const { payload, r, results } = run(fragmentsOf(1000, 184).reverse())
    expectComplete(results.at(-1)!, payload)
    expect(r.bytes).toBe(0)
  })

  it("in a mixed order", () => {
    const frags = fragmentsOf(1000, 120)
    const order = [3, 0, 8, 5, 1, 7, 2, 6, 4].map((i) => frags[i]!)
    const { payload, r, results } = run(order)
    expect(results.slice(0, -1).every((res) => res._tag === "Incomplete")).toBe(true)
    expectComplete(results.at(-1)!, payload)
    expect(r.datagrams).toBe(0)
  })

  it("accounts buffered bytes while incomplete", () => {
    const r = new Reassembler<string>()
    const payload = payloadOf(100)
    const feed = feeder(r, payload)
    feed({ offset: 0, length: 48, more: true })
    expect(r.bytes).toBe(48)
    expect(r.datagrams).toBe(1)
    feed({ offset: 96, length: 4, more: false })
    expect(r.bytes).toBe(52)
    expectComplete(feed({ offset: 48, length: 48, more: true }), payload)
    expect(r.bytes).toBe(0)
  })

  it("copies the bytes it keeps", () => {
    const r = new Reassembler<string>()
    const first = new Uint8Array(8).fill(1)
    r.input("k", 0, true, first, 0, 8, 0, "ctx")
    first.fill(9)
    const result = r.input("k", 8, false, new Uint8Array([2, 2]), 0, 2, 0, undefined)
    expect(result._tag === "Complete" && Array.from(result.payload)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 2, 2])
  })

  it("keeps datagrams with different keys apart", () => {
    const r = new Reassembler<string>()
    const p1 = payloadOf(300, 1)
    const p2 = payloadOf(300, 2)
    const f1 = feeder(r, p1, "a")
    const f2 = feeder(r, p2, "b")
    const frags = fragmentsOf(300, 160)
    f1(frags[0]!)
    f2(frags[1]!)
    expect(r.datagrams).toBe(2)
    expectComplete(f2(frags[0]!), p2, "ctx:b")
    expectComplete(f1(frags[1]!), p1, "ctx:a")
  })

  it("accepts an unfragmented datagram and an empty last fragment", () => {
    const r = new Reassembler<string>()
    expectComplete(r.input("k", 0, false, payloadOf(5), 0, 5, 0, "ctx:k"), payloadOf(5))
    r.input("k", 0, true, payloadOf(16), 0, 16, 0, "ctx:k")
    expectComplete(r.input("k", 16, false, new Uint8Array(0), 0, 0, 0, undefined), payloadOf(16))
    expect(r.bytes).toBe(0)
  })

  it("returns a shared Incomplete value", () => {
    const r = new Reassembler<string>()
    const a = r.input("a", 0, true, payloadOf(8), 0, 8, 0, "x")
    const b = r.input("b", 8, true, payloadOf(8), 0, 8, 0, undefined)
    expect(a).toBe(b)
  })
})

describe("Reassembler refuses", () => {
  it("ignores an exact duplicate", () => {
    const frags = fragmentsOf(100, 40)
    const { payload, r, results } = run([frags[0]!, frags[0]!, frags[2]!, frags[2]!, frags[1]!], 100)
    expect(results.slice(0, 4).map((res) => res._tag)).toEqual(["Incomplete", "Incomplete", "Incomplete", "Incomplete"])
    expectComplete(results[4]!, payload)
    expect(r.bytes).toBe(0)
  })

  it("discards the datagram on a partial overlap", () => {
    const r = new Reassembler<string>()
    const feed = feeder(r, payloadOf(200))
    feed({ offset: 0, length: 64, more: true })
    feed({ offset: 128, length: 72, more: false })
    expectDropped(feed({ offset: 56, length: 16, more: true }), "overlap")
    expect(r.datagrams).toBe(0)
    expect(r.bytes).toBe(0)
  })

  it("discards the datagram on an overlap at the same offset with another length", () => {
    const r = new Reassembler<string>()
    const feed = feeder(r, payloadOf(200))
    feed({ offset: 64, length: 64, more: true })
    expectDropped(feed({ offset: 64, length: 32, more: true }), "overlap")
    expect(r.bytes).toBe(0)
  })

  it("discards the datagram on a fragment that covers others", () => {
    const r = new Reassembler<string>()
    const feed = feeder(r, payloadOf(200))
    feed({ offset: 64, length: 8, more: true })
    expectDropped(feed({ offset: 56, length: 32, more: true }), "overlap")
    expect(r.datagrams).toBe(0)
  })

  it("starts afresh after a discard", () => {
    const r = new Reassembler<string>()
    const payload = payloadOf(16)
    const feed = feeder(r, payload)
    feed({ offset: 0, length: 16, more: true })
    expectDropped(feed({ offset: 8, length: 8, more: true }), "overlap")
    expect(feed({ offset: 8, length: 8, more: false })._tag).toBe("Incomplete")
    expectComplete(feed({ offset: 0, length: 8, more: true }), payload)
  })

  it("drops a non-last fragment whose length is not a multiple of 8", () => {
    const r = new Reassembler<string>()
    const feed = feeder(r, payloadOf(200))
    feed({ offset: 0, length: 64, more: true })
    expectDropped(feed({ offset: 64, length: 60, more: true }), "bad_length")
    expect(r.datagrams).toBe(0)
    expect(r.bytes).toBe(0)
    expectDropped(feed({ offset: 64, length: 0, more: true }), "bad_length")
  })

  it("drops arguments out of range as bad_length", () => {
    const r = new Reassembler<string>()
    expectDropped(r.input("k", 0, true, new Uint8Array(8), 4, 8, 0, "x"), "bad_length")
    expectDropped(r.input("k", -8, true, new Uint8Array(8), 0, 8, 0, "x"), "bad_length")
    expect(r.datagrams).toBe(0)
  })

  it("drops a datagram that would pass maxDatagramSize", () => {
    const r = new Reassembler<string>()
    r.input("k", 0, true, new Uint8Array(8), 0, 8, 0, "x")
    expect(r.input("k", 65_528, false, new Uint8Array(7), 0, 7, 0, undefined)._tag).toBe("Incomplete")
    expectDropped(r.input("k", 65_528, true, new Uint8Array(8), 0, 8, 0, undefined), "too_big")
    expect(r.datagrams).toBe(0)
    expect(r.bytes).toBe(0)
    const small = new Reassembler<string>({ maxDatagramSize: 100 })
    expectDropped(small.input("k", 96, false, new Uint8Array(5), 0, 5, 0, undefined), "too_big")
    expect(small.datagrams).toBe(0)
  })

  it("drops two last fragments that disagree on the end", () => {
    const r = new Reassembler<string>()
    const feed = feeder(r, payloadOf(200))
    feed({ offset: 64, length: 20, more: false })
    expectDropped(feed({ offset: 64, length: 24, more: false }), "inconsistent_end")
    expect(r.datagrams).toBe(0)
  })

  it("drops data past a known end", () => {
    const r = new Reassembler<string>()
    const feed = feeder(r, payloadOf(200))
    feed({ offset: 64, length: 20, more: false })
    expectDropped(feed({ offset: 80, length: 8, more: true }), "inconsistent_end")
    expect(r.bytes).toBe(0)
  })

  it("drops a last fragment that ends before data already held", () => {
    const r = new Reassembler<string>()
    const feed = feeder(r, payloadOf(200))
    feed({ offset: 128, length: 16, more: true })
    expectDropped(feed({ offset: 64, length: 20, more: false }), "inconsistent_end")
    expect(r.bytes).toBe(0)
  })
})

describe("Reassembler limits and timeouts", () => {
  it("times out from the first fragment and reports the context when offset 0 came", () => {
    const r = new Reassembler<string>({ timeoutMillis: 1_000 })
    r.input("a", 8, true, new Uint8Array(8), 0, 8, 100, undefined)
    r.input("a", 0, true, new Uint8Array(8), 0, 8, 900, "ctx:a") // later fragments do not extend it
    r.input("b", 8, true, new Uint8Array(8), 0, 8, 500, undefined)
    expect(r.pollAt()).toBe(1_100)
    expect(r.poll(1_099)).toEqual([])
    expect(r.poll(1_100)).toEqual([{ key: "a", context: "ctx:a" }])
    expect(r.bytes).toBe(8)
    expect(r.pollAt()).toBe(1_500)
    expect(r.poll(5_000)).toEqual([{ key: "b", context: undefined }])
    expect(r.bytes).toBe(0)
    expect(r.datagrams).toBe(0)
    expect(r.pollAt()).toBe(Infinity)
  })

  it("defaults to 30 seconds", () => {
    const r = new Reassembler<string>()
    r.input("a", 0, true, new Uint8Array(8), 0, 8, 0, "x")
    expect(r.pollAt()).toBe(30_000)
  })

  it("returns a shared frozen empty array when nothing timed out", () => {
    const r = new Reassembler<string>()
    expect(r.poll(0)).toBe(r.poll(1))
    expect(Object.isFrozen(r.poll(0))).toBe(true)
  })

  it("refuses a datagram past maxDatagrams, still serving those in progress", () => {
    const r = new Reassembler<string>({ maxDatagrams: 2 })
    r.input("a", 0, true, new Uint8Array(8), 0, 8, 0, "a")
    r.input("b", 0, true, new Uint8Array(8), 0, 8, 0, "b")
    expectDropped(r.input("c", 0, true, new Uint8Array(8), 0, 8, 0, "c"), "datagram_limit")
    expect(r.datagrams).toBe(2)
    expect(r.input("a", 8, false, new Uint8Array(1), 0, 1, 0, undefined)._tag).toBe("Complete")
    expect(r.input("c", 0, true, new Uint8Array(8), 0, 8, 0, "c")._tag).toBe("Incomplete")
  })

  it("discards the datagram that would pass maxBytes, keeping the others", () => {
    const r = new Reassembler<string>({ maxBytes: 64 })
    r.input("a", 0, true, new Uint8Array(32), 0, 32, 0, "a")
    r.input("b", 0, true, new Uint8Array(16), 0, 16, 0, "b")
    expectDropped(r.input("b", 16, true, new Uint8Array(24), 0, 24, 0, undefined), "memory")
    expect(r.datagrams).toBe(1)
    expect(r.bytes).toBe(32)
    expectDropped(r.input("c", 0, true, new Uint8Array(40), 0, 40, 0, "c"), "memory")
    expect(r.datagrams).toBe(1)
    expect(r.input("a", 32, false, new Uint8Array(32), 0, 32, 0, undefined)._tag).toBe("Complete")
    expect(r.bytes).toBe(0)
  })

  it("limits the fragments held for one datagram", () => {
    const r = new Reassembler<string>({ maxFragments: 4 })
    for (let i = 0; i < 4; i++) r.input("a", i * 16, true, new Uint8Array(8), 0, 8, 0, undefined)
    expectDropped(r.input("a", 64, true, new Uint8Array(8), 0, 8, 0, undefined), "memory")
    expect(r.bytes).toBe(0)
  })
})

describe("Reassembler properties", () => {
  /** A payload, a fragment size (multiple of 8) and a shuffled arrival order with duplicates. */
  const datagramArb = fc
    .record({
      // At most 250 fragments of 8 bytes: under the default maxFragments (256).
      length: fc.integer({ min: 1, max: 2_000 }),
      size: fc.integer({ min: 1, max: 200 }).map((n) => n * 8),
      seed: fc.integer({ min: 0, max: 255 })
    })
    .chain(({ length, seed, size }) => {
      const frags = fragmentsOf(length, size)
      return fc
        .tuple(
          fc.shuffledSubarray(frags, { minLength: frags.length, maxLength: frags.length }),
          fc.array(fc.integer({ min: 0, max: frags.length - 1 }), { maxLength: 10 }),
          fc.array(fc.nat(), { maxLength: 10 })
        )
        .map(([order, dupIndexes, dupPositions]) => {
          const arrivals = [...order]
          dupIndexes.forEach((fi, i) => {
            const at = (dupPositions[i] ?? 0) % (arrivals.length + 1)
            arrivals.splice(at, 0, frags[fi]!)
          })
          return { length, seed, arrivals }
        })
    })

  it("any arrival order with exact duplicates reassembles the original bytes", () => {
    fc.assert(
      fc.property(datagramArb, ({ arrivals, length, seed }) => {
        const r = new Reassembler<string>()
        const payload = payloadOf(length, seed)
        const feed = feeder(r, payload)
        let complete: ReassemblyResult<string> | undefined
        for (const f of arrivals) {
          const result = feed(f)
          if (result._tag === "Complete") {
            complete = result
            break
          }
          expect(result._tag).toBe("Incomplete")
        }
        expect(complete).toBeDefined()
        expectComplete(complete!, payload)
        expect(r.bytes).toBe(0)
        expect(r.datagrams).toBe(0)
      })
    )
  })

  it("interleaved datagrams each reassemble", () => {
    fc.assert(
      fc.property(fc.array(datagramArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 200 }), (datagrams, picks) => {
        const r = new Reassembler<string>()
        const queues = datagrams.map((d) => [...d.arrivals])
        const feeds = datagrams.map((d, i) => feeder(r, payloadOf(d.length, d.seed), `d${i}`))
        const done = datagrams.map(() => false)
        let p = 0
        while (done.some((x) => !x)) {
          const open = done.flatMap((x, i) => (x ? [] : [i]))
          const i = open[(picks[p++] ?? 0) % open.length]!
          const result = feeds[i]!(queues[i]!.shift()!)
          if (result._tag === "Complete") {
            expectComplete(result, payloadOf(datagrams[i]!.length, datagrams[i]!.seed), `ctx:d${i}`)
            done[i] = true
          } else {
            expect(result._tag).toBe("Incomplete")
          }
        }
        expect(r.bytes).toBe(0)
        expect(r.datagrams).toBe(0)
      })
    )
  })

  it("arbitrary fragments never break the bounds or the accounting", () => {
    const fragmentArb = fc.record({
      key: fc.constantFrom("a", "b", "c", "d"),
      offset: fc.integer({ min: 0, max: 40 }).map((n) => n * 8),
      length: fc.integer({ min: 0, max: 100 }),
      more: fc.boolean(),
      dt: fc.integer({ min: 0, max: 400 })
    })
    fc.assert(
      fc.property(fc.array(fragmentArb, { maxLength: 150 }), (fragments) => {
        const options = { maxBytes: 600, maxDatagrams: 3, maxDatagramSize: 300, timeoutMillis: 1_000, maxFragments: 8 }
        const r = new Reassembler<number>(options)
        let now = 0
        for (const f of fragments) {
          now += f.dt
          r.poll(now)
          const before = r.bytes
          const result = r.input(f.key, f.offset, f.more, payloadOf(f.length), 0, f.length, now, f.offset === 0 ? 7 : undefined)
          if (result._tag === "Complete") {
            expect(result.context).toBe(7)
            expect(r.bytes).toBeLessThanOrEqual(before)
          }
          if (result._tag === "Dropped") expect(r.bytes).toBeLessThanOrEqual(before)
          expect(r.bytes).toBeLessThanOrEqual(options.maxBytes)
          expect(r.datagrams).toBeLessThanOrEqual(options.maxDatagrams)
          expect(r.pollAt()).toBeGreaterThan(now)
        }
        r.poll(now + options.timeoutMillis)
        expect(r.pollAt()).toBe(Infinity)
        expect(r.bytes).toBe(0)
        expect(r.datagrams).toBe(0)
      })
    )
  })
})
