/**
 * The IPv6 layer against a raw peer and between two stacks: link-local
 * address and DAD, NS/NA, echo reply, neighbour resolution for sends.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Layer, Logger, Random } from "effect"
import { Ipv6 } from "../../src/layers/Ipv6.js"
import { Link } from "../../src/layers/Link.js"
import { MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import { parseIpv4, parseMac } from "../../src/protocols/address.js"
import { ALL_NODES, formatIpv6, linkLocalFromMac, solicitedNodeMulticast, UNSPECIFIED } from "../../src/protocols/ipv6/address.js"
import { PollLoop } from "../../src/runtime/PollLoop.js"
import {
  advance,
  driveClock,
  echoRequest,
  frame6,
  ipv6Of,
  ndpFrame,
  packet6,
  peerLl,
  peerMac,
  received,
  settle,
  stackLl,
  stackMac,
  whole,
  withStack
} from "./ipv6-helpers.js"

describe("IPv6 link-local address and DAD", () => {
  it.effect("joins the solicited-node group with MLDv2, sends a DAD NS, then uses fe80::EUI-64", () =>
    withStack({}, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        const first = ipv6Of(received(peer))
        // MLDv2 report to ff02::16 with hop limit 1 and a Router Alert hop-by-hop header.
        const mld = first.find((p) => p.ip.nextHeader === 0)!
        expect(formatIpv6(mld.ip.dst)).toBe("ff02::16")
        expect(mld.ip.hopLimit).toBe(1)
        expect(Array.from(mld.frame.subarray(54, 62))).toEqual([58, 0, 5, 2, 0, 0, 1, 0])
        expect(mld.frame[62]).toBe(143)
        expect(Array.from(mld.frame.subarray(62 + 12, 62 + 28))).toEqual(Array.from(solicitedNodeMulticast(stackLl)))
        expect((yield* v6.addresses)[0]).toMatchObject({ state: "TENTATIVE", origin: "link-local" })
        yield* advance(1100)
        const out = ipv6Of(received(peer))
        const dad = out.find((p) => p.ndp?._tag === "NeighborSolicit")!
        expect(dad.ip.src).toEqual(UNSPECIFIED)
        expect(dad.ip.dst).toEqual(solicitedNodeMulticast(stackLl))
        expect(dad.ip.hopLimit).toBe(255)
        expect(dad.ndp).toMatchObject({ target: stackLl, options: [] })
        yield* advance(2000)
        const ll = yield* v6.linkLocal
        expect(formatIpv6(ll)).toBe("fe80::ff:fe00:2")
        expect((yield* v6.addresses)[0]).toMatchObject({ state: "PREFERRED", origin: "link-local", prefixLength: 64 })
        expect(v6.events["dad_ok"]).toBe(1)
        // A Router Solicitation went out too.
        expect(ipv6Of(received(peer)).concat(out).some((p) => p.ndp?._tag === "RouterSolicit")).toBe(true)
      })
    ))

  it.effect("a NA for the tentative address makes it DUPLICATE and linkLocal fails", () =>
    withStack({}, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        received(peer)
        peer.unsafeTransmit(...whole(ndpFrame(
          { _tag: "NeighborAdvert", router: false, solicited: false, override: true, target: stackLl, options: [{ _tag: "TargetLinkLayer", address: peerMac }] },
          peerLl,
          ALL_NODES
        )))
        yield* settle
        yield* advance(3000)
        const r = yield* Effect.exit(v6.linkLocal)
        expect(r._tag).toBe("Failure")
        expect(Exit.isFailure(r) && JSON.stringify(r.cause)).toContain("DuplicateAddress")
        expect((yield* v6.addresses)[0]).toMatchObject({ state: "DUPLICATE" })
        expect(v6.unsafeIsOurs(stackLl, 0)).toBe(false)
        expect(v6.events["dad_duplicate"]).toBe(1)
      })
    ))

  it.effect("another node's DAD NS for the tentative address is a duplicate too", () =>
    withStack({}, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        const group = solicitedNodeMulticast(stackLl)
        peer.unsafeTransmit(...whole(ndpFrame({ _tag: "NeighborSolicit", target: stackLl, options: [] }, UNSPECIFIED, group)))
        yield* settle
        yield* advance(3000)
        expect((yield* v6.addresses)[0]).toMatchObject({ state: "DUPLICATE" })
        expect((yield* Effect.exit(v6.linkLocal))._tag).toBe("Failure")
        void peer
      })
    ))

  it.effect("logs each address once it is preferred, with its origin", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
      yield* withStack({ dadTransmits: 0, addresses: [{ address: linkLocalFromMac(parseMac("02:00:00:00:00:77")!), prefixLength: 64 }] }, (peer, _ctx, v6) =>
        Effect.gen(function*() {
          yield* v6.linkLocal
          yield* settle
          void peer
        })).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(lines).toContain("INFO ipv6 address fe80::ff:fe00:2/64 configured (link-local)")
      expect(lines).toContain("INFO ipv6 address fe80::ff:fe00:77/64 configured (static)")
    }))

  it.effect("dadTransmits 0 makes the address preferred at once", () =>
    withStack({ dadTransmits: 0 }, (_peer, _ctx, v6) =>
      Effect.gen(function*() {
        expect(formatIpv6(yield* v6.linkLocal)).toBe("fe80::ff:fe00:2")
      })
    ))

  it.effect("stable-privacy identifiers replace EUI-64 when a secret is given", () =>
    withStack({ dadTransmits: 0, stablePrivacySecret: new TextEncoder().encode("secret") }, (_peer, _ctx, v6) =>
      Effect.gen(function*() {
        const ll = yield* v6.linkLocal
        expect(formatIpv6(ll).startsWith("fe80::")).toBe(true)
        expect(ll).not.toEqual(stackLl)
      })
    ))
})

describe("IPv6 neighbour discovery against a raw peer", () => {
  it.effect("answers a NS for its address with a solicited NA and learns the peer", () =>
    withStack({ dadTransmits: 0 }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        received(peer)
        peer.unsafeTransmit(...whole(ndpFrame(
          { _tag: "NeighborSolicit", target: stackLl, options: [{ _tag: "SourceLinkLayer", address: peerMac }] },
          peerLl,
          solicitedNodeMulticast(stackLl)
        )))
        yield* settle
        const na = ipv6Of(received(peer)).find((p) => p.ndp?._tag === "NeighborAdvert")!
        expect(na.ip).toMatchObject({ src: stackLl, dst: peerLl, hopLimit: 255 })
        expect(na.ndp).toMatchObject({ solicited: true, override: true, router: false, target: stackLl })
        expect(na.ndp!.options).toEqual([{ _tag: "TargetLinkLayer", address: stackMac }])
        expect(Array.from(na.frame.subarray(0, 6))).toEqual(Array.from(peerMac))
        expect(v6.events["ns_rx"]).toBe(1)
        expect(v6.events["na_tx"]).toBe(1)
      })
    ))

  it.effect("ignores and counts a NS with hop limit 64, and one for another address", () =>
    withStack({ dadTransmits: 0 }, (peer, ctx) =>
      Effect.gen(function*() {
        received(peer)
        peer.unsafeTransmit(...whole(ndpFrame(
          { _tag: "NeighborSolicit", target: stackLl, options: [{ _tag: "SourceLinkLayer", address: peerMac }] },
          peerLl,
          solicitedNodeMulticast(stackLl),
          64
        )))
        const other = linkLocalFromMac(parseMac("02:00:00:00:00:55")!)
        peer.unsafeTransmit(...whole(ndpFrame(
          { _tag: "NeighborSolicit", target: other, options: [] },
          peerLl,
          other,
          255,
          stackMac
        )))
        yield* settle
        expect(ipv6Of(received(peer))).toHaveLength(0)
        const loop = Context.get(ctx, PollLoop)
        expect(loop.counters.layer("ndp").drops["bad_hop_limit"]).toBe(1)
        expect(loop.counters.layer("ipv6").drops["not_for_us"]).toBe(1)
      })
    ))

  it.effect("defends its address: a DAD NS from :: gets a NA to ff02::1", () =>
    withStack({ dadTransmits: 0 }, (peer) =>
      Effect.gen(function*() {
        received(peer)
        peer.unsafeTransmit(...whole(ndpFrame({ _tag: "NeighborSolicit", target: stackLl, options: [] }, UNSPECIFIED, solicitedNodeMulticast(stackLl))))
        yield* settle
        const na = ipv6Of(received(peer)).find((p) => p.ndp?._tag === "NeighborAdvert")!
        expect(na.ip.dst).toEqual(ALL_NODES)
        expect(na.ndp).toMatchObject({ solicited: false, override: true, target: stackLl })
      })
    ))

  it.effect("answers echo to its address and to ff02::1, resolving the peer by NS first", () =>
    withStack({ dadTransmits: 0 }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        received(peer)
        peer.unsafeTransmit(...whole(frame6(stackMac, packet6(peerLl, stackLl, 58, echoRequest(1, 16, peerLl, stackLl)))))
        yield* settle
        // The peer is unknown: a multicast NS for it, with our SLLA; the reply waits.
        const ns = ipv6Of(received(peer)).find((p) => p.ndp?._tag === "NeighborSolicit")!
        expect(ns.ip).toMatchObject({ src: stackLl, dst: solicitedNodeMulticast(peerLl) })
        expect(ns.ndp).toMatchObject({ target: peerLl, options: [{ _tag: "SourceLinkLayer", address: stackMac }] })
        peer.unsafeTransmit(...whole(ndpFrame(
          { _tag: "NeighborAdvert", router: false, solicited: true, override: true, target: peerLl, options: [{ _tag: "TargetLinkLayer", address: peerMac }] },
          peerLl,
          stackLl
        )))
        yield* settle
        const reply = ipv6Of(received(peer)).find((p) => p.icmp?._tag === "EchoReply")!
        expect(reply.ip).toMatchObject({ src: stackLl, dst: peerLl })
        expect(reply.icmp).toMatchObject({ seqNo: 1, ident: 0x1234 })
        // To all-nodes, answered from our unicast address.
        peer.unsafeTransmit(...whole(frame6(Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), packet6(peerLl, ALL_NODES, 58, echoRequest(2, 8, peerLl, ALL_NODES)))))
        yield* settle
        const r2 = ipv6Of(received(peer)).find((p) => p.icmp?._tag === "EchoReply")!
        expect(r2.ip).toMatchObject({ src: stackLl, dst: peerLl })
        expect(v6.events["echo_reply_tx"]).toBe(2)
      })
    ))

  it.effect("probes a stale neighbour in use with a unicast NS after DELAY_FIRST_PROBE_TIME", () =>
    withStack({ dadTransmits: 0 }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        peer.unsafeTransmit(...whole(ndpFrame(
          { _tag: "NeighborSolicit", target: stackLl, options: [{ _tag: "SourceLinkLayer", address: peerMac }] },
          peerLl,
          solicitedNodeMulticast(stackLl)
        )))
        yield* settle
        // The NA answer used the entry (STALE → DELAY); a send now goes out at once.
        received(peer)
        expect(v6.unsafeSend(peerLl, 253, new Uint8Array(8), 0, 8)).toBe("Sent")
        received(peer)
        yield* advance(5_200)
        const probe = ipv6Of(received(peer)).find((p) => p.ndp?._tag === "NeighborSolicit")!
        expect(probe.ip).toMatchObject({ src: stackLl, dst: peerLl })
        expect(Array.from(probe.frame.subarray(0, 6))).toEqual(Array.from(peerMac))
      })
    ))

  it.effect("drops multicast it has not joined and counts it", () =>
    withStack({ dadTransmits: 0 }, (peer, ctx) =>
      Effect.gen(function*() {
        received(peer)
        const group = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42)
        peer.unsafeTransmit(...whole(frame6(Uint8Array.of(0x33, 0x33, 0, 0, 0, 0x42), packet6(peerLl, group, 58, echoRequest(1, 8, peerLl, group)))))
        yield* settle
        expect(ipv6Of(received(peer))).toHaveLength(0)
        expect(Context.get(ctx, PollLoop).counters.layer("ipv6").drops["multicast_not_joined"]).toBe(1)
      })
    ))
})

describe("two stacks over IPv6", () => {
  it.effect("find each other by NDP and ping link-local to link-local", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const build = (link: typeof a, mac: string, ip: string) =>
        Layer.build(
          Stack.layer({ mac: parseMac(mac)!, ipv4: { address: parseIpv4(ip)!, prefixLength: 24 } }).pipe(
            Layer.provide(Layer.succeed(Link, link))
          )
        )
      const ctxA = yield* build(a, "02:00:00:00:00:01", "10.0.0.1")
      const ctxB = yield* build(b, "02:00:00:00:00:02", "10.0.0.2")
      yield* Effect.forkScoped(driveClock)
      const v6a = Context.get(ctxA, Ipv6)
      const v6b = Context.get(ctxB, Ipv6)
      const llA = yield* v6a.linkLocal
      const llB = yield* v6b.linkLocal
      const got = yield* Deferred.make<{ seq: number; from: string }>()
      v6a.unsafeSetEchoReplyHandler((buf, off, _len, h) => {
        Deferred.unsafeDone(got, Exit.succeed({ seq: (buf[off + 6]! << 8) | buf[off + 7]!, from: formatIpv6(h.src) }))
      })
      const req = echoRequest(7, 100, llA, llB)
      expect(v6a.unsafeSend(llB, 58, req, 0, req.length)).toBe("Queued")
      const reply = yield* Deferred.await(got).pipe(Effect.timeout("5 seconds"))
      expect(reply).toEqual({ seq: 7, from: formatIpv6(llB) })
      // Now resolved: the next send goes straight out.
      expect(v6a.unsafeSend(llB, 58, req, 0, req.length)).toBe("Sent")
      expect(v6b.events["echo_reply_tx"]).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.scoped, Effect.withRandom(Random.make("ipv6-two"))))
})
