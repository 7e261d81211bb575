/**
 * ICMPv6 for the IPv6 layer (RFC 4443): input by type (echo, errors about
 * our packets handed to their transport, NDP and MLD to the NDP part), and
 * the errors we send about received packets, rate limited. Synchronous.
 */
import * as Checksum from "../../protocols/checksum.js"
import * as Icmpv6 from "../../protocols/ipv6/icmpv6.js"
import { ALL_NODES, ipv6Equals, isMulticast, isUnspecified } from "../../protocols/ipv6/address.js"
import * as Ip6 from "../../protocols/ipv6/header.js"
import type { IcmpErrorHandler, ProtocolHandler } from "../Ipv6.js"
import { keyOf } from "./ipv6-addresses.js"
import type { Ipv6Core } from "./ipv6-core.js"
import type { NdpPart } from "./ipv6-ndp.js"
import type { Transmit } from "./ipv6-transmit.js"

/** The ICMPv6 functions the receive path, timers and service call. */
export interface IcmpPart {
  /** An ICMPv6 message at `buffer[offset .. offset+length)` in the packet `h` views. */
  readonly input: (buffer: Uint8Array, offset: number, length: number, h: Ip6.Packet, toTentative: boolean) => void
  /** `Ipv6Service.unsafeReportError`. */
  readonly reportError: (type: number, code: number, param: number, h: Ip6.Packet) => void
  /** Receivers of errors about our packets, by the quoted packet's upper-layer protocol. */
  readonly errorHandlers: Array<IcmpErrorHandler | undefined>
  readonly setEchoReplyHandler: (handler: ProtocolHandler | undefined) => void
}

const fillIcmpChecksum = (b: Uint8Array, o: number, len: number, src: Uint8Array, dst: Uint8Array) => {
  b[o + 2] = 0
  b[o + 3] = 0
  const c = Checksum.compute(b, o, len, Ip6.pseudoHeaderV6(src, dst, Icmpv6.NEXT_HEADER, len))
  b[o + 2] = c >>> 8
  b[o + 3] = c & 0xff
}

/** True when the packet `header` views carries an ICMPv6 error message (RFC 4443 §2.4 (e.1)). */
const carriesIcmpError = (h: Ip6.Packet): boolean => {
  const b = h.buffer
  const end = Math.min(b.length, h.offset + h.totalLength)
  const r = Ip6.walkExtensions(b, h.payloadOffset, Math.max(0, end - h.payloadOffset), h.nextHeader, { headerOffset: h.offset })
  return r._tag === "Upper" && r.protocol === Icmpv6.NEXT_HEADER && r.length > 0 && Icmpv6.isError(b[r.offset]!)
}

/** Builds the ICMPv6 part; NDP and MLD messages go to `ndp`. */
export const makeIcmp = (core: Ipv6Core, transmit: Transmit, ndp: NdpPart): IcmpPart => {
  const { loop, scratch, counters, icmpCounters, addresses, pmtu, link } = core
  const { unsafeSend } = transmit
  const icmpView = new Icmpv6.Packet(new Uint8Array(0), 0, 0)
  // One options object for our replies and errors, its source set per send.
  const opts: { src: Uint8Array } = { src: new Uint8Array(16) }
  const sendFrom = (src: Uint8Array) => {
    opts.src = src
    return opts
  }
  const errorHandlers: Array<IcmpErrorHandler | undefined> = new Array(256).fill(undefined)
  let echoReplyHandler: ProtocolHandler | undefined

  // Error rate limit (RFC 4443 §2.4 (f)): a token bucket, as in the ICMPv4 layer.
  const errorRate = 100
  const errorBurst = 50
  let tokens = errorBurst
  let lastRefill = loop.time()

  const reportError = (type: number, code: number, param: number, h: Ip6.Packet): void => {
    const b = h.buffer
    // RFC 4443 §2.4 (e.4): never to an unspecified or multicast source.
    if (isUnspecified(b, h.srcOffset) || isMulticast(b, h.srcOffset)) return
    // (e.2): not about a packet to a multicast group, except Packet Too Big and option code 2.
    const toGroup = isMulticast(b, h.dstOffset)
    if (toGroup && type !== Icmpv6.Type.PacketTooBig && !(type === Icmpv6.Type.ParamProblem && code === 2)) return
    // (e.1): never about an ICMPv6 error.
    if (carriesIcmpError(h)) return
    const now = loop.time()
    tokens = Math.min(errorBurst, tokens + ((now - lastRefill) * errorRate) / 1000)
    lastRefill = now
    if (tokens < 1) return icmpCounters.drop("error_rate_limited")
    tokens -= 1
    const src = toGroup
      ? addresses.sourceFor(b, h.srcOffset)
      : (addresses.findUsable(b, h.dstOffset)?.address ?? addresses.sourceFor(b, h.srcOffset))
    if (src === undefined) return icmpCounters.drop("error_no_source")
    const dst = h.src
    // (c): as much of the invoking packet as fits the minimum MTU.
    const avail = Math.min(b.length - h.offset, h.totalLength)
    const quote = Math.min(avail, Icmpv6.MAX_QUOTE_LEN)
    scratch[0] = type
    scratch[1] = code
    scratch[2] = 0
    scratch[3] = 0
    scratch[4] = param >>> 24
    scratch[5] = (param >>> 16) & 0xff
    scratch[6] = (param >>> 8) & 0xff
    scratch[7] = param & 0xff
    scratch.set(b.subarray(h.offset, h.offset + quote), Icmpv6.HEADER_LEN)
    const len = Icmpv6.HEADER_LEN + quote
    fillIcmpChecksum(scratch, 0, len, src, dst)
    const r = unsafeSend(dst, Icmpv6.NEXT_HEADER, scratch, 0, len, sendFrom(src))
    if (r === "Sent" || r === "Queued") {
      icmpCounters.tx++
      icmpCounters.event(`error_tx_${type}_${code}`)
    }
  }

  /** An ICMPv6 error about a packet we sent: RFC 4443 §2.4 (a), to its upper layer. */
  const errorInput = (p: Icmpv6.Packet, buffer: Uint8Array) => {
    const q = p.dataOffset
    const qlen = p.dataLength
    if (qlen < Ip6.HEADER_LEN || buffer[q]! >>> 4 !== 6) return icmpCounters.drop("bad_quote")
    if (addresses.findUsable(buffer, q + Ip6.field.SRC) === undefined) return icmpCounters.drop("quote_not_ours")
    let mtu = 0
    if (p.type === Icmpv6.Type.PacketTooBig) {
      // RFC 8201 §4: never below the IPv6 minimum MTU, never above the link's.
      mtu = Math.min(link.mtu, Math.max(Icmpv6.MIN_MTU, p.rest))
      if (pmtu.onPacketTooBig(keyOf(buffer, q + Ip6.field.DST), mtu, link.mtu, loop.time())) loop.unsafeWake()
      icmpCounters.event("packet_too_big_rx")
    } else {
      icmpCounters.event(`error_rx_${p.type}_${p.code}`)
    }
    // The upper layer that sent the quoted packet: follow its extension headers.
    const qend = q + qlen
    const qpl = Math.min(qend - (q + Ip6.HEADER_LEN), (buffer[q + 4]! << 8) | buffer[q + 5]!)
    const w = Ip6.walkExtensions(buffer, q + Ip6.HEADER_LEN, qpl, buffer[q + Ip6.field.NEXT_HEADER]!, { headerOffset: q })
    const proto = w._tag === "Upper" ? w.protocol : w._tag === "Fragment" && w.fragmentOffset === 0 ? w.nextHeader : -1
    if (proto < 0) return icmpCounters.drop("quote_unknown_protocol")
    const h = errorHandlers[proto]
    if (h === undefined) return
    h(p.type, p.code, mtu, buffer, q, qlen)
  }

  const input = (buffer: Uint8Array, offset: number, length: number, h: Ip6.Packet, toTentative: boolean) => {
    icmpCounters.rx++
    const p = icmpView.wrap(buffer, offset, length)
    if (p.check() !== undefined) return icmpCounters.drop("truncated")
    const hb = h.buffer
    const sum = Ip6.pseudoHeaderV6(hb, hb, Icmpv6.NEXT_HEADER, length, h.srcOffset, h.dstOffset)
    if (Checksum.compute(buffer, offset, length, sum) !== 0) return icmpCounters.drop("bad_checksum")
    const type = p.type
    // RFC 4862 §5.4: a tentative address receives only NDP.
    if (toTentative && type !== Icmpv6.Type.NeighborSolicit && type !== Icmpv6.Type.NeighborAdvert) {
      return counters.drop("to_tentative")
    }
    switch (type) {
      case Icmpv6.Type.EchoRequest: {
        icmpCounters.event("echo_request_rx")
        // RFC 4443 §4.2: reply from the unicast address the request went to; for ff02::1 choose one.
        if (isMulticast(hb, h.srcOffset) || isUnspecified(hb, h.srcOffset)) return icmpCounters.drop("echo_bad_source")
        const toGroup = isMulticast(hb, h.dstOffset)
        if (toGroup && !ipv6Equals(hb, h.dstOffset, ALL_NODES, 0)) return icmpCounters.drop("echo_group")
        const src = toGroup ? addresses.sourceFor(hb, h.srcOffset) : addresses.findUsable(hb, h.dstOffset)?.address
        if (src === undefined) return icmpCounters.drop("echo_no_source")
        const dst = h.src
        scratch.set(buffer.subarray(offset, offset + length), 0)
        scratch[0] = Icmpv6.Type.EchoReply
        scratch[1] = 0
        fillIcmpChecksum(scratch, 0, length, src, dst)
        const r = unsafeSend(dst, Icmpv6.NEXT_HEADER, scratch, 0, length, sendFrom(src))
        if (r === "Sent" || r === "Queued") {
          icmpCounters.tx++
          icmpCounters.event("echo_reply_tx")
        } else icmpCounters.drop(`reply_${r}`)
        return
      }
      case Icmpv6.Type.EchoReply:
        icmpCounters.event("echo_reply_rx")
        if (echoReplyHandler === undefined) return icmpCounters.drop("reply_unknown")
        return echoReplyHandler(buffer, offset, length, h)
      case Icmpv6.Type.DstUnreachable:
      case Icmpv6.Type.PacketTooBig:
      case Icmpv6.Type.TimeExceeded:
      case Icmpv6.Type.ParamProblem:
        return errorInput(p, buffer)
      case Icmpv6.Type.MldQuery:
        return ndp.mldQueryInput(buffer, offset, length, h)
      case Icmpv6.Type.RouterSolicit:
      case Icmpv6.Type.RouterAdvert:
      case Icmpv6.Type.NeighborSolicit:
      case Icmpv6.Type.NeighborAdvert:
        return ndp.input(buffer, offset, length, h)
      default:
        // RFC 4443 §2.4 (b): unknown informational messages are discarded (MLD queries too).
        return icmpCounters.drop(Icmpv6.isError(type) ? "unknown_error" : "unsupported_type")
    }
  }

  const setEchoReplyHandler = (handler: ProtocolHandler | undefined) => {
    echoReplyHandler = handler
  }

  return { input, reportError, errorHandlers, setEchoReplyHandler }
}
