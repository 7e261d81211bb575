/**
 * Helpers of the IPv6 stack tests: one stack facing a raw peer, or two stacks
 * over the in-memory link, and hand-built IPv6/ICMPv6/NDP frames.
 */
import { Context, Effect, Layer, TestClock, type Scope } from "effect"
import { Link, type LinkDevice } from "../../src/layers/Link.js"
import { MemoryLink } from "../../src/layers/link/index.js"
import { Ipv6, type Ipv6Options, type Ipv6Service } from "../../src/layers/Ipv6.js"
import * as Stack from "../../src/layers/Stack.js"
import { parseIpv4, parseMac } from "../../src/protocols/address.js"
import * as Eth from "../../src/protocols/ethernet.js"
import * as Icmpv6 from "../../src/protocols/ipv6/icmpv6.js"
import { linkLocalFromMac, multicastMac, parseIpv6 } from "../../src/protocols/ipv6/address.js"
import * as Ip6 from "../../src/protocols/ipv6/header.js"
import * as Ndp from "../../src/protocols/ipv6/ndp.js"
import { driveTestClock as driveClock } from "./discrete-event.js"

export const stackMac = parseMac("02:00:00:00:00:02")!
export const peerMac = parseMac("02:00:00:00:00:99")!
export const stackLl = linkLocalFromMac(stackMac)
export const peerLl = linkLocalFromMac(peerMac)
export const ip6 = (t: string) => parseIpv6(t)!

/** Every frame the peer end has received so far. */
export const received = (peer: LinkDevice): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  peer.unsafeReceive((b, o, l) => out.push(b.slice(o, o + l)), Infinity)
  return out
}

export const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
})

/** Advances TestClock by `ms` in `step` ms steps so that timers fire in order. */
export const advance = (ms: number, step = 100) =>
  Effect.gen(function*() {
    for (let t = 0; t < ms; t += step) {
      yield* TestClock.adjust(Math.min(step, ms - t))
      yield* settle
    }
  })


/** A stack facing a raw peer; `f` gets the peer end, the stack's context and its IPv6 service. */
export const withStack = <A, E>(
  ipv6: Ipv6Options,
  f: (peer: LinkDevice, ctx: Context.Context<Stack.Services>, v6: Ipv6Service) => Effect.Effect<A, E, Scope.Scope>,
  mtu?: number
) =>
  Effect.gen(function*() {
    const [stackEnd, peer] = yield* MemoryLink.pair(mtu !== undefined ? { mtu } : undefined)
    const ctx = yield* Layer.build(
      Stack.layer({ mac: stackMac, ipv4: { address: parseIpv4("10.1.0.2")!, prefixLength: 24 }, ipv6 }).pipe(
        Layer.provide(Layer.succeed(Link, stackEnd))
      )
    )
    yield* settle
    return yield* f(peer, ctx, Context.get(ctx, Ipv6))
  }).pipe(Effect.scoped)

export const whole = (f: Uint8Array): [Uint8Array, number, number] => [f, 0, f.length]

/** An Ethernet frame from the peer carrying the IPv6 packet. */
export const frame6 = (dstMac: Uint8Array, packet: Uint8Array, srcMac = peerMac) => {
  const f = new Uint8Array(14 + packet.length)
  Eth.emitHeader(f, 0, dstMac, srcMac, Eth.EtherType.Ipv6)
  f.set(packet, 14)
  return f
}

/** An IPv6 packet. */
export const packet6 = (src: Uint8Array, dst: Uint8Array, nextHeader: number, payload: Uint8Array, hopLimit = 64) => {
  const p = new Uint8Array(40 + payload.length)
  Ip6.emit({ src, dst, nextHeader, payloadLength: payload.length, hopLimit, trafficClass: 0, flowLabel: 0 }, p, 0)
  p.set(payload, 40)
  return p
}

/** An ICMPv6 message from `src` to `dst`. */
export const icmp6 = (repr: Icmpv6.Repr, src: Uint8Array, dst: Uint8Array) => {
  const b = new Uint8Array(Icmpv6.bufferLen(repr))
  Icmpv6.emit(repr, src, dst, b, 0)
  return b
}

export const echoRequest = (seq: number, size: number, src: Uint8Array, dst: Uint8Array) => {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = i & 0xff
  return icmp6({ _tag: "EchoRequest", ident: 0x1234, seqNo: seq, data }, src, dst)
}

/** An NDP message from `src` to `dst` in a frame to `dstMac`. */
export const ndpFrame = (repr: Ndp.NdpRepr, src: Uint8Array, dst: Uint8Array, hopLimit = 255, dstMac?: Uint8Array) => {
  const b = new Uint8Array(Ndp.bufferLen(repr))
  Ndp.emit(repr, src, dst, b, 0)
  return frame6(dstMac ?? (dst[0] === 0xff ? multicastMac(dst) : stackMac), packet6(src, dst, 58, b, hopLimit))
}

/** The IPv6 packets among `frames`, parsed with their ICMPv6 message when there is one. */
export const ipv6Of = (frames: ReadonlyArray<Uint8Array>) =>
  frames.filter((f) => f[12] === 0x86 && f[13] === 0xdd).map((f) => {
    const ip = Ip6.parse(f, 14) as Ip6.Repr
    const icmp = ip.nextHeader === 58 ? (Icmpv6.parse(f, ip.src, ip.dst, 54, ip.payloadLength) as Icmpv6.Repr) : undefined
    const ndp = icmp !== undefined ? Ndp.parse(f, 54, ip.payloadLength) : undefined
    return { frame: f, ip, icmp, ndp: ndp !== undefined && ndp._tag !== "Malformed" ? (ndp as Ndp.NdpRepr) : undefined }
  })

export { driveClock }
