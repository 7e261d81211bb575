/**
 * IPv4 and MAC addresses: text forms (undefined on bad input, never a throw),
 * prefixes and subnets, byte reads and writes against a captured ARP packet.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import * as Address from "../../../src/protocols/address.js"
import { frame, IP_A, IP_B, MAC_A, MAC_B } from "./frames.js"

describe("Address", () => {
  it("parses and formats dotted quads", () => {
    expect(Address.parseIpv4("10.78.0.1")).toBe(IP_A)
    expect(Address.parseIpv4("255.255.255.255")).toBe(Address.IPV4_BROADCAST)
    expect(Address.parseIpv4("0.0.0.0")).toBe(Address.IPV4_ANY)
    expect(Address.formatIpv4(IP_B)).toBe("10.78.0.2")
    expect(Address.formatIpv4(0xc0a80102)).toBe("192.168.1.2")
  })

  it.each(["", "10.78.0", "10.78.0.1.", "10.78.0.256", "10.78.0.-1", "10.78.0.1/24", "a.b.c.d", "1.2.3.1000", " 1.2.3.4"])(
    "rejects %j as an IPv4 address",
    (text) => expect(Address.parseIpv4(text)).toBeUndefined()
  )

  it("parses CIDRs and derives masks and broadcasts", () => {
    const cidr = Address.parseIpv4Cidr("10.78.0.1/24")!
    expect(cidr).toEqual({ address: IP_A, prefixLength: 24 })
    expect(Address.formatIpv4Cidr(cidr)).toBe("10.78.0.1/24")
    expect(Address.ipv4Netmask(24)).toBe(0xffffff00)
    expect(Address.ipv4Netmask(0)).toBe(0)
    expect(Address.ipv4Netmask(32)).toBe(0xffffffff)
    expect(Address.ipv4Netmask(1)).toBe(0x80000000)
    expect(Address.ipv4SubnetBroadcast(cidr)).toBe(0x0a4e00ff)
    expect(Address.ipv4SameSubnet(IP_A, IP_B, 24)).toBe(true)
    expect(Address.ipv4SameSubnet(IP_A, 0x0a4e0101, 24)).toBe(false)
    expect(Address.ipv4SameSubnet(IP_A, 0xfffffffe, 0)).toBe(true)
    for (const bad of ["10.78.0.1", "10.78.0.1/33", "10.78.0.1/", "10.78.0.1/x", "10.78.0/8"]) {
      expect(Address.parseIpv4Cidr(bad)).toBeUndefined()
    }
  })

  it("knows multicast", () => {
    expect(Address.ipv4IsMulticast(0xe0000001)).toBe(true)
    expect(Address.ipv4IsMulticast(0xefffffff)).toBe(true)
    expect(Address.ipv4IsMulticast(0xf0000000)).toBe(false)
    expect(Address.ipv4IsMulticast(IP_A)).toBe(false)
  })

  it("parses and formats MACs", () => {
    expect(Address.parseMac("02:00:00:4e:00:01")).toEqual(MAC_A)
    expect(Address.parseMac("02-00-00-4E-00-02")).toEqual(MAC_B)
    expect(Address.formatMac(MAC_B)).toBe("02:00:00:4e:00:02")
    for (const bad of ["", "02:00:00:4e:00", "02:00:00:4e:00:01:02", "02:00:00:4e:00:g1", "2:00:00:4e:00:01"]) {
      expect(Address.parseMac(bad)).toBeUndefined()
    }
  })

  it("reads and compares addresses inside a captured ARP reply", () => {
    const bytes = frame("arp_reply")
    expect(Address.readIpv4(bytes, 14 + 14)).toBe(IP_B)
    expect(Address.formatMac(bytes, 6)).toBe("02:00:00:4e:00:02")
    expect(Address.macEquals(bytes, 0, MAC_A, 0)).toBe(true)
    expect(Address.macEquals(bytes, 6, MAC_A, 0)).toBe(false)
    expect(Address.macIsBroadcast(frame("arp_request"), 0)).toBe(true)
    expect(Address.macIsBroadcast(bytes, 0)).toBe(false)
    expect(Address.macIsMulticast(frame("arp_request"), 0)).toBe(true)
    expect(Address.macIsMulticast(bytes, 0)).toBe(false)
    const out = new Uint8Array(10)
    Address.writeIpv4(out, 0, IP_B)
    Address.copyMac(out, 4, bytes, 6)
    expect(Array.from(out)).toEqual([10, 78, 0, 2, 0x02, 0x00, 0x00, 0x4e, 0x00, 0x02])
  })

  it("text forms round-trip and parsers never throw", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 0, max: 0xffffffff }), FastCheck.nat(32), (a, n) => {
        expect(Address.parseIpv4(Address.formatIpv4(a))).toBe(a)
        expect(Address.parseIpv4Cidr(Address.formatIpv4Cidr({ address: a, prefixLength: n }))).toEqual({ address: a, prefixLength: n })
      })
    )
    FastCheck.assert(
      FastCheck.property(FastCheck.uint8Array({ minLength: 6, maxLength: 6 }), (mac) => {
        expect(Address.parseMac(Address.formatMac(mac))).toEqual(mac)
      })
    )
    FastCheck.assert(
      FastCheck.property(FastCheck.string(), (text) => {
        Address.parseIpv4(text)
        Address.parseIpv4Cidr(text)
        Address.parseMac(text)
      })
    )
  })
})
