import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { parseIpv6 } from "../../../src/protocols/ipv6/address.js"
import { commonPrefixLength, scopeOf, selectSource, type SourceCandidate } from "../../../src/protocols/ipv6/source-selection.js"

const ip = (t: string) => parseIpv6(t)!
const c = (t: string, prefixLength = 64, deprecated = false): SourceCandidate => ({ address: ip(t), prefixLength, deprecated })
const pick = (cands: ReadonlyArray<SourceCandidate>, dst: string) => {
  const s = selectSource(cands, ip(dst))
  return s === undefined ? undefined : cands.indexOf(s)
}

describe("RFC 6724 source selection for one interface", () => {
  const ll = c("fe80::ff:fe00:2")
  const ula = c("fd00:77:1::ff:fe00:2")
  const global = c("2001:db8:1::ff:fe00:2")

  it("scopes: link-local 2, global 14, multicast from its scope field", () => {
    expect(scopeOf(ip("fe80::1"))).toBe(2)
    expect(scopeOf(ip("::1"))).toBe(2)
    expect(scopeOf(ip("2001:db8::1"))).toBe(14)
    expect(scopeOf(ip("ff02::1"))).toBe(2)
    expect(scopeOf(ip("ff05::2"))).toBe(5)
    expect(scopeOf(ip("ff0e::1"))).toBe(14)
  })

  it("rule 1: the destination itself wins", () => {
    expect(pick([ll, ula, global], "fd00:77:1::ff:fe00:2")).toBe(1)
  })

  it("rule 2: a link-local destination gets the link-local source, a global one a global source", () => {
    expect(pick([global, ll], "fe80::1")).toBe(1)
    expect(pick([ll, global], "2001:db8:9::1")).toBe(1)
    expect(pick([ll, ula], "ff02::1")).toBe(0)
    // Only a link-local address: still the answer (the caller decides whether it reaches).
    expect(pick([ll], "2001:db8::1")).toBe(0)
  })

  it("rule 3: a deprecated address loses to a preferred one of the same scope", () => {
    const old = c("2001:db8:1::ff:fe00:2", 64, true)
    const fresh = c("2001:db8:2::ff:fe00:2")
    expect(pick([old, fresh], "2001:db8:1::9")).toBe(1)
    expect(pick([fresh, old], "2001:db8:1::9")).toBe(0)
  })

  it("rule 8: longest matching prefix, no longer than the address's own prefix", () => {
    expect(pick([global, ula], "fd00:77:1::9")).toBe(1)
    expect(pick([ula, global], "2001:db8:1::9")).toBe(1)
    // Both match /48 of the destination's /64: the prefix length caps the match.
    const a = c("2001:db8:1:1::2", 48)
    const b = c("2001:db8:1:2::2", 64)
    expect(pick([a, b], "2001:db8:1:2::9")).toBe(1)
  })

  it("no candidate: undefined", () => {
    expect(selectSource([], ip("fe80::1"))).toBeUndefined()
  })

  it("common prefix length agrees with a bit-by-bit count (property)", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.uint8Array({ minLength: 16, maxLength: 16 }), FastCheck.uint8Array({ minLength: 16, maxLength: 16 }), (a, b) => {
        let n = 0
        while (n < 128 && ((a[n >> 3]! >> (7 - (n & 7))) & 1) === ((b[n >> 3]! >> (7 - (n & 7))) & 1)) n++
        expect(commonPrefixLength(a, b)).toBe(n)
      })
    )
  })

  it("reads the destination in place at an offset", () => {
    const buf = new Uint8Array(40)
    buf.set(ip("fe80::7"), 24)
    expect(selectSource([global, ll], buf, 24)).toBe(ll)
  })
})
