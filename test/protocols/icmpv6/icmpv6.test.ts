import { describe, expect, it } from "vitest"
import * as fc from "effect/FastCheck"
import * as Icmpv6 from "../../../src/protocols/ipv6/icmpv6.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import { allMessages, arbitrarySlice, GLOBAL_R, LL_H, LL_R, message, ok, SLAAC_H, toHex, v6 } from "./frames.js"

const emitted = (repr: Icmpv6.Repr, src: Uint8Array, dst: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Icmpv6.bufferLen(repr))
  Icmpv6.emit(repr, src, dst, out)
  return out
}

describe("Icmpv6 on captured messages", () => {
  it("every captured checksum verifies with its pseudo-header addresses", () => {
    for (const name of allMessages()) {
      const m = message(name)
      const p = Icmpv6.Packet.checked(m.bytes)
      if (!(p instanceof Icmpv6.Packet)) throw new Error(`${name}: ${p.reason}`)
      expect(p.verifyChecksum(m.src, m.dst), name).toBe(true)
      // Swapped addresses sum the same; another address must not.
      expect(p.verifyChecksum(m.src, v6("fd00:78::99")), name).toBe(false)
    }
  })

  it("fillChecksum reproduces every captured checksum", () => {
    for (const name of allMessages()) {
      const m = message(name)
      const copy = m.bytes.slice()
      copy[2] = 0xde
      copy[3] = 0xad
      new Icmpv6.Packet(copy).fillChecksum(m.src, m.dst)
      expect(toHex(copy), name).toBe(toHex(m.bytes))
    }
  })

  it("parses the kernel's echo request and reply (ping -6)", () => {
    const req = message("echo_request")
    expect(req.src).toEqual(SLAAC_H)
    expect(req.dst).toEqual(GLOBAL_R)
    const r = ok(Icmpv6.parse(req.bytes, req.src, req.dst))
    expect(r).toMatchObject({ _tag: "EchoRequest", ident: 0x4f18, seqNo: 1 })
    if (r._tag !== "EchoRequest") throw new Error()
    expect(r.data.length).toBe(56)
    expect(toHex(r.data.subarray(16))).toBe(toHex(Uint8Array.from({ length: 40 }, (_, i) => 0x10 + i)))

    const rep = message("echo_reply")
    const reply = ok(Icmpv6.parse(rep.bytes, rep.src, rep.dst))
    expect(reply).toMatchObject({ _tag: "EchoReply", ident: 0x4f18, seqNo: 1 })
    if (reply._tag !== "EchoReply") throw new Error()
    expect(toHex(reply.data)).toBe(toHex(r.data))

    const ll = message("echo_request_link_local")
    expect(ll.src).toEqual(LL_H)
    expect(ll.dst).toEqual(LL_R)
    expect(ok(Icmpv6.parse(ll.bytes, ll.src, ll.dst))).toMatchObject({ _tag: "EchoRequest", ident: 0x4f1a, seqNo: 1 })
  })

  it("emits the kernel's echo reply byte for byte from the parsed request", () => {
    for (const [q, a] of [["echo_request", "echo_reply"], ["echo_request_link_local", "echo_reply_link_local"]] as const) {
      const req = message(q)
      const r = ok(Icmpv6.parse(req.bytes, req.src, req.dst))
      if (r._tag !== "EchoRequest") throw new Error()
      const reply: Icmpv6.Repr = { _tag: "EchoReply", ident: r.ident, seqNo: r.seqNo, data: r.data }
      expect(toHex(emitted(reply, req.dst, req.src))).toBe(toHex(message(a).bytes))
      expect(toHex(emitted(r, req.src, req.dst))).toBe(toHex(req.bytes))
    }
  })

  it("parses and re-emits the kernel's port unreachable with its quote", () => {
    const m = message("port_unreachable")
    const r = ok(Icmpv6.parse(m.bytes, m.src, m.dst))
    expect(r._tag).toBe("DstUnreachable")
    if (r._tag !== "DstUnreachable") throw new Error()
    expect(r.code).toBe(Icmpv6.Unreachable.Port)
    // The quote is the offending IPv6 packet: version 6, next header UDP, to fd00:78::1 port 9.
    expect(r.quote[0]! >> 4).toBe(6)
    expect(r.quote[6]).toBe(17)
    expect(r.quote.subarray(24, 40)).toEqual(GLOBAL_R)
    expect((r.quote[42]! << 8) | r.quote[43]!).toBe(9)
    expect(new TextDecoder().decode(r.quote.subarray(48))).toBe("isla icmpv6 port unreachable")
    expect(toHex(emitted(r, m.src, m.dst))).toBe(toHex(m.bytes))
  })

  it("parses NDP and MLD types as Other", () => {
    for (const name of ["rs", "ra", "ns", "na", "dad_ns", "mldv2_report"] as const) {
      const m = message(name)
      const r = ok(Icmpv6.parse(m.bytes, m.src, m.dst))
      expect(r._tag, name).toBe("Other")
      expect(toHex(emitted(r, m.src, m.dst)), name).toBe(toHex(m.bytes))
    }
  })
})

describe("Icmpv6 errors", () => {
  const src = GLOBAL_R
  const dst = SLAAC_H

  it("clips the quote so the message with its IPv6 header fits 1280 bytes (RFC 4443 §2.4(c))", () => {
    const quote = Uint8Array.from({ length: 1500 }, (_, i) => i & 0xff)
    for (const repr of [
      { _tag: "DstUnreachable", code: 4, quote },
      { _tag: "PacketTooBig", mtu: 1280, quote },
      { _tag: "TimeExceeded", code: 0, quote },
      { _tag: "ParamProblem", code: 1, pointer: 40, quote }
    ] as const) {
      expect(Icmpv6.bufferLen(repr)).toBe(1240)
      const out = emitted(repr, src, dst)
      expect(40 + out.length).toBe(Icmpv6.MIN_MTU)
      const back = ok(Icmpv6.parse(out, src, dst))
      expect(back).toMatchObject({ ...repr, quote: quote.subarray(0, Icmpv6.MAX_QUOTE_LEN) })
    }
    const short = { _tag: "TimeExceeded", code: 1, quote: quote.subarray(0, 100) } as const
    expect(Icmpv6.bufferLen(short)).toBe(108)
  })

  it("writes the packet-too-big MTU and the parameter-problem pointer as 32 bits", () => {
    const ptb = emitted({ _tag: "PacketTooBig", mtu: 0x12345678, quote: new Uint8Array(4) }, src, dst)
    expect(toHex(ptb.subarray(0, 2))).toBe("0200")
    expect(toHex(ptb.subarray(4, 8))).toBe("12345678")
    const pp = emitted({ _tag: "ParamProblem", code: 2, pointer: 0x10203, quote: new Uint8Array(4) }, src, dst)
    expect(toHex(pp.subarray(0, 2))).toBe("0402")
    expect(toHex(pp.subarray(4, 8))).toBe("00010203")
    expect(Icmpv6.isError(1)).toBe(true)
    expect(Icmpv6.isError(128)).toBe(false)
  })
})

describe("Icmpv6 malformed input", () => {
  it("refuses truncated messages and bad checksums as values", () => {
    const m = message("echo_request")
    expect(Icmpv6.parse(m.bytes.subarray(0, 7), m.src, m.dst)).toBe(Icmpv6.Truncated)
    expect(Icmpv6.parse(m.bytes, m.src, m.dst, 0, m.bytes.length + 1)).toBe(Icmpv6.Truncated)
    expect(Icmpv6.parse(m.bytes, m.src, m.dst, -1)).toBe(Icmpv6.Truncated)
    expect(Icmpv6.parse(m.bytes, m.src, m.dst, 0, m.bytes.length - 1)).toBe(Icmpv6.BadChecksum)
    const bad = m.bytes.slice()
    bad[20] ^= 0x01
    expect(Icmpv6.parse(bad, m.src, m.dst)).toBe(Icmpv6.BadChecksum)
    expect(Icmpv6.parse(m.bytes, m.dst, v6("fd00:78::3"))).toBe(Icmpv6.BadChecksum)
  })

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(arbitrarySlice, fc.uint8Array({ minLength: 16, maxLength: 16 }), ([bytes, offset, length], addr) => {
        const r = Icmpv6.parse(bytes, addr, addr, offset, length)
        expect(isMalformed(r) || typeof r._tag === "string").toBe(true)
      })
    )
  })
})

const arbAddr = fc.uint8Array({ minLength: 16, maxLength: 16 })
const arbData = fc.uint8Array({ maxLength: 200 })
const arbRepr: fc.Arbitrary<Icmpv6.Repr> = fc.oneof(
  fc.record({ _tag: fc.constant("EchoRequest" as const), ident: fc.integer({ min: 0, max: 0xffff }), seqNo: fc.integer({ min: 0, max: 0xffff }), data: arbData }),
  fc.record({ _tag: fc.constant("EchoReply" as const), ident: fc.integer({ min: 0, max: 0xffff }), seqNo: fc.integer({ min: 0, max: 0xffff }), data: arbData }),
  fc.record({ _tag: fc.constant("DstUnreachable" as const), code: fc.integer({ min: 0, max: 255 }), quote: arbData }),
  fc.record({ _tag: fc.constant("PacketTooBig" as const), mtu: fc.integer({ min: 0, max: 0xffffffff }), quote: arbData }),
  fc.record({ _tag: fc.constant("TimeExceeded" as const), code: fc.integer({ min: 0, max: 255 }), quote: arbData }),
  fc.record({ _tag: fc.constant("ParamProblem" as const), code: fc.integer({ min: 0, max: 255 }), pointer: fc.integer({ min: 0, max: 0xffffffff }), quote: arbData }),
  fc.record({ _tag: fc.constant("Other" as const), type: fc.integer({ min: 130, max: 255 }), code: fc.integer({ min: 0, max: 255 }), rest: fc.integer({ min: 0, max: 0xffffffff }), data: arbData })
)

describe("Icmpv6 properties", () => {
  it("parse(emit(repr)) === repr at any offset", () => {
    fc.assert(
      fc.property(arbRepr, arbAddr, arbAddr, fc.integer({ min: 0, max: 9 }), (repr, src, dst, at) => {
        const buf = new Uint8Array(at + Icmpv6.bufferLen(repr) + 3)
        Icmpv6.emit(repr, src, dst, buf, at)
        expect(Icmpv6.parse(buf, src, dst, at, Icmpv6.bufferLen(repr))).toEqual(repr)
      })
    )
  })
})
