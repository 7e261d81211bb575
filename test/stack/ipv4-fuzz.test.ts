/**
 * Bad input never hurts the stack (SPEC §4): thousands of random and mutated
 * frames on the IPv4 side — ARP, IPv4 with options and fragments, ICMP, UDP
 * to a bound socket, TCP to a listener with random flags and options, with
 * bit flips and cut lengths — are dropped and counted, nothing throws, memory
 * stays bounded (reassembly), and the stack still answers ARP and ping.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, Layer, Stream } from "effect"
import { Link } from "../../src/layers/Link.js"
import { MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import * as Tcp from "../../src/layers/Tcp.js"
import * as Udp from "../../src/layers/Udp.js"
import { MAC_BROADCAST, parseIpv4, parseMac } from "../../src/protocols/address.js"
import * as ArpWire from "../../src/protocols/arp.js"
import * as Checksum from "../../src/protocols/checksum.js"
import * as Eth from "../../src/protocols/ethernet.js"
import * as Ip from "../../src/protocols/ipv4.js"
import * as Segment from "../../src/protocols/tcp/segment.js"
import * as UdpWire from "../../src/protocols/udp.js"
import { Ipv4 } from "../../src/layers/Ipv4.js"
import { PollLoop } from "../../src/runtime/PollLoop.js"
import { received, settle } from "./ipv6-helpers.js"

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
const ipFrame = (protocol: number, payload: Uint8Array, flagsOffset = 0, ident = 7) => {
  const p = new Uint8Array(20 + payload.length)
  Ip.emitHeader(p, 0, peerIp, stackIp, protocol, payload.length, 64, ident, 0, flagsOffset)
  p.set(payload, 20)
  return frameOf(stackMac, Eth.EtherType.Ipv4, p)
}
const icmpEcho = (seq: number) => {
  const m = new Uint8Array(16)
  m[0] = 8
  m[7] = seq
  const c = Checksum.compute(m, 0, m.length)
  m[2] = c >>> 8
  m[3] = c & 0xff
  return m
}

describe("IPv4 receive path under random and mutated frames", () => {
  it.scoped("drops and counts them, never throws, keeps reassembly bounded, and still answers ARP and ping", () =>
    Effect.gen(function*() {
      const [stackEnd, peer] = yield* MemoryLink.pair()
      const ctx = yield* Layer.build(
        Stack.layer({ mac: stackMac, ipv4: { address: stackIp, prefixLength: 24 }, ipv6: { enabled: false } }).pipe(
          Layer.provide(Layer.succeed(Link, stackEnd))
        )
      )
      const udp = yield* Effect.provide(Udp.bind(7), ctx)
      yield* udp.receive.pipe(Stream.runForEach((d) => udp.send(d.from, d.data).pipe(Effect.ignore)), Effect.forkScoped)
      const accepted = yield* Effect.provide(Tcp.listen(80), ctx)
      yield* accepted.pipe(Stream.runForEach((s) => s.close), Effect.forkScoped)
      yield* settle

      const udpSeg = new Uint8Array(8 + 12)
      UdpWire.emitHeader(udpSeg, 0, 40000, 7, 12, peerIp, stackIp)
      const syn = new Uint8Array(40)
      const opts = Segment.makeOptions()
      opts.mss = 1460
      opts.sackPermitted = true
      opts.timestamp = true
      opts.tsVal = 1
      opts.windowScale = 7
      Segment.emitHeader(syn, 0, 40001, 80, 1000, 0, Segment.Flags.SYN, 65535, opts, 0, Checksum.pseudoHeaderV4(peerIp, stackIp, 6, 0))
      const arp = new Uint8Array(28)
      ArpWire.emitParts(arp, 0, 1, peerMac, peerIp, new Uint8Array(6), stackIp)
      const valid = [
        ipFrame(1, icmpEcho(1)),
        ipFrame(17, udpSeg),
        ipFrame(6, syn.subarray(0, Segment.emitHeaderLength(opts))),
        ipFrame(17, udpSeg.subarray(0, 16), Ip.Flags.MoreFragments, 99),
        frameOf(MAC_BROADCAST, Eth.EtherType.Arp, arp)
      ]
      const mutated = FastCheck.tuple(
        FastCheck.integer({ min: 0, max: valid.length - 1 }),
        FastCheck.array(FastCheck.tuple(FastCheck.nat(), FastCheck.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        FastCheck.integer({ min: 0, max: 80 })
      ).map(([which, flips, cut]) => {
        const f = valid[which]!.slice()
        for (const [at, value] of flips) f[14 + (at % (f.length - 14))] = value
        return f.subarray(0, Math.max(14, f.length - cut))
      })
      const random = FastCheck.tuple(
        FastCheck.constantFrom(1, 6, 17, 2, 41, 255),
        FastCheck.integer({ min: 0, max: 0xffff }),
        FastCheck.integer({ min: 0, max: 0xffff }),
        FastCheck.uint8Array({ minLength: 0, maxLength: 300 })
      ).map(([protocol, flagsOffset, ident, payload]) => ipFrame(protocol, payload, flagsOffset & 0x3fff, ident))
      const frames = FastCheck.sample(FastCheck.oneof(mutated, random), { numRuns: 4000, seed: 4 })
      for (let i = 0; i < frames.length; i++) {
        peer.unsafeTransmit(frames[i]!, 0, frames[i]!.length)
        if (i % 100 === 99) yield* settle
      }
      yield* settle
      const loop = yield* Effect.provide(PollLoop, ctx)
      let drops = 0
      for (const c of loop.counters.layers.values()) for (const k in c.drops) drops += c.drops[k]!
      expect(drops).toBeGreaterThan(1000)
      // Reassembly stays within its limits (64 datagrams).
      const ipv4 = yield* Effect.provide(Ipv4, ctx)
      expect(ipv4.reassembler.datagrams).toBeLessThanOrEqual(64)
      expect(ipv4.reassembler.bytes).toBeLessThanOrEqual(4 * 1024 * 1024)
      // Still alive and correct: an ARP request is answered and a ping gets its reply.
      received(peer)
      peer.unsafeTransmit(frameOf(MAC_BROADCAST, Eth.EtherType.Arp, arp), 0, 42)
      peer.unsafeTransmit(...((f) => [f, 0, f.length] as const)(ipFrame(1, icmpEcho(77))))
      yield* settle
      const out = received(peer)
      expect(out.some((f) => f[12] === 0x08 && f[13] === 0x06 && f[21] === 2)).toBe(true)
      expect(out.some((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 1 && f[34] === 0 && f[41] === 77)).toBe(true)
    }), 60_000)
})
