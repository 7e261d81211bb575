/**
 * Ethernet II on frames captured from Linux: header fields, emit byte for
 * byte, truncation, round trips and robustness on arbitrary bytes.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import { MAC_BROADCAST } from "../../../src/protocols/address.js"
import * as Ethernet from "../../../src/protocols/ethernet.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import { allFrames, arbitraryMac, arbitrarySlice, frame, fromHex, MAC_A, MAC_B, ok } from "./frames.js"

describe("Ethernet", () => {
  describe("parse (captured frames)", () => {
    it("ARP request: broadcast from A, EtherType 0x0806", () => {
      const bytes = frame("arp_request")
      const p = ok(Ethernet.Packet.checked(bytes))
      expect(p.dst).toEqual(MAC_BROADCAST)
      expect(p.src).toEqual(MAC_A)
      expect(p.ethertype).toBe(Ethernet.EtherType.Arp)
      expect(p.payloadOffset).toBe(14)
      expect(p.payloadLength).toBe(28) // veth does not pad to 60 bytes
      expect(p.dstEquals(MAC_BROADCAST)).toBe(true)
      expect(p.dstEquals(MAC_A)).toBe(false)
      expect(Ethernet.parse(p)).toEqual({ dst: MAC_BROADCAST, src: MAC_A, ethertype: 0x0806 })
    })

    it("ARP reply: unicast B → A", () => {
      const repr = Ethernet.parse(ok(Ethernet.Packet.checked(frame("arp_reply"))))
      expect(repr).toEqual({ dst: MAC_A, src: MAC_B, ethertype: Ethernet.EtherType.Arp })
    })

    it("IPv4 frames: EtherType 0x0800 and the whole rest as payload", () => {
      const p = ok(Ethernet.Packet.checked(frame("ipv4_fragment_first_request")))
      expect(p.ethertype).toBe(Ethernet.EtherType.Ipv4)
      expect(p.dst).toEqual(MAC_B)
      expect(p.src).toEqual(MAC_A)
      expect(p.length).toBe(1514)
      expect(p.payloadLength).toBe(1500)
    })

    it("the parsed addresses are copies, not views of the frame", () => {
      const bytes = frame("arp_reply")
      const repr = Ethernet.parse(ok(Ethernet.Packet.checked(bytes)))
      bytes.fill(0)
      expect(repr.src).toEqual(MAC_B)
    })

    it("a frame inside a larger buffer (offset, length)", () => {
      const inner = frame("arp_request")
      const outer = new Uint8Array(inner.length + 10).fill(0xee)
      outer.set(inner, 3)
      const p = ok(Ethernet.Packet.checked(outer, 3, inner.length))
      expect(p.ethertype).toBe(0x0806)
      expect(p.payloadOffset).toBe(17)
      expect(p.payloadLength).toBe(28)
    })
  })

  describe("emit", () => {
    it.each(allFrames())("reproduces the header of %s byte for byte", (_name, bytes) => {
      const repr = Ethernet.parse(ok(Ethernet.Packet.checked(bytes)))
      const out = new Uint8Array(Ethernet.bufferLen(bytes.length - 14))
      expect(out.length).toBe(bytes.length)
      Ethernet.emit(repr, out)
      out.set(bytes.subarray(14), 14)
      expect(out).toEqual(bytes)
    })

    it("emitHeader at an offset writes only its 14 bytes", () => {
      const out = new Uint8Array(20).fill(0xaa)
      Ethernet.emitHeader(out, 3, MAC_B, MAC_A, 0x0806)
      expect(out).toEqual(fromHex("aaaaaa 0200004e0002 0200004e0001 0806 aaaaaa"))
    })

    it("setters write the fields in place", () => {
      const bytes = frame("arp_request")
      const p = new Ethernet.Packet(bytes)
      p.dst = MAC_A
      p.src = MAC_B
      p.ethertype = 0x86dd
      expect(bytes.subarray(0, 14)).toEqual(fromHex("0200004e0001 0200004e0002 86dd"))
    })
  })

  describe("malformed", () => {
    it("every length below 14 is Truncated", () => {
      const bytes = frame("arp_request")
      for (let len = 0; len < 14; len++) {
        expect(Ethernet.Packet.checked(bytes.slice(0, len))).toBe(Ethernet.Truncated)
        expect(Ethernet.Packet.checked(bytes, 0, len)).toBe(Ethernet.Truncated)
      }
      expect(isMalformed(Ethernet.Packet.checked(bytes.slice(0, 14)))).toBe(false)
    })

    it("a length running past the buffer is Truncated", () => {
      const bytes = frame("arp_request")
      expect(Ethernet.Packet.checked(bytes, 0, bytes.length + 1)).toBe(Ethernet.Truncated)
      expect(Ethernet.Packet.checked(bytes, 30, 14)).toBe(Ethernet.Truncated)
    })

    it("a negative offset is Truncated", () => {
      const bytes = frame("arp_request")
      expect(Ethernet.Packet.checked(bytes, -1)).toBe(Ethernet.Truncated)
      expect(Ethernet.Packet.checked(bytes, -2, 20)).toBe(Ethernet.Truncated)
    })
  })

  describe("properties", () => {
    it("emit → parse is the identity", () => {
      FastCheck.assert(
        FastCheck.property(
          arbitraryMac,
          arbitraryMac,
          FastCheck.integer({ min: 0, max: 0xffff }),
          FastCheck.nat(64),
          (dst, src, ethertype, payloadLength) => {
            const repr: Ethernet.Repr = { dst, src, ethertype }
            const out = new Uint8Array(Ethernet.bufferLen(payloadLength))
            Ethernet.emit(repr, out)
            const p = ok(Ethernet.Packet.checked(out))
            expect(Ethernet.parse(p)).toEqual(repr)
            expect(p.payloadLength).toBe(payloadLength)
          }
        )
      )
    })

    it("checked never throws, and every getter of a checked view stays in range", () => {
      FastCheck.assert(
        FastCheck.property(arbitrarySlice, ([bytes, offset, length]) => {
          const p = Ethernet.Packet.checked(bytes, offset, length)
          if (isMalformed(p)) return
          expect(offset).toBeGreaterThanOrEqual(0)
          expect(offset + length).toBeLessThanOrEqual(bytes.length)
          expect(Number.isInteger(p.ethertype)).toBe(true)
          expect(p.dst.length).toBe(6)
          expect(p.src.length).toBe(6)
          expect(p.payloadLength).toBeGreaterThanOrEqual(0)
          expect(p.payloadOffset + p.payloadLength).toBeLessThanOrEqual(bytes.length)
          Ethernet.parse(p)
        })
      )
    })
  })
})
