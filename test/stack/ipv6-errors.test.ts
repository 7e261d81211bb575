/**
 * ICMPv6 errors, path MTU and fragmentation against a raw peer, and the
 * disabled layer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect } from "effect"
import type { LinkDevice } from "../../src/layers/Link.js"
import { formatIpv6, solicitedNodeMulticast } from "../../src/protocols/ipv6/address.js"
import * as Ip6 from "../../src/protocols/ipv6/header.js"
import { PollLoop } from "../../src/runtime/PollLoop.js"
import {
  advance,
  echoRequest,
  frame6,
  icmp6,
  ip6,
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

/** The peer introduces itself with a NS carrying its MAC, so the stack can answer at once. */
const introduce = (peer: LinkDevice) =>
  Effect.gen(function*() {
    peer.unsafeTransmit(...whole(ndpFrame(
      { _tag: "NeighborSolicit", target: stackLl, options: [{ _tag: "SourceLinkLayer", address: peerMac }] },
      peerLl,
      solicitedNodeMulticast(stackLl)
    )))
    yield* settle
    received(peer)
  })

/** Fragments `upper` (next header `nh`) into IPv6 fragments of `chunk` bytes. */
const fragments = (src: Uint8Array, dst: Uint8Array, nh: number, upper: Uint8Array, chunk: number, id: number) => {
  const out: Array<Uint8Array> = []
  for (let at = 0; at < upper.length; at += chunk) {
    const n = Math.min(chunk, upper.length - at)
    const body = new Uint8Array(8 + n)
    Ip6.emitFragmentHeader(body, 0, nh, at, at + n < upper.length, id)
    body.set(upper.subarray(at, at + n), 8)
    out.push(packet6(src, dst, 44, body))
  }
  return out
}

/** Reassembles the fragments among `frames` (in order) into the upper-layer bytes. */
const reassemble = (frames: ReadonlyArray<Uint8Array>) => {
  const parts = frames.map((f) => {
    const word = (f[56]! << 8) | f[57]!
    return { offset: word & 0xfff8, more: (word & 1) === 1, data: f.subarray(62, 54 + ((f[18]! << 8) | f[19]!)) }
  })
  const total = parts.reduce((n, p) => Math.max(n, p.offset + p.data.length), 0)
  const out = new Uint8Array(total)
  for (const p of parts) out.set(p.data, p.offset)
  return { out, parts }
}

describe("ICMPv6 errors", () => {
  it.effect("an unknown next header gets a parameter problem, code 1, pointing at it", () =>
    withStack({ dadTransmits: 0 }, (peer, ctx) =>
      Effect.gen(function*() {
        yield* introduce(peer)
        const bad = packet6(peerLl, stackLl, 253, new Uint8Array(8))
        peer.unsafeTransmit(...whole(frame6(stackMac, bad)))
        yield* settle
        const [pp] = ipv6Of(received(peer))
        expect(pp!.ip).toMatchObject({ src: stackLl, dst: peerLl })
        expect(pp!.icmp).toMatchObject({ _tag: "ParamProblem", code: 1, pointer: 6 })
        expect((pp!.icmp as { quote: Uint8Array }).quote).toEqual(bad)
        expect(Context.get(ctx, PollLoop).counters.layer("ipv6").drops["unknown_next_header"]).toBe(1)
      })
    ))

  it.effect("errors are rate limited by a token bucket (burst 50)", () =>
    withStack({ dadTransmits: 0 }, (peer, ctx) =>
      Effect.gen(function*() {
        yield* introduce(peer)
        for (let i = 0; i < 60; i++) {
          peer.unsafeTransmit(...whole(frame6(stackMac, packet6(peerLl, stackLl, 253, new Uint8Array(8)))))
        }
        yield* settle
        expect(ipv6Of(received(peer))).toHaveLength(50)
        expect(Context.get(ctx, PollLoop).counters.layer("icmpv6").drops["error_rate_limited"]).toBe(10)
      })
    ))

  it.effect("an unknown hop-by-hop option with action 10 gets a parameter problem, code 2", () =>
    withStack({ dadTransmits: 0 }, (peer) =>
      Effect.gen(function*() {
        yield* introduce(peer)
        // Hop-by-Hop: next header 59, length 0, option 0x80 (action 10) of 4 bytes.
        const hbh = Uint8Array.of(59, 0, 0x80, 4, 0, 0, 0, 0)
        peer.unsafeTransmit(...whole(frame6(stackMac, packet6(peerLl, stackLl, 0, hbh))))
        yield* settle
        const [pp] = ipv6Of(received(peer))
        expect(pp!.icmp).toMatchObject({ _tag: "ParamProblem", code: 2, pointer: 42 })
      })
    ))

  it.effect("a routing header with segments left gets a parameter problem; no error about an error", () =>
    withStack({ dadTransmits: 0 }, (peer) =>
      Effect.gen(function*() {
        yield* introduce(peer)
        const rh0 = Uint8Array.of(59, 0, 0, 1, 0, 0, 0, 0)
        peer.unsafeTransmit(...whole(frame6(stackMac, packet6(peerLl, stackLl, 43, rh0))))
        yield* settle
        const [pp] = ipv6Of(received(peer))
        expect(pp!.icmp).toMatchObject({ _tag: "ParamProblem", code: 0, pointer: 42 })
        // An ICMPv6 error with an unknown next header in its own packet is not answered.
        const err = icmp6({ _tag: "DstUnreachable", code: 4, quote: new Uint8Array(48) }, peerLl, stackLl)
        const inner = packet6(peerLl, stackLl, 58, err)
        inner[6] = 58
        peer.unsafeTransmit(...whole(frame6(stackMac, inner)))
        yield* settle
        expect(ipv6Of(received(peer))).toHaveLength(0)
      })
    ))

  it.effect("a Packet Too Big lowers the path MTU (never below 1280) and reaches the upper layer", () =>
    withStack({ dadTransmits: 0 }, (peer, ctx, v6) =>
      Effect.gen(function*() {
        yield* introduce(peer)
        const seen: Array<[number, number, number]> = []
        yield* v6.registerErrorHandler(253, (type, code, mtu) => {
          seen.push([type, code, mtu])
        })
        expect(v6.unsafeMaxPayload(peerLl)).toBe(1460)
        const quoted = packet6(stackLl, peerLl, 253, new Uint8Array(1400))
        const ptb = icmp6({ _tag: "PacketTooBig", mtu: 1000, quote: quoted }, peerLl, stackLl)
        peer.unsafeTransmit(...whole(frame6(stackMac, packet6(peerLl, stackLl, 58, ptb))))
        yield* settle
        expect(seen).toEqual([[2, 0, 1280]])
        expect(v6.unsafeMaxPayload(peerLl)).toBe(1240)
        // A send of 1300 bytes now goes in two fragments of at most 1280 bytes.
        const data = new Uint8Array(1300).map((_, i) => i & 0xff)
        expect(v6.unsafeSend(peerLl, 253, data, 0, data.length)).toBe("Sent")
        const frames = ipv6Of(received(peer))
        expect(frames).toHaveLength(2)
        for (const f of frames) expect(f.frame.length - 14).toBeLessThanOrEqual(1280)
        expect(reassemble(frames.map((f) => f.frame)).out).toEqual(data)
        // A quote whose source is not ours is dropped.
        const foreign = packet6(ip6("fe80::77"), peerLl, 253, new Uint8Array(8))
        const ptb2 = icmp6({ _tag: "PacketTooBig", mtu: 1280, quote: foreign }, peerLl, stackLl)
        peer.unsafeTransmit(...whole(frame6(stackMac, packet6(peerLl, stackLl, 58, ptb2))))
        yield* settle
        expect(seen).toHaveLength(1)
        expect(Context.get(ctx, PollLoop).counters.layer("icmpv6").drops["quote_not_ours"]).toBe(1)
        // RFC 8201: the lowered MTU ages out.
        yield* advance(10 * 60 * 1000 + 500, 10_000)
        expect(v6.unsafeMaxPayload(peerLl)).toBe(1460)
      })
    ), 60_000)
})

describe("IPv6 fragmentation", () => {
  it.effect("a fragmented echo request is reassembled, and its large reply is fragmented", () =>
    withStack({ dadTransmits: 0 }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        yield* introduce(peer)
        const req = echoRequest(9, 3000, peerLl, stackLl)
        for (const f of fragments(peerLl, stackLl, 58, req, 1232, 0xabcdef01)) peer.unsafeTransmit(...whole(frame6(stackMac, f)))
        yield* settle
        const frames = ipv6Of(received(peer))
        expect(frames).toHaveLength(3)
        for (const f of frames) {
          expect(f.ip.nextHeader).toBe(44)
          expect(f.frame.length - 14).toBeLessThanOrEqual(1500)
        }
        const { out, parts } = reassemble(frames.map((f) => f.frame))
        expect(parts.map((p) => [p.offset, p.more])).toEqual([[0, true], [1448, true], [2896, false]])
        // The same identification in each fragment.
        const ids = frames.map((f) => Array.from(f.frame.subarray(58, 62)).join())
        expect(new Set(ids).size).toBe(1)
        expect(out.length).toBe(req.length)
        expect(out[0]).toBe(129)
        expect(out.subarray(4)).toEqual(req.subarray(4))
        expect(v6.events["reassembled"]).toBe(1)
      })
    ))

  it.effect("a lone first fragment times out with time exceeded, code 1, after 60 s", () =>
    withStack({ dadTransmits: 0 }, (peer) =>
      Effect.gen(function*() {
        yield* introduce(peer)
        const req = echoRequest(9, 3000, peerLl, stackLl)
        const [first] = fragments(peerLl, stackLl, 58, req, 1232, 7)
        peer.unsafeTransmit(...whole(frame6(stackMac, first!)))
        yield* settle
        yield* advance(59_000)
        expect(ipv6Of(received(peer)).filter((f) => f.icmp?._tag === "TimeExceeded")).toHaveLength(0)
        yield* advance(2_000)
        const te = ipv6Of(received(peer)).filter((f) => f.icmp?._tag === "TimeExceeded")
        expect(te).toHaveLength(1)
        expect(te[0]!.icmp).toMatchObject({ code: 1 })
      })
    ), 60_000)
})

describe("IPv6 disabled", () => {
  it.effect("sends no IPv6 frame at all and drops received ones", () =>
    withStack({ enabled: false }, (peer, _ctx, v6) =>
      Effect.gen(function*() {
        yield* advance(10_000)
        expect(ipv6Of(received(peer))).toHaveLength(0)
        peer.unsafeTransmit(...whole(frame6(stackMac, packet6(peerLl, stackLl, 58, echoRequest(1, 8, peerLl, stackLl)))))
        yield* settle
        expect(ipv6Of(received(peer))).toHaveLength(0)
        expect(v6.enabled).toBe(false)
        expect(v6.unsafeSend(peerLl, 58, new Uint8Array(8), 0, 8)).toBe("NoRoute")
        const r = yield* Effect.flip(v6.linkLocal)
        expect(r.reason).toBe("Disabled")
        expect(formatIpv6(stackLl)).toBe("fe80::ff:fe00:2")
      })
    ))
})
