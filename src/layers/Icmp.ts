/**
 * The ICMPv4 layer (RFC 792, RFC 1122 §3.2.2): answers echo requests, sends
 * destination-unreachable and time-exceeded errors for the layers below and
 * beside it (never about errors, broadcasts or later fragments, and rate
 * limited), and offers `Icmp.ping`.
 */
import { Context, Data, Deferred, Duration, Effect, Exit, Layer } from "effect"
import { formatIpv4, IPV4_BROADCAST, ipv4IsMulticast, type Ipv4Address } from "../protocols/address.js"
import * as Checksum from "../protocols/checksum.js"
import * as IcmpWire from "../protocols/icmpv4.js"
import type * as Ip from "../protocols/ipv4.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { PollLoop } from "../runtime/PollLoop.js"
import { Ipv4 } from "./Ipv4.js"

/** Why a ping failed. */
export class IcmpError extends Data.TaggedError("IcmpError")<{
  readonly reason: "TimedOut" | "NoRoute" | "NoAddress" | "TooBig" | "TooManyPending"
  readonly message: string
}> {}

/** Options of one echo request. */
export interface PingOptions {
  /** Bytes of data after the 8-byte ICMP header (default 56, like ping). */
  readonly size?: number
  /** How long to wait for the reply (default 1 s). */
  readonly timeout?: Duration.DurationInput
  /** Sequence number; by default the next one. */
  readonly seq?: number
  readonly ttl?: number
}

/** An echo reply. */
export interface PingReply {
  readonly from: Ipv4Address
  readonly seq: number
  readonly bytes: number
  readonly ttl: number
  /** Round-trip time in milliseconds (fractional). */
  readonly rttMillis: number
}

/** The ICMP layer's service. */
export interface IcmpService {
  /** Sends one echo request and waits for its reply. */
  readonly ping: (dst: Ipv4Address, options?: PingOptions) => Effect.Effect<PingReply, IcmpError>
  readonly counters: LayerCounters
}

/** The ICMPv4 layer. */
export class Icmp extends Context.Tag("isla/Icmp")<Icmp, IcmpService>() {}

/** Sends one echo request from the stack and waits for the reply. */
export const ping = (dst: Ipv4Address, options?: PingOptions): Effect.Effect<PingReply, IcmpError, Icmp> =>
  Effect.flatMap(Icmp, (icmp) => icmp.ping(dst, options))

const readQuotedSrc = (b: Uint8Array, q: number): number =>
  ((b[q + 12]! << 24) | (b[q + 13]! << 16) | (b[q + 14]! << 8) | b[q + 15]!) >>> 0

/** Options of the ICMP layer. */
export interface IcmpOptions {
  /** Error messages per second (token bucket refill; RFC 1812 §4.3.2.8). Default 100. */
  readonly errorsPerSecond?: number
  /** Burst of error messages. Default 50. */
  readonly errorBurst?: number
  /** Outstanding pings at most. Default 1024. */
  readonly maxPending?: number
}

interface Pending {
  readonly deferred: Deferred.Deferred<PingReply>
  readonly sentNanos: bigint
}

/** Builds the ICMP layer and wires it to IPv4. */
export const make = (options: IcmpOptions = {}) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    const ipv4 = yield* Ipv4
    const clock = yield* Effect.clock
    const counters = loop.counters.layer("icmp")
    const view = new IcmpWire.Packet(new Uint8Array(0), 0, 0)
    const scratch = new Uint8Array(0x10000)
    const rate = options.errorsPerSecond ?? 100
    const burst = options.errorBurst ?? 50
    const maxPending = options.maxPending ?? 1024
    let tokens = burst
    let lastRefill = loop.time()
    const pending = new Map<number, Pending>()
    const ident = (Math.floor(loop.time() * 2654435761) >>> 0) & 0xffff
    let nextSeq = 1

    const isBroadcastDst = (dst: Ipv4Address) => ipv4.unsafeIsBroadcast(dst) || ipv4IsMulticast(dst)

    const input = (buffer: Uint8Array, offset: number, length: number, header: Ip.Packet): void => {
      counters.rx++
      const p = view.wrap(buffer, offset, length)
      const bad = p.check()
      if (bad !== undefined) return counters.drop(bad.reason)
      if (!p.verifyChecksum()) return counters.drop("bad_checksum")
      switch (p.type) {
        case IcmpWire.Type.EchoRequest: {
          // RFC 1122 §3.2.2.6 lets a host ignore echo to broadcast; Linux does too.
          if (isBroadcastDst(header.dst)) return counters.drop("echo_broadcast")
          scratch.set(buffer.subarray(offset, offset + length), 0)
          scratch[0] = IcmpWire.Type.EchoReply
          scratch[2] = 0
          scratch[3] = 0
          const c = Checksum.compute(scratch, 0, length)
          scratch[2] = c >>> 8
          scratch[3] = c & 0xff
          const r = ipv4.unsafeSend(header.src, 1, scratch, 0, length)
          if (r === "Sent" || r === "Queued") counters.tx++
          else counters.drop(`reply_${r}`)
          return
        }
        case IcmpWire.Type.EchoReply: {
          if (p.ident !== ident) return counters.drop("reply_unknown")
          const key = p.seqNo
          const waiting = pending.get(key)
          if (!waiting) return counters.drop("reply_unknown")
          pending.delete(key)
          const rtt = Number(clock.unsafeCurrentTimeNanos() - waiting.sentNanos) / 1e6
          Deferred.unsafeDone(
            waiting.deferred,
            Exit.succeed({ from: header.src, seq: key, bytes: length, ttl: header.ttl, rttMillis: rtt })
          )
          return
        }
        case IcmpWire.Type.DstUnreachable:
        case IcmpWire.Type.TimeExceeded: {
          // RFC 1122 §3.2.2.1: hand the error to the transport that sent the quoted datagram.
          const q = p.dataOffset
          const qlen = p.dataLength
          const ihl = qlen > 0 ? (buffer[q]! & 0x0f) * 4 : 0
          if (qlen < 20 || buffer[q]! >> 4 !== 4 || ihl < 20 || qlen < ihl + 8) return counters.drop("bad_quote")
          if (ipv4.config.address === 0 || readQuotedSrc(buffer, q) !== ipv4.config.address) {
            return counters.drop("quote_not_ours")
          }
          counters.drop(p.type === IcmpWire.Type.DstUnreachable ? "dst_unreachable" : "time_exceeded")
          const mtu = p.type === IcmpWire.Type.DstUnreachable && p.code === IcmpWire.Unreachable.FragmentationNeeded ?
            p.nextHopMtu :
            0
          ipv4.unsafeDeliverError(buffer[q + 9]!, p.type, p.code, mtu, buffer, q, qlen)
          return
        }
        default:
          counters.drop("unsupported_type")
      }
    }

    /** Sends an ICMP error about a datagram, by the rules of RFC 1122 §3.2.2. */
    const reportError = (
      type: number,
      code: number,
      header: Ip.Packet,
      payload: Uint8Array,
      payloadOffset: number,
      payloadLength: number
    ): void => {
      const src = header.src
      // Never about broadcasts/multicasts, non-unicast sources, non-initial fragments, or ICMP errors.
      if (isBroadcastDst(header.dst) || src === 0 || src === IPV4_BROADCAST || ipv4IsMulticast(src)) return
      if (header.fragmentOffset !== 0) return
      if (header.protocol === 1 && payloadLength > 0) {
        const t = payload[payloadOffset]!
        if (t !== IcmpWire.Type.EchoRequest && t !== IcmpWire.Type.EchoReply) return
      }
      const now = loop.time()
      tokens = Math.min(burst, tokens + ((now - lastRefill) * rate) / 1000)
      lastRefill = now
      if (tokens < 1) return counters.drop("error_rate_limited")
      tokens -= 1
      // RFC 792: the internet header plus the first 64 bits of the datagram's data.
      const hl = header.headerLength
      const dataLen = Math.min(8, payloadLength)
      const len = IcmpWire.HEADER_LEN + hl + dataLen
      scratch[0] = type
      scratch[1] = code
      scratch.fill(0, 2, 8)
      scratch.set(header.buffer.subarray(header.offset, header.offset + hl), 8)
      scratch.set(payload.subarray(payloadOffset, payloadOffset + dataLen), 8 + hl)
      const c = Checksum.compute(scratch, 0, len)
      scratch[2] = c >>> 8
      scratch[3] = c & 0xff
      const r = ipv4.unsafeSend(src, 1, scratch, 0, len)
      if (r === "Sent" || r === "Queued") counters.tx++
    }

    yield* ipv4.register(1, input)
    ipv4.unsafeSetErrorReporter(reportError)

    const pingOnce = (dst: Ipv4Address, opts: PingOptions = {}): Effect.Effect<PingReply, IcmpError> =>
      Effect.gen(function*() {
        if (pending.size >= maxPending) {
          return yield* new IcmpError({ reason: "TooManyPending", message: "too many pings outstanding" })
        }
        const size = opts.size ?? 56
        const seq = (opts.seq ?? nextSeq++) & 0xffff
        const deferred = yield* Deferred.make<PingReply>()
        const msg = new Uint8Array(IcmpWire.HEADER_LEN + size)
        for (let i = 0; i < size; i++) msg[8 + i] = i & 0xff
        msg[0] = IcmpWire.Type.EchoRequest
        msg[4] = ident >>> 8
        msg[5] = ident & 0xff
        msg[6] = seq >>> 8
        msg[7] = seq & 0xff
        const c = Checksum.compute(msg, 0, msg.length)
        msg[2] = c >>> 8
        msg[3] = c & 0xff
        pending.set(seq, { deferred, sentNanos: clock.unsafeCurrentTimeNanos() })
        const r = ipv4.unsafeSend(dst, 1, msg, 0, msg.length, opts.ttl !== undefined ? { ttl: opts.ttl } : undefined)
        if (r !== "Sent" && r !== "Queued") {
          pending.delete(seq)
          const reason = r === "Dropped" ? "NoRoute" : r
          return yield* new IcmpError({ reason, message: `cannot send to ${formatIpv4(dst)}: ${r}` })
        }
        counters.tx++
        const timeout = opts.timeout ?? "1 second"
        return yield* Deferred.await(deferred).pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new IcmpError({ reason: "TimedOut", message: `no reply from ${formatIpv4(dst)} in ${Duration.format(timeout)}` })
          }),
          Effect.ensuring(Effect.sync(() => {
            if (pending.get(seq)?.deferred === deferred) pending.delete(seq)
          }))
        )
      })

    const service: IcmpService = { ping: pingOnce, counters }
    return service
  })

/** The ICMP layer as a Layer. */
export const layer = (options?: IcmpOptions): Layer.Layer<Icmp, never, PollLoop | Ipv4> =>
  Layer.scoped(Icmp, make(options))
