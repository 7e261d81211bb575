/**
 * Bad input never hurts the stack (SPEC §4): thousands of random and mutated
 * IPv6 frames — random headers, extension-header chains, fragments, ICMPv6,
 * NDP, UDP and TCP with bit flips and cut lengths — are dropped and counted,
 * nothing throws, and the stack still answers an echo request afterwards.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import { PollLoop } from "../../src/runtime/PollLoop.js"
import * as Ip6 from "../../src/protocols/ipv6/header.js"
import { echoRequest, frame6, ipv6Of, ndpFrame, packet6, peerLl, peerMac, received, settle, stackLl, stackMac, whole, withStack } from "./ipv6-helpers.js"

/** Next headers worth hitting: extension headers, the upper layers, and a few unknown ones. */
const nextHeaders = [0, 6, 17, 43, 44, 58, 59, 60, 135, 253, 255] as const

describe("IPv6 receive path under random and mutated frames", () => {
  it.effect("drops and counts them, never throws, and still answers echo afterwards", () =>
    withStack({ dadTransmits: 0 }, (peer, ctx) =>
      Effect.gen(function*() {
        const loop = yield* Effect.provide(PollLoop, ctx)
        const valid = [
          frame6(stackMac, packet6(peerLl, stackLl, 58, echoRequest(7, 40, peerLl, stackLl))),
          ndpFrame(
            { _tag: "NeighborSolicit", target: stackLl, options: [{ _tag: "SourceLinkLayer", address: peerMac }] },
            peerLl,
            stackLl
          ),
          frame6(stackMac, packet6(peerLl, stackLl, 17, Uint8Array.of(0x30, 0x39, 0, 7, 0, 12, 0, 0, 1, 2, 3, 4))),
          frame6(stackMac, packet6(peerLl, stackLl, 44, Uint8Array.of(58, 0, 0, 1, 1, 2, 3, 4, 128, 0, 0, 0, 0, 0, 0, 1)))
        ]
        const mutated = FastCheck.tuple(
          FastCheck.integer({ min: 0, max: valid.length - 1 }),
          FastCheck.array(FastCheck.tuple(FastCheck.nat(), FastCheck.integer({ min: 0, max: 255 })), { maxLength: 6 }),
          FastCheck.integer({ min: 14, max: 200 })
        ).map(([which, flips, cut]) => {
          const f = valid[which]!.slice()
          // Flip bytes past the Ethernet header, then maybe cut the frame short.
          for (const [at, value] of flips) f[14 + (at % (f.length - 14))] = value
          return f.subarray(0, Math.min(f.length, cut + 40))
        })
        const random = FastCheck.tuple(
          FastCheck.constantFrom(...nextHeaders),
          FastCheck.integer({ min: 0, max: 0xffff }),
          FastCheck.uint8Array({ minLength: 0, maxLength: 300 })
        ).map(([nh, plen, payload]) => {
          const p = new Uint8Array(Ip6.HEADER_LEN + payload.length)
          Ip6.emit({ src: peerLl, dst: stackLl, nextHeader: nh, payloadLength: plen, hopLimit: 64, trafficClass: 0, flowLabel: 0 }, p, 0)
          p.set(payload, Ip6.HEADER_LEN)
          return frame6(stackMac, p)
        })
        const frames = FastCheck.sample(FastCheck.oneof(mutated, random), { numRuns: 3000, seed: 6 })
        for (let i = 0; i < frames.length; i++) {
          peer.unsafeTransmit(...whole(frames[i]!))
          if (i % 100 === 99) yield* settle
        }
        yield* settle
        const dropped = (name: string) => {
          const d = loop.counters.layer(name).drops
          return Object.values(d).reduce((a, b) => a + b, 0)
        }
        expect(dropped("ipv6") + dropped("icmpv6") + dropped("ndp") + dropped("udp") + dropped("tcp")).toBeGreaterThan(1000)
        // Still alive and correct: a fresh echo request gets its reply.
        received(peer)
        peer.unsafeTransmit(...whole(frame6(stackMac, packet6(peerLl, stackLl, 58, echoRequest(4242, 24, peerLl, stackLl)))))
        yield* settle
        const reply = ipv6Of(received(peer)).find((p) => p.icmp?._tag === "EchoReply" && p.icmp.seqNo === 4242)
        expect(reply?.ip).toMatchObject({ src: stackLl, dst: peerLl })
      })
    ), 60_000)
})
