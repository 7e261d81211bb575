import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { copyKey, siphash24, siphash24Into } from "../../../src/protocols/tcp/siphash.js"

// The 64 SipHash-2-4 vectors of the reference implementation (vectors.h,
// `vectors_sip64`): key 00 01 .. 0f, message i = bytes 00 01 .. (i-1), output
// as the 8 little-endian bytes of the 64-bit result.
const VECTORS: ReadonlyArray<string> = [
  "310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785",
  "b7877127e09427cf", "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab",
  "6224939a79f5f593", "b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",
  "fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7", "e545be4961ca29a1",
  "db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",
  "98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",
  "94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f",
  "a5c91da7acaa4dde", "716595876650a2a6", "28ef495c53a387ad", "42c341d8fa92d832",
  "ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",
  "b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",
  "d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4",
  "f21df2e41d4535f9", "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",
  "51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee", "5a1645b276d592a1",
  "b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f", "9924a43cc1315724",
  "bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",
  "e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95"
]

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i)
const counting = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i)

/** The vector's little-endian bytes as the 64-bit value. */
const leHexToBigInt = (hex: string): bigint => {
  let v = 0n
  for (let i = 14; i >= 0; i -= 2) v = (v << 8n) | BigInt(parseInt(hex.slice(i, i + 2), 16))
  return v
}

const toBigInt = (r: { hi: number; lo: number }): bigint => (BigInt(r.hi) << 32n) | BigInt(r.lo)

// An independent, straightforward BigInt SipHash-2-4 written from the paper.
const MASK64 = (1n << 64n) - 1n
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & MASK64
const referenceSipHash = (key: Uint8Array, msg: Uint8Array): bigint => {
  const word = (b: Uint8Array, at: number): bigint => {
    let w = 0n
    for (let i = 7; i >= 0; i--) w = (w << 8n) | BigInt(b[at + i]!)
    return w
  }
  const k0 = word(key, 0)
  const k1 = word(key, 8)
  const v = [k0 ^ 0x736f6d6570736575n, k1 ^ 0x646f72616e646f6dn, k0 ^ 0x6c7967656e657261n, k1 ^ 0x7465646279746573n]
  const round = () => {
    v[0] = (v[0]! + v[1]!) & MASK64
    v[1] = rotl(v[1]!, 13n) ^ v[0]
    v[0] = rotl(v[0], 32n)
    v[2] = (v[2]! + v[3]!) & MASK64
    v[3] = rotl(v[3]!, 16n) ^ v[2]
    v[0] = (v[0] + v[3]) & MASK64
    v[3] = rotl(v[3], 21n) ^ v[0]
    v[2] = (v[2] + v[1]) & MASK64
    v[1] = rotl(v[1], 17n) ^ v[2]
    v[2] = rotl(v[2], 32n)
  }
  const padded = new Uint8Array((Math.floor(msg.length / 8) + 1) * 8)
  padded.set(msg)
  padded[padded.length - 1] = msg.length & 0xff
  for (let at = 0; at < padded.length; at += 8) {
    const m = word(padded, at)
    v[3]! ^= m
    round()
    round()
    v[0]! ^= m
  }
  v[2]! ^= 0xffn
  for (let i = 0; i < 4; i++) round()
  return v[0]! ^ v[1]! ^ v[2]! ^ v[3]!
}

describe("SipHash-2-4", () => {
  it("has the 64 reference vectors (key 00..0f, messages 00..i-1)", () => {
    expect(VECTORS).toHaveLength(64)
    for (let i = 0; i < 64; i++) {
      expect(toBigInt(siphash24(KEY, counting(i))), `message length ${i}`).toBe(leHexToBigInt(VECTORS[i]!))
    }
  })

  it("matches the paper's worked example (15-byte message) and the 63-byte vector", () => {
    expect(toBigInt(siphash24(KEY, counting(15)))).toBe(0xa129ca6149be45e5n)
    expect(toBigInt(siphash24(KEY, counting(63)))).toBe(0x958a324ceb064572n)
  })

  it("the BigInt reference agrees with the published vectors", () => {
    for (let i = 0; i < 64; i++) expect(referenceSipHash(KEY, counting(i))).toBe(leHexToBigInt(VECTORS[i]!))
  })

  it("agrees with the BigInt reference on random keys and messages", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 200 }),
        (key, msg) => {
          expect(toBigInt(siphash24(key, msg))).toBe(referenceSipHash(key, msg))
        }
      ),
      { numRuns: 500 }
    )
  })

  it("hashes a sub-range and writes into a reusable buffer", () => {
    const buf = new Uint8Array(80)
    buf.set(counting(40), 17)
    const out = new Uint32Array(2)
    expect(siphash24Into(out, KEY, buf, 17, 40)).toBe(out)
    expect((BigInt(out[0]!) << 32n) | BigInt(out[1]!)).toBe(leHexToBigInt(VECTORS[40]!))
    // Reusing the buffer overwrites both halves.
    siphash24Into(out, KEY, counting(0))
    expect((BigInt(out[0]!) << 32n) | BigInt(out[1]!)).toBe(leHexToBigInt(VECTORS[0]!))
  })

  it("refuses short keys and out-of-range messages", () => {
    const out = new Uint32Array(2)
    expect(() => siphash24Into(out, new Uint8Array(15), counting(4))).toThrow(RangeError)
    expect(() => siphash24Into(out, KEY, counting(4), 2, 3)).toThrow(RangeError)
    expect(() => copyKey(new Uint8Array(17))).toThrow(RangeError)
    const key = counting(16)
    const copy = copyKey(key)
    key[0] = 99
    expect(copy[0]).toBe(0)
  })
})
