/**
 * Harness for deterministic TCP simulations: two stacks over an in-memory
 * link pair with a fault injector on each direction (mirage's vnetif
 * backends), run inside a discrete-event simulation (`discrete-event.ts`),
 * with a bulk transfer both ways whose bytes are checked, a wire trace, and
 * a switch that makes both stacks vanish from the link.
 */
import { Clock, Effect, Layer, Random, Stream, type Context } from "effect"
import { Link, type LinkDevice } from "../../src/layers/Link.js"
import type { FaultOptions } from "../../src/layers/link/FaultInjector.js"
import { FaultInjector, MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import * as Tcp from "../../src/layers/Tcp.js"
import { parseIpv4, parseMac } from "../../src/protocols/address.js"
import * as Segment from "../../src/protocols/tcp/segment.js"
import { PollLoop, type PollLoopService } from "../../src/runtime/PollLoop.js"
import * as DiscreteEvent from "./discrete-event.js"

export const ipA = parseIpv4("10.0.0.1")!
export const ipB = parseIpv4("10.0.0.2")!

/** One TCP segment a stack sent (before faults), for traces. */
export interface WireSegment {
  readonly t: number
  readonly from: "A" | "B"
  readonly seq: number
  readonly ack: number
  readonly flags: number
  readonly window: number
  readonly len: number
}

/** One side of the simulation. */
export interface Side {
  readonly ctx: Context.Context<Stack.Services>
  readonly link: FaultInjector.FaultInjectorDevice
  readonly tcp: Tcp.TcpService
  readonly loop: PollLoopService
  /** Runs `e` with this stack's services. */
  readonly run: <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.Effect<A, E, Exclude<R, Stack.Services>>
}

/** How to build the two stacks. */
export interface SimOptions {
  /** Faults on frames A sends (A → B). */
  readonly ab?: FaultOptions
  /** Faults on frames B sends (B → A). */
  readonly ba?: FaultOptions
  readonly tcp?: Tcp.TcpLayerOptions
  /** Records every TCP segment either stack sends (before faults). */
  readonly trace?: Array<WireSegment>
  /** While `cut.on`, every frame either stack sends is lost: the peer has vanished. */
  readonly cut?: { on: boolean }
}

/** Wraps a link to record the TCP segments it is handed and to lose everything while `cut.on`. */
const observed = (
  link: LinkDevice,
  from: "A" | "B",
  now: () => number,
  trace: Array<WireSegment> | undefined,
  cut: { on: boolean } | undefined
): LinkDevice => {
  const view = new Segment.Packet(new Uint8Array(0), 0, 0)
  const wrapper: LinkDevice = Object.create(link)
  return Object.assign(wrapper, {
    unsafeTransmit: (buffer: Uint8Array, offset: number, length: number) => {
      // IPv4 (EtherType 0x0800) carrying TCP (protocol 6).
      if (trace && length >= 54 && buffer[offset + 12] === 0x08 && buffer[offset + 13] === 0 && buffer[offset + 23] === 6) {
        const ihl = (buffer[offset + 14]! & 15) * 4
        const total = (buffer[offset + 16]! << 8) | buffer[offset + 17]!
        const p = view.wrap(buffer, offset + 14 + ihl, total - ihl)
        trace.push({ t: now(), from, seq: p.seq, ack: p.ack, flags: p.flags, window: p.window, len: p.payloadLength })
      }
      if (cut?.on) return true // lost on the wire, as far as the sender can tell
      return link.unsafeTransmit(buffer, offset, length)
    }
  })
}

/** Builds two stacks joined by a faulty in-memory pair, in the current scope. */
export const twoStacks = (options: SimOptions) =>
  Effect.gen(function*() {
    const [a, b] = yield* MemoryLink.pair({ queueLimit: 4096 })
    const fa = yield* FaultInjector.wrap(a, options.ab ?? {})
    const fb = yield* FaultInjector.wrap(b, options.ba ?? {})
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const side = (link: FaultInjector.FaultInjectorDevice, name: "A" | "B", mac: string, ip: number) =>
      Effect.gen(function*() {
        const device = options.trace || options.cut ? observed(link, name, now, options.trace, options.cut) : link
        const ctx = yield* Layer.build(
          Stack.layer({
            mac: parseMac(mac)!,
            ipv4: { address: ip, prefixLength: 24 },
            ...(options.tcp !== undefined ? { tcp: options.tcp } : {})
          }).pipe(Layer.provide(Layer.succeed(Link, device)))
        )
        const run = <A, E, R>(e: Effect.Effect<A, E, R>) =>
          Effect.provide(e, ctx) as Effect.Effect<A, E, Exclude<R, Stack.Services>>
        const tcp = yield* run(Tcp.Tcp)
        const loop = yield* run(PollLoop)
        return { ctx, link, tcp, loop, run } satisfies Side
      })
    const A = yield* side(fa, "A", "02:00:00:00:00:01", ipA)
    const B = yield* side(fb, "B", "02:00:00:00:00:02", ipB)
    return { A, B }
  })

/** Runs `e` in a fresh discrete-event simulation under a seeded Random (same seed, same run). */
export const simulate = (seed: string) => <A, E, R>(e: Effect.Effect<A, E, R>) =>
  DiscreteEvent.run(() => e.pipe(Effect.withRandom(Random.make(seed))))


/** Deterministic pseudo-random bytes (xorshift32), so misplaced bytes show. */
const patternBytes = (length: number, seed: number): Uint8Array => {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 1
  let i = 0
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x
    out[i + 1] = x >>> 8
    out[i + 2] = x >>> 16
    out[i + 3] = x >>> 24
  }
  for (; i < length; i++) out[i] = i
  return out
}

const payloads = new Map<string, Uint8Array>()
/** `size` pattern bytes for `seed` (made once per process). */
export const payload = (size: number, seed: number): Uint8Array => {
  const key = `${size}/${seed}`
  let p = payloads.get(key)
  if (!p) {
    p = patternBytes(size, seed)
    payloads.set(key, p)
  }
  return p
}

/** Byte-identical check without vitest's deep equality (far too slow on megabytes). */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length &&
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0

/** Writes `data` in `chunk`-sized writes. */
export const writeAll = (socket: Tcp.TcpSocket, data: Uint8Array, chunk = 64 * 1024) =>
  Effect.gen(function*() {
    for (let at = 0; at < data.length; at += chunk) {
      yield* socket.write(data.subarray(at, Math.min(data.length, at + chunk)))
    }
  })

/** Reads until the peer closes; `afterChunk` runs after each chunk read. */
export const readAll = (socket: Tcp.TcpSocket, expected: number, afterChunk?: (n: number) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    let buf = new Uint8Array(expected)
    let at = 0
    for (;;) {
      const chunk = yield* socket.read
      if (chunk._tag === "None") break
      const c = chunk.value
      if (at + c.length > buf.length) {
        const bigger = new Uint8Array(Math.max(buf.length * 2, at + c.length))
        bigger.set(buf.subarray(0, at))
        buf = bigger
      }
      buf.set(c, at)
      at += c.length
      if (afterChunk) yield* afterChunk(c.length)
    }
    return buf.subarray(0, at)
  })

/** Reads exactly `n` bytes (fails if the peer closes first). */
export const readExactly = (socket: Tcp.TcpSocket, n: number) =>
  Effect.gen(function*() {
    const buf = new Uint8Array(n)
    let at = 0
    while (at < n) {
      const chunk = yield* socket.read
      if (chunk._tag === "None") return yield* Effect.die(new Error(`EOF after ${at} of ${n} bytes`))
      if (at + chunk.value.length > n) return yield* Effect.die(new Error("more bytes than expected"))
      buf.set(chunk.value, at)
      at += chunk.value.length
    }
    return buf
  })

/** Waits (on the Clock) until `cond` holds, checking every `stepMillis`. */
export const waitUntil = (cond: () => boolean, stepMillis = 1, maxMillis = 600_000) =>
  Effect.gen(function*() {
    for (let waited = 0; !cond(); waited += stepMillis) {
      if (waited > maxMillis) return yield* Effect.die(new Error("waitUntil: gave up"))
      yield* Effect.sleep(stepMillis)
    }
  })

/** Every layer's drops by reason. */
export const dropsOf = (loop: PollLoopService): Record<string, Record<string, number>> => {
  const out: Record<string, Record<string, number>> = {}
  for (const [name, c] of loop.counters.layers) out[name] = { ...c.drops }
  return out
}

/** The first connection a listener accepts. */
export const acceptOne = (accepted: Stream.Stream<Tcp.TcpSocket>) =>
  Stream.runHead(accepted).pipe(
    Effect.flatMap((o) => (o._tag === "Some" ? Effect.succeed(o.value) : Effect.die(new Error("listener ended"))))
  )

/** What a bulk transfer reports (small: safe for `toEqual`). */
export interface TransferResult {
  readonly ok: { readonly ab: boolean; readonly ba: boolean }
  readonly received: { readonly ab: number; readonly ba: number }
  /** Simulated time from connect until both sides read the other's FIN, ms. */
  readonly millis: number
  /** A's (the server's) and B's (the client's) figures when both had read everything. */
  readonly infoA: Tcp.TcpInfo
  readonly infoB: Tcp.TcpInfo
  readonly faultsA: FaultInjector.FaultCounters
  readonly faultsB: FaultInjector.FaultCounters
  readonly dropsA: Record<string, Record<string, number>>
  readonly dropsB: Record<string, Record<string, number>>
}

/**
 * B connects to A's port 5001; both write `size` bytes, half-close, and read
 * the other's bytes to the end; the received bytes are compared.
 * `slowReader` runs after each chunk B (the client) reads.
 */
export const bulkBothWays = (
  options: SimOptions,
  size: number,
  extra?: {
    readonly socket?: Tcp.SocketOptions
    readonly slowReader?: (n: number, sockets: { server: Tcp.TcpSocket; client: Tcp.TcpSocket }) => Effect.Effect<void>
  }
) =>
  Effect.gen(function*() {
    const { A, B } = yield* twoStacks(options)
    const dataAB = payload(size, 0xa11ce)
    const dataBA = payload(size, 0xb0b)
    const accepted = yield* A.run(Tcp.listen(5001, extra?.socket))
    const serverFiber = yield* Effect.fork(acceptOne(accepted))
    const start = yield* Clock.currentTimeMillis
    const client = yield* B.run(Tcp.connect({ address: ipA, port: 5001 }, extra?.socket))
    const server = yield* serverFiber
    const slow = extra?.slowReader
    const side = (socket: Tcp.TcpSocket, out: Uint8Array, afterChunk?: (n: number) => Effect.Effect<void>) =>
      Effect.all([writeAll(socket, out).pipe(Effect.zipRight(socket.closeWrite)), readAll(socket, size, afterChunk)], {
        concurrency: 2
      }).pipe(Effect.map(([, got]) => got))
    const [gotAtB, gotAtA] = yield* Effect.all([
      side(client, dataBA, slow && ((n) => slow(n, { server, client }))),
      side(server, dataAB)
    ], { concurrency: 2 })
    const end = yield* Clock.currentTimeMillis
    const result: TransferResult = {
      ok: { ab: sameBytes(gotAtB, dataAB), ba: sameBytes(gotAtA, dataBA) },
      received: { ab: gotAtB.length, ba: gotAtA.length },
      millis: end - start,
      infoA: server.info(),
      infoB: client.info(),
      faultsA: { ...A.link.counters },
      faultsB: { ...B.link.counters },
      dropsA: dropsOf(A.loop),
      dropsB: dropsOf(B.loop)
    }
    return { result, A, B, client, server }
  })

export { driveTestClock } from "./discrete-event.js"
