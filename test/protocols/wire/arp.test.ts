/**
 * ARP (RFC 826) on the request and reply Linux exchanged before a ping:
 * fields, emit byte for byte, unsupported types, truncation, round trips.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import { MAC_ZERO } from "../../../src/protocols/address.js"
import * as Arp from "../../../src/protocols/arp.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import { arbitraryIpv4, arbitraryMac, arbitrarySlice, frame, IP_A, IP_B, MAC_A, MAC_B, ok } from "./frames.js"

const ARP_AT = 14

describe("Arp", () => {
  describe("parse (captured frames)", () => {
    it("request: who-has 10.78.0.2 tell 10.78.0.1", () => {
      const bytes = frame("arp_request")
      const p = ok(Arp.Packet.checked(bytes, ARP_AT))
      expect(p.htype).toBe(1)
      expect(p.ptype).toBe(0x0800)
      expect(p.hlen).toBe(6)
      expect(p.plen).toBe(4)
      expect(p.operation).toBe(Arp.Operation.Request)
      expect(Arp.parse(bytes, ARP_AT)).toEqual({
        operation: Arp.Operation.Request,
        sha: MAC_A,
        spa: IP_A,
        tha: MAC_ZERO,
        tpa: IP_B
      })
    })

    it("reply: 10.78.0.2 is-at 02:00:00:4e:00:02", () => {
      expect(Arp.parse(frame("arp_reply"), ARP_AT)).toEqual({
        operation: Arp.Operation.Reply,
        sha: MAC_B,
        spa: IP_B,
        tha: MAC_A,
        tpa: IP_A
      })
    })

    it("Ethernet padding after the 28 bytes is ignored", () => {
      const padded = new Uint8Array(60)
      padded.set(frame("arp_reply"))
      expect(Arp.parse(padded, ARP_AT)).toEqual(Arp.parse(frame("arp_reply"), ARP_AT))
    })

    it("the parsed addresses are copies", () => {
      const bytes = frame("arp_reply")
      const repr = ok(Arp.parse(bytes, ARP_AT))
      bytes.fill(0)
      expect(repr.sha).toEqual(MAC_B)
      expect(repr.tha).toEqual(MAC_A)
    })
  })

  describe("emit", () => {
    it.each(["arp_request", "arp_reply"] as const)("reproduces %s byte for byte", (name) => {
      const bytes = frame(name)
      const repr = ok(Arp.parse(bytes, ARP_AT))
      expect(Arp.bufferLen(repr)).toBe(28)
      const out = new Uint8Array(bytes.length)
      out.set(bytes.subarray(0, ARP_AT))
      Arp.emit(repr, out, ARP_AT)
      expect(out).toEqual(bytes)
    })

    it("emitParts builds the reply Linux sent", () => {
      const bytes = frame("arp_reply")
      const out = bytes.slice()
      out.fill(0, ARP_AT)
      Arp.emitParts(out, ARP_AT, Arp.Operation.Reply, MAC_B, IP_B, MAC_A, IP_A)
      expect(out).toEqual(bytes)
    })
  })

  describe("malformed", () => {
    it("every length below 28 is Truncated", () => {
      const bytes = frame("arp_request")
      for (let len = 0; len < 28; len++) {
        expect(Arp.parse(bytes, ARP_AT, len)).toBe(Arp.Truncated)
        expect(Arp.parse(bytes.slice(ARP_AT, ARP_AT + len))).toBe(Arp.Truncated)
      }
      expect(Arp.parse(bytes, ARP_AT, 29)).toBe(Arp.Truncated) // runs past the buffer
      expect(Arp.parse(bytes, -1, 28)).toBe(Arp.Truncated)
    })

    it.each([
      ["hardware type 6 (IEEE 802)", 0, 0x00, 0x06],
      ["protocol type IPv6", 2, 0x86, 0xdd],
      ["hardware address length 8", 4, 0x08, 0x04],
      ["protocol address length 16", 4, 0x06, 0x10]
    ] as const)("%s is Unsupported", (_what, at, hi, lo) => {
      const bytes = frame("arp_request")
      bytes[ARP_AT + at] = hi
      bytes[ARP_AT + at + 1] = lo
      expect(Arp.parse(bytes, ARP_AT)).toBe(Arp.Unsupported)
    })

    it.each([0, 3, 8, 0x0101])("operation %d is BadOperation", (op) => {
      const bytes = frame("arp_request")
      bytes[ARP_AT + 6] = op >>> 8
      bytes[ARP_AT + 7] = op & 0xff
      expect(Arp.parse(bytes, ARP_AT)).toBe(Arp.BadOperation)
    })
  })

  describe("properties", () => {
    it("emit → parse is the identity", () => {
      FastCheck.assert(
        FastCheck.property(
          FastCheck.constantFrom(Arp.Operation.Request, Arp.Operation.Reply),
          arbitraryMac,
          arbitraryIpv4,
          arbitraryMac,
          arbitraryIpv4,
          (operation, sha, spa, tha, tpa) => {
            const repr: Arp.Repr = { operation, sha, spa, tha, tpa }
            const out = new Uint8Array(Arp.bufferLen(repr))
            Arp.emit(repr, out)
            expect(Arp.parse(out)).toEqual(repr)
          }
        )
      )
    })

    it("parse and checked never throw on arbitrary bytes, offsets and lengths", () => {
      FastCheck.assert(
        FastCheck.property(arbitrarySlice, ([bytes, offset, length]) => {
          const repr = Arp.parse(bytes, offset, length)
          const p = Arp.Packet.checked(bytes, offset, length)
          expect(isMalformed(repr)).toBe(isMalformed(p))
          if (isMalformed(p) || isMalformed(repr)) return
          expect(offset).toBeGreaterThanOrEqual(0)
          expect(offset + length).toBeLessThanOrEqual(bytes.length)
          expect(repr.sha.length).toBe(6)
          expect(repr.tha.length).toBe(6)
          expect(Number.isInteger(repr.spa) && Number.isInteger(repr.tpa)).toBe(true)
        })
      )
    })
  })
})
