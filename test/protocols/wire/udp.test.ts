/**
 * UDP (RFC 768) on datagrams captured from Linux: one with an odd payload
 * length, one sent without a checksum (SO_NO_CHECK), one to a closed port;
 * length and checksum failures, the zero → 0xffff rule, round trips.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import * as Ipv4 from "../../../src/protocols/ipv4.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import * as Udp from "../../../src/protocols/udp.js"
import { arbitraryIpv4, arbitrarySlice, ascii, frame, type FrameName, IP_A, IP_AT, IP_B, ok, toHex } from "./frames.js"

const UDP_AT = IP_AT + 20

/** The UDP datagram of a captured frame and its IP addresses. */
const udpOf = (name: FrameName) => {
  const bytes = frame(name)
  const ip = ok(Ipv4.parse(bytes, IP_AT))
  return { bytes, length: ip.payloadLength, src: ip.src, dst: ip.dst }
}

const checksumAt = (bytes: Uint8Array, at: number) => (bytes[at + 6]! << 8) | bytes[at + 7]!

const captured = [
  ["udp_datagram", 40000, 7, "hello, isla!\n", 0x0be9],
  ["udp_no_checksum", 40001, 7, "no checksum\n", 0x0000],
  ["udp_closed_port", 40002, 9, "anyone there?\n", 0xcb4b]
] as const

describe("Udp", () => {
  describe("parse (captured frames)", () => {
    it.each(captured)("%s: %d → %d", (name, srcPort, dstPort, text, checksum) => {
      const { bytes, length, src, dst } = udpOf(name)
      expect([src, dst]).toEqual([IP_A, IP_B])
      const p = ok(Udp.Packet.checked(bytes, UDP_AT, length))
      expect(p.srcPort).toBe(srcPort)
      expect(p.dstPort).toBe(dstPort)
      expect(p.lengthField).toBe(8 + text.length)
      expect(p.checksum).toBe(checksum)
      expect(p.verifyChecksum(src, dst)).toBe(true)
      expect(p.payloadOffset).toBe(UDP_AT + 8)
      expect(p.payloadLength).toBe(text.length)
      expect(bytes.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)).toEqual(ascii(text))
      expect(Udp.parse(bytes, UDP_AT, length, src, dst)).toEqual({ srcPort, dstPort, payloadLength: text.length })
    })

    it("checksum 0 means none over IPv4 (RFC 768) and is accepted even for the wrong addresses", () => {
      const { bytes, length } = udpOf("udp_no_checksum")
      expect(ok(Udp.parse(bytes, UDP_AT, length, 0x01020304, 0x05060708)).payloadLength).toBe(12)
    })

    it("a length field shorter than the IP payload bounds the datagram", () => {
      const { bytes, length, src, dst } = udpOf("udp_no_checksum")
      const padded = new Uint8Array(bytes.length + 6)
      padded.set(bytes)
      expect(Udp.parse(padded, UDP_AT, length + 6, src, dst)).toEqual({ srcPort: 40001, dstPort: 7, payloadLength: 12 })
    })
  })

  describe("emit", () => {
    it.each(["udp_datagram", "udp_closed_port"] as const)("reproduces %s byte for byte", (name) => {
      const { bytes, length, src, dst } = udpOf(name)
      const repr = ok(Udp.parse(bytes, UDP_AT, length, src, dst))
      expect(Udp.bufferLen(repr)).toBe(length)
      const out = bytes.slice()
      out.fill(0xa5, UDP_AT, UDP_AT + 8)
      Udp.emit(repr, out, UDP_AT, src, dst)
      expect(toHex(out)).toBe(toHex(bytes))
    })

    it("the datagram sent without a checksum re-emits with one, which verifies", () => {
      const { bytes, length, src, dst } = udpOf("udp_no_checksum")
      const repr = ok(Udp.parse(bytes, UDP_AT, length, src, dst))
      const out = bytes.slice()
      Udp.emit(repr, out, UDP_AT, src, dst)
      expect(checksumAt(out, UDP_AT)).not.toBe(0)
      expect(ok(Udp.Packet.checked(out, UDP_AT, length)).verifyChecksum(src, dst)).toBe(true)
      out[UDP_AT + 6] = 0
      out[UDP_AT + 7] = 0
      expect(out).toEqual(bytes)
    })

    it("fillChecksum recomputes a captured checksum", () => {
      const { bytes, length, src, dst } = udpOf("udp_datagram")
      const p = ok(Udp.Packet.checked(bytes, UDP_AT, length))
      bytes[UDP_AT + 6] = 0
      bytes[UDP_AT + 7] = 0
      p.fillChecksum(src, dst)
      expect(p.checksum).toBe(0x0be9)
    })

    it("a computed checksum of zero is sent as 0xffff (RFC 768), and 0xffff verifies", () => {
      // Pick the last payload word so that the sum is 0xffff: the word is the checksum of the rest.
      const out = new Uint8Array(10)
      Udp.emitHeader(out, 0, 40000, 7, 2, IP_A, IP_B)
      const c = checksumAt(out, 0)
      out[8] = c >>> 8
      out[9] = c & 0xff
      expect(toHex(out.subarray(8))).toBe("4ef4")
      Udp.emitHeader(out, 0, 40000, 7, 2, IP_A, IP_B)
      expect(toHex(out)).toBe("9c400007000affff4ef4")
      const p = ok(Udp.Packet.checked(out))
      expect(p.verifyChecksum(IP_A, IP_B)).toBe(true)
      expect(Udp.parse(out, 0, 10, IP_A, IP_B)).toEqual({ srcPort: 40000, dstPort: 7, payloadLength: 2 })
      out[6] = 0x12
      p.fillChecksum(IP_A, IP_B)
      expect(p.checksum).toBe(0xffff)
    })
  })

  describe("malformed", () => {
    it("every length below 8 is Truncated", () => {
      const { bytes, src, dst } = udpOf("udp_datagram")
      for (let len = 0; len < 8; len++) {
        expect(Udp.parse(bytes, UDP_AT, len, src, dst)).toBe(Udp.Truncated)
        expect(Udp.parse(bytes.slice(UDP_AT, UDP_AT + len), 0, len, src, dst)).toBe(Udp.Truncated)
      }
      expect(Udp.parse(bytes, UDP_AT, 22, src, dst)).toBe(Udp.Truncated) // runs past the buffer
      expect(Udp.parse(bytes, -1, 8, src, dst)).toBe(Udp.Truncated)
    })

    it("a length field below 8 is BadLength", () => {
      for (let field = 0; field < 8; field++) {
        const { bytes, length, src, dst } = udpOf("udp_datagram")
        bytes[UDP_AT + 4] = 0
        bytes[UDP_AT + 5] = field
        expect(Udp.parse(bytes, UDP_AT, length, src, dst)).toBe(Udp.BadLength)
      }
    })

    it("a length field longer than the bytes is BadLength", () => {
      const { bytes, length, src, dst } = udpOf("udp_datagram")
      expect(Udp.parse(bytes, UDP_AT, length - 1, src, dst)).toBe(Udp.BadLength)
      expect(Udp.parse(bytes, UDP_AT, 8, src, dst)).toBe(Udp.BadLength)
      bytes[UDP_AT + 4] = 0xff
      bytes[UDP_AT + 5] = 0xff
      expect(Udp.parse(bytes, UDP_AT, length, src, dst)).toBe(Udp.BadLength)
    })

    it("a length field one short of the payload fails the checksum", () => {
      const { bytes, length, src, dst } = udpOf("udp_datagram")
      bytes[UDP_AT + 5] = length - 1
      expect(Udp.parse(bytes, UDP_AT, length, src, dst)).toBe(Udp.BadChecksum)
    })

    it("destination port 0 is ZeroPort", () => {
      const { bytes, length, src, dst } = udpOf("udp_datagram")
      bytes[UDP_AT + 2] = 0
      bytes[UDP_AT + 3] = 0
      expect(Udp.parse(bytes, UDP_AT, length, src, dst)).toBe(Udp.ZeroPort)
    })

    it("a flipped bit in header or payload is BadChecksum", () => {
      const { bytes, length, src, dst } = udpOf("udp_datagram")
      for (let bit = 0; bit < length * 8; bit++) {
        if (bit >= 16 && bit < 48) continue // destination port and length: their own errors
        const copy = bytes.slice()
        copy[UDP_AT + (bit >>> 3)] ^= 0x80 >>> (bit & 7)
        expect(Udp.parse(copy, UDP_AT, length, src, dst), `bit ${bit}`).toBe(Udp.BadChecksum)
      }
    })

    it("the pseudo-header binds the addresses and the checksum covers the odd last byte", () => {
      const { bytes, length, src, dst } = udpOf("udp_datagram")
      expect(Udp.parse(bytes, UDP_AT, length, src, 0x0a4e0003)).toBe(Udp.BadChecksum)
      expect(Udp.parse(bytes, UDP_AT, length, 0x0a4e0003, dst)).toBe(Udp.BadChecksum)
      bytes[UDP_AT + length - 1] = 0x0b // "\n" → 0x0b in the padded last word
      expect(Udp.parse(bytes, UDP_AT, length, src, dst)).toBe(Udp.BadChecksum)
    })
  })

  describe("properties", () => {
    it("emit → parse is the identity, and the checksum field is never 0", () => {
      FastCheck.assert(
        FastCheck.property(
          FastCheck.integer({ min: 0, max: 0xffff }),
          FastCheck.integer({ min: 1, max: 0xffff }),
          FastCheck.uint8Array({ maxLength: 1472 }),
          arbitraryIpv4,
          arbitraryIpv4,
          FastCheck.nat(6),
          (srcPort, dstPort, payload, src, dst, at) => {
            const repr: Udp.Repr = { srcPort, dstPort, payloadLength: payload.length }
            const out = new Uint8Array(at + Udp.bufferLen(repr))
            out.set(payload, at + Udp.HEADER_LEN)
            Udp.emit(repr, out, at, src, dst)
            expect(checksumAt(out, at)).not.toBe(0)
            expect(Udp.parse(out, at, out.length - at, src, dst)).toEqual(repr)
            expect(out.subarray(at + 8)).toEqual(payload)
          }
        )
      )
    })

    it("parse and checked never throw on arbitrary bytes, offsets and lengths", () => {
      FastCheck.assert(
        FastCheck.property(arbitrarySlice, arbitraryIpv4, arbitraryIpv4, ([bytes, offset, length], src, dst) => {
          const repr = Udp.parse(bytes, offset, length, src, dst)
          const p = Udp.Packet.checked(bytes, offset, length)
          if (isMalformed(p)) {
            expect(repr).toBe(p)
            return
          }
          expect(offset).toBeGreaterThanOrEqual(0)
          expect(p.payloadLength).toBeGreaterThanOrEqual(0)
          expect(p.payloadOffset + p.payloadLength).toBeLessThanOrEqual(offset + length)
          expect(isMalformed(repr) ? repr : "ok").toBe(p.verifyChecksum(src, dst) ? "ok" : Udp.BadChecksum)
        })
      )
    })
  })
})
