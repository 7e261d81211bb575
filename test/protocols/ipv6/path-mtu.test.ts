import { describe, expect, it } from "@effect/vitest"
import { PathMtuCache } from "../../../src/protocols/ipv6/path-mtu.js"

describe("path MTU cache (RFC 8201)", () => {
  it("Packet Too Big lowers the MTU towards one destination only, clamped to [1280, link MTU]", () => {
    const c = new PathMtuCache()
    expect(c.mtuFor("a", 1500)).toBe(1500)
    expect(c.onPacketTooBig("a", 1400, 1500, 0)).toBe(true)
    expect(c.mtuFor("a", 1500)).toBe(1400)
    expect(c.mtuFor("b", 1500)).toBe(1500)
    // §4: below 1280 is raised to 1280; a larger value does not raise a known one.
    expect(c.onPacketTooBig("a", 600, 1500, 0)).toBe(true)
    expect(c.mtuFor("a", 1500)).toBe(1280)
    expect(c.onPacketTooBig("a", 1400, 1500, 0)).toBe(false)
    expect(c.mtuFor("a", 1500)).toBe(1280)
    // Never above the link's MTU.
    expect(c.onPacketTooBig("b", 9000, 1500, 0)).toBe(false)
    expect(c.mtuFor("b", 1500)).toBe(1500)
  })

  it("an entry is forgotten after its age, so a larger path MTU is found again", () => {
    const c = new PathMtuCache({ ageMillis: 1000 })
    c.onPacketTooBig("a", 1300, 1500, 0)
    c.onPacketTooBig("b", 1300, 1500, 500)
    expect(c.pollAt()).toBe(1000)
    c.poll(999)
    expect(c.size).toBe(2)
    c.poll(1000)
    expect(c.mtuFor("a", 1500)).toBe(1500)
    expect(c.mtuFor("b", 1500)).toBe(1300)
    expect(c.pollAt()).toBe(1500)
    c.poll(1500)
    expect(c.size).toBe(0)
    expect(c.pollAt()).toBe(Infinity)
  })

  it("is bounded: the oldest entry goes first", () => {
    const c = new PathMtuCache({ maxEntries: 3 })
    for (const k of ["a", "b", "c", "d"]) c.onPacketTooBig(k, 1300, 1500, 0)
    expect(c.size).toBe(3)
    expect(c.mtuFor("a", 1500)).toBe(1500)
    expect(c.mtuFor("d", 1500)).toBe(1300)
  })
})
