import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { parseIpv4 } from "../../../src/protocols/address.js"
import {
  IPV4_TUPLE_LENGTH,
  IPV6_TUPLE_LENGTH,
  IsnGenerator,
  ipv4Tuple,
  ipv6Tuple
} from "../../../src/protocols/tcp/isn.js"
import { siphash24 } from "../../../src/protocols/tcp/siphash.js"

const TWO_32 = 4294967296
const SECRET = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i)
const OTHER_SECRET = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i)
const LOCAL = parseIpv4("192.168.1.2")!
const REMOTE = parseIpv4("192.168.1.1")!

const tuple = (localPort: number, remotePort: number, remote = REMOTE): Uint8Array =>
  ipv4Tuple(new Uint8Array(IPV4_TUPLE_LENGTH), LOCAL, localPort, remote, remotePort)

/** `a − b` in sequence space. */
const seqDiff = (a: number, b: number): number => (a - b + TWO_32) % TWO_32

describe("4-tuple serialization", () => {
  it("ipv4Tuple writes local addr, remote addr, local port, remote port, big-endian", () => {
    const out = new Uint8Array(IPV4_TUPLE_LENGTH).fill(0xee)
    expect(ipv4Tuple(out, LOCAL, 80, REMOTE, 0xc001)).toBe(out)
    expect([...out]).toEqual([192, 168, 1, 2, 192, 168, 1, 1, 0, 80, 0xc0, 0x01])
  })

  it("ipv6Tuple writes 16 + 16 address bytes then the two ports", () => {
    const local = Uint8Array.from({ length: 16 }, (_, i) => i)
    const remote = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + (i & 0xf))
    const out = ipv6Tuple(new Uint8Array(IPV6_TUPLE_LENGTH), local, 443, remote, 50000)
    expect([...out.subarray(0, 16)]).toEqual([...local])
    expect([...out.subarray(16, 32)]).toEqual([...remote])
    expect([...out.subarray(32)]).toEqual([0x01, 0xbb, 0xc3, 0x50])
  })
})

describe("IsnGenerator (RFC 6528)", () => {
  it("is M + F: at time 0 it equals the low 32 bits of SipHash of the tuple", () => {
    const t = tuple(80, 40000)
    expect(new IsnGenerator(SECRET).isn(t, 0)).toBe(siphash24(SECRET, t).lo)
  })

  it("advances 250 000 per second for the same tuple, one tick per 4 µs", () => {
    const gen = new IsnGenerator(SECRET)
    const t = tuple(80, 40000)
    const base = gen.isn(t, 1_000_000)
    expect(seqDiff(gen.isn(t, 2_000_000), base)).toBe(250_000)
    expect(seqDiff(gen.isn(t, 11_000_000), base)).toBe(2_500_000)
    expect(gen.isn(t, 1_000_003)).toBe(base)
    expect(seqDiff(gen.isn(t, 1_000_004), base)).toBe(1)
  })

  it("differs across tuples and secrets", () => {
    const gen = new IsnGenerator(SECRET)
    const now = 123_456_789
    const isns = new Set([
      gen.isn(tuple(80, 40000), now),
      gen.isn(tuple(80, 40001), now),
      gen.isn(tuple(81, 40000), now),
      gen.isn(tuple(80, 40000, parseIpv4("192.168.1.3")!), now),
      new IsnGenerator(OTHER_SECRET).isn(tuple(80, 40000), now)
    ])
    expect(isns.size).toBe(5)
  })

  it("wraps modulo 2^32 (M's period is 2^32 ticks of 4 µs, about 4.77 hours)", () => {
    const gen = new IsnGenerator(SECRET)
    const t = tuple(80, 40000)
    const period = 4 * TWO_32
    expect(gen.isn(t, period)).toBe(gen.isn(t, 0))
    expect(gen.isn(t, 5 * period + 40)).toBe(gen.isn(t, 40))
    // Across the wrap the difference stays one tick.
    expect(seqDiff(gen.isn(t, period), gen.isn(t, period - 4))).toBe(1)
  })

  it("stays an unsigned 32-bit integer for any time and tuple, and tracks M exactly", () => {
    const gen = new IsnGenerator(SECRET)
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 12, maxLength: 36 }),
        fc.maxSafeNat().map((n) => Math.floor(n / 2)),
        fc.maxSafeNat().map((n) => n % 10 ** 12),
        (t, now, dt) => {
          const a = gen.isn(t, now)
          const b = gen.isn(t, now + dt)
          expect(Number.isInteger(a) && a >= 0 && a < TWO_32).toBe(true)
          const ticks = (Math.floor((now + dt) / 4) - Math.floor(now / 4)) % TWO_32
          expect(seqDiff(b, a)).toBe(ticks)
        }
      )
    )
  })

  it("copies its secret and refuses one that is not 16 bytes", () => {
    const secret = Uint8Array.from(SECRET)
    const gen = new IsnGenerator(secret)
    const t = tuple(80, 40000)
    const before = gen.isn(t, 0)
    secret.fill(0)
    expect(gen.isn(t, 0)).toBe(before)
    expect(() => new IsnGenerator(new Uint8Array(8))).toThrow(RangeError)
  })
})
