/**
 * IPv4 headers (RFC 791) on packets captured from Linux: an echo exchange,
 * the three fragments of a 4000-byte ping each way, UDP, an ICMP error with
 * DSCP set, and record-route headers with 40 bytes of options.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import * as Ipv4 from "../../../src/protocols/ipv4.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import { arbitraryIpv4, arbitrarySlice, frame, type FrameName, IP_A, IP_AT, IP_B, ok, toHex } from "./frames.js"

/** What each captured packet's header must parse to. */
const expected: ReadonlyArray<readonly [FrameName, Ipv4.Repr, { headerLength: number; checksum: number }]> = [
  [
    "icmp_echo_request",
    { src: IP_A, dst: IP_B, protocol: 1, payloadLength: 64, ttl: 64, ident: 0x403a, dscpEcn: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 },
    { headerLength: 20, checksum: 0xe5d0 }
  ],
  [
    "icmp_echo_reply",
    { src: IP_B, dst: IP_A, protocol: 1, payloadLength: 64, ttl: 64, ident: 0x1d54, dscpEcn: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0 },
    { headerLength: 20, checksum: 0x48b7 }
  ],
  [
    "ipv4_fragment_first_request",
    { src: IP_A, dst: IP_B, protocol: 1, payloadLength: 1480, ttl: 64, ident: 0x403b, dscpEcn: 0, dontFragment: false, moreFragments: true, fragmentOffset: 0 },
    { headerLength: 20, checksum: 0x0048 }
  ],
  [
    "ipv4_fragment_middle_request",
    { src: IP_A, dst: IP_B, protocol: 1, payloadLength: 1480, ttl: 64, ident: 0x403b, dscpEcn: 0, dontFragment: false, moreFragments: true, fragmentOffset: 1480 },
    { headerLength: 20, checksum: 0xff8e }
  ],
  [
    "ipv4_fragment_last_request",
    { src: IP_A, dst: IP_B, protocol: 1, payloadLength: 1048, ttl: 64, ident: 0x403b, dscpEcn: 0, dontFragment: false, moreFragments: false, fragmentOffset: 2960 },
    { headerLength: 20, checksum: 0x2086 }
  ],
  [
    "ipv4_fragment_first_reply",
    { src: IP_B, dst: IP_A, protocol: 1, payloadLength: 1480, ttl: 64, ident: 0x1d5b, dscpEcn: 0, dontFragment: false, moreFragments: true, fragmentOffset: 0 },
    { headerLength: 20, checksum: 0x2328 }
  ],
  [
    "ipv4_fragment_middle_reply",
    { src: IP_B, dst: IP_A, protocol: 1, payloadLength: 1480, ttl: 64, ident: 0x1d5b, dscpEcn: 0, dontFragment: false, moreFragments: true, fragmentOffset: 1480 },
    { headerLength: 20, checksum: 0x226f }
  ],
  [
    "ipv4_fragment_last_reply",
    { src: IP_B, dst: IP_A, protocol: 1, payloadLength: 1048, ttl: 64, ident: 0x1d5b, dscpEcn: 0, dontFragment: false, moreFragments: false, fragmentOffset: 2960 },
    { headerLength: 20, checksum: 0x4366 }
  ],
  [
    "udp_datagram",
    { src: IP_A, dst: IP_B, protocol: 17, payloadLength: 21, ttl: 64, ident: 0x1396, dscpEcn: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 },
    { headerLength: 20, checksum: 0x1290 }
  ],
  [
    "udp_no_checksum",
    { src: IP_A, dst: IP_B, protocol: 17, payloadLength: 20, ttl: 64, ident: 0x13bd, dscpEcn: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 },
    { headerLength: 20, checksum: 0x126a }
  ],
  [
    "udp_closed_port",
    { src: IP_A, dst: IP_B, protocol: 17, payloadLength: 22, ttl: 64, ident: 0x13c0, dscpEcn: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 },
    { headerLength: 20, checksum: 0x1265 }
  ],
  [
    "icmp_port_unreachable",
    // Linux sends ICMP errors with precedence "internetwork control" (TOS 0xc0).
    { src: IP_B, dst: IP_A, protocol: 1, payloadLength: 50, ttl: 64, ident: 0x1dd1, dscpEcn: 0xc0, dontFragment: false, moreFragments: false, fragmentOffset: 0 },
    { headerLength: 20, checksum: 0x4788 }
  ],
  [
    "icmp_echo_request_record_route",
    { src: IP_A, dst: IP_B, protocol: 1, payloadLength: 64, ttl: 64, ident: 0x4069, dscpEcn: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 },
    { headerLength: 60, checksum: 0xa91b }
  ],
  [
    "icmp_echo_reply_record_route",
    { src: IP_B, dst: IP_A, protocol: 1, payloadLength: 64, ttl: 64, ident: 0x1dd8, dscpEcn: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0 },
    { headerLength: 60, checksum: 0x37c5 }
  ]
]

const withoutOptions = expected.filter(([, , h]) => h.headerLength === 20)
const fragments = ["first", "middle", "last"] as const

/** Sets the header checksum right after a test edits a field. */
const refill = (bytes: Uint8Array) => new Ipv4.Packet(bytes, IP_AT, bytes.length - IP_AT).fillChecksum()

describe("Ipv4", () => {
  describe("parse (captured frames)", () => {
    it.each(expected)("%s", (name, repr, header) => {
      const bytes = frame(name)
      expect(Ipv4.parse(bytes, IP_AT)).toEqual(repr)
      const p = ok(Ipv4.Packet.checked(bytes, IP_AT))
      expect(p.version).toBe(4)
      expect(p.headerLength).toBe(header.headerLength)
      expect(p.totalLength).toBe(bytes.length - IP_AT)
      expect(p.checksum).toBe(header.checksum)
      expect(p.verifyChecksum()).toBe(true)
      expect(p.isFragment).toBe(repr.moreFragments || repr.fragmentOffset > 0)
      expect(p.payloadOffset).toBe(IP_AT + header.headerLength)
      expect(p.payloadLength).toBe(repr.payloadLength)
    })

    it("the fragments of one datagram share the ident and tile 0..4008 without gaps", () => {
      for (const dir of ["request", "reply"] as const) {
        let next = 0
        const idents = new Set<number>()
        for (const part of fragments) {
          const repr = ok(Ipv4.parse(frame(`ipv4_fragment_${part}_${dir}`), IP_AT))
          expect(repr.fragmentOffset).toBe(next)
          expect(repr.fragmentOffset % 8).toBe(0)
          next += repr.payloadLength
          idents.add(repr.ident)
        }
        expect(next).toBe(8 + 4000) // ICMP header + ping -s 4000
        expect(idents.size).toBe(1)
      }
    })

    it("options (record route) are skipped: the payload starts after 60 bytes", () => {
      const bytes = frame("icmp_echo_request_record_route")
      const p = ok(Ipv4.Packet.checked(bytes, IP_AT))
      expect(p.headerLength).toBe(60)
      expect(p.payloadOffset).toBe(IP_AT + 60)
      expect(p.payloadLength).toBe(64)
      // NOP, then RR: type 7, length 39, pointer 8, first slot holding 10.78.0.1.
      expect(toHex(bytes.subarray(IP_AT + 20, IP_AT + 28))).toBe("010727080a4e0001")
      // What follows the options is the ICMP echo request (type 8, code 0).
      expect(bytes[p.payloadOffset]).toBe(8)
      expect(bytes[p.payloadOffset + 1]).toBe(0)
      // The reply carries the route B recorded: 10.78.0.1, 10.78.0.2, 10.78.0.2.
      const reply = frame("icmp_echo_reply_record_route")
      expect(toHex(reply.subarray(IP_AT + 20, IP_AT + 35))).toBe("0727100a4e00010a4e00020a4e0002")
      expect(reply[ok(Ipv4.Packet.checked(reply, IP_AT)).payloadOffset]).toBe(0)
    })

    it("a corrupted option byte is caught by the header checksum", () => {
      const bytes = frame("icmp_echo_request_record_route")
      bytes[IP_AT + 40] ^= 0x01
      expect(Ipv4.parse(bytes, IP_AT)).toBe(Ipv4.BadChecksum)
    })

    it("Ethernet padding after the total length is allowed and not payload", () => {
      const bytes = frame("udp_datagram")
      const padded = new Uint8Array(60)
      padded.set(bytes)
      const p = ok(Ipv4.Packet.checked(padded, IP_AT))
      expect(p.totalLength).toBe(41)
      expect(p.payloadLength).toBe(21)
      expect(Ipv4.parse(padded, IP_AT)).toEqual(Ipv4.parse(bytes, IP_AT))
    })
  })

  describe("emit", () => {
    it.each(withoutOptions)("reproduces %s byte for byte (header + copied payload)", (name, repr) => {
      const bytes = frame(name)
      expect(Ipv4.bufferLen(repr)).toBe(20)
      const out = new Uint8Array(bytes.length)
      out.set(bytes.subarray(0, IP_AT))
      Ipv4.emit(repr, out, IP_AT)
      out.set(bytes.subarray(IP_AT + 20), IP_AT + 20)
      expect(toHex(out)).toBe(toHex(bytes))
    })

    it("the record-route packet re-emits without options: same fields, 20-byte header", () => {
      const bytes = frame("icmp_echo_request_record_route")
      const repr = ok(Ipv4.parse(bytes, IP_AT))
      const p = ok(Ipv4.Packet.checked(bytes, IP_AT))
      const out = new Uint8Array(20 + repr.payloadLength)
      Ipv4.emit(repr, out)
      out.set(bytes.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength), 20)
      expect(out[0]).toBe(0x45)
      expect(ok(Ipv4.Packet.checked(out)).totalLength).toBe(84)
      expect(Ipv4.parse(out)).toEqual(repr)
      expect(out.subarray(20)).toEqual(bytes.subarray(IP_AT + 60))
    })

    it("emitHeader with the raw flags word matches emit", () => {
      const [name, repr] = withoutOptions.find(([n]) => n === "ipv4_fragment_middle_request")!
      const bytes = frame(name)
      const out = new Uint8Array(20)
      Ipv4.emitHeader(out, 0, repr.src, repr.dst, repr.protocol, repr.payloadLength, repr.ttl, repr.ident, repr.dscpEcn, Ipv4.Flags.MoreFragments | (1480 / 8))
      expect(out).toEqual(bytes.subarray(IP_AT, IP_AT + 20))
    })

    it("decrementing the TTL and refilling the checksum gives a valid header", () => {
      const bytes = frame("icmp_echo_request")
      const p = ok(Ipv4.Packet.checked(bytes, IP_AT))
      p.ttl = p.ttl - 1
      expect(p.verifyChecksum()).toBe(false)
      p.fillChecksum()
      expect(p.verifyChecksum()).toBe(true)
      expect(p.checksum).toBe(0xe6d0) // RFC 1624: TTL −1 in the high byte adds 0x0100
      expect(ok(Ipv4.parse(bytes, IP_AT)).ttl).toBe(63)
    })
  })

  describe("malformed", () => {
    it("every length below 20 is Truncated", () => {
      const bytes = frame("icmp_echo_request")
      for (let len = 0; len < 20; len++) {
        expect(Ipv4.parse(bytes, IP_AT, len)).toBe(Ipv4.Truncated)
        expect(Ipv4.parse(bytes.slice(IP_AT, IP_AT + len))).toBe(Ipv4.Truncated)
      }
      expect(Ipv4.parse(bytes, IP_AT, bytes.length)).toBe(Ipv4.Truncated) // runs past the buffer
      expect(Ipv4.parse(bytes, -IP_AT)).toBe(Ipv4.Truncated)
    })

    it.each([0, 1, 5, 6, 15])("version %d is BadVersion", (version) => {
      const bytes = frame("icmp_echo_request")
      bytes[IP_AT] = (version << 4) | 5
      refill(bytes)
      expect(Ipv4.parse(bytes, IP_AT)).toBe(Ipv4.BadVersion)
    })

    it.each([0, 1, 4])("IHL %d (header shorter than 20 bytes) is BadHeaderLength", (ihl) => {
      const bytes = frame("icmp_echo_request")
      bytes[IP_AT] = 0x40 | ihl
      expect(Ipv4.parse(bytes, IP_AT)).toBe(Ipv4.BadHeaderLength)
    })

    it("a header longer than the bytes is BadHeaderLength", () => {
      const bytes = frame("icmp_echo_request_record_route")
      for (let len = 20; len < 60; len++) expect(Ipv4.parse(bytes, IP_AT, len)).toBe(Ipv4.BadHeaderLength)
      const short = frame("icmp_echo_request").slice(IP_AT, IP_AT + 40)
      short[0] = 0x4f // IHL 15 = 60 bytes in a 40-byte buffer
      expect(Ipv4.parse(short)).toBe(Ipv4.BadHeaderLength)
    })

    it("a total length longer than the bytes is BadTotalLength", () => {
      const bytes = frame("icmp_echo_request")
      for (const cut of [1, 2, 63, 64]) expect(Ipv4.parse(bytes, IP_AT, 84 - cut)).toBe(Ipv4.BadTotalLength)
      bytes[IP_AT + 2] = 0x00
      bytes[IP_AT + 3] = 85
      refill(bytes)
      expect(Ipv4.parse(bytes, IP_AT)).toBe(Ipv4.BadTotalLength)
      bytes[IP_AT + 2] = 0xff
      bytes[IP_AT + 3] = 0xff
      refill(bytes)
      expect(Ipv4.parse(bytes, IP_AT)).toBe(Ipv4.BadTotalLength)
    })

    it("a total length shorter than the header is BadTotalLength", () => {
      for (const [name, tl] of [["icmp_echo_request", 19], ["icmp_echo_request", 0], ["icmp_echo_request_record_route", 59]] as const) {
        const bytes = frame(name)
        bytes[IP_AT + 2] = 0
        bytes[IP_AT + 3] = tl
        refill(bytes)
        expect(Ipv4.parse(bytes, IP_AT)).toBe(Ipv4.BadTotalLength)
      }
    })

    it("a total length equal to the header length is an empty payload", () => {
      const bytes = frame("icmp_echo_request").slice(0, IP_AT + 20)
      bytes[IP_AT + 2] = 0
      bytes[IP_AT + 3] = 20
      refill(bytes)
      expect(ok(Ipv4.parse(bytes, IP_AT)).payloadLength).toBe(0)
    })

    it("any single flipped header bit is BadChecksum (or a length/version error)", () => {
      const original = frame("udp_datagram")
      for (let bit = 0; bit < 160; bit++) {
        const bytes = original.slice()
        bytes[IP_AT + (bit >>> 3)] ^= 0x80 >>> (bit & 7)
        const result = Ipv4.parse(bytes, IP_AT)
        expect(isMalformed(result), `bit ${bit}`).toBe(true)
        if (bit >= 32) expect(result, `bit ${bit}`).toBe(Ipv4.BadChecksum)
      }
    })

    it("checked does not verify the checksum; parse does", () => {
      const bytes = frame("icmp_echo_request")
      bytes[IP_AT + 10] ^= 0xff
      expect(isMalformed(Ipv4.Packet.checked(bytes, IP_AT))).toBe(false)
      expect(Ipv4.parse(bytes, IP_AT)).toBe(Ipv4.BadChecksum)
    })
  })

  describe("properties", () => {
    const arbitraryRepr: FastCheck.Arbitrary<Ipv4.Repr> = FastCheck.record({
      src: arbitraryIpv4,
      dst: arbitraryIpv4,
      protocol: FastCheck.integer({ min: 0, max: 255 }),
      payloadLength: FastCheck.integer({ min: 0, max: 1500 }),
      ttl: FastCheck.integer({ min: 0, max: 255 }),
      ident: FastCheck.integer({ min: 0, max: 0xffff }),
      dscpEcn: FastCheck.integer({ min: 0, max: 255 }),
      dontFragment: FastCheck.boolean(),
      moreFragments: FastCheck.boolean(),
      fragmentOffset: FastCheck.integer({ min: 0, max: 0x1fff }).map((units) => units * 8)
    })

    it("emit → parse is the identity", () => {
      FastCheck.assert(
        FastCheck.property(arbitraryRepr, FastCheck.nat(8), (repr, at) => {
          const out = new Uint8Array(at + Ipv4.bufferLen(repr) + repr.payloadLength)
          Ipv4.emit(repr, out, at)
          expect(Ipv4.parse(out, at)).toEqual(repr)
        })
      )
    })

    it("the largest packet: total length 65535", () => {
      const repr: Ipv4.Repr = { src: IP_A, dst: IP_B, protocol: 17, payloadLength: 65515, ttl: 1, ident: 0xffff, dscpEcn: 0xff, dontFragment: false, moreFragments: true, fragmentOffset: 0x1fff * 8 }
      const out = new Uint8Array(65535)
      Ipv4.emit(repr, out)
      expect(ok(Ipv4.Packet.checked(out)).totalLength).toBe(65535)
      expect(Ipv4.parse(out)).toEqual(repr)
    })

    it("parse and checked never throw; a checked view stays inside the bytes", () => {
      FastCheck.assert(
        FastCheck.property(arbitrarySlice, ([bytes, offset, length]) => {
          const repr = Ipv4.parse(bytes, offset, length)
          const p = Ipv4.Packet.checked(bytes, offset, length)
          if (isMalformed(p)) {
            expect(isMalformed(repr)).toBe(true)
            return
          }
          expect(offset).toBeGreaterThanOrEqual(0)
          expect(p.payloadOffset).toBeGreaterThanOrEqual(offset + 20)
          expect(p.payloadOffset + p.payloadLength).toBeLessThanOrEqual(offset + length)
          expect(p.payloadLength).toBeGreaterThanOrEqual(0)
          for (const v of [p.ident, p.ttl, p.protocol, p.checksum, p.src, p.dst, p.dscpEcn, p.fragmentOffset]) {
            expect(Number.isInteger(v)).toBe(true)
          }
          expect(isMalformed(repr) ? repr : "ok").toBe(p.verifyChecksum() ? "ok" : Ipv4.BadChecksum)
        })
      )
    })

    it("parse accepts every valid header under random garbage payload bytes", () => {
      FastCheck.assert(
        FastCheck.property(arbitraryRepr, FastCheck.uint8Array({ maxLength: 1500 }), (repr, garbage) => {
          const out = new Uint8Array(20 + repr.payloadLength + 16)
          out.set(garbage.subarray(0, out.length - 20), 20)
          Ipv4.emit(repr, out)
          expect(Ipv4.parse(out)).toEqual(repr)
        })
      )
    })
  })
})
