/**
 * The Internet checksum (RFC 1071): the RFC's worked example, odd lengths,
 * split sums, the IPv4 pseudo-header, and the checksums of captured headers.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import * as Checksum from "../../../src/protocols/checksum.js"
import { fromHex, frame, IP_A, IP_AT, IP_B } from "./frames.js"

/** A straightforward reference: 16-bit words, end-around carry after each add. */
const reference = (bytes: Uint8Array): number => {
  let acc = 0
  for (let i = 0; i < bytes.length; i += 2) {
    acc += (bytes[i]! << 8) | (bytes[i + 1] ?? 0)
    acc = (acc & 0xffff) + (acc >>> 16)
  }
  return ~acc & 0xffff
}

describe("Checksum", () => {
  it("RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2", () => {
    const bytes = fromHex("0001f203f4f5f6f7")
    expect(Checksum.sum(bytes, 0, 8)).toBe(0x2ddf0) // unfolded: 0001 + f203 + f4f5 + f6f7
    expect(Checksum.compute(bytes, 0, 8)).toBe(0x220d) // ~ddf2
    expect(Checksum.finish(0x2ddf0)).toBe(0x220d)
  })

  it("byte order independence: the swapped example sums to f2dd", () => {
    // RFC 1071 §2(B): swapping the bytes of every word swaps the sum's bytes.
    const bytes = fromHex("0100 03f2 f5f4 f7f6")
    expect(Checksum.compute(bytes, 0, 8)).toBe(~0xf2dd & 0xffff)
  })

  it("odd lengths pad the last byte with zero on the right", () => {
    expect(Checksum.compute(fromHex("01"), 0, 1)).toBe(0xfeff)
    expect(Checksum.compute(fromHex("ff"), 0, 1)).toBe(0x00ff)
    // 0001 + f203 + f4f5 + f600 = 2dcf9 → dcfb → ~ = 2304
    expect(Checksum.compute(fromHex("0001f203f4f5f6"), 0, 7)).toBe(0x2304)
    expect(Checksum.compute(fromHex("0001f203f4f5f6"), 0, 7)).toBe(Checksum.compute(fromHex("0001f203f4f5f600"), 0, 8))
  })

  it("empty input gives ffff and all-zero words give ffff", () => {
    expect(Checksum.compute(new Uint8Array(0), 0, 0)).toBe(0xffff)
    expect(Checksum.compute(new Uint8Array(10), 0, 10)).toBe(0xffff)
  })

  it("folds long runs of ffff words (carry handling past 2^30)", () => {
    const bytes = new Uint8Array(1 << 20).fill(0xff)
    expect(Checksum.compute(bytes, 0, bytes.length)).toBe(0x0000)
    bytes[bytes.length - 1] = 0xfe
    expect(Checksum.compute(bytes, 0, bytes.length)).toBe(0x0001)
  })

  it("respects offset and length", () => {
    const bytes = fromHex("ffff 0001f203f4f5f6f7 ffff")
    expect(Checksum.compute(bytes, 2, 8)).toBe(0x220d)
  })

  it("sums split at an even boundary add up to the whole", () => {
    const bytes = fromHex("0001f203f4f5f6f7")
    expect(Checksum.compute(bytes, 4, 4, Checksum.sum(bytes, 0, 4))).toBe(0x220d)
  })

  it("pseudo-header of 10.78.0.1 → 10.78.0.2, UDP, length 20", () => {
    // 0a4e + 0001 + 0a4e + 0002 + 0011 + 0014
    expect(Checksum.pseudoHeaderV4(IP_A, IP_B, 17, 20)).toBe(0x14c4)
    expect(Checksum.finish(Checksum.pseudoHeaderV4(0xffffffff, 0xffffffff, 0xff, 0xffff))).toBe(
      reference(fromHex("ffffffff ffffffff 00ff ffff"))
    )
  })

  it("a captured IPv4 header sums to zero and recomputes to its checksum", () => {
    const bytes = frame("icmp_echo_request")
    expect(Checksum.compute(bytes, IP_AT, 20)).toBe(0)
    expect((bytes[IP_AT + 10]! << 8) | bytes[IP_AT + 11]!).toBe(0xe5d0)
    bytes[IP_AT + 10] = 0
    bytes[IP_AT + 11] = 0
    expect(Checksum.compute(bytes, IP_AT, 20)).toBe(0xe5d0)
  })

  it("a checksum with a leading zero byte (0x0048) from a captured fragment", () => {
    const bytes = frame("ipv4_fragment_first_request")
    expect((bytes[IP_AT + 10]! << 8) | bytes[IP_AT + 11]!).toBe(0x0048)
    expect(Checksum.compute(bytes, IP_AT, 20)).toBe(0)
  })

  it("agrees with the reference on random bytes, offsets and lengths", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.uint8Array({ maxLength: 2000 }).chain((b) =>
          FastCheck.tuple(FastCheck.constant(b), FastCheck.nat(b.length), FastCheck.nat(b.length))
        ),
        ([bytes, a, b]) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a]
          expect(Checksum.compute(bytes, lo, hi - lo)).toBe(reference(bytes.subarray(lo, hi)))
        }
      )
    )
  })

  it("writing the checksum into the data makes it verify to zero", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.uint8Array({ minLength: 2, maxLength: 600 }), (bytes) => {
        const data = bytes.slice()
        data[0] = 0
        data[1] = 0
        const c = Checksum.compute(data, 0, data.length)
        data[0] = c >>> 8
        data[1] = c & 0xff
        expect(Checksum.compute(data, 0, data.length)).toBe(0)
      })
    )
  })
})
