/**
 * Deterministic simulations of TCP between two Isla stacks over the
 * in-memory link with a fault injector on each direction: 10 MB each way,
 * byte-identical, under loss, reordering, duplication, corruption and a
 * narrow link; a slow reader; a peer that vanishes; TIME-WAIT; simultaneous
 * open; and RFC 5961 RST handling against a raw peer. Each run is a
 * discrete-event simulation (see discrete-event.ts) under a seeded Random.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Either, Layer, Random } from "effect"
import * as Icmp from "../../src/layers/Icmp.js"
import { Link, type LinkDevice } from "../../src/layers/Link.js"
import { MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import * as Tcp from "../../src/layers/Tcp.js"
import { parseIpv4, parseMac } from "../../src/protocols/address.js"
import * as ArpWire from "../../src/protocols/arp.js"
import * as Checksum from "../../src/protocols/checksum.js"
import * as Eth from "../../src/protocols/ethernet.js"
import * as Ip from "../../src/protocols/ipv4.js"
import * as Segment from "../../src/protocols/tcp/segment.js"
import {
  acceptOne,
  bulkBothWays,
  driveTestClock,
  ipA,
  ipB,
  payload,
  readAll,
  readExactly,
  sameBytes,
  type SimOptions,
  simulate,
  type TransferResult,
  twoStacks,
  waitUntil,
  type WireSegment,
  writeAll
} from "./tcp-sim-harness.js"

const MB = 1024 * 1024
const SIZE = 10 * MB

/** The same faults on both directions, over a 10 ms RTT. */
const both = (f: SimOptions["ab"]): SimOptions => ({ ab: { delayMillis: 5, ...f }, ba: { delayMillis: 5, ...f } })

const run = (options: SimOptions, seed: string) =>
  bulkBothWays(options, SIZE).pipe(
    Effect.map(({ result }) => result),
    Effect.scoped,
    simulate(seed)
  )

/** Checks every transfer must pass, and that no TCP segment was too big for the link. */
const expectDelivered = (r: TransferResult) => {
  expect(r.received).toEqual({ ab: SIZE, ba: SIZE })
  expect(r.ok).toEqual({ ab: true, ba: true })
  // Nothing the stacks sent was too big for the link (or refused by it, but for a full link buffer).
  for (const [drops, faults] of [[r.dropsA, r.faultsA], [r.dropsB, r.faultsB]] as const) {
    const tx = Object.keys({ ...drops["tcp"], ...drops["ipv4"] }).filter((k) => k.startsWith("tx_"))
    expect(tx).toEqual(faults.droppedBandwidth > 0 ? ["tx_Dropped"] : [])
  }
}

/** Goodput of one direction in bits per second of simulated time. */
const goodput = (r: TransferResult) => (SIZE * 8) / (r.millis / 1000)

describe("the discrete-event simulation", () => {
  it.effect("jumps the clock from event to event, in order, and turns a deadlock into a defect", () =>
    Effect.gen(function*() {
      const woke: Array<string> = []
      const at = (name: string, millis: number) =>
        Effect.sleep(millis).pipe(Effect.zipRight(Clock.currentTimeMillis), Effect.map((t) => woke.push(`${name}@${t}`)))
      yield* Effect.all([at("c", 30_000), at("a", 0.25), at("b", 7)], { concurrency: "unbounded" }).pipe(simulate("order"))
      expect(woke).toEqual(["a@0.25", "b@7", "c@30000"])
      const stuck = yield* Effect.exit(Effect.never.pipe(simulate("deadlock")))
      expect(String(stuck)).toContain("simulation deadlock")
    }))
})

describe("TCP between two stacks, 10 MB each way", () => {
  it.effect("clean link: no retransmission, no reordering, nothing dropped", () =>
    Effect.gen(function*() {
      const r = yield* run(both({}), "clean")
      expectDelivered(r)
      for (const i of [r.infoA, r.infoB]) {
        expect(i).toMatchObject({ retransmits: 0, fastRetransmits: 0, rtoExpiries: 0, outOfOrderBytes: 0 })
      }
      expect(r.dropsA["tcp"]).toEqual({})
      expect(r.dropsB["tcp"]).toEqual({})
      // 10 MB each way over a 10 ms RTT without loss: well under two seconds.
      expect(r.millis).toBeLessThan(2000)
    }))

  it.effect("2% loss: SACK recovery does most of the repair", () =>
    Effect.gen(function*() {
      const r = yield* run(both({ loss: 0.02 }), "loss-2")
      expectDelivered(r)
      expect(r.faultsA.droppedLoss).toBeGreaterThan(0)
      expect(r.faultsB.droppedLoss).toBeGreaterThan(0)
      for (const i of [r.infoA, r.infoB]) {
        expect(i.retransmits).toBeGreaterThan(0)
        expect(i.fastRetransmits).toBeGreaterThan(0)
        expect(i.outOfOrderBytes).toBeGreaterThan(0)
        expect(i.fastRetransmits).toBeGreaterThan(i.rtoExpiries)
      }
    }))

  it.effect("10% loss: fast retransmits and timeouts both at work", () =>
    Effect.gen(function*() {
      const r = yield* run(both({ loss: 0.1 }), "loss-10")
      expectDelivered(r)
      expect(r.faultsA.droppedLoss).toBeGreaterThan(0)
      expect(r.faultsB.droppedLoss).toBeGreaterThan(0)
      for (const i of [r.infoA, r.infoB]) {
        expect(i.retransmits).toBeGreaterThan(0)
        expect(i.fastRetransmits).toBeGreaterThan(0)
        expect(i.rtoExpiries).toBeGreaterThan(0)
        expect(i.outOfOrderBytes).toBeGreaterThan(0)
      }
    }))

  it.effect("reordering: out-of-order segments are reassembled, no timeout", () =>
    Effect.gen(function*() {
      const r = yield* run(both({ reorder: 0.05, reorderDelayMillis: 3 }), "reorder")
      expectDelivered(r)
      expect(r.faultsA.reordered).toBeGreaterThan(0)
      expect(r.faultsB.reordered).toBeGreaterThan(0)
      expect(r.faultsA.droppedLoss + r.faultsB.droppedLoss).toBe(0)
      for (const i of [r.infoA, r.infoB]) {
        expect(i.outOfOrderBytes).toBeGreaterThan(0)
        expect(i.rtoExpiries).toBe(0)
      }
    }))

  it.effect("duplication: duplicates are received and discarded, no timeout", () =>
    Effect.gen(function*() {
      const r = yield* run(both({ duplicate: 0.05 }), "duplicate")
      expectDelivered(r)
      expect(r.faultsA.duplicated).toBeGreaterThan(0)
      expect(r.faultsB.duplicated).toBeGreaterThan(0)
      // Each side took in more segments than the other sent: the copies.
      expect(r.infoA.segmentsIn).toBeGreaterThan(r.infoB.segmentsOut)
      expect(r.infoB.segmentsIn).toBeGreaterThan(r.infoA.segmentsOut)
      expect(r.infoA.rtoExpiries + r.infoB.rtoExpiries).toBe(0)
    }))

  it.effect("corruption: damaged frames fail the IPv4 or TCP checksum, are dropped and repaired", () =>
    Effect.gen(function*() {
      const r = yield* run(both({ corrupt: 0.02 }), "corrupt")
      expectDelivered(r)
      expect(r.faultsA.corrupted).toBeGreaterThan(0)
      expect(r.faultsB.corrupted).toBeGreaterThan(0)
      for (const drops of [r.dropsA, r.dropsB]) {
        expect(drops["ipv4"]!["bad_checksum"]).toBeGreaterThan(0)
        expect(drops["tcp"]!["bad_checksum"]).toBeGreaterThan(0)
      }
      for (const i of [r.infoA, r.infoB]) expect(i.retransmits).toBeGreaterThan(0)
    }))

  it.effect("10 Mbit/s link with a 32-frame buffer: congestion control settles, it does not collapse", () =>
    Effect.gen(function*() {
      const rate = 10e6
      const link = { delayMillis: 10, bandwidthBitsPerSecond: rate, bufferFrames: 32 }
      const r = yield* run({ ab: link, ba: link }, "bandwidth")
      expectDelivered(r)
      // The buffer overflowed (the senders found the link's limit) ...
      expect(r.faultsA.droppedBandwidth).toBeGreaterThan(0)
      expect(r.faultsB.droppedBandwidth).toBeGreaterThan(0)
      // ... yet each direction moved at least half the link rate over the whole run.
      expect(goodput(r)).toBeGreaterThan(0.5 * rate)
      for (const i of [r.infoA, r.infoB]) {
        expect(i.cwnd).toBeGreaterThanOrEqual(4 * i.sndMss)
        expect(i.rtoExpiries).toBeLessThan(20)
        // Queueing delay stays within what the 32-frame buffer can hold (~39 ms) over the 20 ms RTT.
        expect(i.srttMillis!).toBeLessThan(80)
      }
    }))

  it.effect("the same seed gives the same run; another seed another", () =>
    Effect.gen(function*() {
      const faults = both({ loss: 0.02, reorder: 0.02 })
      const first = yield* run(faults, "repeat")
      const second = yield* run(faults, "repeat")
      expectDelivered(first)
      expect(second).toEqual(first)
      const other = yield* run(faults, "repeat, but another seed")
      expectDelivered(other)
      expect(other.faultsA).not.toEqual(first.faultsA)
    }))

  it.effect("a clean transfer also completes under TestClock with a discrete-event driver", () =>
    Effect.gen(function*() {
      const { result: r } = yield* Effect.gen(function*() {
        yield* Effect.forkScoped(driveTestClock)
        return yield* bulkBothWays(both({}), SIZE)
      }).pipe(Effect.scoped, Effect.withRandom(Random.make("testclock")))
      expectDelivered(r)
      expect(r.infoA.retransmits + r.infoB.retransmits).toBe(0)
    }), 30_000)
})

describe("TCP flow and error control between two stacks", () => {
  it.effect("a slow reader: the window closes, zero-window probes go out, the window reopens", () =>
    Effect.gen(function*() {
      // B's receive window just after each read, and A's send window after each pause.
      const recvAfterRead: Array<number> = []
      const sendAfterPause: Array<number> = []
      const recvAfterPause: Array<number> = []
      const { result: r } = yield* bulkBothWays(both({}), SIZE, {
        // B reads 64 KiB at most per read, then dawdles for a second: long enough for A's
        // persist timer, which first fires as the SWS override (RFC 9293 §3.8.6.2.1)
        // and sends what is left of the window, to fire again on a zero window.
        slowReader: (_, { client, server }) =>
          Effect.gen(function*() {
            recvAfterRead.push(client.info().rcvWindow)
            yield* Effect.sleep(1000)
            sendAfterPause.push(server.info().sndWindow)
            recvAfterPause.push(client.info().rcvWindow)
          })
      }).pipe(Effect.scoped, simulate("slow-reader"))
      expectDelivered(r)
      // The window closed while B dawdled: A saw a zero window, B had less than a segment of room.
      expect(sendAfterPause.filter((w) => w === 0).length).toBeGreaterThan(10)
      expect(recvAfterPause.filter((w) => w < r.infoA.sndMss).length).toBeGreaterThan(10)
      // A probed the closed window (RFC 9293 §3.8.6.1) ...
      expect(r.infoA.zeroWindowProbes).toBeGreaterThan(10)
      // ... and each read reopened it by a whole read's worth.
      expect(Math.min(...recvAfterRead.slice(0, -1))).toBeGreaterThanOrEqual(64 * 1024)
      // A second per 64 KiB read: the reader, not the link, set the pace; B's sending was never held up.
      expect(r.millis).toBeGreaterThan((SIZE / 65536) * 1000 * 0.9)
      expect(r.infoB.zeroWindowProbes).toBe(0)
      expect(r.infoA.retransmits + r.infoB.retransmits).toBe(0)
    }))
})

/** A and B in a simulation, B connected to A's port 5001 (A accepted). */
const connected = (options: SimOptions) =>
  Effect.gen(function*() {
    const { A, B } = yield* twoStacks(options)
    const accepted = yield* A.run(Tcp.listen(5001))
    const serverFiber = yield* Effect.fork(acceptOne(accepted))
    const client = yield* B.run(Tcp.connect({ address: ipA, port: 5001 }))
    const server = yield* serverFiber
    return { A, B, client, server }
  })

describe("TCP timers and opening between two stacks", () => {
  it.effect("the peer vanishes: the RTO doubles at each expiry and the user gets ConnectionTimedOut", () =>
    Effect.gen(function*() {
      const cut = { on: false }
      const trace: Array<WireSegment> = []
      const maxRetransmits = 5
      const { A, B, client, server } = yield* connected({ ...both({}), cut, trace, tcp: { connection: { maxRetransmits } } })
      // Some traffic first, so that the RTT is measured.
      const warm = payload(100_000, 7)
      yield* Effect.all([writeAll(client, warm), readExactly(server, warm.length)], { concurrency: 2 })
      yield* waitUntil(() => client.info().bytesInFlight === 0)
      // A vanishes from the link (and B's frames with it); B has more to say.
      cut.on = true
      const from = trace.length
      const cutAt = yield* Clock.currentTimeMillis
      yield* client.write(payload(10_000, 8))
      const outcome = yield* Effect.either(client.read)
      const failedAt = yield* Clock.currentTimeMillis
      expect(Either.isLeft(outcome) && outcome.left.reason).toBe("ConnectionTimedOut")
      // B sent the new data once, then the first segment again at each RTO expiry, twice as late each time.
      const after = trace.slice(from).filter((s) => s.from === "B" && s.len > 0)
      const sends = after.filter((s) => s.seq === after[0]!.seq).map((s) => s.t)
      expect(sends).toHaveLength(1 + maxRetransmits)
      const gaps = sends.slice(1).map((t, i) => t - sends[i]!)
      expect(gaps[0]).toBeGreaterThanOrEqual(200) // RFC 6298 §2.4: at least the minimum RTO
      for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeCloseTo(2 * gaps[i - 1]!, 6)
      // The last expiry (2^5 · RTO after the last retransmission) gave up.
      expect(failedAt - sends[sends.length - 1]!).toBeCloseTo(2 * gaps[gaps.length - 1]!, 6)
      expect(failedAt - cutAt).toBeCloseTo(63 * gaps[0]!, 6)
      const info = client.info()
      expect(info).toMatchObject({ state: "Closed", rtoExpiries: maxRetransmits + 1 })
      expect(info.retransmits).toBe(maxRetransmits)
      // The connection left B's table; A, which had nothing to send, never noticed.
      expect(B.tcp.connectionsByState()).toEqual({})
      expect(A.tcp.connectionsByState()).toEqual({ Established: 1 })
    }).pipe(Effect.scoped, simulate("vanish")))

  it.effect("TIME-WAIT lasts timeWaitMillis, then the connection leaves the table", () =>
    Effect.gen(function*() {
      const timeWaitMillis = 3000
      const { A, B, client, server } = yield* connected({ ...both({}), tcp: { connection: { timeWaitMillis } } })
      const data = payload(20_000, 9)
      yield* writeAll(client, data)
      // B closes first, so B is the one in TIME-WAIT.
      yield* client.close
      const got = yield* readAll(server, data.length)
      expect(sameBytes(got, data)).toBe(true)
      yield* server.close
      yield* waitUntil(() => B.tcp.connectionsByState()["TimeWait"] === 1)
      const enteredAt = yield* Clock.currentTimeMillis
      expect(B.tcp.connectionsByState()).toEqual({ TimeWait: 1 })
      // A got the last ACK one trip later and forgot the connection.
      yield* Effect.sleep(20)
      expect(A.tcp.connectionsByState()).toEqual({})
      yield* Effect.sleep(timeWaitMillis - 40)
      expect(B.tcp.connectionsByState()).toEqual({ TimeWait: 1 })
      yield* waitUntil(() => B.tcp.connectionsByState()["TimeWait"] === undefined)
      const leftAt = yield* Clock.currentTimeMillis
      expect(leftAt - enteredAt).toBeGreaterThanOrEqual(timeWaitMillis - 1)
      expect(leftAt - enteredAt).toBeLessThanOrEqual(timeWaitMillis + 1)
      expect(B.tcp.connectionsByState()).toEqual({})
    }).pipe(Effect.scoped, simulate("time-wait")))

  it.effect("simultaneous open: both SYNs cross, both ends answer SYN-ACK, one connection, bytes both ways", () =>
    Effect.gen(function*() {
      const trace: Array<WireSegment> = []
      const { A, B } = yield* twoStacks({ ...both({ delayMillis: 10 }), trace })
      // Resolve each other first, so that both SYNs leave at once and cross on the wire.
      yield* A.run(Icmp.echo(ipB))
      yield* B.run(Icmp.echo(ipA))
      const [sa, sb] = yield* Effect.all([
        A.run(Tcp.connect({ address: ipB, port: 7000 }, { localPort: 6000 })),
        B.run(Tcp.connect({ address: ipA, port: 6000 }, { localPort: 7000 }))
      ], { concurrency: 2 })
      expect(sa.info().state).toBe("Established")
      expect(sb.info().state).toBe("Established")
      // Neither believes in more window than the other has (SYN-ACK windows are not scaled, RFC 7323 §2.2).
      expect(sa.info().sndWindow).toBeLessThanOrEqual(sb.info().rcvWindow)
      expect(sb.info().sndWindow).toBeLessThanOrEqual(sa.info().rcvWindow)
      expect(sa.local).toEqual({ address: ipA, port: 6000 })
      expect(sb.remote).toEqual({ address: ipA, port: 6000 })
      // RFC 9293 §3.5 figure 7: SYN, SYN, then each side's SYN-ACK; no listener, no RST.
      const handshake = trace.filter((s) => s.flags & Segment.Flags.SYN)
        .map((s) => `${s.from} ${s.flags & Segment.Flags.ACK ? "SYN-ACK" : "SYN"}`)
      expect(handshake.slice(0, 2).sort()).toEqual(["A SYN", "B SYN"])
      expect(handshake.slice(2).sort()).toEqual(["A SYN-ACK", "B SYN-ACK"])
      expect(trace.filter((s) => s.flags & Segment.Flags.RST)).toEqual([])
      expect(A.tcp.connectionsByState()).toEqual({ Established: 1 })
      expect(B.tcp.connectionsByState()).toEqual({ Established: 1 })
      // And it carries data both ways.
      const ab = payload(MB, 10)
      const ba = payload(MB, 11)
      const [, , atB, atA] = yield* Effect.all([
        writeAll(sa, ab).pipe(Effect.zipRight(sa.closeWrite)),
        writeAll(sb, ba).pipe(Effect.zipRight(sb.closeWrite)),
        readAll(sb, MB),
        readAll(sa, MB)
      ], { concurrency: 4 })
      expect(sameBytes(atB, ab)).toBe(true)
      expect(sameBytes(atA, ba)).toBe(true)
    }).pipe(Effect.scoped, simulate("simultaneous-open")))
})

// ---------------------------------------------------------------------------
// A stack against a raw peer that writes segments by hand (RFC 5961).

const stackMac = parseMac("02:00:00:00:00:01")!
const peerMac = parseMac("02:00:00:00:00:99")!
const peerIp = parseIpv4("10.0.0.9")!

/** A received TCP segment, as the raw peer sees it. */
interface Seen {
  readonly seq: number
  readonly ack: number
  readonly flags: number
  readonly window: number
  readonly len: number
}

/** A peer that writes Ethernet/IPv4/TCP frames by hand on one end of a memory link. */
const rawPeer = (link: LinkDevice) => {
  const send = (frame: Uint8Array) => link.unsafeTransmit(frame, 0, frame.length)
  return {
    /** Makes the stack learn the peer's MAC (an ARP request for the stack's address). */
    arp: () => {
      const f = new Uint8Array(42)
      Eth.emitHeader(f, 0, stackMac, peerMac, Eth.EtherType.Arp)
      ArpWire.emitParts(f, 14, 1, peerMac, peerIp, new Uint8Array(6), ipA)
      send(f)
    },
    /** Sends one segment from peerIp:40000 to the stack's `port`. */
    segment: (port: number, seq: number, ack: number, flags: number, data = new Uint8Array(0), mss = 0) => {
      const opts = Segment.makeOptions()
      opts.mss = mss
      const hl = Segment.emitHeaderLength(mss > 0 ? opts : undefined)
      const f = new Uint8Array(14 + 20 + hl + data.length)
      Eth.emitHeader(f, 0, stackMac, peerMac, Eth.EtherType.Ipv4)
      Ip.emitHeader(f, 14, peerIp, ipA, Segment.PROTOCOL, hl + data.length, 64, 1, 0, 0)
      f.set(data, 34 + hl)
      Segment.emitHeader(
        f.subarray(34),
        0,
        40000,
        port,
        seq,
        ack,
        flags,
        65535,
        mss > 0 ? opts : undefined,
        data.length,
        Checksum.pseudoHeaderV4(peerIp, ipA, Segment.PROTOCOL, 0)
      )
      send(f)
    },
    /** The TCP segments the stack sent since the last call. */
    received: (): Array<Seen> => {
      const out: Array<Seen> = []
      const view = new Segment.Packet(new Uint8Array(0), 0, 0)
      link.unsafeReceive((b, o, l) => {
        if (b[o + 12] !== 0x08 || b[o + 13] !== 0 || b[o + 23] !== Segment.PROTOCOL) return
        const p = view.wrap(b, o + 34, l - 34)
        out.push({ seq: p.seq, ack: p.ack, flags: p.flags, window: p.window, len: p.payloadLength })
      }, Infinity)
      return out
    }
  }
}

describe("RFC 5961 against a raw peer", () => {
  it.effect("an in-window RST gets a challenge ACK, an out-of-window one nothing, only the exact one resets", () =>
    Effect.gen(function*() {
      const [stackEnd, peerEnd] = yield* MemoryLink.pair()
      const ctx = yield* Layer.build(
        Stack.layer({ mac: stackMac, ipv4: { address: ipA, prefixLength: 24 } }).pipe(
          Layer.provide(Layer.succeed(Link, stackEnd))
        )
      )
      const tcp = yield* Tcp.Tcp.pipe(Effect.provide(ctx))
      const settle = Effect.sleep(1)
      const peer = rawPeer(peerEnd)
      const { ACK, PSH, RST, SYN } = Segment.Flags
      const accepted = yield* Tcp.listen(80).pipe(Effect.provide(ctx))
      const serverFiber = yield* Effect.fork(acceptOne(accepted))
      peer.arp()
      yield* settle
      peer.received()
      // Handshake by hand (no window scaling, so the stack's window is in bytes).
      const isn = 1000
      peer.segment(80, isn, 0, SYN, undefined, 1460)
      yield* settle
      const [synAck] = peer.received()
      expect(synAck).toMatchObject({ flags: SYN | ACK, ack: isn + 1 })
      const iss = synAck!.seq
      peer.segment(80, isn + 1, iss + 1, ACK)
      const server = yield* serverFiber
      peer.segment(80, isn + 1, iss + 1, PSH | ACK, new TextEncoder().encode("hello"))
      const hello = yield* server.read
      expect(hello._tag === "Some" && new TextDecoder().decode(hello.value)).toBe("hello")
      yield* Effect.sleep(100) // the delayed ACK
      expect(peer.received()).toEqual([expect.objectContaining({ flags: ACK, ack: isn + 6 })])
      const rcvNxt = isn + 6
      const challengeAck = expect.objectContaining({ flags: ACK, seq: iss + 1, ack: rcvNxt, len: 0 })

      // §3.2: a RST inside the window but not at rcv.nxt: a challenge ACK, the connection stays.
      peer.segment(80, rcvNxt + 1000, 0, RST)
      yield* settle
      expect(peer.received()).toEqual([challengeAck])
      expect(server.info()).toMatchObject({ state: "Established", challengeAcks: 1 })

      // §3.2: a RST outside the window (past it, or before rcv.nxt): dropped without a word.
      peer.segment(80, rcvNxt + 1_000_000, 0, RST)
      peer.segment(80, rcvNxt - 3, 0, RST)
      yield* settle
      expect(peer.received()).toEqual([])
      expect(server.info()).toMatchObject({ state: "Established", challengeAcks: 1 })

      // §4: a SYN on an established connection, even in the window: a challenge ACK too.
      peer.segment(80, rcvNxt + 10, 0, SYN, undefined, 1460)
      yield* settle
      expect(peer.received()).toEqual([challengeAck])
      expect(server.info()).toMatchObject({ state: "Established", challengeAcks: 2 })

      // The connection still carries data after all that.
      yield* server.write(new TextEncoder().encode("still here"))
      yield* settle
      expect(peer.received()).toEqual([expect.objectContaining({ seq: iss + 1, ack: rcvNxt, len: 10 })])

      // §3.2: a RST exactly at rcv.nxt resets: the user hears of it, the connection is gone, nothing answers.
      peer.segment(80, rcvNxt, 0, RST)
      yield* settle
      const outcome = yield* Effect.either(server.read)
      expect(Either.isLeft(outcome) && outcome.left.reason).toBe("ConnectionReset")
      expect(tcp.connectionsByState()).toEqual({})
      expect(peer.received()).toEqual([])
    }).pipe(Effect.scoped, simulate("rfc5961")))
})
