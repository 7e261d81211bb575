/**
 * The IPv4 layer (RFC 791, RFC 1122 §3.2.1): validates headers and checksums,
 * accepts datagrams for our address and broadcasts, reassembles fragments
 * within limits, hands payloads to the protocol registered for them, and sends
 * datagrams: routing to the subnet or the default gateway, ARP resolution,
 * and fragmentation when a datagram is larger than the link MTU.
 */
import { Context, Data, Effect, Layer, type Scope } from "effect"
import { IPV4_BROADCAST, ipv4IsMulticast, MAC_BROADCAST, type Ipv4Address, type MacAddress } from "../protocols/address.js"
import * as Eth from "../protocols/ethernet.js"
import * as Ip from "../protocols/ipv4.js"
import { Reassembler, type ReassemblyOptions } from "../protocols/reassembly.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { PollLoop } from "../runtime/PollLoop.js"
import { Arp } from "./Arp.js"
import { Ethernet } from "./Ethernet.js"
import { registerIn } from "./internal/registry.js"
import { Ipv4Config, type Ipv4ConfigService } from "./Ipv4Config.js"

/**
 * Receives a datagram's payload `buffer[offset .. offset+length)`; `header`
 * views its IPv4 header (for a reassembled datagram, a copy of the first
 * fragment's). Both are valid only during the call.
 */
export type ProtocolHandler = (buffer: Uint8Array, offset: number, length: number, header: Ip.Packet) => void

/** Reports an ICMP error about a received datagram (installed by the ICMP layer). */
export type ErrorReporter = (
  type: number,
  code: number,
  header: Ip.Packet,
  payload: Uint8Array,
  payloadOffset: number,
  payloadLength: number
) => void

/**
 * Receives an ICMP error about a datagram we sent (RFC 1122 §3.2.2: passed to
 * the transport protocol): `quote` is the quoted IPv4 header plus at least 8
 * bytes of its payload.
 */
export type IcmpErrorHandler = (
  type: number,
  code: number,
  /** Next-hop MTU of "fragmentation needed" (RFC 1191), else 0. */
  mtu: number,
  quote: Uint8Array,
  quoteOffset: number,
  quoteLength: number
) => void

/** What happened to a datagram handed to `unsafeSend`. */
export type SendResult = "Sent" | "Queued" | "NoRoute" | "NoAddress" | "TooBig" | "Dropped"

/** Options of one send. */
export interface SendOptions {
  readonly ttl?: number
  readonly dontFragment?: boolean
  /** Source address; defaults to ours. 0 is allowed only to the broadcast address (DHCP). */
  readonly src?: Ipv4Address
}

/** Why a user's IPv4 operation failed. */
export class Ipv4Error extends Data.TaggedError("Ipv4Error")<{
  readonly reason: "NoRoute" | "NoAddress" | "TooBig" | "Dropped"
  readonly message: string
}> {}

/** The IPv4 layer's service. */
export interface Ipv4Service {
  readonly config: Ipv4ConfigService
  /** Routes datagrams of `protocol` to `handler` for the life of the scope. */
  readonly register: (protocol: number, handler: ProtocolHandler) => Effect.Effect<void, never, Scope.Scope>
  /** Routes ICMP errors about our datagrams of `protocol` to `handler` for the life of the scope. */
  readonly registerErrorHandler: (protocol: number, handler: IcmpErrorHandler) => Effect.Effect<void, never, Scope.Scope>
  /** Hands an ICMP error about one of our datagrams to its protocol (called by the ICMP layer). */
  readonly unsafeDeliverError: (
    protocol: number,
    type: number,
    code: number,
    mtu: number,
    quote: Uint8Array,
    quoteOffset: number,
    quoteLength: number
  ) => void
  /** Installs the ICMP error reporter. */
  readonly unsafeSetErrorReporter: (reporter: ErrorReporter) => void
  /** Reports an ICMP error about a received datagram (no-op without an ICMP layer). */
  readonly unsafeReportError: ErrorReporter
  /** Sends `payload[offset .. offset+length)` to `dst`. Synchronous; the bytes are copied. */
  readonly unsafeSend: (
    dst: Ipv4Address,
    protocol: number,
    payload: Uint8Array,
    offset: number,
    length: number,
    options?: SendOptions
  ) => SendResult
  /** The source address we use towards `dst` (0 when unconfigured). */
  readonly unsafeSourceFor: (dst: Ipv4Address) => Ipv4Address
  /** True when `dst` is one of our broadcast addresses. */
  readonly unsafeIsBroadcast: (dst: Ipv4Address) => boolean
  /** Largest payload sent unfragmented. */
  readonly maxPayload: number
  /** Largest TCP packet `unsafeSendTso` takes (0: the link cannot segment). */
  readonly tsoMaxPayload: number
  /**
   * Sends one large TCP packet (header and data in `payload[offset ..
   * offset+length)`) for the link to cut into `segmentSize`-byte segments
   * (TSO), with DF. "Unsupported" when the link cannot or the next hop is not
   * resolved yet: the caller then sends MSS-sized segments itself.
   */
  readonly unsafeSendTso: (
    dst: Ipv4Address,
    payload: Uint8Array,
    offset: number,
    length: number,
    tcpHeaderLength: number,
    segmentSize: number
  ) => SendResult | "Unsupported"
  readonly reassembler: Reassembler<Uint8Array>
  readonly counters: LayerCounters
}

/** The IPv4 layer. */
export class Ipv4 extends Context.Tag("isla/Ipv4")<Ipv4, Ipv4Service>() {}

/** Default reassembly limits: 30 s like Linux's ipfrag_time, 64 datagrams, 4 MiB. */
export const defaultReassembly: ReassemblyOptions = {
  timeoutMillis: 30_000,
  maxDatagrams: 64,
  maxBytes: 4 * 1024 * 1024
}

/** Options of the IPv4 layer. */
export interface Ipv4Options {
  readonly reassembly?: ReassemblyOptions
  /** Default TTL of sent datagrams (RFC 1122 §3.2.1.7; Linux uses 64). */
  readonly ttl?: number
}

/** Builds the IPv4 layer and wires it under Ethernet. */
export const make = (options: Ipv4Options = {}) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    const eth = yield* Ethernet
    const arp = yield* Arp
    const config = yield* Ipv4Config
    const counters = loop.counters.layer("ipv4")
    const reassembler = new Reassembler<Uint8Array>(options.reassembly ?? defaultReassembly)
    const defaultTtl = options.ttl ?? 64
    const handlers: Array<ProtocolHandler | undefined> = new Array(256).fill(undefined)
    const errorHandlers: Array<IcmpErrorHandler | undefined> = new Array(256).fill(undefined)
    let reportError: ErrorReporter | undefined
    const view = new Ip.Packet(new Uint8Array(0), 0, 0)
    const ctxView = new Ip.Packet(new Uint8Array(0), 0, 0)
    let ident = (loop.time() * 7919) & 0xffff
    const mtu = eth.mtu
    const tx = eth.txBuffer

    const isBroadcast = (dst: Ipv4Address) => dst === IPV4_BROADCAST || (dst === config.broadcast && dst !== 0)

    const dispatch = (buffer: Uint8Array, offset: number, length: number, header: Ip.Packet) => {
      const h = handlers[header.protocol]
      if (h === undefined) {
        counters.drop("unknown_protocol")
        // RFC 1122 §3.2.2.1: protocol unreachable (the reporter skips broadcasts).
        reportError?.(3, 2, header, buffer, offset, length)
        return
      }
      h(buffer, offset, length, header)
    }

    const input = (buffer: Uint8Array, offset: number, length: number): void => {
      counters.rx++
      const p = view.wrap(buffer, offset, length)
      const bad = p.check()
      if (bad !== undefined) return counters.drop(bad.reason)
      if (!p.verifyChecksum()) return counters.drop("bad_checksum")
      const src = p.src
      const dst = p.dst
      const ours = config.address
      if (dst !== ours || ours === 0) {
        if (!(dst === IPV4_BROADCAST || (dst === config.broadcast && dst !== 0) || dst === 0xe0000001)) {
          return counters.drop(ipv4IsMulticast(dst) ? "multicast" : "not_for_us")
        }
      }
      // RFC 1122 §3.2.1.3: a source that is a broadcast or multicast address is discarded.
      if (src === IPV4_BROADCAST || ipv4IsMulticast(src) || (src === config.broadcast && src !== 0)) {
        return counters.drop("bad_source")
      }
      if (p.isFragment) {
        const hl = p.headerLength
        const first = p.fragmentOffset === 0
        const key = `${src}:${dst}:${p.protocol}:${p.ident}`
        // Keep the first fragment's header and 8 bytes of data for ICMP errors (RFC 792).
        const ctx = first ? buffer.slice(offset, offset + Math.min(p.totalLength, hl + 8)) : undefined
        const r = reassembler.input(
          key,
          p.fragmentOffset,
          p.moreFragments,
          buffer,
          offset + hl,
          p.totalLength - hl,
          loop.time(),
          ctx
        )
        if (r._tag === "Incomplete") {
          loop.unsafeWake()
          return
        }
        if (r._tag === "Dropped") return counters.drop(`reassembly_${r.reason}`)
        const header = ctxView.wrap(r.context, 0, r.context.length)
        return dispatch(r.payload, 0, r.payload.length, header)
      }
      const hl = p.headerLength
      dispatch(buffer, offset + hl, p.totalLength - hl, p)
    }

    yield* eth.register(Eth.EtherType.Ipv4, input)
    yield* loop.addTimer({
      pollAt: () => reassembler.pollAt(),
      poll: (now) => {
        for (const t of reassembler.poll(now)) {
          counters.drop("reassembly_timeout")
          // RFC 792 / RFC 1122 §3.3.2: time exceeded, code 1, only when fragment zero arrived.
          if (t.context !== undefined && reportError) {
            const h = ctxView.wrap(t.context, 0, t.context.length)
            const hl = h.headerLength
            reportError(11, 1, h, t.context, hl, t.context.length - hl)
          }
        }
      }
    })

    /** Writes one datagram (or fragment) to `mac`, or queues a copy for ARP when `mac` is unknown. */
    const emitOne = (
      mac: MacAddress | undefined,
      nextHop: Ipv4Address,
      src: Ipv4Address,
      dst: Ipv4Address,
      protocol: number,
      ttl: number,
      id: number,
      flagsOffset: number,
      payload: Uint8Array,
      offset: number,
      length: number
    ): SendResult => {
      if (mac !== undefined) {
        Ip.emitHeader(tx, Eth.HEADER_LEN, src, dst, protocol, length, ttl, id, 0, flagsOffset)
        tx.set(length === payload.length && offset === 0 ? payload : payload.subarray(offset, offset + length), Eth.HEADER_LEN + Ip.HEADER_LEN)
        if (!eth.unsafeSend(mac, Eth.EtherType.Ipv4, Ip.HEADER_LEN + length)) return "Dropped"
        counters.tx++
        return "Sent"
      }
      const packet = new Uint8Array(Ip.HEADER_LEN + length)
      Ip.emitHeader(packet, 0, src, dst, protocol, length, ttl, id, 0, flagsOffset)
      packet.set(payload.subarray(offset, offset + length), Ip.HEADER_LEN)
      if (!arp.unsafeQueue(nextHop, packet)) return "Dropped"
      counters.tx++
      return "Queued"
    }

    const unsafeSend = (
      dst: Ipv4Address,
      protocol: number,
      payload: Uint8Array,
      offset: number,
      length: number,
      opts?: SendOptions
    ): SendResult => {
      const src = opts?.src ?? config.address
      const broadcast = isBroadcast(dst)
      if (src === 0 && dst !== IPV4_BROADCAST) {
        counters.drop("tx_no_address")
        return "NoAddress"
      }
      let nextHop = dst
      let mac: MacAddress | undefined
      if (broadcast) {
        mac = MAC_BROADCAST
      } else if (config.address !== 0 && ((dst ^ config.address) & config.netmask) === 0) {
        mac = arp.unsafeLookup(dst)
      } else if (config.gateway !== 0) {
        nextHop = config.gateway
        mac = arp.unsafeLookup(nextHop)
      } else {
        counters.drop("tx_no_route")
        return "NoRoute"
      }
      const ttl = opts?.ttl ?? defaultTtl
      const id = ident = (ident + 1) & 0xffff
      if (Ip.HEADER_LEN + length <= mtu) {
        const df = opts?.dontFragment ? Ip.Flags.DontFragment : 0
        return emitOne(mac, nextHop, src, dst, protocol, ttl, id, df, payload, offset, length)
      }
      // Fragmentation (RFC 791 §3.2): pieces of a multiple of 8 bytes, MF on all but the last.
      if (opts?.dontFragment || length > 0xffff - Ip.HEADER_LEN) {
        counters.drop("tx_too_big")
        return "TooBig"
      }
      const chunk = (mtu - Ip.HEADER_LEN) & ~7
      let result: SendResult = "Sent"
      for (let at = 0; at < length; at += chunk) {
        const n = Math.min(chunk, length - at)
        const more = at + n < length ? Ip.Flags.MoreFragments : 0
        const r = emitOne(mac, nextHop, src, dst, protocol, ttl, id, more | (at >>> 3), payload, offset + at, n)
        if (r === "Dropped") return r
        result = r
      }
      return result
    }

    const tsoMaxPayload = eth.gsoMaxPayload > Ip.HEADER_LEN ? eth.gsoMaxPayload - Ip.HEADER_LEN : 0
    const unsafeSendTso: Ipv4Service["unsafeSendTso"] = (dst, payload, offset, length, tcpHeaderLength, segmentSize) => {
      const src = config.address
      if (length > tsoMaxPayload || src === 0) return "Unsupported"
      let mac: MacAddress | undefined
      if (((dst ^ src) & config.netmask) === 0) mac = arp.unsafeLookup(dst)
      else if (config.gateway !== 0) mac = arp.unsafeLookup(config.gateway)
      if (mac === undefined) return "Unsupported"
      const id = ident = (ident + 1) & 0xffff
      Ip.emitHeader(tx, Eth.HEADER_LEN, src, dst, 6, length, defaultTtl, id, 0, Ip.Flags.DontFragment)
      tx.set(payload.subarray(offset, offset + length), Eth.HEADER_LEN + Ip.HEADER_LEN)
      if (!eth.unsafeSendGso(mac, Eth.EtherType.Ipv4, Ip.HEADER_LEN + length, Ip.HEADER_LEN, tcpHeaderLength, segmentSize)) {
        return "Dropped"
      }
      counters.tx++
      return "Sent"
    }

    const service: Ipv4Service = {
      config,
      register: (protocol, handler) => registerIn(handlers, protocol, handler),
      registerErrorHandler: (protocol, handler) => registerIn(errorHandlers, protocol, handler),
      unsafeDeliverError: (protocol, type, code, mtu, quote, off, len) =>
        errorHandlers[protocol]?.(type, code, mtu, quote, off, len),
      unsafeSetErrorReporter: (r) => {
        reportError = r
      },
      unsafeReportError: (type, code, header, payload, off, len) => reportError?.(type, code, header, payload, off, len),
      unsafeSend,
      unsafeSourceFor: () => config.address,
      unsafeIsBroadcast: isBroadcast,
      maxPayload: mtu - Ip.HEADER_LEN,
      tsoMaxPayload,
      unsafeSendTso,
      reassembler,
      counters
    }
    return service
  })

/** The IPv4 layer as a Layer. */
export const layer = (
  options?: Ipv4Options
): Layer.Layer<Ipv4, never, PollLoop | Ethernet | Arp | Ipv4Config> => Layer.scoped(Ipv4, make(options))
