/**
 * The IPv6 transmit path: source selection, next hop (on-link or a default
 * router, RFC 4861 §5.2), fragmentation to the path MTU (RFC 8200 §4.5), and
 * the neighbour cache's queue while the next hop resolves. Synchronous.
 */
import type { MacAddress } from "../../protocols/address.js"
import * as Eth from "../../protocols/ethernet.js"
import { isMulticast, multicastMac, writeIpv6 } from "../../protocols/ipv6/address.js"
import * as Ip6 from "../../protocols/ipv6/header.js"
import type { SendResult } from "../Ipv4.js"
import type { Ipv6Service } from "../Ipv6.js"
import { keyOf } from "./ipv6-addresses.js"
import type { Ipv6Core } from "./ipv6-core.js"

/** Writes a fixed IPv6 header (traffic class and flow label 0) at `b[o ..]`. */
export const writeHeader = (b: Uint8Array, o: number, src: Uint8Array, dst: Uint8Array, nh: number, plen: number, hop: number) => {
  b[o] = 0x60
  b[o + 1] = 0
  b[o + 2] = 0
  b[o + 3] = 0
  b[o + 4] = plen >>> 8
  b[o + 5] = plen & 0xff
  b[o + 6] = nh
  b[o + 7] = hop
  writeIpv6(b, o + Ip6.field.SRC, src)
  writeIpv6(b, o + Ip6.field.DST, dst)
}

/** The transmit path's functions. */
export interface Transmit {
  /** The path MTU towards `dst` (the link MTU when none is cached). */
  readonly mtuFor: (dst: Uint8Array) => number
  /** Sends to `nextHop` (MAC known or not), fragmenting to the path MTU of `dst`. */
  readonly sendVia: (
    dstMac: MacAddress | undefined,
    nextHop: Uint8Array,
    src: Uint8Array,
    dst: Uint8Array,
    nh: number,
    hop: number,
    payload: Uint8Array,
    offset: number,
    length: number
  ) => SendResult
  readonly tsoMaxPayload: Ipv6Service["tsoMaxPayload"]
  readonly unsafeSendTso: Ipv6Service["unsafeSendTso"]
  readonly unsafeSend: Ipv6Service["unsafeSend"]
}

/**
 * Builds the transmit path; `solicit` sends the multicast Neighbor
 * Solicitation for a next hop the neighbour cache starts resolving.
 */
export const makeTransmit = (core: Ipv6Core, solicit: (target: Uint8Array) => void): Transmit => {
  const { loop, eth, counters, neighbors, pmtu, slaac, addresses, onLink, link, random } = core
  const tx = eth.txBuffer

  const mtuFor = (dst: Uint8Array): number => pmtu.size === 0 ? link.mtu : pmtu.mtuFor(keyOf(dst), link.mtu)

  /**
   * Writes one packet (or fragment, when `fragId >= 0`) to `dstMac`, or
   * queues a copy in the neighbour cache until `nextHop` resolves.
   */
  const emitOne = (
    dstMac: MacAddress | undefined,
    nextHop: Uint8Array,
    src: Uint8Array,
    dst: Uint8Array,
    nh: number,
    hop: number,
    payload: Uint8Array,
    offset: number,
    length: number,
    fragId: number,
    fragOffset: number,
    more: boolean
  ): SendResult => {
    const extra = fragId >= 0 ? Ip6.FRAGMENT_HEADER_LEN : 0
    const plen = extra + length
    const write = (b: Uint8Array, o: number) => {
      writeHeader(b, o, src, dst, extra > 0 ? Ip6.NextHeader.Fragment : nh, plen, hop)
      if (extra > 0) Ip6.emitFragmentHeader(b, o + Ip6.HEADER_LEN, nh, fragOffset, more, fragId)
      b.set(payload.subarray(offset, offset + length), o + Ip6.HEADER_LEN + extra)
    }
    if (dstMac !== undefined) {
      write(tx, Eth.HEADER_LEN)
      if (!eth.unsafeSend(dstMac, Eth.EtherType.Ipv6, Ip6.HEADER_LEN + plen)) return "Dropped"
      counters.tx++
      return "Sent"
    }
    const packet = new Uint8Array(Ip6.HEADER_LEN + plen)
    write(packet, 0)
    const r = neighbors.enqueue(nextHop, packet, loop.time())
    if (r === "Dropped") {
      counters.drop("tx_queue_full")
      return "Dropped"
    }
    if (r === "ReplacedOldest") counters.drop("tx_queue_replaced")
    if (r === "QueuedAndSolicit") solicit(nextHop)
    loop.unsafeWake()
    counters.tx++
    return "Queued"
  }

  /** Sends to `nextHop` (MAC known or not), fragmenting to the path MTU of `dst` (RFC 8200 §4.5). */
  const sendVia = (
    dstMac: MacAddress | undefined,
    nextHop: Uint8Array,
    src: Uint8Array,
    dst: Uint8Array,
    nh: number,
    hop: number,
    payload: Uint8Array,
    offset: number,
    length: number
  ): SendResult => {
    const mtu = mtuFor(dst)
    if (Ip6.HEADER_LEN + length <= mtu) {
      return emitOne(dstMac, nextHop, src, dst, nh, hop, payload, offset, length, -1, 0, false)
    }
    if (length > 0xffff - Ip6.FRAGMENT_HEADER_LEN) {
      counters.drop("tx_too_big")
      return "TooBig"
    }
    // RFC 8200 §4.5: fragments of 8-byte multiples with a random 32-bit identification (RFC 7739).
    const chunk = (mtu - Ip6.HEADER_LEN - Ip6.FRAGMENT_HEADER_LEN) & ~7
    const id = Math.floor(random() * 0x100000000) >>> 0
    let result: SendResult = "Sent"
    for (let at = 0; at < length; at += chunk) {
      const n = Math.min(chunk, length - at)
      const r = emitOne(dstMac, nextHop, src, dst, nh, hop, payload, offset + at, n, id, at, at + n < length)
      if (r === "Dropped") return r
      result = r
    }
    counters.event("tx_fragmented")
    return result
  }

  const routerReachable = (r: Uint8Array) => {
    const s = neighbors.stateOf(r)
    return s !== undefined && s !== "INCOMPLETE"
  }

  const unsafeSend: Ipv6Service["unsafeSend"] = (dst, nextHeader, payload, offset, length, opts) => {
    const src = opts?.src ?? addresses.sourceFor(dst)
    if (src === undefined) {
      counters.drop("tx_no_address")
      return "NoAddress"
    }
    const hop = opts?.hopLimit ?? link.hopLimit
    if (isMulticast(dst)) {
      return sendVia(multicastMac(dst), dst, src, dst, nextHeader, hop, payload, offset, length)
    }
    let nextHop: Uint8Array = dst
    // RFC 4861 §5.2: on-link destinations directly, others via a default router;
    // with no router the destination is NOT assumed on-link (RFC 4861 §5.2, RFC 5942).
    if (!onLink.has(dst)) {
      const router = slaac.defaultRouter(routerReachable)
      if (router === undefined) {
        counters.drop("tx_no_route")
        return "NoRoute"
      }
      nextHop = router
    }
    const m = neighbors.lookup(nextHop, loop.time())
    return sendVia(m, nextHop, src, dst, nextHeader, hop, payload, offset, length)
  }

  /** The next hop towards a unicast `dst` (RFC 4861 §5.2), undefined without a route. */
  const nextHopFor = (dst: Uint8Array): Uint8Array | undefined =>
    onLink.has(dst) ? dst : slaac.defaultRouter(routerReachable)

  const tsoMaxPayload = eth.gsoMaxPayload > Ip6.HEADER_LEN ? eth.gsoMaxPayload - Ip6.HEADER_LEN : 0
  const unsafeSendTso: Ipv6Service["unsafeSendTso"] = (dst, src, payload, offset, length, tcpHeaderLength, segmentSize) => {
    if (length > tsoMaxPayload || isMulticast(dst)) return "Unsupported"
    const nextHop = nextHopFor(dst)
    if (nextHop === undefined) return "Unsupported"
    const mac = neighbors.lookup(nextHop, loop.time())
    if (mac === undefined) return "Unsupported"
    writeHeader(tx, Eth.HEADER_LEN, src, dst, 6, length, link.hopLimit)
    tx.set(payload.subarray(offset, offset + length), Eth.HEADER_LEN + Ip6.HEADER_LEN)
    if (!eth.unsafeSendGso(mac, Eth.EtherType.Ipv6, Ip6.HEADER_LEN + length, Ip6.HEADER_LEN, tcpHeaderLength, segmentSize)) {
      return "Dropped"
    }
    counters.tx++
    return "Sent"
  }

  return { mtuFor, sendVia, unsafeSend, tsoMaxPayload, unsafeSendTso }
}
