/**
 * IPv6 headers (RFC 8200) on packets captured from Linux: NS/NA, echo on
 * global and link-local addresses, the three fragments of a 3000-byte ping
 * each way, UDP, and an MLDv2 report behind a Hop-by-Hop header; emit,
 * round-trip and malformed cases; the extension-header walker on hand-built
 * chains and on random bytes.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import * as Checksum from "../../../src/protocols/checksum.js"
import * as Ipv6 from "../../../src/protocols/ipv6/header.js"
import { ALL_MLDV2_ROUTERS, linkLocalFromMac, parseIpv6, solicitedNodeMulticast } from "../../../src/protocols/ipv6/address.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import { arbitrarySlice, fromHex, MAC_A, ok, toHex } from "../wire/frames.js"
import { allFrames6, frame6, IP6_A, IP6_AT, IP6_B, type Ipv6FrameName, LL_A, LL_B } from "./frames.js"

const fixed = (
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  payloadLength: number,
  flowLabel: number,
  hopLimit = 64
): Ipv6.Repr => ({ src, dst, nextHeader, payloadLength, hopLimit, trafficClass: 0, flowLabel })

/** What each captured packet's fixed header must parse to. */
const expected: ReadonlyArray<readonly [Ipv6FrameName, Ipv6.Repr]> = [
  ["ndp_neighbor_solicitation", fixed(IP6_A, solicitedNodeMulticast(IP6_B), 58, 32, 0, 255)],
  ["ndp_neighbor_advertisement", fixed(IP6_B, IP6_A, 58, 32, 0, 255)],
  ["icmpv6_echo_request", fixed(IP6_A, IP6_B, 58, 64, 0x4e8a6)],
  ["icmpv6_echo_reply", fixed(IP6_B, IP6_A, 58, 64, 0x79bb7)],
  ["ipv6_fragment_first_request", fixed(IP6_A, IP6_B, 44, 1456, 0x4e8a6)],
  ["ipv6_fragment_middle_request", fixed(IP6_A, IP6_B, 44, 1456, 0x4e8a6)],
  ["ipv6_fragment_last_request", fixed(IP6_A, IP6_B, 44, 120, 0x4e8a6)],
  ["ipv6_fragment_first_reply", fixed(IP6_B, IP6_A, 44, 1456, 0x79bb7)],
  ["ipv6_fragment_middle_reply", fixed(IP6_B, IP6_A, 44, 1456, 0x79bb7)],
  ["ipv6_fragment_last_reply", fixed(IP6_B, IP6_A, 44, 120, 0x79bb7)],
  ["udp6_datagram", fixed(IP6_A, IP6_B, 17, 21, 0xf8581)],
  ["icmpv6_echo_request_link_local", fixed(LL_A, LL_B, 58, 64, 0x71ab6)],
  ["icmpv6_echo_reply_link_local", fixed(LL_B, LL_A, 58, 64, 0x80072)],
  ["mldv2_report", fixed(LL_A, ALL_MLDV2_ROUTERS, 0, 56, 0, 1)]
]

/** The Fragment header fields of the captured fragments. */
const fragments: ReadonlyArray<readonly [Ipv6FrameName, number, boolean, number, number]> = [
  ["ipv6_fragment_first_request", 0, true, 0x843103a5, 1448],
  ["ipv6_fragment_middle_request", 1448, true, 0x843103a5, 1448],
  ["ipv6_fragment_last_request", 2896, false, 0x843103a5, 112],
  ["ipv6_fragment_first_reply", 0, true, 0xdef8383d, 1448],
  ["ipv6_fragment_middle_reply", 1448, true, 0xdef8383d, 1448],
  ["ipv6_fragment_last_reply", 2896, false, 0xdef8383d, 112]
]

const walkFrame = (f: Uint8Array, options?: Ipv6.WalkOptions): Ipv6.ExtensionResult => {
  const p = ok(Ipv6.Packet.checked(f, IP6_AT))
  return Ipv6.walkExtensions(f, p.payloadOffset, p.payloadLength, p.nextHeader, options)
}

describe("Ipv6 on captured packets", () => {
  it("the fixtures' addresses are the EUI-64 link-locals of the namespaces' MACs", () => {
    expect(linkLocalFromMac(MAC_A)).toEqual(LL_A)
    expect(parseIpv6("fd00:77::2")).toEqual(IP6_B)
  })

  it.each(expected)("parses %s", (name, repr) => {
    const f = frame6(name)
    expect(ok(Ipv6.parse(f, IP6_AT))).toEqual(repr)
    const p = ok(Ipv6.Packet.checked(f, IP6_AT))
    expect(p.version).toBe(6)
    expect(p.payloadOffset).toBe(IP6_AT + 40)
    expect(p.totalLength).toBe(f.length - IP6_AT)
    expect(p.srcOffset).toBe(IP6_AT + 8)
    expect(p.dstOffset).toBe(IP6_AT + 24)
  })

  it.each(expected)("emits %s byte for byte", (name, repr) => {
    const f = frame6(name)
    const out = new Uint8Array(Ipv6.bufferLen(repr))
    Ipv6.emit(repr, out)
    expect(toHex(out)).toBe(toHex(f.subarray(IP6_AT, IP6_AT + Ipv6.HEADER_LEN)))
  })

  it("sets the hop limit in place", () => {
    const f = frame6("icmpv6_echo_request")
    const p = ok(Ipv6.Packet.checked(f, IP6_AT))
    p.hopLimit = 63
    expect(f[IP6_AT + 7]).toBe(63)
    expect(p.hopLimit).toBe(63)
  })

  it.each(["ndp_neighbor_solicitation", "ndp_neighbor_advertisement", "icmpv6_echo_request", "icmpv6_echo_reply", "udp6_datagram", "icmpv6_echo_reply_link_local"] as const)(
    "verifies the upper-layer checksum of %s with the pseudo-header",
    (name) => {
      const f = frame6(name)
      const p = ok(Ipv6.Packet.checked(f, IP6_AT))
      const r = Ipv6.walkExtensions(f, p.payloadOffset, p.payloadLength, p.nextHeader)
      expect(r._tag).toBe("Upper")
      if (r._tag !== "Upper") return
      const initial = Ipv6.pseudoHeaderV6(f, f, r.protocol, r.length, p.srcOffset, p.dstOffset)
      expect(Checksum.compute(f, r.offset, r.length, initial)).toBe(0)
      // The same sum from copied addresses.
      expect(Ipv6.pseudoHeaderV6(p.src, p.dst, r.protocol, r.length)).toBe(initial)
      f[r.offset + 4] ^= 0x01
      expect(Checksum.compute(f, r.offset, r.length, initial)).not.toBe(0)
    }
  )

  it("walks the MLDv2 report's Hop-by-Hop header (router alert, PadN) to ICMPv6", () => {
    const f = frame6("mldv2_report")
    expect(walkFrame(f, { multicast: true })).toEqual({
      _tag: "Upper",
      protocol: 58,
      offset: IP6_AT + 48,
      length: 48,
      nextHeaderPointer: 40
    })
    const p = ok(Ipv6.Packet.checked(f, IP6_AT))
    expect(Checksum.compute(f, IP6_AT + 48, 48, Ipv6.pseudoHeaderV6(f, f, 58, 48, p.srcOffset, p.dstOffset))).toBe(0)
  })

  it("delivers packets without extension headers straight to the upper layer", () => {
    expect(walkFrame(frame6("udp6_datagram"))).toEqual({ _tag: "Upper", protocol: 17, offset: 54, length: 21, nextHeaderPointer: 6 })
  })

  it.each(fragments)("reads the Fragment header of %s", (name, fragmentOffset, moreFragments, identification, dataLength) => {
    expect(walkFrame(frame6(name))).toEqual({
      _tag: "Fragment",
      nextHeader: 58,
      fragmentOffset,
      moreFragments,
      identification,
      headerOffset: IP6_AT + 40,
      dataOffset: IP6_AT + 48,
      dataLength
    })
  })

  it("round-trips the captured fragments' Fragment headers through emitFragmentHeader", () => {
    for (const [name, off, more, id] of fragments) {
      const f = frame6(name)
      const out = new Uint8Array(Ipv6.FRAGMENT_HEADER_LEN)
      Ipv6.emitFragmentHeader(out, 0, 58, off, more, id)
      expect(toHex(out)).toBe(toHex(f.subarray(IP6_AT + 40, IP6_AT + 48)))
    }
  })

  it("allows Ethernet padding past the payload", () => {
    const f = frame6("udp6_datagram")
    const padded = new Uint8Array(f.length + 10)
    padded.set(f)
    const p = ok(Ipv6.Packet.checked(padded, IP6_AT))
    expect(p.totalLength).toBe(61)
  })
})

describe("Ipv6 malformed", () => {
  const base = () => frame6("icmpv6_echo_request")

  it("refuses a header shorter than 40 bytes", () => {
    const f = base()
    expect(Ipv6.parse(f, IP6_AT, 39)).toBe(Ipv6.Truncated)
    expect(Ipv6.parse(f.subarray(0, IP6_AT + 39), IP6_AT)).toBe(Ipv6.Truncated)
  })

  it("refuses offsets and lengths outside the bytes", () => {
    const f = base()
    expect(Ipv6.parse(f, -1, 60)).toBe(Ipv6.Truncated)
    expect(Ipv6.parse(f, IP6_AT, f.length)).toBe(Ipv6.Truncated)
  })

  it("refuses a version other than 6", () => {
    const f = base()
    f[IP6_AT] = 0x45
    expect(Ipv6.parse(f, IP6_AT)).toBe(Ipv6.BadVersion)
  })

  it("refuses a payload length past the bytes", () => {
    const f = base()
    f[IP6_AT + 5] = 65
    expect(Ipv6.parse(f, IP6_AT)).toBe(Ipv6.BadPayloadLength)
    expect(Ipv6.parse(f.subarray(0, f.length - 1), IP6_AT)).toBe(Ipv6.BadPayloadLength)
  })

  it("never throws on arbitrary bytes, and a checked view reads in range", () => {
    FastCheck.assert(
      FastCheck.property(arbitrarySlice, ([bytes, offset, length]) => {
        const r = Ipv6.parse(bytes, offset, length)
        if (isMalformed(r)) return
        const p = ok(Ipv6.Packet.checked(bytes, offset, length))
        expect(p.payloadOffset + p.payloadLength).toBeLessThanOrEqual(bytes.length)
        expect(r.src.length).toBe(16)
      }),
      { numRuns: 2000 }
    )
  })
})

const arbitraryRepr: FastCheck.Arbitrary<Ipv6.Repr> = FastCheck.record({
  src: FastCheck.uint8Array({ minLength: 16, maxLength: 16 }),
  dst: FastCheck.uint8Array({ minLength: 16, maxLength: 16 }),
  nextHeader: FastCheck.integer({ min: 0, max: 255 }),
  payloadLength: FastCheck.integer({ min: 0, max: 200 }),
  hopLimit: FastCheck.integer({ min: 0, max: 255 }),
  trafficClass: FastCheck.integer({ min: 0, max: 255 }),
  flowLabel: FastCheck.integer({ min: 0, max: 0xfffff })
})

describe("Ipv6 properties", () => {
  it("emit then parse is the identity", () => {
    FastCheck.assert(
      FastCheck.property(arbitraryRepr, FastCheck.integer({ min: 0, max: 8 }), (repr, at) => {
        const buf = new Uint8Array(at + Ipv6.HEADER_LEN + repr.payloadLength)
        Ipv6.emit(repr, buf, at)
        expect(ok(Ipv6.parse(buf, at))).toEqual(repr)
      }),
      { numRuns: 1000 }
    )
  })

  it("the walker never throws and stays inside the bytes", () => {
    FastCheck.assert(
      FastCheck.property(arbitrarySlice, FastCheck.constantFrom(0, 43, 44, 60, 59, 58, 17, 255), FastCheck.boolean(), ([bytes, offset, length], nh, multicast) => {
        const r = Ipv6.walkExtensions(bytes, offset, length, nh, { multicast })
        if (r._tag === "Upper") {
          expect(r.offset).toBeGreaterThanOrEqual(offset)
          expect(r.offset + r.length).toBeLessThanOrEqual(bytes.length)
          expect(r.length).toBeGreaterThanOrEqual(0)
        } else if (r._tag === "Fragment") {
          expect(r.dataOffset + r.dataLength).toBeLessThanOrEqual(bytes.length)
          expect(r.dataLength).toBeGreaterThanOrEqual(0)
        }
      }),
      { numRuns: 3000 }
    )
  })

  it("the walker never throws on chains of valid-looking headers", () => {
    const header = FastCheck.tuple(
      FastCheck.constantFrom(0, 43, 44, 60, 59, 58, 17, 6),
      FastCheck.integer({ min: 0, max: 3 }),
      FastCheck.uint8Array({ minLength: 30, maxLength: 30 })
    ).map(([nh, len, fill]) => {
      const out = new Uint8Array((len + 1) * 8)
      out.set(fill.subarray(0, out.length))
      out[0] = nh
      out[1] = len
      return out
    })
    FastCheck.assert(
      FastCheck.property(FastCheck.array(header, { maxLength: 20 }), FastCheck.constantFrom(0, 43, 44, 60), (headers, first) => {
        const total = headers.reduce((n, h) => n + h.length, 0)
        const buf = new Uint8Array(40 + total)
        let at = 40
        for (const h of headers) {
          buf.set(h, at)
          at += h.length
        }
        const r = Ipv6.walkExtensions(buf, 40, total, first)
        expect(["Upper", "Fragment", "NoNextHeader", "Drop", "ParamProblem"]).toContain(r._tag)
      }),
      { numRuns: 2000 }
    )
  })
})

/** A packet: a fixed header naming `first`, then `chain`, then `upper` bytes of payload. */
const build = (first: number, chain: string, upper = 8, dst = IP6_B) => {
  const ext = fromHex(chain)
  const buf = new Uint8Array(40 + ext.length + upper)
  Ipv6.emit(fixed(IP6_A, dst, first, ext.length + upper, 0), buf)
  buf.set(ext, 40)
  return buf
}
const walk = (buf: Uint8Array, multicast = false) => Ipv6.walkExtensions(buf, 40, buf.length - 40, buf[6]!, { multicast })

describe("Ipv6 extension chains", () => {
  it("skips Hop-by-Hop Pad1 and PadN", () => {
    // HBH → UDP: PadN of 4 bytes, then Pad1 ×0 (8-byte header: 11 00 | 01 04 00000000)
    expect(walk(build(0, "1100010400000000"))).toEqual({ _tag: "Upper", protocol: 17, offset: 48, length: 8, nextHeaderPointer: 40 })
    // Six Pad1 options.
    expect(walk(build(0, "3a00000000000000"))).toMatchObject({ _tag: "Upper", protocol: 58, offset: 48 })
  })

  it("handles unknown options by their action bits (RFC 8200 §4.2)", () => {
    // Option at byte 42 of the packet: type, length 2, two data bytes, then PadN 0.
    const withOption = (type: number) => build(0, `1100${type.toString(16).padStart(2, "0")}0200000100`)
    expect(walk(withOption(0x1e))).toMatchObject({ _tag: "Upper", protocol: 17 }) // 00: skip
    expect(walk(withOption(0x5e))).toEqual({ _tag: "Drop", reason: "unknown_option" }) // 01: discard
    expect(walk(withOption(0x9e))).toEqual({ _tag: "ParamProblem", code: 2, pointer: 42 }) // 10: always an error
    expect(walk(withOption(0x9e), true)).toEqual({ _tag: "ParamProblem", code: 2, pointer: 42 })
    expect(walk(withOption(0xde))).toEqual({ _tag: "ParamProblem", code: 2, pointer: 42 }) // 11: unless multicast
    expect(walk(withOption(0xde), true)).toEqual({ _tag: "Drop", reason: "unknown_option" })
  })

  it("points at an unknown option after padding, in Destination Options too", () => {
    // HBH (PadN 4) → DestOpts (Pad1 at byte 50, option 0x80 at byte 51) → TCP
    const buf = build(0, "3c00010400000000" + "0600008002000000")
    expect(walk(buf)).toEqual({ _tag: "ParamProblem", code: 2, pointer: 51 })
  })

  it("drops options that overrun their header", () => {
    expect(walk(build(0, "1100010600000000"))).toEqual({ _tag: "Drop", reason: "bad_option_length" })
    expect(walk(build(0, "1100000000000005"))).toEqual({ _tag: "Drop", reason: "bad_option_length" })
  })

  it("refuses Hop-by-Hop anywhere but first", () => {
    // DestOpts → HBH: error on the DestOpts header's Next Header byte (40).
    expect(walk(build(60, "0000010400000000" + "1100010400000000"))).toEqual({ _tag: "ParamProblem", code: 1, pointer: 40 })
  })

  it("refuses routing type 0 with segments left (RFC 5095) and skips any routing header with none", () => {
    // Routing: next 17, len 2 (24 bytes), type 0, segments left 1.
    const rh0 = "1102000100000000" + "20010db8000000000000000000000001"
    expect(walk(build(43, rh0))).toEqual({ _tag: "ParamProblem", code: 0, pointer: 42 })
    const done = "1102000000000000" + "20010db8000000000000000000000001"
    expect(walk(build(43, done))).toEqual({ _tag: "Upper", protocol: 17, offset: 64, length: 8, nextHeaderPointer: 40 })
    // Type 2 with segments left: a host does not forward either.
    expect(walk(build(43, "1100020100000000"))).toEqual({ _tag: "ParamProblem", code: 0, pointer: 42 })
  })

  it("returns the fields of a Fragment header behind other headers", () => {
    // HBH (PadN) → Fragment (next UDP, offset 1448, M, id 0x01020304) → 16 bytes of data
    const buf = build(0, "2c00010400000000" + "110005a901020304", 16)
    expect(walk(buf)).toEqual({
      _tag: "Fragment",
      nextHeader: 17,
      fragmentOffset: 1448,
      moreFragments: true,
      identification: 0x01020304,
      headerOffset: 48,
      dataOffset: 56,
      dataLength: 16
    })
  })

  it("refuses a non-final fragment whose length is not a multiple of 8, and one past 65535 bytes", () => {
    expect(walk(build(44, "1100000100000001", 12))).toEqual({ _tag: "ParamProblem", code: 0, pointer: 4 })
    // Offset 65528 + 16 bytes.
    expect(walk(build(44, "1100fff800000001", 16))).toEqual({ _tag: "ParamProblem", code: 0, pointer: 42 })
  })

  it("stops at No Next Header", () => {
    expect(walk(build(60, "3b00010400000000", 5))).toEqual({ _tag: "NoNextHeader" })
    expect(walk(build(59, "", 3))).toEqual({ _tag: "NoNextHeader" })
  })

  it("reports where an unknown upper layer was named", () => {
    expect(walk(build(60, "fd00010400000000"))).toEqual({ _tag: "Upper", protocol: 0xfd, offset: 48, length: 8, nextHeaderPointer: 40 })
    expect(walk(build(0xfd, ""))).toEqual({ _tag: "Upper", protocol: 0xfd, offset: 40, length: 8, nextHeaderPointer: 6 })
  })

  it("drops truncated headers and overlong chains", () => {
    expect(walk(build(60, "1100", 0))).toEqual({ _tag: "Drop", reason: "truncated" })
    expect(walk(build(60, "1101010400000000", 0))).toEqual({ _tag: "Drop", reason: "truncated" })
    expect(walk(build(44, "11000000", 0))).toEqual({ _tag: "Drop", reason: "truncated" })
    const chain = "3c00010400000000".repeat(Ipv6.MAX_EXTENSION_HEADERS + 1)
    expect(walk(build(60, chain))).toEqual({ _tag: "Drop", reason: "too_many_headers" })
    const justEnough = "3c00010400000000".repeat(Ipv6.MAX_EXTENSION_HEADERS - 1) + "1100010400000000"
    expect(walk(build(60, justEnough))).toMatchObject({ _tag: "Upper", protocol: 17 })
  })

  it("takes pointers from the IPv6 header wherever it sits", () => {
    const inner = build(0, "1100de0200000100")
    const buf = new Uint8Array(100 + inner.length)
    buf.set(inner, 100)
    expect(Ipv6.walkExtensions(buf, 140, inner.length - 40, 0)).toEqual({ _tag: "ParamProblem", code: 2, pointer: 42 })
    expect(Ipv6.walkExtensions(buf, 140, inner.length - 40, 0, { headerOffset: 0 })).toEqual({ _tag: "ParamProblem", code: 2, pointer: 142 })
  })

  it("every captured frame walks to a verdict", () => {
    for (const [, f] of allFrames6()) {
      const r = walkFrame(f)
      expect(["Upper", "Fragment"]).toContain(r._tag)
    }
  })
})
