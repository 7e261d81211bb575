/**
 * IPv6 addresses: every RFC 4291 §2.2 text form, RFC 5952 canonical output,
 * the derived addresses (EUI-64 link-local, solicited-node, 33:33 MACs) and
 * round-trip properties over random bytes.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import * as A from "../../../src/protocols/ipv6/address.js"

const bytes = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16))
const arbitraryAddress = FastCheck.uint8Array({ minLength: 16, maxLength: 16 })
/** Addresses with long zero runs, where "::" placement matters. */
const arbitrarySparse = FastCheck.array(FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 0xffff })), {
  minLength: 8,
  maxLength: 8
}).map((words) => {
  const out = new Uint8Array(16)
  words.forEach((w, i) => {
    out[2 * i] = w >>> 8
    out[2 * i + 1] = w & 0xff
  })
  return out
})

describe("Ipv6Address", () => {
  it.each([
    ["2001:db8:0:0:1:0:0:1", "20010db8000000000001000000000001", "2001:db8::1:0:0:1"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "20010db8000000000000000000000001", "2001:db8::1"],
    ["::", "00000000000000000000000000000000", "::"],
    ["::1", "00000000000000000000000000000001", "::1"],
    ["fe80::", "fe800000000000000000000000000000", "fe80::"],
    ["ff02::1:ff00:1", "ff0200000000000000000001ff000001", "ff02::1:ff00:1"],
    ["2001:db8:0:1:1:1:1:1", "20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "20010000000000010000000000000001", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:0", "20010db8000000000001000000000000", "2001:db8:0:0:1::"],
    ["::ffff:192.0.2.1", "00000000000000000000ffffc0000201", "::ffff:192.0.2.1"],
    ["::13.1.68.3", "0000000000000000000000000d014403", "::d01:4403"],
    ["0:0:0:0:0:0:13.1.68.3", "0000000000000000000000000d014403", "::d01:4403"],
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221", "64:ff9b::c000:221"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000", "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", "00000002000300040005000600070008", "0:2:3:4:5:6:7:8"],
    ["fd00:77::1", "fd000077000000000000000000000001", "fd00:77::1"]
  ])("parses %s and formats it canonically", (text, hex, canonical) => {
    const a = A.parseIpv6(text)!
    expect(a).toEqual(bytes(hex))
    expect(A.formatIpv6(a)).toBe(canonical)
  })

  it.each([
    "",
    ":",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "12345::",
    "g::1",
    ":1::",
    "1:::2",
    "1:2:3:4:5:6:7:",
    "fe80::1%eth0",
    "[::1]",
    "::1.2.3",
    "::1.2.3.256",
    "::1.2.3.4:5",
    "1:2:3:4:5:6:7:1.2.3.4",
    " ::1"
  ])("rejects %j", (text) => expect(A.parseIpv6(text)).toBeUndefined())

  it("formats at an offset and compares in place", () => {
    const buf = new Uint8Array(40)
    A.writeIpv6(buf, 8, A.ALL_ROUTERS)
    A.writeIpv6(buf, 24, A.ALL_NODES)
    expect(A.formatIpv6(buf, 8)).toBe("ff02::2")
    expect(A.formatIpv6(buf, 24)).toBe("ff02::1")
    expect(A.ipv6Equals(buf, 24, A.ALL_NODES, 0)).toBe(true)
    expect(A.ipv6Equals(buf, 8, A.ALL_NODES, 0)).toBe(false)
    expect(A.readIpv6(buf, 8)).toEqual(A.ALL_ROUTERS)
    expect(A.formatIpv6(A.UNSPECIFIED)).toBe("::")
  })

  it("classifies addresses", () => {
    const p = (t: string) => A.parseIpv6(t)!
    expect(A.isMulticast(p("ff02::1"))).toBe(true)
    expect(A.isMulticast(p("fe80::1"))).toBe(false)
    expect(A.isLinkLocal(p("fe80::1"))).toBe(true)
    expect(A.isLinkLocal(p("febf::1"))).toBe(true)
    expect(A.isLinkLocal(p("fec0::1"))).toBe(false)
    expect(A.isUnspecified(p("::"))).toBe(true)
    expect(A.isUnspecified(p("::1"))).toBe(false)
    expect(A.isLoopback(p("::1"))).toBe(true)
    expect(A.isLoopback(p("::"))).toBe(false)
  })

  it("derives the EUI-64 link-local, solicited-node group and multicast MAC", () => {
    // RFC 4291 App. A: the U/L bit (0x02 of the first byte) is inverted.
    const ll = A.linkLocalFromMac(bytes("0200004e0001"))
    expect(A.formatIpv6(ll)).toBe("fe80::ff:fe4e:1")
    expect(A.formatIpv6(A.linkLocalFromMac(bytes("525400123456")))).toBe("fe80::5054:ff:fe12:3456")
    const sn = A.solicitedNodeMulticast(A.parseIpv6("fd00:77::abcd:1234:5678")!)
    expect(A.formatIpv6(sn)).toBe("ff02::1:ff34:5678")
    expect(A.multicastMac(sn)).toEqual(bytes("3333ff345678"))
    expect(A.multicastMac(A.ALL_NODES)).toEqual(bytes("333300000001"))
  })

  it("parses CIDRs and matches prefixes", () => {
    const c = A.parseIpv6Cidr("fd00:77::1/64")!
    expect(c.prefixLength).toBe(64)
    expect(A.formatIpv6Cidr(c)).toBe("fd00:77::1/64")
    expect(A.parseIpv6Cidr("fd00::/129")).toBeUndefined()
    expect(A.parseIpv6Cidr("fd00::")).toBeUndefined()
    expect(A.parseIpv6Cidr("fd00::/x")).toBeUndefined()
    const a = A.parseIpv6("fd00:77::1")!
    expect(A.prefixMatch(a, A.parseIpv6("fd00:77::ffff")!, 64)).toBe(true)
    expect(A.prefixMatch(a, A.parseIpv6("fd00:78::1")!, 64)).toBe(false)
    expect(A.prefixMatch(A.parseIpv6("fe80::")!, A.parseIpv6("febf::1")!, 10)).toBe(true)
    expect(A.prefixMatch(A.parseIpv6("fe80::")!, A.parseIpv6("fec0::1")!, 10)).toBe(false)
    expect(A.prefixMatch(a, A.parseIpv6("::")!, 0)).toBe(true)
    expect(A.prefixMatch(a, a, 128)).toBe(true)
  })

  it("parse ∘ format is the identity on bytes", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.oneof(arbitraryAddress, arbitrarySparse), (a) => {
        expect(A.parseIpv6(A.formatIpv6(a))).toEqual(a)
      }),
      { numRuns: 2000 }
    )
  })

  it("format ∘ parse is the identity on canonical text", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.oneof(arbitraryAddress, arbitrarySparse), (a) => {
        const text = A.formatIpv6(a)
        expect(A.formatIpv6(A.parseIpv6(text)!)).toBe(text)
        expect(text).toBe(text.toLowerCase())
        expect(text).not.toMatch(/(^|:)0[0-9a-f]/)
      }),
      { numRuns: 2000 }
    )
  })

  it("never throws on arbitrary text", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ unit: FastCheck.constantFrom(..."0123456789abcdefABCDEF:.%/ g") }), (t) => {
        const a = A.parseIpv6(t)
        if (a !== undefined) expect(A.parseIpv6(A.formatIpv6(a))).toEqual(a)
      }),
      { numRuns: 3000 }
    )
  })
})
