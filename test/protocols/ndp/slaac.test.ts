import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { type RouterAdvertisementFields, Slaac, type SlaacAction, type SlaacOptions } from "../../../src/protocols/ipv6/slaac.js"

const IID = new Uint8Array([0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55])
const LINK_LOCAL = new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, ...IID])
const PREFIX = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
const GLOBAL = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, ...IID])
const ROUTER = new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
const ROUTER2 = new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
const DNS1 = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53])
const HOUR = 3_600_000

const tags = (actions: ReadonlyArray<SlaacAction>): Array<string> => actions.map((a) => a._tag)
const make = (options: Partial<SlaacOptions> = {}): Slaac => new Slaac({ interfaceId: IID, ...options })

const ra = (overrides: Partial<RouterAdvertisementFields> = {}): RouterAdvertisementFields => ({
  source: ROUTER,
  routerLifetime: 1800,
  ...overrides
})
const prefixInfo = (valid: number, preferred: number, extra: Partial<{ autonomous: boolean; prefixLength: number; prefix: Uint8Array }> = {}) => ({
  prefix: extra.prefix ?? PREFIX,
  prefixLength: extra.prefixLength ?? 64,
  onLink: true,
  autonomous: extra.autonomous ?? true,
  validLifetime: valid,
  preferredLifetime: preferred
})

/** Started at 0 with no random delay: link-local DAD NS and the first RS at once. */
const started = (options: Partial<SlaacOptions> = {}): Slaac => {
  const slaac = make(options)
  expect(slaac.start(0)).toEqual([
    { _tag: "SendRouterSolicitation" },
    { _tag: "SendDadSolicitation", address: LINK_LOCAL }
  ])
  return slaac
}

/** Runs `onTimer` at every `pollAt()` up to `until`, collecting the actions. */
const runUntil = (slaac: Slaac, until: number): Array<SlaacAction> => {
  const out: Array<SlaacAction> = []
  for (let at = slaac.pollAt(); at <= until; at = slaac.pollAt()) out.push(...slaac.onTimer(at))
  return out
}

describe("Slaac link-local address", () => {
  it("DAD success: tentative → preferred after RetransTimer", () => {
    const slaac = started()
    expect(slaac.stateOf(LINK_LOCAL)).toBe("TENTATIVE")
    expect(slaac.pollAt()).toBe(1000)
    expect(slaac.onTimer(999)).toEqual([])
    expect(slaac.onTimer(1000)).toEqual([{ _tag: "AddressPreferred", address: LINK_LOCAL, prefixLength: 64 }])
    expect(slaac.stateOf(LINK_LOCAL)).toBe("PREFERRED")
    expect(slaac.addresses()[0]!.linkLocal).toBe(true)
  })

  it("waits a random delay of up to MAX_RTR_SOLICITATION_DELAY before DAD and RS", () => {
    const slaac = make({ random: () => 0.5 })
    expect(slaac.start(0)).toEqual([])
    expect(slaac.pollAt()).toBe(500)
    expect(tags(slaac.onTimer(500))).toEqual(["SendRouterSolicitation", "SendDadSolicitation"])
    expect(slaac.start(600)).toEqual([]) // once only
  })

  it("DAD conflict by NA → DUPLICATE, never preferred", () => {
    const slaac = started()
    expect(slaac.onNeighborAdvertisement(LINK_LOCAL, 500)).toEqual([{ _tag: "DuplicateDetected", address: LINK_LOCAL }])
    expect(slaac.stateOf(LINK_LOCAL)).toBe("DUPLICATE")
    expect(tags(runUntil(slaac, 20_000))).not.toContain("AddressPreferred")
  })

  it("DAD conflict by an NS from the unspecified address; address resolution NS is not a conflict", () => {
    const slaac = started()
    expect(slaac.onNeighborSolicitation(LINK_LOCAL, false, 100)).toEqual([])
    expect(slaac.stateOf(LINK_LOCAL)).toBe("TENTATIVE")
    expect(tags(slaac.onNeighborSolicitation(LINK_LOCAL, true, 200))).toEqual(["DuplicateDetected"])
    expect(slaac.stateOf(LINK_LOCAL)).toBe("DUPLICATE")
  })

  it("an NA for a preferred address is not a DAD conflict", () => {
    const slaac = started()
    slaac.onTimer(1000)
    expect(slaac.onNeighborAdvertisement(LINK_LOCAL, 1500)).toEqual([])
    expect(slaac.stateOf(LINK_LOCAL)).toBe("PREFERRED")
  })

  it("DupAddrDetectTransmits 2 sends two NS RetransTimer apart", () => {
    const slaac = started({ dupAddrDetectTransmits: 2 })
    expect(tags(slaac.onTimer(1000))).toEqual(["SendDadSolicitation"])
    expect(tags(slaac.onTimer(2000))).toEqual(["AddressPreferred"])
  })
})

describe("Slaac router solicitation", () => {
  it("retransmits RS every 4 s up to 3 times without an RA", () => {
    const slaac = started()
    const actions = runUntil(slaac, 60_000)
    expect(tags(actions).filter((t) => t === "SendRouterSolicitation")).toHaveLength(2)
    expect(slaac.pollAt()).toBe(Infinity)
  })

  it("stops on the first RA", () => {
    const slaac = started()
    slaac.onTimer(1000)
    expect(tags(slaac.onTimer(4000))).toEqual(["SendRouterSolicitation"])
    slaac.onRouterAdvertisement(ra(), 5000)
    expect(tags(runUntil(slaac, 20_000))).not.toContain("SendRouterSolicitation")
  })
})

describe("Slaac prefixes", () => {
  it("an RA with a prefix forms an address through DAD", () => {
    const slaac = started()
    slaac.onTimer(1000)
    const actions = slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(86400, 14400)] }), 2000)
    expect(tags(actions)).toEqual(["RouterAdded", "SendDadSolicitation"])
    expect(slaac.stateOf(GLOBAL)).toBe("TENTATIVE")
    expect(slaac.onTimer(3000)).toEqual([{ _tag: "AddressPreferred", address: GLOBAL, prefixLength: 64 }])
  })

  it("a duplicate global address is reported and not re-tried by the next RA", () => {
    const slaac = started()
    slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(86400, 14400)] }), 0)
    expect(tags(slaac.onNeighborAdvertisement(GLOBAL, 100))).toEqual(["DuplicateDetected"])
    expect(tags(slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(86400, 14400)] }), 200))).toEqual([])
    expect(slaac.stateOf(GLOBAL)).toBe("DUPLICATE")
  })

  it("ignores prefixes without the A flag, of other lengths, link-local, or with preferred > valid", () => {
    const slaac = started()
    const fe80 = new Uint8Array(16)
    fe80[0] = 0xfe
    fe80[1] = 0x80
    slaac.onRouterAdvertisement(
      ra({
        prefixes: [
          prefixInfo(100, 50, { autonomous: false }),
          prefixInfo(100, 50, { prefixLength: 48 }),
          prefixInfo(100, 50, { prefix: fe80 }),
          prefixInfo(50, 100)
        ]
      }),
      0
    )
    expect(slaac.addresses()).toHaveLength(1)
  })

  it("lifetimes expire: preferred → deprecated → removed", () => {
    const slaac = started({ maxRtrSolicitations: 1 })
    slaac.onRouterAdvertisement(ra({ routerLifetime: 0, prefixes: [prefixInfo(20, 10)] }), 0)
    expect(tags(slaac.onTimer(1000))).toEqual(["AddressPreferred", "AddressPreferred"])
    expect(slaac.onTimer(10_000)).toEqual([{ _tag: "AddressDeprecated", address: GLOBAL }])
    expect(slaac.stateOf(GLOBAL)).toBe("DEPRECATED")
    expect(slaac.pollAt()).toBe(20_000)
    expect(slaac.onTimer(20_000)).toEqual([{ _tag: "AddressRemoved", address: GLOBAL }])
    expect(slaac.stateOf(GLOBAL)).toBeUndefined()
    expect(slaac.stateOf(LINK_LOCAL)).toBe("PREFERRED")
  })

  it("a refreshed preferred lifetime brings a deprecated address back", () => {
    const slaac = started()
    slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(7200 * 2, 10)] }), 0)
    slaac.onTimer(1000)
    slaac.onTimer(10_000)
    expect(slaac.stateOf(GLOBAL)).toBe("DEPRECATED")
    const actions = slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(7200 * 2, 100)] }), 11_000)
    expect(actions).toContainEqual({ _tag: "AddressPreferred", address: GLOBAL, prefixLength: 64 })
    expect(slaac.stateOf(GLOBAL)).toBe("PREFERRED")
  })

  it("the two-hour rule (§5.5.3 e)", () => {
    const slaac = started()
    slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(10 * 3600, 3600)] }), 0)
    const validUntil = () => slaac.addresses().find((a) => !a.linkLocal)!.validUntil
    expect(validUntil()).toBe(10 * HOUR)
    // A short valid lifetime on a long remaining one: cut to two hours, not less.
    slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(60, 60)] }), 0)
    expect(validUntil()).toBe(2 * HOUR)
    // Remaining ≤ 2 h: a shorter one is ignored ...
    slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(0, 0)] }), HOUR)
    expect(validUntil()).toBe(2 * HOUR)
    // ... a longer one than remaining is taken ...
    slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(5400, 0)] }), HOUR)
    expect(validUntil()).toBe(HOUR + 5400_000)
    // ... and one above two hours always is.
    slaac.onRouterAdvertisement(ra({ prefixes: [prefixInfo(3 * 3600, 0)] }), HOUR)
    expect(validUntil()).toBe(4 * HOUR)
  })

  it("an infinite lifetime never expires", () => {
    const slaac = started({ maxRtrSolicitations: 1 })
    slaac.onRouterAdvertisement(ra({ routerLifetime: 0, prefixes: [prefixInfo(0xffffffff, 0xffffffff)] }), 0)
    slaac.onTimer(1000)
    expect(slaac.pollAt()).toBe(Infinity)
  })
})

describe("Slaac routers, link parameters and DNS", () => {
  it("adds routers, removes one on router lifetime 0 and on expiry", () => {
    const slaac = started()
    expect(tags(slaac.onRouterAdvertisement(ra(), 0))).toEqual(["RouterAdded"])
    expect(tags(slaac.onRouterAdvertisement(ra({ source: ROUTER2, routerLifetime: 10 }), 0))).toEqual(["RouterAdded"])
    expect(slaac.defaultRouter()).toEqual(ROUTER)
    expect(slaac.defaultRouter((r) => r[15] === 2)).toEqual(ROUTER2)
    expect(slaac.onRouterAdvertisement(ra({ routerLifetime: 0 }), 1)).toEqual([{ _tag: "RouterRemoved", router: ROUTER }])
    expect(slaac.defaultRouter()).toEqual(ROUTER2)
    expect(runUntil(slaac, 10_000)).toContainEqual({ _tag: "RouterRemoved", router: ROUTER2 })
    expect(slaac.routers()).toEqual([])
  })

  it("removeRouter (RFC 4861 §7.2.5) takes a router out at once; an unknown one changes nothing", () => {
    const slaac = started()
    slaac.onRouterAdvertisement(ra(), 0)
    slaac.onRouterAdvertisement(ra({ source: ROUTER2 }), 0)
    expect(slaac.removeRouter(ROUTER)).toEqual([{ _tag: "RouterRemoved", router: ROUTER }])
    expect(slaac.removeRouter(ROUTER)).toEqual([])
    expect(slaac.routers().map((r) => r.address)).toEqual([ROUTER2])
  })

  it("reports MTU, hop limit, reachable and retrans time changes", () => {
    const slaac = started()
    const actions = slaac.onRouterAdvertisement(ra({ mtu: 1400, curHopLimit: 64, reachableTime: 20_000, retransTimer: 0 }), 0)
    expect(actions).toContainEqual({
      _tag: "LinkParametersChanged",
      parameters: { mtu: 1400, curHopLimit: 64, baseReachableTime: 20_000, retransTimer: 1000 }
    })
    expect(tags(slaac.onRouterAdvertisement(ra({ mtu: 1000 }), 1))).toEqual([])
  })

  it("RDNSS servers are added, refreshed and expire", () => {
    const slaac = started()
    const actions = slaac.onRouterAdvertisement(ra({ rdnss: [{ servers: [DNS1], lifetime: 30 }] }), 0)
    expect(actions).toContainEqual({ _tag: "DnsServers", servers: [DNS1] })
    expect(tags(slaac.onRouterAdvertisement(ra({ rdnss: [{ servers: [DNS1], lifetime: 30 }] }), 10_000))).not.toContain("DnsServers")
    expect(slaac.onTimer(39_999)).toEqual([])
    expect(slaac.onTimer(40_000)).toEqual([{ _tag: "DnsServers", servers: [] }])
    expect(slaac.dnsServers()).toEqual([])
  })

  it("RDNSS lifetime 0 removes a server", () => {
    const slaac = started()
    slaac.onRouterAdvertisement(ra({ rdnss: [{ servers: [DNS1], lifetime: 30 }] }), 0)
    expect(slaac.onRouterAdvertisement(ra({ rdnss: [{ servers: [DNS1], lifetime: 0 }] }), 1)).toContainEqual({
      _tag: "DnsServers",
      servers: []
    })
  })
})

describe("Slaac properties", () => {
  const byte = fc.integer({ min: 0, max: 5 })
  const event = fc.oneof(
    fc.record({
      kind: fc.constant("ra" as const),
      router: byte,
      lifetime: fc.constantFrom(0, 5, 1800),
      prefix: byte,
      valid: fc.constantFrom(0, 5, 30, 9000, 0xffffffff),
      preferred: fc.constantFrom(0, 3, 20, 0xffffffff),
      dns: byte,
      dnsLifetime: fc.constantFrom(0, 10, 600),
      dt: fc.integer({ min: 0, max: 20_000 })
    }),
    fc.record({ kind: fc.constant("na" as const), prefix: byte, dt: fc.integer({ min: 0, max: 3000 }) }),
    fc.record({ kind: fc.constant("ns" as const), prefix: byte, unspecified: fc.boolean(), dt: fc.integer({ min: 0, max: 3000 }) }),
    fc.record({ kind: fc.constant("timer" as const), dt: fc.integer({ min: 0, max: 60_000 }) })
  )
  const address = (p: number): Uint8Array => new Uint8Array([0x20, 0x01, 0, p, 0, 0, 0, 0, ...IID])

  it("keeps tables bounded and pollAt consistent", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 80 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (events, r) => {
        const slaac = make({ maxAddresses: 3, maxRouters: 2, maxDnsServers: 2, random: () => r })
        let now = 0
        slaac.start(now)
        for (const e of events) {
          now += e.dt
          // Nothing may be due before pollAt.
          const at = slaac.pollAt()
          if (at > now) expect(slaac.onTimer(now)).toEqual([])
          switch (e.kind) {
            case "ra": {
              const source = new Uint8Array(ROUTER)
              source[15] = e.router
              const dns = new Uint8Array(DNS1)
              dns[15] = e.dns
              slaac.onRouterAdvertisement(
                {
                  source,
                  routerLifetime: e.lifetime,
                  prefixes: [prefixInfo(e.valid, e.preferred, { prefix: address(e.prefix) })],
                  rdnss: [{ servers: [dns], lifetime: e.dnsLifetime }]
                },
                now
              )
              break
            }
            case "na":
              slaac.onNeighborAdvertisement(address(e.prefix), now)
              break
            case "ns":
              slaac.onNeighborSolicitation(address(e.prefix), e.unspecified, now)
              break
            case "timer":
              slaac.onTimer(now)
              break
          }
          expect(slaac.addresses().length).toBeLessThanOrEqual(3)
          expect(slaac.routers().length).toBeLessThanOrEqual(2)
          expect(slaac.dnsServers().length).toBeLessThanOrEqual(2)
          expect(slaac.pollAt()).toBeGreaterThanOrEqual(0)
          // After the timers ran, no address outlives its valid lifetime.
          if (e.kind === "timer" || e.kind === "ra") for (const a of slaac.addresses()) {
            expect(a.validUntil).toBeGreaterThan(now)
          }
        }
      })
    )
  })
})

describe("Slaac static addresses and interface identifiers", () => {
  it("DupAddrDetectTransmits 0 prefers the address at once, with no random delay", () => {
    const s = make({ dupAddrDetectTransmits: 0, random: () => 0.9 })
    const actions = s.start(0)
    expect(tags(actions)).toContain("AddressPreferred")
    expect(s.stateOf(LINK_LOCAL)).toBe("PREFERRED")
  })

  it("addStatic runs DAD for the address and keeps it forever", () => {
    const s = make()
    s.start(0)
    const STATIC = new Uint8Array([0xfd, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    expect(tags(s.addStatic(STATIC, 64, 0))).toEqual(["SendDadSolicitation"])
    expect(s.addStatic(STATIC, 64, 0)).toEqual([])
    expect(tags(s.onTimer(1_000))).toContain("AddressPreferred")
    expect(s.addresses().find((a) => a.address[0] === 0xfd)).toMatchObject({ state: "PREFERRED", validUntil: Infinity })
  })

  it("interfaceIdFor gives each prefix its own identifier (RFC 7217)", () => {
    const s = make({ interfaceIdFor: (prefix) => Uint8Array.of(prefix[0]!, prefix[1]!, 0, 0, 0, 0, 0, 9) })
    s.start(0)
    expect(Array.from(s.addresses()[0]!.address.subarray(8))).toEqual([0xfe, 0x80, 0, 0, 0, 0, 0, 9])
  })
})
