/**
 * Router discovery and SLAAC against a raw peer acting as router: default
 * router, on-link prefix, MTU, hop limit, RDNSS, lifetimes under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Ipv6Service } from "../../src/layers/Ipv6.js"
import type { LinkDevice } from "../../src/layers/Link.js"
import { ALL_NODES, formatIpv6, solicitedNodeMulticast } from "../../src/protocols/ipv6/address.js"
import type * as Ndp from "../../src/protocols/ipv6/ndp.js"
import { advance, ip6, ipv6Of, ndpFrame, peerLl, peerMac, received, settle, whole, withStack } from "./ipv6-helpers.js"

const prefix = ip6("2001:db8:1::")
const ours = "2001:db8:1::ff:fe00:2"

const ra = (routerLifetime: number, options: ReadonlyArray<Ndp.NdpOption>, curHopLimit = 0): Ndp.NdpRepr => ({
  _tag: "RouterAdvert",
  curHopLimit,
  managed: false,
  other: false,
  routerLifetime,
  reachableTime: 0,
  retransTimer: 0,
  options
})

const pio = (valid: number, preferred: number): Ndp.NdpOption => ({
  _tag: "PrefixInformation",
  prefixLength: 64,
  onLink: true,
  autonomous: true,
  validLifetime: valid,
  preferredLifetime: preferred,
  prefix
})

const sendRa = (peer: LinkDevice, repr: Ndp.NdpRepr, hopLimit = 255) =>
  Effect.gen(function*() {
    peer.unsafeTransmit(...whole(ndpFrame(repr, peerLl, ALL_NODES, hopLimit)))
    yield* settle
  })

const payload = new Uint8Array(100)
const states = (v6: Ipv6Service) =>
  Effect.map(v6.addresses, (as) => as.map((a) => `${formatIpv6(a.address)}/${a.prefixLength} ${a.state} ${a.origin}`))

describe("IPv6 router advertisements", () => {
  it.effect("configure a SLAAC address, the default router, MTU, hop limit and DNS servers", () =>
    withStack({ dadTransmits: 0 }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        yield* v6.linkLocal
        received(peer)
        yield* sendRa(peer, ra(1800, [
          { _tag: "SourceLinkLayer", address: peerMac },
          pio(3600, 1800),
          { _tag: "Mtu", mtu: 1400 },
          { _tag: "Rdnss", lifetime: 600, servers: [ip6("2001:db8::53")] }
        ], 32))
        expect(yield* states(v6)).toEqual(["fe80::ff:fe00:2/64 PREFERRED link-local", `${ours}/64 PREFERRED slaac`])
        expect((yield* v6.dnsServers).map((a) => formatIpv6(a))).toEqual(["2001:db8::53"])
        expect(v6.unsafeMaxPayload(ip6("2001:db8:99::1"))).toBe(1360)
        expect(formatIpv6(v6.unsafeSourceFor(ip6("2001:db8:99::1"))!)).toBe(ours)
        expect(formatIpv6(v6.unsafeSourceFor(ip6("fe80::1"))!)).toBe("fe80::ff:fe00:2")
        expect(v6.unsafeIsOurs(ip6(ours), 0)).toBe(true)
        // Off-link: through the router, whose MAC came with the RA.
        expect(v6.unsafeSend(ip6("2001:db8:99::1"), 253, payload, 0, 100)).toBe("Sent")
        const [off] = ipv6Of(received(peer))
        expect(Array.from(off!.frame.subarray(0, 6))).toEqual(Array.from(peerMac))
        expect(formatIpv6(off!.ip.dst)).toBe("2001:db8:99::1")
        expect(formatIpv6(off!.ip.src)).toBe(ours)
        expect(off!.ip.hopLimit).toBe(32)
        // On-link: resolved directly with a NS to its solicited-node group.
        expect(v6.unsafeSend(ip6("2001:db8:1::5"), 253, payload, 0, 100)).toBe("Queued")
        const [ns] = ipv6Of(received(peer))
        expect(ns!.ndp).toMatchObject({ _tag: "NeighborSolicit", target: ip6("2001:db8:1::5") })
        expect(ns!.ip.dst).toEqual(solicitedNodeMulticast(ip6("2001:db8:1::5")))
        expect(v6.events["ra_rx"]).toBe(1)
      })
    ))

  it.effect("router lifetime 0 removes the router: off-link sends fail with NoRoute", () =>
    withStack({ dadTransmits: 0 }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        yield* v6.linkLocal
        // Without any router, nothing off-link is reachable (RFC 4861: no assumption of on-link).
        expect(v6.unsafeSend(ip6("2001:db8:99::1"), 253, payload, 0, 100)).toBe("NoRoute")
        yield* sendRa(peer, ra(1800, [{ _tag: "SourceLinkLayer", address: peerMac }, pio(3600, 1800)]))
        expect(v6.unsafeSend(ip6("2001:db8:99::1"), 253, payload, 0, 100)).toBe("Sent")
        yield* sendRa(peer, ra(0, []))
        expect(v6.unsafeSend(ip6("2001:db8:99::1"), 253, payload, 0, 100)).toBe("NoRoute")
        // The on-link prefix stays.
        expect(v6.unsafeSend(ip6("2001:db8:1::5"), 253, payload, 0, 100)).toBe("Queued")
      })
    ))

  it.effect("a Neighbor Advertisement clearing the router flag takes the router out of the list (RFC 4861 §7.2.5)", () =>
    withStack({ dadTransmits: 0 }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        yield* v6.linkLocal
        yield* sendRa(peer, ra(1800, [{ _tag: "SourceLinkLayer", address: peerMac }, pio(3600, 1800)]))
        expect(v6.unsafeSend(ip6("2001:db8:99::1"), 253, payload, 0, 100)).toBe("Sent")
        peer.unsafeTransmit(...whole(ndpFrame(
          { _tag: "NeighborAdvert", router: false, solicited: false, override: true, target: peerLl, options: [{ _tag: "TargetLinkLayer", address: peerMac }] },
          peerLl,
          ALL_NODES
        )))
        yield* settle
        expect(v6.events["neighbor_no_longer_router"]).toBe(1)
        expect(v6.unsafeSend(ip6("2001:db8:99::1"), 253, payload, 0, 100)).toBe("NoRoute")
      })
    ))

  it.effect("an RA with hop limit 64 is ignored and counted", () =>
    withStack({ dadTransmits: 0 }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        yield* v6.linkLocal
        yield* sendRa(peer, ra(1800, [pio(3600, 1800)]), 64)
        expect(yield* states(v6)).toEqual(["fe80::ff:fe00:2/64 PREFERRED link-local"])
      })
    ))

  it.effect("lifetimes expire under TestClock: deprecated, then removed; router and DNS servers go", () =>
    withStack({ dadTransmits: 0 }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        yield* v6.linkLocal
        yield* sendRa(peer, ra(20, [
          { _tag: "SourceLinkLayer", address: peerMac },
          pio(10, 5),
          { _tag: "Rdnss", lifetime: 15, servers: [ip6("2001:db8::53")] }
        ]))
        expect((yield* states(v6))[1]).toBe(`${ours}/64 PREFERRED slaac`)
        yield* advance(5_200)
        expect((yield* states(v6))[1]).toBe(`${ours}/64 DEPRECATED slaac`)
        // Deprecated addresses are still ours but not chosen while a better one exists.
        expect(v6.unsafeIsOurs(ip6(ours), 0)).toBe(true)
        yield* advance(5_000)
        expect(yield* states(v6)).toEqual(["fe80::ff:fe00:2/64 PREFERRED link-local"])
        expect(yield* v6.dnsServers).toHaveLength(1)
        yield* advance(5_000)
        expect(yield* v6.dnsServers).toHaveLength(0)
        expect(v6.unsafeSend(ip6("2001:db8:99::1"), 253, payload, 0, 100, { src: peerLl })).toBe("Sent")
        yield* advance(5_000)
        expect(v6.unsafeSend(ip6("2001:db8:99::1"), 253, payload, 0, 100, { src: peerLl })).toBe("NoRoute")
      })
    ))

  it.effect("SLAAC with DAD: the new address is tentative, probed by a DAD NS, then preferred", () =>
    withStack({}, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        yield* advance(2_200)
        yield* v6.linkLocal
        received(peer)
        yield* sendRa(peer, ra(1800, [pio(3600, 1800)]))
        expect((yield* states(v6))[1]).toBe(`${ours}/64 TENTATIVE slaac`)
        // Same low 24 bits as the link-local address: the solicited-node group is already joined.
        yield* advance(2_200)
        const dad = ipv6Of(received(peer)).find((p) => p.ndp?._tag === "NeighborSolicit")
        expect(dad?.ndp).toMatchObject({ target: ip6(ours), options: [] })
        expect((yield* states(v6))[1]).toBe(`${ours}/64 PREFERRED slaac`)
      })
    ))

  it.effect("slaac: false ignores prefixes; static addresses go through DAD and are on-link", () =>
    withStack({ dadTransmits: 0, slaac: false, addresses: [{ address: ip6("fd00:77::1"), prefixLength: 64 }] }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        yield* v6.linkLocal
        yield* sendRa(peer, ra(1800, [pio(3600, 1800)]))
        expect(yield* states(v6)).toEqual(["fe80::ff:fe00:2/64 PREFERRED link-local", "fd00:77::1/64 PREFERRED static"])
        expect(v6.unsafeSend(ip6("fd00:77::9"), 253, payload, 0, 100)).toBe("Queued")
        expect(formatIpv6(v6.unsafeSourceFor(ip6("fd00:77::9"))!)).toBe("fd00:77::1")
      })
    ))
})
