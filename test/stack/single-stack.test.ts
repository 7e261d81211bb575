/**
 * One stack on an in-memory link whose other end is a raw test peer: the
 * peer writes hand-built frames and reads what the stack answers, while
 * TestClock drives ARP retries/expiry and reassembly timeouts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock, type Context, type Scope } from "effect"
import { Link, type LinkDevice } from "../../src/layers/Link.js"
import { MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import * as Udp from "../../src/layers/Udp.js"
import { formatMac, MAC_BROADCAST, MAC_ZERO, parseIpv4, parseMac } from "../../src/protocols/address.js"
import * as ArpWire from "../../src/protocols/arp.js"
import * as Checksum from "../../src/protocols/checksum.js"
import * as Eth from "../../src/protocols/ethernet.js"
import * as IcmpWire from "../../src/protocols/icmpv4.js"
import * as Ip from "../../src/protocols/ipv4.js"
import * as UdpWire from "../../src/protocols/udp.js"
import { PollLoop } from "../../src/runtime/PollLoop.js"

const stackMac = parseMac("02:00:00:00:00:02")!
const peerMac = parseMac("02:00:00:00:00:99")!
const stackIp = parseIpv4("10.1.0.2")!
const peerIp = parseIpv4("10.1.0.9")!

const frameOf = (dst: Uint8Array, type: number, payload: Uint8Array) => {
  const f = new Uint8Array(14 + payload.length)
  Eth.emitHeader(f, 0, dst, peerMac, type)
  f.set(payload, 14)
  return f
}

const arpFrame = (op: number, tha: Uint8Array, tpa: number, spa = peerIp) => {
  const p = new Uint8Array(28)
  ArpWire.emitParts(p, 0, op, peerMac, spa, tha, tpa)
  return frameOf(op === 1 ? MAC_BROADCAST : stackMac, Eth.EtherType.Arp, p)
}

const ipPacket = (protocol: number, payload: Uint8Array, flagsOffset = 0, ident = 7, src = peerIp, dst = stackIp) => {
  const p = new Uint8Array(20 + payload.length)
  Ip.emitHeader(p, 0, src, dst, protocol, payload.length, 64, ident, 0, flagsOffset)
  p.set(payload, 20)
  return p
}

const udpDatagram = (dstPort: number, data: Uint8Array) => {
  const u = new Uint8Array(8 + data.length)
  u.set(data, 8)
  UdpWire.emitHeader(u, 0, 40000, dstPort, data.length, peerIp, stackIp)
  return u
}

const echoRequest = (seq: number, size: number) => {
  const m = new Uint8Array(8 + size)
  m[0] = 8
  m[6] = seq >>> 8
  m[7] = seq & 0xff
  for (let i = 0; i < size; i++) m[8 + i] = i & 0xff
  const c = Checksum.compute(m, 0, m.length)
  m[2] = c >>> 8
  m[3] = c & 0xff
  return m
}

/** Every frame the peer end has received so far. */
const received = (peer: LinkDevice): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  peer.unsafeReceive((b, o, l) => out.push(b.slice(o, o + l)), Infinity)
  return out
}

const settle = Effect.gen(function*() {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
})

const withStack = <A, E>(
  f: (peer: LinkDevice, ctx: Context.Context<Stack.Services>) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.gen(function*() {
    const [stackEnd, peer] = yield* MemoryLink.pair()
    const ctx = yield* Layer.build(
      Stack.layer({ mac: stackMac, ipv4: { address: stackIp, prefixLength: 24 }, ipv6: { enabled: false } }).pipe(
        Layer.provide(Layer.succeed(Link, stackEnd))
      )
    )
    yield* settle
    return yield* f(peer, ctx)
  }).pipe(Effect.scoped)

const arpOf = (f: Uint8Array) => ArpWire.parse(f, 14)
const ipOf = (f: Uint8Array) => Ip.parse(f, 14)

describe("a stack answering a raw peer", () => {
  it.effect("announces itself with a gratuitous ARP and answers ARP requests for its address only", () =>
    withStack((peer) =>
      Effect.gen(function*() {
        const [garp] = received(peer)
        const g = arpOf(garp!)
        expect(g).toMatchObject({ operation: 1, spa: stackIp, tpa: stackIp })
        expect(formatMac(garp!, 0)).toBe("ff:ff:ff:ff:ff:ff")

        peer.unsafeTransmit(...whole(arpFrame(1, MAC_ZERO, stackIp)))
        peer.unsafeTransmit(...whole(arpFrame(1, MAC_ZERO, parseIpv4("10.1.0.77")!)))
        yield* settle
        const replies = received(peer)
        expect(replies).toHaveLength(1)
        expect(arpOf(replies[0]!)).toMatchObject({ operation: 2, spa: stackIp, tpa: peerIp, tha: peerMac, sha: stackMac })
        expect(formatMac(replies[0]!, 0)).toBe(formatMac(peerMac))
      })
    ))

  it.effect("retries ARP three times a second apart, then drops the waiting packets and counts them", () =>
    withStack((peer, ctx) =>
      Effect.gen(function*() {
        received(peer)
        const socket = yield* Udp.bind(5000).pipe(Effect.provide(ctx))
        yield* socket.send({ address: parseIpv4("10.1.0.50")!, port: 9 }, new Uint8Array([1, 2, 3]))
        yield* settle
        const requests = () => received(peer).filter((f) => arpOf(f) && (arpOf(f) as ArpWire.Repr).tpa === parseIpv4("10.1.0.50"))
        expect(requests()).toHaveLength(1)
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(requests()).toHaveLength(1)
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(requests()).toHaveLength(1)
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(requests()).toHaveLength(0)
        const loop = yield* PollLoop.pipe(Effect.provide(ctx))
        expect(loop.counters.layer("arp").drops["unresolved"]).toBe(1)
      })
    ))

  it.effect("answers ping once resolved, and forgets the neighbour after the ARP entry expires", () =>
    withStack((peer) =>
      Effect.gen(function*() {
        received(peer)
        peer.unsafeTransmit(...whole(arpFrame(1, MAC_ZERO, stackIp)))
        peer.unsafeTransmit(...whole(frameOf(stackMac, 0x0800, ipPacket(1, echoRequest(1, 32)))))
        yield* settle
        const out = received(peer)
        const reply = out.map(ipOf).find((r) => !("_tag" in r) && r.protocol === 1) as Ip.Repr
        expect(reply).toMatchObject({ src: stackIp, dst: peerIp, protocol: 1, payloadLength: 40 })
        const icmp = IcmpWire.parse(out[out.length - 1]!, 34)
        expect(icmp).toMatchObject({ _tag: "EchoReply", seqNo: 1 })
        // After the 60 s reachable time the stack must ask again before answering.
        yield* TestClock.adjust("61 seconds")
        yield* settle
        peer.unsafeTransmit(...whole(frameOf(stackMac, 0x0800, ipPacket(1, echoRequest(2, 32)))))
        yield* settle
        const again = received(peer)
        expect(again).toHaveLength(1)
        expect(arpOf(again[0]!)).toMatchObject({ operation: 1, tpa: peerIp })
      })
    ))

  it.effect("refreshes a neighbour in use before it expires, without a pause in sending", () =>
    withStack((peer) =>
      Effect.gen(function*() {
        received(peer)
        peer.unsafeTransmit(...whole(arpFrame(1, MAC_ZERO, stackIp)))
        yield* settle
        received(peer)
        // 56 s later a ping still gets its reply straight away, and an ARP request goes out too.
        yield* TestClock.adjust("56 seconds")
        peer.unsafeTransmit(...whole(frameOf(stackMac, 0x0800, ipPacket(1, echoRequest(7, 8)))))
        yield* settle
        const out = received(peer)
        expect(out.some((f) => f[12] === 0x08 && f[13] === 0x00)).toBe(true)
        expect(out.map(arpOf).some((r) => !("_tag" in r) && r.operation === 1 && r.tpa === peerIp)).toBe(true)
        // The peer answers: the entry lives on past the original 60 s.
        peer.unsafeTransmit(...whole(arpFrame(2, stackMac, stackIp)))
        yield* TestClock.adjust("10 seconds")
        yield* settle
        received(peer)
        peer.unsafeTransmit(...whole(frameOf(stackMac, 0x0800, ipPacket(1, echoRequest(8, 8)))))
        yield* settle
        const later = received(peer)
        expect(later).toHaveLength(1)
        expect(later[0]![12]).toBe(0x08)
        expect(later[0]![13]).toBe(0x00)
      })
    ))

  it.effect("sends ICMP port unreachable for a closed UDP port, quoting the datagram", () =>
    withStack((peer) =>
      Effect.gen(function*() {
        received(peer)
        peer.unsafeTransmit(...whole(arpFrame(1, MAC_ZERO, stackIp)))
        const datagram = ipPacket(17, udpDatagram(5555, new Uint8Array([9, 9, 9])))
        peer.unsafeTransmit(...whole(frameOf(stackMac, 0x0800, datagram)))
        yield* settle
        const out = received(peer).filter((f) => f[12] === 0x08 && f[13] === 0x00)
        expect(out).toHaveLength(1)
        const icmp = IcmpWire.parse(out[0]!, 34)
        expect(icmp).toMatchObject({ _tag: "DstUnreachable", code: 3 })
        expect((icmp as { quote: Uint8Array }).quote).toEqual(datagram.subarray(0, 28))
      })
    ))

  it.effect("drops bad checksums and truncated packets and counts them by reason", () =>
    withStack((peer, ctx) =>
      Effect.gen(function*() {
        received(peer)
        const bad = ipPacket(17, udpDatagram(7, new Uint8Array([1])))
        bad[10]! ^= 0xff
        peer.unsafeTransmit(...whole(frameOf(stackMac, 0x0800, bad)))
        peer.unsafeTransmit(...whole(frameOf(stackMac, 0x0800, new Uint8Array(10))))
        peer.unsafeTransmit(...whole(new Uint8Array(8)))
        yield* settle
        expect(received(peer)).toHaveLength(0)
        const loop = yield* PollLoop.pipe(Effect.provide(ctx))
        expect(loop.counters.layer("ipv4").drops["bad_checksum"]).toBe(1)
        expect(loop.counters.layer("ipv4").drops["truncated"]).toBe(1)
        expect(loop.counters.layer("ethernet").drops["truncated"]).toBe(1)
      })
    ))

  it.effect("reassembles fragments in any order and times out incomplete ones with ICMP time exceeded", () =>
    withStack((peer, ctx) =>
      Effect.gen(function*() {
        received(peer)
        peer.unsafeTransmit(...whole(arpFrame(1, MAC_ZERO, stackIp)))
        yield* settle
        received(peer)
        const icmp = echoRequest(3, 3000)
        const pieces = [[0, 1480], [1480, 1480], [2960, icmp.length - 2960]] as const
        const frag = (i: number, ident: number) => {
          const [off, len] = pieces[i]!
          const more = off + len < icmp.length ? Ip.Flags.MoreFragments : 0
          return frameOf(stackMac, 0x0800, ipPacket(1, icmp.subarray(off, off + len), more | (off >>> 3), ident))
        }
        for (const i of [2, 0, 1]) peer.unsafeTransmit(...whole(frag(i, 100)))
        yield* settle
        const replies = received(peer)
        // The 3008-byte reply goes back in three fragments.
        expect(replies).toHaveLength(3)
        // Now only the first two fragments of another datagram: after 30 s, time exceeded (code 1).
        peer.unsafeTransmit(...whole(frag(0, 101)))
        peer.unsafeTransmit(...whole(frag(1, 101)))
        yield* settle
        expect(received(peer)).toHaveLength(0)
        yield* TestClock.adjust("31 seconds")
        yield* settle
        const [te] = received(peer).filter((f) => f[13] === 0x00 && f[12] === 0x08)
        expect(IcmpWire.parse(te!, 34)).toMatchObject({ _tag: "TimeExceeded", code: 1 })
        const loop = yield* PollLoop.pipe(Effect.provide(ctx))
        expect(loop.counters.layer("ipv4").drops["reassembly_timeout"]).toBe(1)
      })
    ))
})

function whole(f: Uint8Array): [Uint8Array, number, number] {
  return [f, 0, f.length]
}
