import { describe, expect, it } from "vitest"
import * as fc from "effect/FastCheck"
import * as Icmpv6 from "../../../src/protocols/ipv6/icmpv6.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import * as Ndp from "../../../src/protocols/ipv6/ndp.js"
import { arbitrarySlice, fromHex, GLOBAL_R, LL_H, LL_R, MAC_H, MAC_R, message, ok, SLAAC_H, toHex, v6 } from "./frames.js"

const emitted = (repr: Ndp.NdpRepr, src: Uint8Array, dst: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Ndp.bufferLen(repr))
  Ndp.emit(repr, src, dst, out)
  return out
}

/** Parses a captured message after verifying its checksum, as the ICMPv6 layer does. */
const parsed = (name: Parameters<typeof message>[0]): Ndp.NdpRepr => {
  const m = message(name)
  expect(new Icmpv6.Packet(m.bytes).verifyChecksum(m.src, m.dst)).toBe(true)
  return ok(Ndp.parse(m.bytes))
}

describe("NDP messages captured from the kernel and radvd", () => {
  it("parses radvd's Router Advertisement", () => {
    expect(message("ra").src).toEqual(LL_R)
    expect(message("ra").hopLimit).toBe(255)
    expect(parsed("ra")).toEqual({
      _tag: "RouterAdvert",
      curHopLimit: 64,
      managed: false,
      other: false,
      routerLifetime: 12,
      reachableTime: 0,
      retransTimer: 0,
      options: [
        {
          _tag: "PrefixInformation",
          prefixLength: 64,
          onLink: true,
          autonomous: true,
          validLifetime: 86400,
          preferredLifetime: 14400,
          prefix: v6("fd00:78::")
        },
        { _tag: "Rdnss", lifetime: 4, servers: [v6("fd00:78::53")] },
        { _tag: "Mtu", mtu: 1400 },
        { _tag: "SourceLinkLayer", address: MAC_R }
      ]
    })
  })

  it("parses the kernel's Router Solicitation", () => {
    const m = message("rs")
    expect(m.src).toEqual(LL_H)
    expect(m.dst).toEqual(v6("ff02::2"))
    expect(parsed("rs")).toEqual({ _tag: "RouterSolicit", options: [{ _tag: "SourceLinkLayer", address: MAC_H }] })
  })

  it("parses the kernel's NS and NA of address resolution", () => {
    expect(message("ns").dst).toEqual(Ndp.solicitedNode(GLOBAL_R))
    expect(parsed("ns")).toEqual({
      _tag: "NeighborSolicit",
      target: GLOBAL_R,
      options: [{ _tag: "SourceLinkLayer", address: MAC_H }]
    })
    expect(message("na").dst).toEqual(SLAAC_H)
    expect(parsed("na")).toEqual({
      _tag: "NeighborAdvert",
      router: true,
      solicited: true,
      override: true,
      target: GLOBAL_R,
      options: [{ _tag: "TargetLinkLayer", address: MAC_R }]
    })
  })

  it("parses the kernel's DAD NS (unspecified source) and skips its nonce option (RFC 7527)", () => {
    for (const [name, target] of [["dad_ns", v6("fd00:78::2")], ["dad_ns_link_local", LL_H]] as const) {
      const m = message(name)
      expect(m.src).toEqual(new Uint8Array(16))
      expect(m.dst).toEqual(Ndp.solicitedNode(target))
      expect(m.bytes[24]).toBe(14)
      expect(parsed(name)).toEqual({ _tag: "NeighborSolicit", target, options: [] })
    }
  })

  it("emits the RS, NS, NA and RA byte for byte", () => {
    for (const name of ["rs", "ns", "na", "ra"] as const) {
      const m = message(name)
      expect(toHex(emitted(parsed(name), m.src, m.dst)), name).toBe(toHex(m.bytes))
    }
  })

  it("emits a DAD NS like the kernel's, without the nonce", () => {
    const m = message("dad_ns")
    const out = emitted({ _tag: "NeighborSolicit", target: v6("fd00:78::2"), options: [] }, m.src, m.dst)
    expect(out.length).toBe(24)
    expect(toHex(out.subarray(4))).toBe(toHex(m.bytes.subarray(4, 24)))
    expect(new Icmpv6.Packet(out).verifyChecksum(m.src, m.dst)).toBe(true)
  })
})

describe("MLDv2 Reports", () => {
  it("parses the kernel's reports for its solicited-node groups", () => {
    const m = message("mldv2_report")
    expect(m.dst).toEqual(Ndp.ALL_MLDV2_ROUTERS)
    expect(m.hopLimit).toBe(1)
    expect(new Icmpv6.Packet(m.bytes).verifyChecksum(m.src, m.dst)).toBe(true)
    expect(ok(Ndp.parseMldv2Report(m.bytes))).toEqual([
      { recordType: Ndp.RecordType.ChangeToExclude, group: v6("ff02::1:ff78:2"), sources: [] },
      { recordType: Ndp.RecordType.ChangeToExclude, group: v6("ff02::1:ff00:2"), sources: [] }
    ])
    const r = message("mldv2_report_unspecified")
    expect(ok(Ndp.parseMldv2Report(r.bytes)).map((rec) => toHex(rec.group))).toEqual(
      ["ff02::1:ff78:1", "ff02::1:ff00:0", "ff02::1:ff00:1", "ff02::2"].map((g) => toHex(v6(g)))
    )
  })

  it("emits the kernel's report byte for byte from the joined addresses", () => {
    const m = message("mldv2_report")
    const records = Ndp.joinRecords([Ndp.solicitedNode(LL_H), Ndp.solicitedNode(v6("fd00:78::2"))])
    const out = new Uint8Array(Ndp.mldv2ReportLen(records))
    Ndp.emitMldv2Report(records, m.src, m.dst, out)
    expect(toHex(out)).toBe(toHex(m.bytes))
  })

  it("round-trips records with sources", () => {
    const records: ReadonlyArray<Ndp.MldRecord> = [
      { recordType: Ndp.RecordType.AllowNewSources, group: v6("ff0e::1234"), sources: [v6("fd00::1"), v6("fd00::2")] },
      { recordType: Ndp.RecordType.ChangeToExclude, group: v6("ff02::1:ff00:2"), sources: [] }
    ]
    const out = new Uint8Array(Ndp.mldv2ReportLen(records))
    Ndp.emitMldv2Report(records, LL_H, Ndp.ALL_MLDV2_ROUTERS, out)
    expect(out.length).toBe(8 + 20 + 32 + 20)
    expect(ok(Ndp.parseMldv2Report(out))).toEqual(records)
    expect(Ndp.parseMldv2Report(out.subarray(0, out.length - 1))).toBe(Ndp.Truncated)
  })
})

describe("NDP malformed input", () => {
  it("drops the whole message when an option has length zero (RFC 4861 §4.6)", () => {
    const m = message("ra")
    const bad = m.bytes.slice()
    // The RDNSS option follows the 16-byte header and the 32-byte prefix option.
    expect(bad[48]).toBe(25)
    bad[49] = 0
    expect(Ndp.parse(bad)).toBe(Ndp.ZeroOptionLength)
    const ns = message("ns").bytes.slice()
    ns[25] = 0
    expect(Ndp.parse(ns)).toBe(Ndp.ZeroOptionLength)
  })

  it("refuses truncated messages and options", () => {
    const ra = message("ra").bytes
    expect(Ndp.parse(ra.subarray(0, 15))).toBe(Ndp.Truncated)
    expect(Ndp.parse(ra.subarray(0, ra.length - 1))).toBe(Ndp.Truncated)
    expect(Ndp.parse(ra.subarray(0, 17))).toBe(Ndp.Truncated)
    expect(Ndp.parse(message("ns").bytes.subarray(0, 23))).toBe(Ndp.Truncated)
    expect(Ndp.parse(message("rs").bytes.subarray(0, 7))).toBe(Ndp.Truncated)
    expect(Ndp.parse(ra, 0, ra.length + 1)).toBe(Ndp.Truncated)
  })

  it("ignores a known option of the wrong length, keeping the others", () => {
    const ra = message("ra").bytes.slice()
    ra[17] = 3 // prefix information must be 4: the next 24 bytes are skipped as one option
    ra[16 + 24] = 0xfe // what remains of the prefix option, as an unknown 8-byte option
    ra[16 + 25] = 1
    const r = ok(Ndp.parse(ra))
    expect(r.options.map((o) => o._tag)).toEqual(["Rdnss", "Mtu", "SourceLinkLayer"])
    const rdnss = message("ra").bytes.slice()
    rdnss[49] = 2 // RDNSS must be odd and at least 3
    rdnss[48 + 16] = 0xfe
    rdnss[48 + 17] = 1
    expect(ok(Ndp.parse(rdnss)).options.map((o) => o._tag)).toEqual(["PrefixInformation", "Mtu", "SourceLinkLayer"])
  })

  it("refuses a non-zero code, a multicast target and non-NDP types", () => {
    const code = message("rs").bytes.slice()
    code[1] = 1
    expect(Ndp.parse(code)).toBe(Ndp.BadCode)
    const mc = message("ns").bytes.slice()
    mc[8] = 0xff
    expect(Ndp.parse(mc)).toBe(Ndp.MulticastTarget)
    expect(Ndp.parse(message("echo_request").bytes)).toBe(Ndp.NotNdp)
  })

  it("skips unknown options by their length", () => {
    const rs = fromHex("8500000000000000" + "fe02" + "00".repeat(14) + "0101020000780002")
    expect(ok(Ndp.parse(rs))).toEqual({ _tag: "RouterSolicit", options: [{ _tag: "SourceLinkLayer", address: MAC_H }] })
  })

  it("refuses a bad checksum at the ICMPv6 layer", () => {
    const m = message("na")
    const bad = m.bytes.slice()
    bad[30] ^= 0x10
    expect(new Icmpv6.Packet(bad).verifyChecksum(m.src, m.dst)).toBe(false)
    expect(Icmpv6.parse(bad, m.src, m.dst)).toBe(Icmpv6.BadChecksum)
  })

  it("never throws on arbitrary bytes", () => {
    const types = fc.constantFrom(133, 134, 135, 136, 143)
    fc.assert(
      fc.property(arbitrarySlice, types, ([bytes, offset, length], type) => {
        if (offset >= 0 && offset < bytes.length) bytes[offset] = type
        const r = Ndp.parse(bytes, offset, length)
        expect(isMalformed(r) || typeof r._tag === "string").toBe(true)
        const mld = Ndp.parseMldv2Report(bytes, offset, length)
        expect(isMalformed(mld) || Array.isArray(mld)).toBe(true)
      })
    )
  })
})

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const addr = fc.uint8Array({ minLength: 16, maxLength: 16 })
const unicastTarget = addr.map((a) => {
  a[0] = a[0] === 0xff ? 0xfe : a[0]!
  return a
})
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 })
const arbOption: fc.Arbitrary<Ndp.NdpOption> = fc.oneof(
  fc.record({ _tag: fc.constant("SourceLinkLayer" as const), address: mac }),
  fc.record({ _tag: fc.constant("TargetLinkLayer" as const), address: mac }),
  fc.record({
    _tag: fc.constant("PrefixInformation" as const),
    prefixLength: fc.integer({ min: 0, max: 128 }),
    onLink: fc.boolean(),
    autonomous: fc.boolean(),
    validLifetime: u32,
    preferredLifetime: u32,
    prefix: addr
  }),
  fc.record({ _tag: fc.constant("Mtu" as const), mtu: u32 }),
  fc.record({ _tag: fc.constant("Rdnss" as const), lifetime: u32, servers: fc.array(addr, { minLength: 1, maxLength: 4 }) })
)
const options = fc.array(arbOption, { maxLength: 5 })
const arbNdp: fc.Arbitrary<Ndp.NdpRepr> = fc.oneof(
  fc.record({ _tag: fc.constant("RouterSolicit" as const), options }),
  fc.record({
    _tag: fc.constant("RouterAdvert" as const),
    curHopLimit: fc.integer({ min: 0, max: 255 }),
    managed: fc.boolean(),
    other: fc.boolean(),
    routerLifetime: fc.integer({ min: 0, max: 0xffff }),
    reachableTime: u32,
    retransTimer: u32,
    options
  }),
  fc.record({ _tag: fc.constant("NeighborSolicit" as const), target: unicastTarget, options }),
  fc.record({
    _tag: fc.constant("NeighborAdvert" as const),
    router: fc.boolean(),
    solicited: fc.boolean(),
    override: fc.boolean(),
    target: unicastTarget,
    options
  })
)

describe("NDP properties", () => {
  it("parse(emit(repr)) === repr with a valid checksum, at any offset", () => {
    fc.assert(
      fc.property(arbNdp, addr, addr, fc.integer({ min: 0, max: 9 }), (repr, src, dst, at) => {
        const len = Ndp.bufferLen(repr)
        const buf = new Uint8Array(at + len + 5).fill(0xaa)
        Ndp.emit(repr, src, dst, buf, at)
        expect(new Icmpv6.Packet(buf, at, len).verifyChecksum(src, dst)).toBe(true)
        expect(Ndp.parse(buf, at, len)).toEqual(repr)
      })
    )
  })
})
