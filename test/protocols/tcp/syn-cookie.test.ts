import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { parseIpv4 } from "../../../src/protocols/address.js"
import { IPV4_TUPLE_LENGTH, IPV6_TUPLE_LENGTH, ipv4Tuple, ipv6Tuple } from "../../../src/protocols/tcp/isn.js"
import {
  COUNTER_PERIOD_SECONDS,
  decodeTimestamp,
  encodeTimestamp,
  MAX_AGE_PERIODS,
  MSS_TABLE,
  mssIndex,
  SynCookies,
  TIMESTAMP_OPTION_BITS
} from "../../../src/protocols/tcp/syn-cookie.js"

const TWO_32 = 4294967296
const SECRET = Uint8Array.from({ length: 16 }, (_, i) => 0x5a ^ (i * 17))
const LOCAL = parseIpv4("192.168.1.2")!
const REMOTE = parseIpv4("10.0.0.7")!
const PERIOD = COUNTER_PERIOD_SECONDS

const tuple = (remotePort: number, remote = REMOTE): Uint8Array =>
  ipv4Tuple(new Uint8Array(IPV4_TUPLE_LENGTH), LOCAL, 80, remote, remotePort)

/** The cookie an attacker-free ACK returns: `ack − 1` and `seq − 1`, modulo 2^32. */
const ackOf = (clientIsn: number, cookie: number) => ({
  seq: (clientIsn + 1) >>> 0,
  ack: (cookie + 1) >>> 0
})

describe("mssIndex and MSS_TABLE", () => {
  it("has 8 ascending entries", () => {
    expect(MSS_TABLE).toHaveLength(8)
    for (let i = 1; i < MSS_TABLE.length; i++) expect(MSS_TABLE[i]!).toBeGreaterThan(MSS_TABLE[i - 1]!)
  })

  it("picks the largest entry not above the MSS, and 536 below it", () => {
    expect(mssIndex(0)).toBe(0)
    expect(mssIndex(100)).toBe(0)
    expect(mssIndex(536)).toBe(0)
    expect(mssIndex(1219)).toBe(0)
    expect(mssIndex(1220)).toBe(1)
    expect(mssIndex(1459)).toBe(5)
    expect(mssIndex(1460)).toBe(6)
    expect(mssIndex(1500)).toBe(6)
    expect(mssIndex(8940)).toBe(7)
    expect(mssIndex(65535)).toBe(7)
    MSS_TABLE.forEach((mss, i) => expect(mssIndex(mss)).toBe(i))
  })
})

describe("SynCookies", () => {
  const now = 1_000_000

  it("round-trips through the ACK's seq − 1 and ack − 1, with the MSS index in bits 24-26", () => {
    const cookies = new SynCookies(SECRET)
    const t = tuple(40000)
    for (const mss of [100, 536, 1000, 1220, 1300, 1400, 1420, 1440, 1460, 1500, 8940, 9000]) {
      const clientIsn = 0xdeadbeef
      const cookie = cookies.make(t, clientIsn, mss, now)
      expect(Number.isInteger(cookie) && cookie >= 0 && cookie < TWO_32).toBe(true)
      expect((cookie >>> 24) & 7).toBe(mssIndex(mss))
      expect(cookie >>> 27).toBe(Math.floor(now / PERIOD) & 31)
      const { seq, ack } = ackOf(clientIsn, cookie)
      expect(cookies.check(t, (seq - 1) >>> 0, (ack - 1) >>> 0, now + 5)).toBe(MSS_TABLE[mssIndex(mss)])
    }
  })

  it("round-trips across sequence-number wrap and for IPv6 tuples", () => {
    const cookies = new SynCookies(SECRET)
    const t6 = ipv6Tuple(
      new Uint8Array(IPV6_TUPLE_LENGTH),
      Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0xfe : i === 1 ? 0x80 : i)),
      80,
      Uint8Array.from({ length: 16 }, (_, i) => 0x20 + i),
      5555
    )
    const clientIsn = 0xffffffff
    const cookie = cookies.make(t6, clientIsn, 1440, now)
    const { seq, ack } = ackOf(clientIsn, cookie)
    expect(seq).toBe(0)
    expect(cookies.check(t6, (seq - 1) >>> 0, (ack - 1) >>> 0, now)).toBe(1440)
  })

  it("is stateless: a second instance with the same secret validates the cookie", () => {
    const t = tuple(40000)
    const cookie = new SynCookies(SECRET).make(t, 7, 1460, now)
    expect(new SynCookies(Uint8Array.from(SECRET)).check(t, 7, cookie, now)).toBe(1460)
  })

  it("rejects a wrong tuple, a wrong client ISN and a different secret", () => {
    const cookies = new SynCookies(SECRET)
    const t = tuple(40000)
    const cookie = cookies.make(t, 1234, 1460, now)
    expect(cookies.check(tuple(40001), 1234, cookie, now)).toBeUndefined()
    expect(cookies.check(tuple(40000, parseIpv4("10.0.0.8")!), 1234, cookie, now)).toBeUndefined()
    expect(cookies.check(t, 1235, cookie, now)).toBeUndefined()
    const other = Uint8Array.from(SECRET)
    other[15]! ^= 1
    expect(new SynCookies(other).check(t, 1234, cookie, now)).toBeUndefined()
    expect(cookies.check(t, 1234, cookie, now)).toBe(1460)
  })

  it("rejects a cookie with any one bit flipped", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.integer({ min: 0, max: TWO_32 - 1 }),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 31 }),
        (secret, t, clientIsn, mss, nowSeconds, bit) => {
          const cookies = new SynCookies(secret)
          const cookie = cookies.make(t, clientIsn, mss, nowSeconds)
          expect(cookies.check(t, clientIsn, cookie, nowSeconds)).toBe(MSS_TABLE[mssIndex(mss)])
          // A false accept needs a 24-bit hash collision (probability 2^-24 per case).
          expect(cookies.check(t, clientIsn, (cookie ^ (1 << bit)) >>> 0, nowSeconds)).toBeUndefined()
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("accepts cookies from the previous periods and rejects older ones", () => {
    const cookies = new SynCookies(SECRET)
    const t = tuple(40000)
    const start = 640 * PERIOD // the first second of a period
    const cookie = cookies.make(t, 99, 1460, start)
    expect(cookies.check(t, 99, cookie, start + PERIOD - 1)).toBe(1460) // same period
    expect(cookies.check(t, 99, cookie, start + PERIOD)).toBe(1460) // previous period
    expect(cookies.check(t, 99, cookie, start + MAX_AGE_PERIODS * PERIOD + PERIOD - 1)).toBe(1460)
    expect(cookies.check(t, 99, cookie, start + (MAX_AGE_PERIODS + 1) * PERIOD)).toBeUndefined()
    expect(cookies.check(t, 99, cookie, start + 10 * PERIOD)).toBeUndefined()
    // Made at the end of a period, it is still valid MAX_AGE_PERIODS later.
    const late = cookies.make(t, 99, 1460, start - 1)
    expect(cookies.check(t, 99, late, start + (MAX_AGE_PERIODS - 1) * PERIOD)).toBe(1460)
    expect(cookies.check(t, 99, late, start + MAX_AGE_PERIODS * PERIOD)).toBeUndefined()
  })

  it("rejects a cookie from the future and one replayed 32 periods later (same 5 counter bits)", () => {
    const cookies = new SynCookies(SECRET)
    const t = tuple(40000)
    const start = 640 * PERIOD
    const cookie = cookies.make(t, 99, 1460, start)
    expect(cookies.check(t, 99, cookie, start - 1)).toBeUndefined()
    expect(cookies.check(t, 99, cookie, start + 32 * PERIOD)).toBeUndefined()
    expect(cookies.check(t, 99, cookie, start + 33 * PERIOD)).toBeUndefined()
  })

  it("differs per client ISN and tuple (the hash bits change)", () => {
    const cookies = new SynCookies(SECRET)
    const seen = new Set<number>()
    for (let port = 1000; port < 1100; port++) seen.add(cookies.make(tuple(port), 5, 1460, now))
    for (let isn = 0; isn < 100; isn++) seen.add(cookies.make(tuple(999), isn, 1460, now))
    expect(seen.size).toBe(200)
  })

  it("refuses a secret that is not 16 bytes", () => {
    expect(() => new SynCookies(new Uint8Array(32))).toThrow(RangeError)
  })
})

describe("timestamp-carried options", () => {
  const all = [
    ...Array.from({ length: 15 }, (_, ws) => ws as number | undefined),
    undefined
  ].flatMap((windowScale) => [true, false].map((sackPermitted) => ({ windowScale, sackPermitted })))

  it("round-trips window scale 0-14 or none, and SACK-permitted", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: TWO_32 - 1 }), (tsNow) => {
        for (const options of all) expect(decodeTimestamp(encodeTimestamp(tsNow, options))).toEqual(options)
      })
    )
  })

  it("keeps the TSval at most 2^5 − 1 behind tsNow and never ahead of it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: TWO_32 - 1 }), (tsNow) => {
        for (const options of all) {
          const ts = encodeTimestamp(tsNow, options)
          expect(ts >= 0 && ts < TWO_32).toBe(true)
          const behind = (tsNow - ts + TWO_32) % TWO_32
          expect(behind).toBeLessThan(1 << TIMESTAMP_OPTION_BITS)
        }
      })
    )
    expect(encodeTimestamp(0, { windowScale: 7, sackPermitted: true })).toBe(TWO_32 - 32 + 0x17)
    expect(encodeTimestamp(0x12345678 | 0x1f, { windowScale: 7, sackPermitted: false })).toBe(0x12345667)
  })

  it("clamps a window scale above 14 to 14 (RFC 7323 §2.3)", () => {
    expect(decodeTimestamp(encodeTimestamp(1000, { windowScale: 20, sackPermitted: false }))).toEqual({
      windowScale: 14,
      sackPermitted: false
    })
  })
})
