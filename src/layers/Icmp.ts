/**
 * The ICMP layer (RFC 792, RFC 1122 §3.2.2, RFC 4443 §4): answers ICMPv4 echo
 * requests, sends destination-unreachable and time-exceeded errors for the
 * layers below and beside it (never about errors, broadcasts or later
 * fragments, and rate limited), and pings over either family: `Icmp.echo`
 * (one request) and `Icmp.ping` (a Stream of outcomes, like ping(8)). The
 * IPv6 layer answers ICMPv6 echo itself and hands us the replies.
 */
import { Context, Data, Deferred, Duration, Effect, Exit, Layer, Option, Stream } from "effect"
import {
  formatIp,
  IPV4_BROADCAST,
  ipv4IsMulticast,
  type IpAddress,
  type Ipv4Address
} from "../protocols/address.js"
import * as Checksum from "../protocols/checksum.js"
import * as IcmpWire from "../protocols/icmpv4.js"
import * as Icmp6Wire from "../protocols/ipv6/icmpv6.js"
import type * as Ip from "../protocols/ipv4.js"
import * as Ip6 from "../protocols/ipv6/header.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { PollLoop } from "../runtime/PollLoop.js"
import { Ipv4 } from "./Ipv4.js"
import { Ipv6 } from "./Ipv6.js"

/** Why an echo failed. */
export class IcmpError extends Data.TaggedError("IcmpError")<{
  readonly reason: "TimedOut" | "Unreachable" | "NoRoute" | "NoAddress" | "TooBig" | "TooManyPending"
  readonly message: string
}> {}

/** Options of one echo request. */
export interface EchoOptions {
  /** Bytes of data after the 8-byte ICMP header (default 56, like ping). */
  readonly size?: number
  /** How long to wait for the reply (default 1 s). */
  readonly timeout?: Duration.DurationInput
  /** Sequence number; by default the next one. */
  readonly seq?: number
  /** TTL (IPv4) or hop limit (IPv6); the IP layer's default when absent. */
  readonly ttl?: number
}

/** Options of `ping`: a request every `interval`, `count` of them (forever when absent). */
export interface PingOptions {
  /** Requests to send; unbounded when absent (interrupt the stream to stop). */
  readonly count?: number
  /** Time between requests (default 1 s). */
  readonly interval?: Duration.DurationInput
  /** Bytes of data after the 8-byte ICMP header (default 56). */
  readonly size?: number
  /** How long to wait for each reply (default the larger of 1 s and twice the interval). */
  readonly timeout?: Duration.DurationInput
  /** TTL (IPv4) or hop limit (IPv6). */
  readonly ttl?: number
}

/** An echo reply. */
export interface PingReply {
  readonly _tag: "Reply"
  readonly from: IpAddress
  readonly seq: number
  /** The ICMP message's length (header and data), as ping(8) prints it. */
  readonly bytes: number
  /** TTL (IPv4) or hop limit (IPv6) of the reply. */
  readonly ttl: number
  /** Round-trip time in milliseconds (fractional), from Effect's Clock. */
  readonly rttMillis: number
}

/** No reply to request `seq` within the timeout. */
export interface PingTimeout {
  readonly _tag: "Timeout"
  readonly seq: number
}

/** An ICMP/ICMPv6 error (destination unreachable, time exceeded, ...) came back about request `seq`. */
export interface PingUnreachable {
  readonly _tag: "Unreachable"
  readonly seq: number
  /** Who sent the error (undefined for IPv6, whose layer passes only the quote). */
  readonly from: IpAddress | undefined
  readonly type: number
  readonly code: number
  /** ping(8)'s words for it, e.g. "Destination Host Unreachable". */
  readonly message: string
}

/** What became of one request of `ping`. */
export type PingOutcome = PingReply | PingTimeout | PingUnreachable

/** The ICMP layer's service. */
export interface IcmpService {
  /** Sends one echo request (ICMPv4 or ICMPv6 by the address) and waits for its reply. */
  readonly echo: (dst: IpAddress, options?: EchoOptions) => Effect.Effect<PingReply, IcmpError>
  /**
   * Pings like ping(8): a request every interval, one outcome per request
   * (as it is known, so not always in sequence order). Fails only when a
   * request cannot be sent at all (NoRoute, NoAddress, TooBig, TooManyPending).
   */
  readonly ping: (dst: IpAddress, options?: PingOptions) => Stream.Stream<PingOutcome, IcmpError>
  readonly counters: LayerCounters
}

/** The ICMP layer. */
export class Icmp extends Context.Tag("isla/Icmp")<Icmp, IcmpService>() {}

/** Sends one echo request from the stack and waits for the reply. */
export const echo = (dst: IpAddress, options?: EchoOptions): Effect.Effect<PingReply, IcmpError, Icmp> =>
  Effect.flatMap(Icmp, (icmp) => icmp.echo(dst, options))

/** Pings `dst` from the stack: a Stream of per-request outcomes (see `IcmpService.ping`). */
export const ping = (dst: IpAddress, options?: PingOptions): Stream.Stream<PingOutcome, IcmpError, Icmp> =>
  Stream.unwrap(Effect.map(Icmp, (icmp) => icmp.ping(dst, options)))

/** Largest echo data: a 65535-byte IPv4 datagram, or a 65535-byte IPv6 payload. */
export const maxEchoSize = (dst: IpAddress): number => typeof dst === "number" ? 0xffff - 20 - 8 : 0xffff - 8

const readQuotedSrc = (b: Uint8Array, q: number): number =>
  ((b[q + 12]! << 24) | (b[q + 13]! << 16) | (b[q + 14]! << 8) | b[q + 15]!) >>> 0

const v4Unreachable = [
  "Destination Net Unreachable",
  "Destination Host Unreachable",
  "Destination Protocol Unreachable",
  "Destination Port Unreachable",
  "Frag needed and DF set",
  "Source Route Failed",
  "Destination Net Unknown",
  "Destination Host Unknown",
  "Source Host Isolated",
  "Destination Net Prohibited",
  "Destination Host Prohibited",
  "Destination Net Unreachable for Type of Service",
  "Destination Host Unreachable for Type of Service",
  "Packet filtered",
  "Precedence Violation",
  "Precedence Cutoff"
]

const v6Unreachable = [
  "No route",
  "Administratively prohibited",
  "Beyond scope of source address",
  "Address unreachable",
  "Port unreachable",
  "Source address failed ingress/egress policy",
  "Reject route to destination"
]

/** ping(8)'s text for an ICMP (v4) or ICMPv6 (v6) error. */
export const describeError = (v6: boolean, type: number, code: number, mtu = 0): string => {
  if (!v6) {
    if (type === IcmpWire.Type.DstUnreachable) {
      if (code === IcmpWire.Unreachable.FragmentationNeeded) return `Frag needed and DF set (mtu = ${mtu})`
      return v4Unreachable[code] ?? `Dest Unreachable, Bad Code: ${code}`
    }
    if (type === IcmpWire.Type.TimeExceeded) return code === 0 ? "Time to live exceeded" : "Frag reassembly time exceeded"
    return `Bad ICMP type: ${type}`
  }
  if (type === Icmp6Wire.Type.DstUnreachable) {
    return `Destination unreachable: ${v6Unreachable[code] ?? `Unknown code ${code}`}`
  }
  if (type === Icmp6Wire.Type.TimeExceeded) return code === 0 ? "Time exceeded: Hop limit" : "Time exceeded: Defragmentation failure"
  if (type === Icmp6Wire.Type.ParamProblem) return `Parameter problem: code ${code}`
  return `ICMPv6 error type ${type} code ${code}`
}

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
  readonly deferred: Deferred.Deferred<PingReply | PingUnreachable>
  readonly sentNanos: bigint
  readonly v6: boolean
}

/** Pending requests are keyed by identifier and sequence number. */
const keyOf = (ident: number, seq: number): number => ident * 0x10000 + seq

/** Builds the ICMP layer and wires it to IPv4 and IPv6. */
export const make = (options: IcmpOptions = {}) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    const ipv4 = yield* Ipv4
    const ipv6 = yield* Ipv6
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
    // One identifier for `echo`, a fresh one per `ping` stream (so that each counts from 1, as ping(8) does).
    let nextIdent = (Math.floor(loop.time() * 2654435761) >>> 0) & 0xffff
    const ident = nextIdent
    let nextSeq = 1

    const isBroadcastDst = (dst: Ipv4Address) => ipv4.unsafeIsBroadcast(dst) || ipv4IsMulticast(dst)

    /** Completes the request `ident`/`seq` of family `v6` with an error outcome; false when it is not ours. */
    const echoError = (
      v6: boolean,
      identifier: number,
      seq: number,
      from: IpAddress | undefined,
      type: number,
      code: number,
      mtu: number
    ): boolean => {
      const key = keyOf(identifier, seq)
      const waiting = pending.get(key)
      if (waiting === undefined || waiting.v6 !== v6) return false
      pending.delete(key)
      Deferred.unsafeDone(
        waiting.deferred,
        Exit.succeed({ _tag: "Unreachable", seq, from, type, code, message: describeError(v6, type, code, mtu) })
      )
      return true
    }

    const echoReply = (
      v6: boolean,
      identifier: number,
      seq: number,
      from: IpAddress,
      bytes: number,
      ttl: number
    ): boolean => {
      const key = keyOf(identifier, seq)
      const waiting = pending.get(key)
      if (waiting === undefined || waiting.v6 !== v6) return false
      pending.delete(key)
      const rttMillis = Number(clock.unsafeCurrentTimeNanos() - waiting.sentNanos) / 1e6
      Deferred.unsafeDone(waiting.deferred, Exit.succeed({ _tag: "Reply", from, seq, bytes, ttl, rttMillis }))
      return true
    }

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
          if (!echoReply(false, p.ident, p.seqNo, header.src, length, header.ttl)) counters.drop("reply_unknown")
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
          const protocol = buffer[q + 9]!
          // About one of our echo requests (its first fragment, which holds the ICMP header): the ping learns
          // who reported it, which the transports' error handlers are not told.
          const firstFragment = (((buffer[q + 6]! << 8) | buffer[q + 7]!) & 0x1fff) === 0
          if (protocol === 1 && firstFragment && buffer[q + ihl] === IcmpWire.Type.EchoRequest) {
            const e = q + ihl
            echoError(false, (buffer[e + 4]! << 8) | buffer[e + 5]!, (buffer[e + 6]! << 8) | buffer[e + 7]!, header.src, p.type, p.code, mtu)
            return
          }
          ipv4.unsafeDeliverError(protocol, p.type, p.code, mtu, buffer, q, qlen)
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

    /** ICMPv6 echo replies, handed over by the IPv6 layer (which answers requests itself). */
    const input6 = (buffer: Uint8Array, offset: number, length: number, header: Ip6.Packet): void => {
      counters.rx++
      if (length < Icmp6Wire.HEADER_LEN || offset + length > buffer.length) return counters.drop("truncated")
      const sum = Ip6.pseudoHeaderV6(header.buffer, header.buffer, Icmp6Wire.NEXT_HEADER, length, header.srcOffset, header.dstOffset)
      if (Checksum.compute(buffer, offset, length, sum) !== 0) return counters.drop("bad_checksum")
      if (buffer[offset] !== Icmp6Wire.Type.EchoReply) return counters.drop("unsupported_type")
      const identifier = (buffer[offset + 4]! << 8) | buffer[offset + 5]!
      const seq = (buffer[offset + 6]! << 8) | buffer[offset + 7]!
      if (!echoReply(true, identifier, seq, header.src, length, header.hopLimit)) counters.drop("reply_unknown")
    }

    /** ICMPv6 errors about our ICMPv6 packets: `quote` starts at the quoted IPv6 header (RFC 4443 §2.4). */
    const error6 = (type: number, code: number, mtu: number, quote: Uint8Array, off: number, len: number): void => {
      // A Packet Too Big is the IPv6 layer's business (RFC 8201): the request it quotes is lost, not refused.
      if (type === Icmp6Wire.Type.PacketTooBig) return
      if (len < Ip6.HEADER_LEN + 8) return counters.drop("bad_quote")
      let next = quote[off + 6]!
      let at = off + Ip6.HEADER_LEN
      if (next === Ip6.NextHeader.Fragment) {
        // Only the first fragment carries the ICMPv6 header.
        if (len < Ip6.HEADER_LEN + Ip6.FRAGMENT_HEADER_LEN + 8) return counters.drop("bad_quote")
        if ((((quote[at + 2]! << 8) | quote[at + 3]!) & 0xfff8) !== 0) return counters.drop("quote_not_echo")
        next = quote[at]!
        at += Ip6.FRAGMENT_HEADER_LEN
      }
      if (next !== Icmp6Wire.NEXT_HEADER || quote[at] !== Icmp6Wire.Type.EchoRequest) return counters.drop("quote_not_echo")
      const identifier = (quote[at + 4]! << 8) | quote[at + 5]!
      const seq = (quote[at + 6]! << 8) | quote[at + 7]!
      if (!echoError(true, identifier, seq, undefined, type, code, mtu)) counters.drop("quote_not_ours")
    }

    yield* ipv4.register(1, input)
    ipv4.unsafeSetErrorReporter(reportError)
    ipv6.unsafeSetEchoReplyHandler(input6)
    yield* Effect.addFinalizer(() => Effect.sync(() => ipv6.unsafeSetEchoReplyHandler(undefined)))
    yield* ipv6.registerErrorHandler(Icmp6Wire.NEXT_HEADER, error6)

    const failWith = (reason: IcmpError["reason"], message: string) => Effect.fail(new IcmpError({ reason, message }))

    /** Builds and sends one request; the deferred completes with its reply or error, or the result says why not. */
    const send = (
      dst: IpAddress,
      identifier: number,
      seq: number,
      size: number,
      ttl: number | undefined,
      deferred: Deferred.Deferred<PingReply | PingUnreachable>
    ): Effect.Effect<void, IcmpError> => {
      const v6 = typeof dst !== "number"
      if (!Number.isInteger(size) || size < 0 || size > maxEchoSize(dst)) {
        return failWith("TooBig", `${size} bytes of echo data do not fit in one ${v6 ? "IPv6" : "IPv4"} packet`)
      }
      if (pending.size >= maxPending) return failWith("TooManyPending", "too many pings outstanding")
      const msg = new Uint8Array(IcmpWire.HEADER_LEN + size)
      for (let i = 0; i < size; i++) msg[8 + i] = i & 0xff
      msg[0] = v6 ? Icmp6Wire.Type.EchoRequest : IcmpWire.Type.EchoRequest
      msg[4] = identifier >>> 8
      msg[5] = identifier & 0xff
      msg[6] = seq >>> 8
      msg[7] = seq & 0xff
      let r: string
      const key = keyOf(identifier, seq)
      pending.set(key, { deferred, sentNanos: clock.unsafeCurrentTimeNanos(), v6 })
      if (v6) {
        if (!ipv6.enabled) r = "Disabled"
        else {
          const src = ipv6.unsafeSourceFor(dst)
          if (src === undefined) r = "NoAddress"
          else {
            // RFC 4443 §2.3: the checksum covers the IPv6 pseudo-header.
            const c = Checksum.compute(msg, 0, msg.length, Ip6.pseudoHeaderV6(src, dst, Icmp6Wire.NEXT_HEADER, msg.length))
            msg[2] = c >>> 8
            msg[3] = c & 0xff
            r = ipv6.unsafeSend(dst, Icmp6Wire.NEXT_HEADER, msg, 0, msg.length, ttl !== undefined ? { src, hopLimit: ttl } : { src })
          }
        }
      } else {
        const c = Checksum.compute(msg, 0, msg.length)
        msg[2] = c >>> 8
        msg[3] = c & 0xff
        r = ipv4.unsafeSend(dst, 1, msg, 0, msg.length, ttl !== undefined ? { ttl } : undefined)
      }
      // "Dropped" (a full neighbour queue, a full ring) loses this request like the wire would: it times out.
      if (r === "Sent" || r === "Queued" || r === "Dropped") {
        counters.tx++
        return Effect.void
      }
      pending.delete(key)
      const text = formatIp(dst)
      switch (r) {
        case "NoAddress":
          return failWith("NoAddress", `no ${v6 ? "IPv6" : "IPv4"} source address to reach ${text}`)
        case "TooBig":
          return failWith("TooBig", `${size} bytes of echo data are too big to send to ${text}`)
        case "Disabled":
          return failWith("NoRoute", `cannot ping ${text}: IPv6 is disabled`)
        default:
          return failWith("NoRoute", `no route to ${text}`)
      }
    }

    /** One request: its reply or error, or none (`undefined`) within `timeout`. */
    const exchange = (
      dst: IpAddress,
      identifier: number,
      seq: number,
      size: number,
      ttl: number | undefined,
      timeout: Duration.DurationInput
    ): Effect.Effect<PingReply | PingUnreachable | undefined, IcmpError> =>
      Effect.flatMap(Deferred.make<PingReply | PingUnreachable>(), (deferred) =>
        Effect.zipRight(
          send(dst, identifier, seq, size, ttl, deferred),
          Deferred.await(deferred).pipe(
            Effect.timeoutOption(timeout),
            Effect.map(Option.getOrUndefined),
            Effect.ensuring(Effect.sync(() => {
              const key = keyOf(identifier, seq)
              if (pending.get(key)?.deferred === deferred) pending.delete(key)
            }))
          )
        ))

    const echoOnce = (dst: IpAddress, opts: EchoOptions = {}): Effect.Effect<PingReply, IcmpError> =>
      Effect.suspend(() => {
        const seq = (opts.seq ?? nextSeq++) & 0xffff
        const timeout = opts.timeout ?? "1 second"
        return Effect.flatMap(exchange(dst, ident, seq, opts.size ?? 56, opts.ttl, timeout), (outcome) => {
          if (outcome === undefined) {
            return failWith("TimedOut", `no reply from ${formatIp(dst)} in ${Duration.format(timeout)}`)
          }
          if (outcome._tag === "Unreachable") {
            const from = outcome.from !== undefined ? ` (from ${formatIp(outcome.from)})` : ""
            return failWith("Unreachable", `${formatIp(dst)}: ${outcome.message}${from}`)
          }
          return Effect.succeed(outcome)
        })
      })

    const pingStream = (dst: IpAddress, opts: PingOptions = {}): Stream.Stream<PingOutcome, IcmpError> =>
      Stream.suspend(() => {
        nextIdent = (nextIdent + 1) & 0xffff
        if (nextIdent === ident) nextIdent = (nextIdent + 1) & 0xffff
        const identifier = nextIdent
        const interval = Duration.decode(opts.interval ?? "1 second")
        const timeout = opts.timeout ?? Duration.max(Duration.seconds(1), Duration.times(interval, 2))
        const size = opts.size ?? 56
        const count = opts.count
        // Requests leave `interval` apart; each waits for its outcome on its own, so replies come as they arrive.
        const requests = Stream.unfoldEffect(1, (seq) =>
          count !== undefined && seq > count ?
            Effect.succeed(Option.none()) :
            Effect.as(seq === 1 ? Effect.void : Effect.sleep(interval), Option.some([seq, seq + 1] as const)))
        return requests.pipe(
          Stream.mapEffect(
            (seq) =>
              Effect.map(
                exchange(dst, identifier, seq & 0xffff, size, opts.ttl, timeout),
                (outcome): PingOutcome => outcome ?? { _tag: "Timeout", seq: seq & 0xffff }
              ),
            { concurrency: "unbounded", unordered: true }
          )
        )
      })

    const service: IcmpService = { echo: echoOnce, ping: pingStream, counters }
    return service
  })

/** The ICMP layer as a Layer. */
export const layer = (options?: IcmpOptions): Layer.Layer<Icmp, never, PollLoop | Ipv4 | Ipv6> =>
  Layer.scoped(Icmp, make(options))
