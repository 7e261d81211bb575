/**
 * TCP over IPv6 only, between two Isla stacks on the in-memory link: neither
 * stack has an IPv4 address; they form link-local addresses (DAD), find each
 * other by neighbour discovery, and move 10 MB each way through loss and
 * reordering, byte-identical. Runs in the discrete-event simulation under a
 * seeded Random, like tcp-sim.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Ipv6 from "../../src/layers/Ipv6.js"
import { Link, type LinkDevice } from "../../src/layers/Link.js"
import type { FaultOptions } from "../../src/layers/link/FaultInjector.js"
import { FaultInjector, MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import * as Tcp from "../../src/layers/Tcp.js"
import { parseMac } from "../../src/protocols/address.js"
import { formatIpv6, isLinkLocal } from "../../src/protocols/ipv6/address.js"
import { PollLoop } from "../../src/runtime/PollLoop.js"
import { acceptOne, dropsOf, payload, readAll, sameBytes, simulate, writeAll } from "./tcp-sim-harness.js"

const SIZE = 10 * 1024 * 1024

/** Counts the frames a stack sends by EtherType. */
const counting = (link: LinkDevice, byType: Map<number, number>): LinkDevice => {
  const wrapper: LinkDevice = Object.create(link)
  return Object.assign(wrapper, {
    unsafeTransmit: (buffer: Uint8Array, offset: number, length: number) => {
      const type = (buffer[offset + 12]! << 8) | buffer[offset + 13]!
      byType.set(type, (byType.get(type) ?? 0) + 1)
      return link.unsafeTransmit(buffer, offset, length)
    }
  })
}

const transfer = (faults: FaultOptions) =>
  Effect.gen(function*() {
    const [a, b] = yield* MemoryLink.pair({ queueLimit: 4096 })
    const fa = yield* FaultInjector.wrap(a, { delayMillis: 5, ...faults })
    const fb = yield* FaultInjector.wrap(b, { delayMillis: 5, ...faults })
    const sent = { A: new Map<number, number>(), B: new Map<number, number>() }
    const side = (link: LinkDevice, mac: string, counts: Map<number, number>) =>
      Effect.gen(function*() {
        // No IPv4 address: IPv6 only.
        const ctx = yield* Layer.build(
          Stack.layer({ mac: parseMac(mac)! }).pipe(Layer.provide(Layer.succeed(Link, counting(link, counts))))
        )
        const ipv6 = yield* Effect.provide(Ipv6.Ipv6, ctx)
        const loop = yield* Effect.provide(PollLoop, ctx)
        return { ctx, ipv6, loop }
      })
    const A = yield* side(fa, "02:00:00:00:00:01", sent.A)
    const B = yield* side(fb, "02:00:00:00:00:02", sent.B)
    const [llA, llB] = yield* Effect.all([A.ipv6.linkLocal, B.ipv6.linkLocal], { concurrency: 2 })
    const accepted = yield* Effect.provide(Tcp.listen(5001), A.ctx)
    const serverFiber = yield* Effect.fork(acceptOne(accepted))
    const client = yield* Effect.provide(Tcp.connect({ address: llA, port: 5001 }), B.ctx)
    const server = yield* serverFiber
    const dataAB = payload(SIZE, 0x6a)
    const dataBA = payload(SIZE, 0x6b)
    const sideIo = (socket: Tcp.TcpSocket, out: Uint8Array) =>
      Effect.all([writeAll(socket, out).pipe(Effect.zipRight(socket.closeWrite)), readAll(socket, SIZE)], {
        concurrency: 2
      }).pipe(Effect.map(([, got]) => got))
    const [gotAtB, gotAtA] = yield* Effect.all([sideIo(client, dataBA), sideIo(server, dataAB)], { concurrency: 2 })
    return {
      llA,
      llB,
      client,
      server,
      ok: { ab: sameBytes(gotAtB, dataAB), ba: sameBytes(gotAtA, dataBA) },
      received: { ab: gotAtB.length, ba: gotAtA.length },
      infoA: server.info(),
      infoB: client.info(),
      faultsA: { ...fa.counters },
      dropsA: dropsOf(A.loop),
      dropsB: dropsOf(B.loop),
      sent
    }
  })

describe("TCP over IPv6 only between two stacks, 10 MB each way", () => {
  it.effect("link-local addresses, neighbour discovery, then bulk both ways through 2% loss and reordering", () =>
    Effect.gen(function*() {
      const r = yield* transfer({ loss: 0.02, reorder: 0.02, reorderDelayMillis: 3 }).pipe(Effect.scoped, simulate("tcp6"))
      expect(isLinkLocal(r.llA) && isLinkLocal(r.llB)).toBe(true)
      expect(formatIpv6(r.llA)).toBe("fe80::ff:fe00:1")
      expect(r.received).toEqual({ ab: SIZE, ba: SIZE })
      expect(r.ok).toEqual({ ab: true, ba: true })
      expect(r.faultsA.droppedLoss).toBeGreaterThan(0)
      // Loss was repaired by TCP, over IPv6 addresses on both ends.
      expect(r.infoA.retransmits + r.infoB.retransmits).toBeGreaterThan(0)
      expect(r.client.remote.address).toEqual(r.llA)
      expect(r.server.remote.address).toEqual(r.llB)
      // The MSS follows the IPv6 MTU: 1500 - 40 - 20 (less 12 for timestamps).
      expect(r.infoB.sndMss).toBe(1500 - 40 - 20 - 12)
      // Not one IPv4 or ARP frame: IPv6 only.
      for (const counts of [r.sent.A, r.sent.B]) {
        expect(counts.get(0x0800) ?? 0).toBe(0)
        expect(counts.get(0x0806) ?? 0).toBe(0)
        expect(counts.get(0x86dd)).toBeGreaterThan(1000)
      }
      expect(Object.keys(r.dropsA["tcp"] ?? {}).filter((k) => k !== "no_connection")).toEqual([])
    }), 120_000)
})
