/**
 * ICMPv4 (RFC 792) on messages captured from Linux: echo request/reply (also
 * behind IPv4 options and split into fragments) and the port unreachable
 * that answered a datagram to a closed port.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import * as Icmpv4 from "../../../src/protocols/icmpv4.js"
import * as Ipv4 from "../../../src/protocols/ipv4.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import * as Udp from "../../../src/protocols/udp.js"
import { arbitrarySlice, ascii, frame, type FrameName, fromHex, IP_A, IP_AT, IP_B, ok, toHex } from "./frames.js"

/** The ICMP message of a captured frame: where it starts and how long it is (from the IP header). */
const icmpOf = (name: FrameName) => {
  const bytes = frame(name)
  const ip = ok(Ipv4.Packet.checked(bytes, IP_AT))
  return { bytes, at: ip.payloadOffset, length: ip.payloadLength }
}

/** ping's 56 data bytes: a struct timeval, then the byte values 0x10..0x37. */
const pingData = (timeval: string) => {
  const data = new Uint8Array(56)
  data.set(fromHex(timeval))
  for (let i = 16; i < 56; i++) data[i] = i
  return data
}

/** ping -s 4000's data: a struct timeval, then each byte's index mod 256. */
const bigPingData = () => {
  const data = new Uint8Array(4000)
  data.set(fromHex("25890a6b0000000095610c0000000000"))
  for (let i = 16; i < 4000; i++) data[i] = i & 0xff
  return data
}

/** The echo request reassembled from its three fragments (RFC 815 in the simplest case: in order, no gaps). */
const reassemble = (dir: "request" | "reply") => {
  const out = new Uint8Array(4008)
  for (const part of ["first", "middle", "last"] as const) {
    const bytes = frame(`ipv4_fragment_${part}_${dir}`)
    const ip = ok(Ipv4.Packet.checked(bytes, IP_AT))
    out.set(bytes.subarray(ip.payloadOffset, ip.payloadOffset + ip.payloadLength), ip.fragmentOffset)
  }
  return out
}

describe("Icmpv4", () => {
  describe("parse (captured frames)", () => {
    it("echo request: ident 0x1bfb, seq 1, 56 bytes of ping data", () => {
      const { bytes, at, length } = icmpOf("icmp_echo_request")
      const p = ok(Icmpv4.Packet.checked(bytes, at, length))
      expect(p.type).toBe(Icmpv4.Type.EchoRequest)
      expect(p.code).toBe(0)
      expect((bytes[at + 2]! << 8) | bytes[at + 3]!).toBe(0x8044)
      expect(p.verifyChecksum()).toBe(true)
      expect(p.ident).toBe(0x1bfb)
      expect(p.seqNo).toBe(1)
      expect(p.dataOffset).toBe(at + 8)
      expect(p.dataLength).toBe(56)
      expect(Icmpv4.parse(bytes, at, length)).toEqual({
        _tag: "EchoRequest",
        ident: 0x1bfb,
        seqNo: 1,
        data: pingData("25890a6b0000000061f80b0000000000")
      })
    })

    it("echo reply: same ident, seq and data, checksum 0x8844", () => {
      const { bytes, at, length } = icmpOf("icmp_echo_reply")
      expect((bytes[at + 2]! << 8) | bytes[at + 3]!).toBe(0x8844)
      expect(Icmpv4.parse(bytes, at, length)).toEqual({
        _tag: "EchoReply",
        ident: 0x1bfb,
        seqNo: 1,
        data: pingData("25890a6b0000000061f80b0000000000")
      })
    })

    it("echo request and reply behind record-route options", () => {
      const request = icmpOf("icmp_echo_request_record_route")
      expect(request.at).toBe(IP_AT + 60)
      expect(Icmpv4.parse(request.bytes, request.at, request.length)).toEqual({
        _tag: "EchoRequest",
        ident: 0x1c40,
        seqNo: 1,
        data: pingData("26890a6b0000000069000f0000000000")
      })
      const reply = icmpOf("icmp_echo_reply_record_route")
      expect(ok(Icmpv4.parse(reply.bytes, reply.at, reply.length))._tag).toBe("EchoReply")
    })

    it("port unreachable quotes the IP header and UDP datagram it answers", () => {
      const { bytes, at, length } = icmpOf("icmp_port_unreachable")
      expect(length).toBe(50)
      expect((bytes[at + 2]! << 8) | bytes[at + 3]!).toBe(0x11c3)
      const repr = ok(Icmpv4.parse(bytes, at, length))
      const sent = frame("udp_closed_port").subarray(IP_AT)
      expect(repr).toEqual({ _tag: "DstUnreachable", code: Icmpv4.Unreachable.Port, nextHopMtu: 0, quote: sent })
      if (repr._tag !== "DstUnreachable") return
      // The quote parses as the datagram A sent: 10.78.0.1:40002 → 10.78.0.2:9.
      const ip = ok(Ipv4.parse(repr.quote))
      expect(ip).toMatchObject({ src: IP_A, dst: IP_B, protocol: Udp.PROTOCOL, payloadLength: 22, ident: 0x13c0 })
      expect(Udp.parse(repr.quote, 20, 22, ip.src, ip.dst)).toEqual({ srcPort: 40002, dstPort: 9, payloadLength: 14 })
      expect(repr.quote.subarray(28)).toEqual(ascii("anyone there?\n"))
    })

    it("a fragment alone fails the checksum, which covers the whole message", () => {
      const { bytes, at, length } = icmpOf("ipv4_fragment_first_request")
      expect(Icmpv4.parse(bytes, at, length)).toBe(Icmpv4.BadChecksum)
    })

    it("the reassembled 4000-byte echo request and reply parse", () => {
      expect(Icmpv4.parse(reassemble("request"))).toEqual({ _tag: "EchoRequest", ident: 0x1bfd, seqNo: 1, data: bigPingData() })
      expect(Icmpv4.parse(reassemble("reply"))).toEqual({ _tag: "EchoReply", ident: 0x1bfd, seqNo: 1, data: bigPingData() })
    })
  })

  describe("emit", () => {
    it.each(["icmp_echo_request", "icmp_echo_reply", "icmp_echo_request_record_route", "icmp_echo_reply_record_route", "icmp_port_unreachable"] as const)(
      "reproduces %s byte for byte",
      (name) => {
        const { bytes, at, length } = icmpOf(name)
        const repr = ok(Icmpv4.parse(bytes, at, length))
        expect(Icmpv4.bufferLen(repr)).toBe(length)
        const out = bytes.slice()
        out.fill(0x5a, at)
        Icmpv4.emit(repr, out, at)
        expect(toHex(out)).toBe(toHex(bytes))
      }
    )

    it("reproduces the reassembled 4008-byte echo request", () => {
      const whole = reassemble("request")
      const out = new Uint8Array(whole.length)
      Icmpv4.emit(ok(Icmpv4.parse(whole)), out)
      expect(out).toEqual(whole)
    })

    it("answering in place: type 8 → 0 and a refilled checksum give Linux's reply", () => {
      for (const [request, reply] of [["icmp_echo_request", "icmp_echo_reply"], ["icmp_echo_request_record_route", "icmp_echo_reply_record_route"]] as const) {
        const q = icmpOf(request)
        const r = icmpOf(reply)
        const p = new Icmpv4.Packet(q.bytes, q.at, q.length)
        p.type = Icmpv4.Type.EchoReply
        p.fillChecksum()
        expect(toHex(q.bytes.subarray(q.at))).toBe(toHex(r.bytes.subarray(r.at)))
      }
    })

    it("odd data lengths checksum with a zero pad byte", () => {
      const repr: Icmpv4.Repr = { _tag: "EchoRequest", ident: 0x1234, seqNo: 0xabcd, data: ascii("odd") }
      const out = new Uint8Array(Icmpv4.bufferLen(repr))
      Icmpv4.emit(repr, out)
      expect(out.length).toBe(11)
      // 0800 + 1234 + abcd + 6f64 + 6400 = 19965 → 9966 → ~ = 6699
      expect(toHex(out)).toBe("080066991234abcd6f6464")
      expect(Icmpv4.parse(out)).toEqual(repr)
    })

    it("fragmentation needed carries the next-hop MTU (RFC 1191)", () => {
      const quote = frame("udp_datagram").subarray(IP_AT, IP_AT + 28)
      const repr: Icmpv4.Repr = { _tag: "DstUnreachable", code: Icmpv4.Unreachable.FragmentationNeeded, nextHopMtu: 1400, quote }
      const out = new Uint8Array(Icmpv4.bufferLen(repr))
      Icmpv4.emit(repr, out)
      expect(toHex(out.subarray(0, 2))).toBe("0304")
      expect(toHex(out.subarray(4, 8))).toBe("00000578")
      expect(ok(Icmpv4.Packet.checked(out)).nextHopMtu).toBe(1400)
      expect(Icmpv4.parse(out)).toEqual(repr)
    })

    it("parameter problem puts the pointer in the first byte after the checksum", () => {
      const quote = frame("udp_datagram").subarray(IP_AT, IP_AT + 28)
      const repr: Icmpv4.Repr = { _tag: "ParamProblem", code: 0, pointer: 9, quote }
      const out = new Uint8Array(Icmpv4.bufferLen(repr))
      Icmpv4.emit(repr, out)
      expect(toHex(out.subarray(4, 8))).toBe("09000000")
      expect(Icmpv4.parse(out)).toEqual(repr)
    })
  })

  describe("malformed", () => {
    it("every length below 8 is Truncated", () => {
      const { bytes, at } = icmpOf("icmp_echo_request")
      for (let len = 0; len < 8; len++) {
        expect(Icmpv4.parse(bytes, at, len)).toBe(Icmpv4.Truncated)
        expect(Icmpv4.parse(bytes.slice(at, at + len))).toBe(Icmpv4.Truncated)
      }
      expect(Icmpv4.parse(bytes, at, bytes.length - at + 1)).toBe(Icmpv4.Truncated)
      expect(Icmpv4.parse(bytes, -1, 8)).toBe(Icmpv4.Truncated)
    })

    it("a flipped bit anywhere in the message is BadChecksum", () => {
      const { bytes, at, length } = icmpOf("icmp_port_unreachable")
      for (let bit = 0; bit < length * 8; bit += 7) {
        const copy = bytes.slice()
        copy[at + (bit >>> 3)] ^= 0x80 >>> (bit & 7)
        expect(Icmpv4.parse(copy, at, length), `bit ${bit}`).toBe(Icmpv4.BadChecksum)
      }
    })

    it("a message cut short fails the checksum", () => {
      const { bytes, at, length } = icmpOf("icmp_echo_request")
      expect(Icmpv4.parse(bytes, at, length - 2)).toBe(Icmpv4.BadChecksum)
      expect(Icmpv4.parse(bytes, at, 8)).toBe(Icmpv4.BadChecksum)
    })
  })

  describe("properties", () => {
    const u16 = FastCheck.integer({ min: 0, max: 0xffff })
    const u8 = FastCheck.integer({ min: 0, max: 255 })
    const body = FastCheck.uint8Array({ maxLength: 120 })
    const arbitraryRepr: FastCheck.Arbitrary<Icmpv4.Repr> = FastCheck.oneof(
      FastCheck.record({ _tag: FastCheck.constant("EchoRequest" as const), ident: u16, seqNo: u16, data: body }),
      FastCheck.record({ _tag: FastCheck.constant("EchoReply" as const), ident: u16, seqNo: u16, data: body }),
      u8.chain((code) =>
        FastCheck.record({
          _tag: FastCheck.constant("DstUnreachable" as const),
          code: FastCheck.constant(code),
          nextHopMtu: code === Icmpv4.Unreachable.FragmentationNeeded ? u16 : FastCheck.constant(0),
          quote: body
        })
      ),
      FastCheck.record({
        _tag: FastCheck.constant("DstUnreachable" as const),
        code: FastCheck.constant(Icmpv4.Unreachable.FragmentationNeeded),
        nextHopMtu: u16,
        quote: body
      }),
      FastCheck.record({ _tag: FastCheck.constant("TimeExceeded" as const), code: u8, quote: body }),
      FastCheck.record({ _tag: FastCheck.constant("ParamProblem" as const), code: u8, pointer: u8, quote: body }),
      FastCheck.record({
        _tag: FastCheck.constant("Other" as const),
        type: u8.filter((t) => ![0, 3, 8, 11, 12].includes(t)),
        code: u8,
        rest: FastCheck.integer({ min: 0, max: 0xffffffff }),
        data: body
      })
    )

    it("emit → parse is the identity", () => {
      FastCheck.assert(
        FastCheck.property(arbitraryRepr, FastCheck.nat(6), (repr, at) => {
          const out = new Uint8Array(at + Icmpv4.bufferLen(repr))
          Icmpv4.emit(repr, out, at)
          expect(Icmpv4.parse(out, at)).toEqual(repr)
        })
      )
    })

    it("parse and checked never throw on arbitrary bytes, offsets and lengths", () => {
      FastCheck.assert(
        FastCheck.property(arbitrarySlice, ([bytes, offset, length]) => {
          const repr = Icmpv4.parse(bytes, offset, length)
          const p = Icmpv4.Packet.checked(bytes, offset, length)
          if (isMalformed(p)) {
            expect(repr).toBe(Icmpv4.Truncated)
            return
          }
          expect(offset).toBeGreaterThanOrEqual(0)
          expect(p.dataOffset + p.dataLength).toBeLessThanOrEqual(bytes.length)
          for (const v of [p.type, p.code, p.ident, p.seqNo, p.nextHopMtu]) expect(Number.isInteger(v)).toBe(true)
          if (!isMalformed(repr)) expect(Icmpv4.bufferLen(repr)).toBe(length)
        })
      )
    })
  })
})
