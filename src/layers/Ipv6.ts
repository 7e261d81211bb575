/**
 * The IPv6 layer (RFC 8200, RFC 4443, RFC 4861, RFC 4862, RFC 3810): the
 * extension-header chain, reassembly and fragmentation, ICMPv6 (echo reply,
 * errors with rate limiting, errors about our packets handed to their
 * transport), neighbour discovery, router discovery, address configuration
 * (link-local, SLAAC, static) with DAD, MLDv2 reports for our solicited-node
 * groups, and source address selection (RFC 6724). Upper layers register for
 * a next-header value, as with IPv4.
 */
import { createHash } from "node:crypto"
import { Context, Data, Deferred, Effect, Exit, Layer, Queue, type Scope } from "effect"
import type { MacAddress } from "../protocols/address.js"
import * as Checksum from "../protocols/checksum.js"
import * as Eth from "../protocols/ethernet.js"
import * as Icmpv6 from "../protocols/ipv6/icmpv6.js"
import {
  ALL_MLDV2_ROUTERS,
  ALL_NODES,
  ALL_ROUTERS,
  formatIpv6,
  interfaceIdFromMac,
  ipv6Equals,
  isLinkLocal,
  isMulticast,
  isUnspecified,
  multicastMac,
  prefixMatch,
  solicitedNodeMulticast,
  UNSPECIFIED,
  writeIpv6,
  type Ipv6Address,
  type Ipv6Cidr
} from "../protocols/ipv6/address.js"
import * as Ip6 from "../protocols/ipv6/header.js"
import { isMalformed } from "../protocols/malformed.js"
import * as Ndp from "../protocols/ipv6/ndp.js"
import { NeighborCache, type NeighborAction, type NeighborCacheOptions } from "../protocols/ipv6/neighbor-cache.js"
import { Reassembler, type ReassemblyOptions } from "../protocols/reassembly.js"
import { Slaac, type SlaacAction } from "../protocols/ipv6/slaac.js"
import { PathMtuCache } from "../protocols/ipv6/path-mtu.js"
import { selectSource } from "../protocols/ipv6/source-selection.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { PollLoop } from "../runtime/PollLoop.js"
import { fromEffectRandom } from "../runtime/SeededRandom.js"
import { Ethernet } from "./Ethernet.js"
import { registerIn } from "./internal/registry.js"
import type { SendResult } from "./Ipv4.js"

/**
 * Receives an upper-layer payload `buffer[offset .. offset+length)`; `header`
 * views the packet's fixed IPv6 header (for a reassembled packet, a copy of
 * the first fragment's). Read the addresses in place through
 * `header.buffer` at `header.srcOffset` / `header.dstOffset` (or copy them
 * with `header.src`). Valid only during the call.
 */
export type ProtocolHandler = (buffer: Uint8Array, offset: number, length: number, header: Ip6.Packet) => void

/**
 * Receives an ICMPv6 error about a packet we sent (RFC 4443 §2.4 (a): passed
 * to the upper layer): `quote` starts at the quoted IPv6 header.
 */
export type IcmpErrorHandler = (
  type: number,
  code: number,
  /** The MTU of a Packet Too Big (RFC 8201), else 0. */
  mtu: number,
  quote: Uint8Array,
  quoteOffset: number,
  quoteLength: number
) => void

/** Options of one send. */
export interface SendOptions {
  /** Hop limit; defaults to the link's (RA Cur Hop Limit, else 64). */
  readonly hopLimit?: number
  /** Source address; defaults to the RFC 6724 choice for the destination. */
  readonly src?: Ipv6Address
}

/** Why a user's IPv6 operation failed. */
export class Ipv6Error extends Data.TaggedError("Ipv6Error")<{
  readonly reason: "Disabled" | "NoRoute" | "NoAddress" | "TooBig" | "Dropped" | "DuplicateAddress"
  readonly message: string
}> {}

/** Where an address came from. */
export type AddressOrigin = "link-local" | "slaac" | "static"

/** One of our addresses as `addresses` reports it. */
export interface AddressInfo {
  readonly address: Ipv6Address
  readonly prefixLength: number
  readonly state: "TENTATIVE" | "PREFERRED" | "DEPRECATED" | "DUPLICATE"
  readonly origin: AddressOrigin
}

/** The IPv6 layer's service. */
export interface Ipv6Service {
  /** False with `--no-ipv6`: nothing is sent, every IPv6 frame is dropped. */
  readonly enabled: boolean
  /** Routes packets whose upper-layer protocol is `nextHeader` to `handler` for the life of the scope. */
  readonly register: (nextHeader: number, handler: ProtocolHandler) => Effect.Effect<void, never, Scope.Scope>
  /** Routes ICMPv6 errors about our packets of `nextHeader` to `handler` for the life of the scope. */
  readonly registerErrorHandler: (nextHeader: number, handler: IcmpErrorHandler) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Sends an ICMPv6 error (RFC 4443 §2.4: never about errors, multicast
   * destinations except Packet Too Big / option code 2, or unspecified /
   * multicast sources; rate limited) about the received packet whose fixed
   * header `header` views; `param` is the pointer or MTU.
   */
  readonly unsafeReportError: (type: number, code: number, param: number, header: Ip6.Packet) => void
  /** Sends `payload[offset .. offset+length)` to `dst`. Synchronous; the bytes are copied. */
  readonly unsafeSend: (
    dst: Ipv6Address,
    nextHeader: number,
    payload: Uint8Array,
    offset: number,
    length: number,
    options?: SendOptions
  ) => SendResult
  /** The RFC 6724 source address towards `dst`, undefined when we have none. */
  readonly unsafeSourceFor: (dst: Ipv6Address) => Ipv6Address | undefined
  /** True when `buffer[offset .. offset+16)` is one of our unicast addresses (not tentative). */
  readonly unsafeIsOurs: (buffer: Uint8Array, offset: number) => boolean
  /** Largest upper-layer payload sent unfragmented towards `dst` (link MTU or path MTU, minus 40). */
  readonly unsafeMaxPayload: (dst: Ipv6Address) => number
  /** Installs the receiver of ICMPv6 echo replies (the ICMP layer's pings). */
  readonly unsafeSetEchoReplyHandler: (handler: ProtocolHandler | undefined) => void
  /** Our addresses now, every state. */
  readonly addresses: Effect.Effect<ReadonlyArray<AddressInfo>>
  /** Waits until the link-local address has passed DAD; fails with Disabled or DuplicateAddress. */
  readonly linkLocal: Effect.Effect<Ipv6Address, Ipv6Error>
  /** DNS servers from Router Advertisements (RDNSS, RFC 8106). */
  readonly dnsServers: Effect.Effect<ReadonlyArray<Ipv6Address>>
  readonly counters: LayerCounters
  /**
   * NDP and ICMPv6 event counts (ns_rx, na_tx, rs_tx, ra_rx, dad_ok,
   * dad_duplicate, echo_request_rx, echo_reply_tx, error_tx_T_C, ...) for
   * /metrics; drops are in the "ipv6", "icmpv6" and "ndp" layer counters.
   */
  readonly events: Readonly<Record<string, number>>
}

/** The IPv6 layer. */
export class Ipv6 extends Context.Tag("isla/Ipv6")<Ipv6, Ipv6Service>() {}

/** Options of the IPv6 layer. */
export interface Ipv6Options {
  /** False turns IPv6 off (default true). */
  readonly enabled?: boolean
  /** Static addresses, used after DAD besides the link-local and SLAAC ones. */
  readonly addresses?: ReadonlyArray<Ipv6Cidr>
  /** Form SLAAC addresses from RA prefixes (default true). */
  readonly slaac?: boolean
  /**
   * RFC 7217 stable-privacy interface identifiers from this secret instead of
   * the modified EUI-64 of the MAC (default: EUI-64).
   */
  readonly stablePrivacySecret?: Uint8Array
  /** DupAddrDetectTransmits (default 1; 0 turns DAD off). */
  readonly dadTransmits?: number
  /** Default hop limit (default 64; an RA's Cur Hop Limit replaces it). */
  readonly hopLimit?: number
  readonly neighbor?: NeighborCacheOptions
  readonly reassembly?: ReassemblyOptions
}

/** Default reassembly limits: IPv4's bounds with RFC 8200 §4.5's 60 s timeout. */
export const defaultReassembly: ReassemblyOptions = {
  timeoutMillis: 60_000,
  maxDatagrams: 64,
  maxBytes: 4 * 1024 * 1024
}

/** On-link prefixes kept at most. */
const MAX_ON_LINK = 16
const INFINITE_LIFETIME = 0xffffffff

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))
const keyOf = (b: Uint8Array, o = 0): string => {
  let k = ""
  for (let i = 0; i < 16; i++) k += HEX[b[o + i]!]
  return k
}

/** RFC 7217 §5 stable-privacy interface identifier: SHA-256(prefix | interface | secret | DAD counter). */
const stablePrivacyId = (secret: Uint8Array, mac: Uint8Array) => (prefix: Uint8Array): Uint8Array => {
  const h = createHash("sha256")
  h.update(prefix.subarray(0, 8))
  h.update(mac)
  h.update(secret)
  h.update(Uint8Array.of(0))
  return new Uint8Array(h.digest().subarray(0, 8))
}

interface Own {
  readonly address: Ipv6Address
  readonly prefixLength: number
  readonly state: AddressInfo["state"]
  readonly origin: AddressOrigin
  readonly deprecated: boolean
}

interface OnLinkPrefix {
  readonly prefix: Ipv6Address
  readonly prefixLength: number
  validUntil: number
}

interface LogLine {
  readonly level: "info" | "warning"
  readonly message: string
}

/** Builds the IPv6 layer and wires it under Ethernet. */
export const make = (options: Ipv6Options = {}) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    const eth = yield* Ethernet
    const counters = loop.counters.layer("ipv6")
    const icmpCounters = loop.counters.layer("icmpv6")
    const ndpCounters = loop.counters.layer("ndp")
    const events: Record<string, number> = Object.create(null)
    const disabled = new Ipv6Error({ reason: "Disabled", message: "IPv6 is disabled" })
    if (options.enabled === false) {
      const service: Ipv6Service = {
        enabled: false,
        register: () => Effect.void,
        registerErrorHandler: () => Effect.void,
        unsafeReportError: () => {},
        unsafeSend: () => "NoRoute",
        unsafeSourceFor: () => undefined,
        unsafeIsOurs: () => false,
        unsafeMaxPayload: () => 1280 - 40,
        unsafeSetEchoReplyHandler: () => {},
        addresses: Effect.succeed([]),
        linkLocal: Effect.fail(disabled),
        dnsServers: Effect.succeed([]),
        counters,
        events
      }
      return service
    }

    /** Counts an event here and in its layer's counters (published on /metrics as isla_events_total). */
    const count = (event: string) => {
      events[event] = (events[event] ?? 0) + 1
      const layer = /^(echo_|error_|packet_too_big)/.test(event) ?
        icmpCounters :
        /^(tx_fragmented|reassembled)/.test(event) ? counters : ndpCounters
      layer.event(event)
    }
    const random = yield* fromEffectRandom
    const mac = eth.mac
    const tx = eth.txBuffer
    const scratch = new Uint8Array(0x10000)
    const view = new Ip6.Packet(new Uint8Array(0), 0, 0)
    const ctxView = new Ip6.Packet(new Uint8Array(0), 0, 0)
    const icmpView = new Icmpv6.Packet(new Uint8Array(0), 0, 0)
    const handlers: Array<ProtocolHandler | undefined> = new Array(256).fill(undefined)
    const errorHandlers: Array<IcmpErrorHandler | undefined> = new Array(256).fill(undefined)
    let echoReplyHandler: ProtocolHandler | undefined
    const reassembler = new Reassembler<Uint8Array>(options.reassembly ?? defaultReassembly)
    const neighbors = new NeighborCache({ random, ...options.neighbor })
    const interfaceIdFor = options.stablePrivacySecret !== undefined
      ? stablePrivacyId(options.stablePrivacySecret, mac)
      : undefined
    const slaac = new Slaac({
      interfaceId: interfaceIdFromMac(mac),
      dupAddrDetectTransmits: options.dadTransmits ?? 1,
      random,
      ...(interfaceIdFor !== undefined ? { interfaceIdFor } : {})
    })
    const useSlaac = options.slaac !== false
    const staticKeys = new Set<string>()
    let hopLimit = options.hopLimit ?? 64
    let linkMtu = eth.mtu
    let dnsServers: ReadonlyArray<Ipv6Address> = []
    const onLink: Array<OnLinkPrefix> = []
    const pmtu = new PathMtuCache()
    const linkLocalReady = yield* Deferred.make<Ipv6Address, Ipv6Error>()

    // Error rate limit (RFC 4443 §2.4 (f)): a token bucket, as in the ICMPv4 layer.
    const errorRate = 100
    const errorBurst = 50
    let tokens = errorBurst
    let lastRefill = loop.time()

    // Logs from the data plane go through a bounded queue to a logging fiber.
    const logs = yield* Queue.dropping<LogLine>(64)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(logs), (l) => l.level === "info" ? Effect.logInfo(l.message) : Effect.logWarning(l.message))
      )
    )
    const log = (level: LogLine["level"], message: string) => {
      logs.unsafeOffer({ level, message })
    }

    // --- our addresses --------------------------------------------------------

    let usable: Array<Own> = []
    let all: Array<Own> = []
    let groups: Array<Ipv6Address> = []
    const groupKeys = new Set<string>()

    /** The key of the automatic link-local address (set at start). */
    let autoLinkLocal = ""
    const originOf = (address: Ipv6Address): AddressOrigin => {
      const k = keyOf(address)
      return k === autoLinkLocal ? "link-local" : staticKeys.has(k) ? "static" : "slaac"
    }

    /** Rebuilds the address lists from the SLAAC state; joins new solicited-node groups (MLDv2). */
    const refresh = () => {
      const next: Array<Own> = []
      for (const a of slaac.addresses()) {
        next.push({
          address: a.address,
          prefixLength: a.prefixLength,
          state: a.state,
          origin: originOf(a.address),
          deprecated: a.state === "DEPRECATED"
        })
      }
      all = next
      usable = next.filter((a) => a.state === "PREFERRED" || a.state === "DEPRECATED")
      const joined: Array<Ipv6Address> = []
      const keys = new Set<string>()
      const nextGroups: Array<Ipv6Address> = []
      for (const a of next) {
        if (a.state === "DUPLICATE") continue
        const g = solicitedNodeMulticast(a.address)
        const k = keyOf(g)
        if (keys.has(k)) continue
        keys.add(k)
        nextGroups.push(g)
        if (!groupKeys.has(k)) joined.push(g)
      }
      groups = nextGroups
      groupKeys.clear()
      for (const k of keys) groupKeys.add(k)
      if (joined.length > 0) sendMldReport(joined)
    }

    const findUsable = (b: Uint8Array, o: number): Own | undefined => {
      for (let i = 0; i < usable.length; i++) if (ipv6Equals(usable[i]!.address, 0, b, o)) return usable[i]
      return undefined
    }
    const findAny = (b: Uint8Array, o: number): Own | undefined => {
      for (let i = 0; i < all.length; i++) if (ipv6Equals(all[i]!.address, 0, b, o)) return all[i]
      return undefined
    }
    const inGroups = (b: Uint8Array, o: number): boolean => {
      if (ipv6Equals(b, o, ALL_NODES, 0)) return true
      for (let i = 0; i < groups.length; i++) if (ipv6Equals(groups[i]!, 0, b, o)) return true
      return false
    }

    /** RFC 6724 §5 for one interface. */
    const sourceFor = (dst: Uint8Array, dstOffset = 0): Ipv6Address | undefined =>
      selectSource(usable, dst, dstOffset)?.address

    // --- transmit -------------------------------------------------------------

    const writeHeader = (b: Uint8Array, o: number, src: Uint8Array, dst: Uint8Array, nh: number, plen: number, hop: number) => {
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

    const mtuFor = (dst: Uint8Array): number => pmtu.size === 0 ? linkMtu : pmtu.mtuFor(keyOf(dst), linkMtu)

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
      if (r === "QueuedAndSolicit") sendMulticastNs(nextHop)
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
      count("tx_fragmented")
      return result
    }

    const isOnLink = (dst: Uint8Array): boolean => {
      if (isLinkLocal(dst)) return true
      for (let i = 0; i < onLink.length; i++) {
        const p = onLink[i]!
        if (prefixMatch(p.prefix, dst, p.prefixLength)) return true
      }
      return false
    }

    const routerReachable = (r: Uint8Array) => {
      const s = neighbors.stateOf(r)
      return s !== undefined && s !== "INCOMPLETE"
    }

    const unsafeSend = (
      dst: Ipv6Address,
      nextHeader: number,
      payload: Uint8Array,
      offset: number,
      length: number,
      opts?: SendOptions
    ): SendResult => {
      const src = opts?.src ?? sourceFor(dst)
      if (src === undefined) {
        counters.drop("tx_no_address")
        return "NoAddress"
      }
      const hop = opts?.hopLimit ?? hopLimit
      if (isMulticast(dst)) {
        return sendVia(multicastMac(dst), dst, src, dst, nextHeader, hop, payload, offset, length)
      }
      let nextHop: Uint8Array = dst
      // RFC 4861 §5.2: on-link destinations directly, others via a default router;
      // with no router the destination is NOT assumed on-link (RFC 4861 §5.2, RFC 5942).
      if (!isOnLink(dst)) {
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

    // --- NDP and MLD transmit -------------------------------------------------

    const ndpNames: Record<string, string> = {
      RouterSolicit: "rs",
      RouterAdvert: "ra",
      NeighborSolicit: "ns",
      NeighborAdvert: "na"
    }

    /** Sends an NDP message (hop limit 255, RFC 4861 §6.1, §7.1). */
    const sendNdp = (repr: Ndp.NdpRepr, src: Uint8Array, dst: Uint8Array, dstMac: MacAddress | undefined, nextHop: Uint8Array) => {
      const len = Ndp.bufferLen(repr)
      Ndp.emit(repr, src, dst, scratch, 0)
      const r = sendVia(dstMac, nextHop, src, dst, Icmpv6.NEXT_HEADER, 255, scratch, 0, len)
      if (r === "Sent" || r === "Queued") {
        ndpCounters.tx++
        count(`${ndpNames[repr._tag]}_tx`)
      }
    }

    const sllOption = (): Ndp.NdpOption => ({ _tag: "SourceLinkLayer", address: mac })

    /** RFC 4861 §7.2.2: a multicast NS to the target's solicited-node group. */
    const sendMulticastNs = (target: Uint8Array) => {
      const src = sourceFor(target)
      if (src === undefined) return counters.drop("ns_no_source")
      const group = solicitedNodeMulticast(target)
      sendNdp({ _tag: "NeighborSolicit", target, options: [sllOption()] }, src, group, multicastMac(group), group)
    }

    /** RFC 4861 §7.3.3: a unicast probe to the cached MAC. */
    const sendUnicastNs = (target: Uint8Array, to: MacAddress) => {
      const src = sourceFor(target)
      if (src === undefined) return counters.drop("ns_no_source")
      sendNdp({ _tag: "NeighborSolicit", target, options: [sllOption()] }, src, target, to, target)
    }

    /** RFC 4862 §5.4.2: DAD NS from the unspecified address, no SLLA option. */
    const sendDadNs = (target: Uint8Array) => {
      const group = solicitedNodeMulticast(target)
      sendNdp({ _tag: "NeighborSolicit", target, options: [] }, UNSPECIFIED, group, multicastMac(group), group)
      count("dad_ns_tx")
    }

    const linkLocalAddress = (): Ipv6Address | undefined => {
      for (const a of usable) if (a.origin === "link-local") return a.address
      return undefined
    }

    /** RFC 4861 §6.3.7; §4.1: no SLLA option from the unspecified address. */
    const sendRs = () => {
      const src = linkLocalAddress()
      sendNdp(
        { _tag: "RouterSolicit", options: src !== undefined ? [sllOption()] : [] },
        src ?? UNSPECIFIED,
        ALL_ROUTERS,
        multicastMac(ALL_ROUTERS),
        ALL_ROUTERS
      )
    }

    /**
     * RFC 3810 §5.2: an MLDv2 Report joining `joined` (CHANGE_TO_EXCLUDE({}),
     * §6.1), hop limit 1, with a Router Alert in a Hop-by-Hop header (§5).
     */
    const sendMldReport = (joined: ReadonlyArray<Ipv6Address>, currentState = false) => {
      if (joined.length === 0) return
      const src = linkLocalAddress() ?? UNSPECIFIED
      const records = currentState ? Ndp.currentStateRecords(joined) : Ndp.joinRecords(joined)
      const mldLen = Ndp.mldv2ReportLen(records)
      const o = Eth.HEADER_LEN
      if (Ip6.HEADER_LEN + 8 + mldLen > eth.mtu) return counters.drop("mld_too_big")
      writeHeader(tx, o, src, ALL_MLDV2_ROUTERS, Ip6.NextHeader.HopByHop, 8 + mldLen, 1)
      // Hop-by-Hop: next header 58, length 0, Router Alert (RFC 2711: type 5, value 0 = MLD), PadN(0).
      tx.set([Icmpv6.NEXT_HEADER, 0, 5, 2, 0, 0, 1, 0], o + Ip6.HEADER_LEN)
      Ndp.emitMldv2Report(records, src, ALL_MLDV2_ROUTERS, tx, o + Ip6.HEADER_LEN + 8)
      if (eth.unsafeSend(multicastMac(ALL_MLDV2_ROUTERS), Eth.EtherType.Ipv6, Ip6.HEADER_LEN + 8 + mldLen)) {
        counters.tx++
        icmpCounters.tx++
        count("mld_report_tx")
      }
    }

    // --- state machine actions -----------------------------------------------

    const runNeighbor = (actions: ReadonlyArray<NeighborAction>) => {
      for (const a of actions) {
        switch (a._tag) {
          case "SendMulticastSolicitation":
            sendMulticastNs(a.target)
            break
          case "SendUnicastSolicitation":
            sendUnicastNs(a.target, a.mac)
            break
          case "Flush":
            for (const p of a.packets) eth.unsafeSendPayload(a.mac, Eth.EtherType.Ipv6, p)
            break
          case "Unresolved":
            for (let i = 0; i < a.dropped.length; i++) counters.drop("unresolved")
            count("neighbor_unresolved")
            break
          case "NoLongerRouter":
            count("neighbor_no_longer_router")
            break
        }
      }
    }

    const describe = (address: Ipv6Address, prefixLength: number) => {
      const origin = originOf(address)
      return `${formatIpv6(address)}/${prefixLength} configured (${origin})`
    }

    const runSlaac = (actions: ReadonlyArray<SlaacAction>) => {
      let changed = false
      for (const a of actions) {
        switch (a._tag) {
          case "SendDadSolicitation":
            // Join the solicited-node group before the first DAD NS (RFC 4862 §5.4.2).
            if (!changed) refresh()
            sendDadNs(a.address)
            break
          case "SendRouterSolicitation":
            sendRs()
            break
          case "AddressPreferred":
            changed = true
            count("dad_ok")
            log("info", `ipv6 address ${describe(a.address, a.prefixLength)}`)
            if (keyOf(a.address) === autoLinkLocal) Deferred.unsafeDone(linkLocalReady, Exit.succeed(a.address))
            break
          case "AddressDeprecated":
            changed = true
            count("address_deprecated")
            break
          case "AddressRemoved":
            changed = true
            count("address_removed")
            log("info", `ipv6 address ${formatIpv6(a.address)} removed (lifetime expired)`)
            break
          case "DuplicateDetected":
            changed = true
            count("dad_duplicate")
            log("warning", `ipv6 address ${formatIpv6(a.address)} is in use by another node (DAD): not used`)
            if (keyOf(a.address) === autoLinkLocal) {
              Deferred.unsafeDone(
                linkLocalReady,
                Exit.fail(new Ipv6Error({ reason: "DuplicateAddress", message: `${formatIpv6(a.address)} is a duplicate` }))
              )
            }
            break
          case "RouterAdded":
            count("router_added")
            log("info", `ipv6 default router ${formatIpv6(a.router)}`)
            break
          case "RouterRemoved":
            count("router_removed")
            break
          case "DnsServers":
            dnsServers = a.servers
            break
          case "LinkParametersChanged": {
            const p = a.parameters
            if (p.curHopLimit !== undefined) hopLimit = p.curHopLimit
            // RFC 4861 §6.3.4: an MTU option never raises the MTU above the link's.
            if (p.mtu !== undefined) linkMtu = Math.min(eth.mtu, Math.max(Icmpv6.MIN_MTU, p.mtu))
            break
          }
        }
      }
      if (changed) refresh()
    }

    // --- ICMPv6 errors ----------------------------------------------------------

    /** True when the packet `header` views carries an ICMPv6 error message (RFC 4443 §2.4 (e.1)). */
    const carriesIcmpError = (h: Ip6.Packet): boolean => {
      const b = h.buffer
      const end = Math.min(b.length, h.offset + h.totalLength)
      const r = Ip6.walkExtensions(b, h.payloadOffset, Math.max(0, end - h.payloadOffset), h.nextHeader, { headerOffset: h.offset })
      return r._tag === "Upper" && r.protocol === Icmpv6.NEXT_HEADER && r.length > 0 && Icmpv6.isError(b[r.offset]!)
    }

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
      const src = toGroup ? sourceFor(b, h.srcOffset) : (findUsable(b, h.dstOffset)?.address ?? sourceFor(b, h.srcOffset))
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
      const r = unsafeSend(dst, Icmpv6.NEXT_HEADER, scratch, 0, len, { src })
      if (r === "Sent" || r === "Queued") {
        icmpCounters.tx++
        count(`error_tx_${type}_${code}`)
      }
    }

    const fillIcmpChecksum = (b: Uint8Array, o: number, len: number, src: Uint8Array, dst: Uint8Array) => {
      b[o + 2] = 0
      b[o + 3] = 0
      const c = Checksum.compute(b, o, len, Ip6.pseudoHeaderV6(src, dst, Icmpv6.NEXT_HEADER, len))
      b[o + 2] = c >>> 8
      b[o + 3] = c & 0xff
    }

    /** An ICMPv6 error about a packet we sent: RFC 4443 §2.4 (a), to its upper layer. */
    const errorInput = (p: Icmpv6.Packet, buffer: Uint8Array) => {
      const q = p.dataOffset
      const qlen = p.dataLength
      if (qlen < Ip6.HEADER_LEN || buffer[q]! >>> 4 !== 6) return icmpCounters.drop("bad_quote")
      if (findUsable(buffer, q + Ip6.field.SRC) === undefined) return icmpCounters.drop("quote_not_ours")
      let mtu = 0
      if (p.type === Icmpv6.Type.PacketTooBig) {
        // RFC 8201 §4: never below the IPv6 minimum MTU, never above the link's.
        mtu = Math.min(linkMtu, Math.max(Icmpv6.MIN_MTU, p.rest))
        if (pmtu.onPacketTooBig(keyOf(buffer, q + Ip6.field.DST), mtu, linkMtu, loop.time())) loop.unsafeWake()
        count("packet_too_big_rx")
      } else {
        count(`error_rx_${p.type}_${p.code}`)
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

    // --- NDP receive ----------------------------------------------------------

    const sllOf = (options: ReadonlyArray<Ndp.NdpOption>, tag: "SourceLinkLayer" | "TargetLinkLayer") => {
      for (const o of options) if (o._tag === tag && o.address.length === 6) return o.address
      return undefined
    }

    const ndpInput = (buffer: Uint8Array, offset: number, length: number, h: Ip6.Packet) => {
      ndpCounters.rx++
      // RFC 4861 §6.1, §7.1.1: hop limit 255 proves the message came from the link.
      if (h.hopLimit !== 255) return ndpCounters.drop("bad_hop_limit")
      const m = Ndp.parse(buffer, offset, length)
      if (isMalformed(m)) return ndpCounters.drop(m.reason)
      const hb = h.buffer
      const srcUnspecified = isUnspecified(hb, h.srcOffset)
      const now = loop.time()
      switch (m._tag) {
        case "RouterSolicit":
          count("rs_rx")
          return ndpCounters.drop("rs_host")
        case "RouterAdvert": {
          count("ra_rx")
          // RFC 4861 §6.1.2: from a link-local source.
          if (!isLinkLocal(hb, h.srcOffset)) return ndpCounters.drop("ra_bad_source")
          const src = h.src
          const sll = sllOf(m.options, "SourceLinkLayer")
          if (sll !== undefined) runNeighbor(neighbors.onSolicitation(src, sll, now))
          if (m.reachableTime > 0) neighbors.setBaseReachableTime(m.reachableTime)
          if (m.retransTimer > 0) neighbors.setRetransTimer(m.retransTimer)
          const prefixes: Array<Ndp.PrefixInformation> = []
          const rdnss: Array<{ servers: ReadonlyArray<Uint8Array>; lifetime: number }> = []
          let mtu: number | undefined
          for (const o of m.options) {
            if (o._tag === "PrefixInformation") {
              if (useSlaac) prefixes.push(o)
              if (o.onLink) onLinkPrefix(o, now)
            } else if (o._tag === "Rdnss") rdnss.push(o)
            else if (o._tag === "Mtu") mtu = o.mtu
          }
          runSlaac(slaac.onRouterAdvertisement(
            {
              source: src,
              routerLifetime: m.routerLifetime,
              curHopLimit: m.curHopLimit,
              reachableTime: m.reachableTime,
              retransTimer: m.retransTimer,
              ...(mtu !== undefined ? { mtu } : {}),
              prefixes,
              rdnss
            },
            now
          ))
          // New tentative addresses join their solicited-node groups now, before their DAD.
          refresh()
          loop.unsafeWake()
          return
        }
        case "NeighborSolicit": {
          count("ns_rx")
          const sll = sllOf(m.options, "SourceLinkLayer")
          const dstGroup = isMulticast(hb, h.dstOffset)
          // RFC 4861 §7.1.1: from :: only to a solicited-node group and without SLLA.
          if (srcUnspecified && (!dstGroup || sll !== undefined)) return ndpCounters.drop("ns_bad_dad")
          const own = findAny(m.target, 0)
          if (own === undefined) return ndpCounters.drop("ns_not_for_us")
          if (own.state === "TENTATIVE") {
            // RFC 4862 §5.4.3: another node's DAD for our tentative address.
            if (srcUnspecified) runSlaac(slaac.onNeighborSolicitation(m.target, true, now))
            return
          }
          if (own.state === "DUPLICATE") return ndpCounters.drop("ns_duplicate_target")
          if (srcUnspecified) {
            // RFC 4861 §7.2.4: answer a DAD probe to all-nodes, unsolicited.
            count("dad_defended")
            return sendNdp(
              { _tag: "NeighborAdvert", router: false, solicited: false, override: true, target: own.address, options: [{ _tag: "TargetLinkLayer", address: mac }] },
              own.address,
              ALL_NODES,
              multicastMac(ALL_NODES),
              ALL_NODES
            )
          }
          const src = h.src
          if (sll !== undefined) runNeighbor(neighbors.onSolicitation(src, sll, now))
          const to = sll ?? neighbors.lookup(src, now)
          return sendNdp(
            { _tag: "NeighborAdvert", router: false, solicited: true, override: true, target: own.address, options: [{ _tag: "TargetLinkLayer", address: mac }] },
            own.address,
            src,
            to,
            src
          )
        }
        case "NeighborAdvert": {
          count("na_rx")
          // RFC 4861 §7.1.2: solicited NAs are never multicast.
          if (m.solicited && isMulticast(hb, h.dstOffset)) return ndpCounters.drop("na_bad_solicited")
          const own = findAny(m.target, 0)
          if (own !== undefined) {
            if (own.state === "TENTATIVE") return runSlaac(slaac.onNeighborAdvertisement(m.target, now))
            log("warning", `ipv6 address ${formatIpv6(m.target)} is claimed by another node`)
            return ndpCounters.drop("na_for_our_address")
          }
          runNeighbor(neighbors.onAdvertisement(
            m.target,
            sllOf(m.options, "TargetLinkLayer"),
            { solicited: m.solicited, override: m.override, router: m.router },
            now
          ))
          return
        }
      }
    }

    const onLinkPrefix = (o: Ndp.PrefixInformation, now: number) => {
      if (isLinkLocal(o.prefix) || o.prefixLength > 128) return
      const i = onLink.findIndex((p) => p.prefixLength === o.prefixLength && prefixMatch(p.prefix, o.prefix, o.prefixLength))
      // RFC 4861 §6.3.4: a zero valid lifetime removes the prefix.
      if (o.validLifetime === 0) {
        if (i >= 0) onLink.splice(i, 1)
        return
      }
      const validUntil = o.validLifetime >= INFINITE_LIFETIME ? Infinity : now + o.validLifetime * 1000
      if (i >= 0) onLink[i]!.validUntil = validUntil
      else if (onLink.length < MAX_ON_LINK) onLink.push({ prefix: o.prefix.slice(0, 16), prefixLength: o.prefixLength, validUntil })
    }

    // --- ICMPv6 receive ---------------------------------------------------------

    /**
     * RFC 3810 §7: a querier asks which groups we listen to; answer with the
     * current state of our solicited-node groups (all of them for a general
     * query, the one asked for a group-specific query), so a snooping switch
     * keeps delivering Neighbor Solicitations to us. Answered at once rather
     * than after a random part of the Maximum Response Delay: one host, few groups.
     */
    const mldQueryInput = (buffer: Uint8Array, offset: number, length: number, h: Ip6.Packet) => {
      count("mld_query_rx")
      // §5.1.14: a query must come from a link-local source with hop limit 1.
      if (length < 24 || h.hopLimit !== 1 || !isLinkLocal(h.buffer, h.srcOffset)) return icmpCounters.drop("bad_mld_query")
      const general = isUnspecified(buffer, offset + 8)
      const asked = general ? groups : groups.filter((g) => ipv6Equals(g, 0, buffer, offset + 8))
      sendMldReport(asked, true)
    }

    const icmpInput = (buffer: Uint8Array, offset: number, length: number, h: Ip6.Packet, toTentative: boolean) => {
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
          count("echo_request_rx")
          // RFC 4443 §4.2: reply from the unicast address the request went to; for ff02::1 choose one.
          if (isMulticast(hb, h.srcOffset) || isUnspecified(hb, h.srcOffset)) return icmpCounters.drop("echo_bad_source")
          const toGroup = isMulticast(hb, h.dstOffset)
          if (toGroup && !ipv6Equals(hb, h.dstOffset, ALL_NODES, 0)) return icmpCounters.drop("echo_group")
          const src = toGroup ? sourceFor(hb, h.srcOffset) : findUsable(hb, h.dstOffset)?.address
          if (src === undefined) return icmpCounters.drop("echo_no_source")
          const dst = h.src
          scratch.set(buffer.subarray(offset, offset + length), 0)
          scratch[0] = Icmpv6.Type.EchoReply
          scratch[1] = 0
          fillIcmpChecksum(scratch, 0, length, src, dst)
          const r = unsafeSend(dst, Icmpv6.NEXT_HEADER, scratch, 0, length, { src })
          if (r === "Sent" || r === "Queued") {
            icmpCounters.tx++
            count("echo_reply_tx")
          } else icmpCounters.drop(`reply_${r}`)
          return
        }
        case Icmpv6.Type.EchoReply:
          count("echo_reply_rx")
          if (echoReplyHandler === undefined) return icmpCounters.drop("reply_unknown")
          return echoReplyHandler(buffer, offset, length, h)
        case Icmpv6.Type.DstUnreachable:
        case Icmpv6.Type.PacketTooBig:
        case Icmpv6.Type.TimeExceeded:
        case Icmpv6.Type.ParamProblem:
          return errorInput(p, buffer)
        case Icmpv6.Type.MldQuery:
          return mldQueryInput(buffer, offset, length, h)
        case Icmpv6.Type.RouterSolicit:
        case Icmpv6.Type.RouterAdvert:
        case Icmpv6.Type.NeighborSolicit:
        case Icmpv6.Type.NeighborAdvert:
          return ndpInput(buffer, offset, length, h)
        default:
          // RFC 4443 §2.4 (b): unknown informational messages are discarded (MLD queries too).
          return icmpCounters.drop(Icmpv6.isError(type) ? "unknown_error" : "unsupported_type")
      }
    }

    // --- receive ----------------------------------------------------------------

    const deliver = (
      protocol: number,
      buffer: Uint8Array,
      offset: number,
      length: number,
      h: Ip6.Packet,
      pointer: number,
      toTentative: boolean
    ) => {
      if (protocol === Icmpv6.NEXT_HEADER) return icmpInput(buffer, offset, length, h, toTentative)
      if (toTentative) return counters.drop("to_tentative")
      const handler = handlers[protocol]
      if (handler === undefined) {
        counters.drop("unknown_next_header")
        // RFC 8200 §4: an unrecognized Next Header → parameter problem, code 1.
        return reportError(Icmpv6.Type.ParamProblem, Icmpv6.ParamProblemCode.NextHeader, pointer, h)
      }
      handler(buffer, offset, length, h)
    }

    /** Follows the chain from `nh` at `buffer[offset .. offset+length)` and acts on the verdict. */
    const walk = (buffer: Uint8Array, offset: number, length: number, nh: number, h: Ip6.Packet, toTentative: boolean) => {
      const multicast = isMulticast(h.buffer, h.dstOffset)
      const r = Ip6.walkExtensions(buffer, offset, length, nh, { multicast, headerOffset: h.offset })
      switch (r._tag) {
        case "Upper":
          return deliver(r.protocol, buffer, r.offset, r.length, h, r.nextHeaderPointer, toTentative)
        case "NoNextHeader":
          return counters.drop("no_next_header")
        case "Drop":
          return counters.drop(r.reason)
        case "ParamProblem":
          counters.drop("param_problem")
          return reportError(Icmpv6.Type.ParamProblem, r.code, r.pointer, h)
        case "Fragment": {
          if (toTentative) return counters.drop("to_tentative")
          // RFC 6946: an atomic fragment is processed as a whole packet.
          if (r.fragmentOffset === 0 && !r.moreFragments) {
            return walkAfterFragment(buffer, r.dataOffset, r.dataLength, r.nextHeader, h)
          }
          const hb = h.buffer
          const key = `${keyOf(hb, h.srcOffset)}${keyOf(hb, h.dstOffset)}${r.identification}`
          const first = r.fragmentOffset === 0
          // Keep the first fragment (up to the quote limit) for a time exceeded error (RFC 8200 §4.5).
          const ctx = first
            ? buffer.slice(h.offset, Math.min(h.offset + h.totalLength, h.offset + Icmpv6.MAX_QUOTE_LEN, buffer.length))
            : undefined
          const res = reassembler.input(key, r.fragmentOffset, r.moreFragments, buffer, r.dataOffset, r.dataLength, loop.time(), ctx)
          if (res._tag === "Incomplete") {
            loop.unsafeWake()
            return
          }
          if (res._tag === "Dropped") return counters.drop(`reassembly_${res.reason}`)
          count("reassembled")
          // A packet of its own: the first fragment's fixed header, the fragment's next header, the whole payload.
          const whole = new Uint8Array(Ip6.HEADER_LEN + res.payload.length)
          whole.set(res.context.subarray(0, Ip6.HEADER_LEN), 0)
          whole[4] = res.payload.length >>> 8
          whole[5] = res.payload.length & 0xff
          whole[Ip6.field.NEXT_HEADER] = r.nextHeader
          whole.set(res.payload, Ip6.HEADER_LEN)
          const wh = new Ip6.Packet(whole, 0, whole.length)
          return walkAfterFragment(whole, Ip6.HEADER_LEN, res.payload.length, r.nextHeader, wh)
        }
      }
    }

    /** The headers after a Fragment header; a second Fragment header is dropped. */
    const walkAfterFragment = (buffer: Uint8Array, offset: number, length: number, nh: number, h: Ip6.Packet) => {
      if (nh === Ip6.NextHeader.Fragment || nh === Ip6.NextHeader.HopByHop) return counters.drop("nested_fragment")
      walk(buffer, offset, length, nh, h, false)
    }

    const input = (buffer: Uint8Array, offset: number, length: number): void => {
      counters.rx++
      const p = view.wrap(buffer, offset, length)
      const bad = p.check()
      if (bad !== undefined) return counters.drop(bad.reason)
      // RFC 4291 §2.7: a multicast source is never valid.
      if (isMulticast(buffer, p.srcOffset)) return counters.drop("bad_source")
      const d = p.dstOffset
      let toTentative = false
      if (isMulticast(buffer, d)) {
        if (!inGroups(buffer, d)) return counters.drop("multicast_not_joined")
      } else if (findUsable(buffer, d) === undefined) {
        const own = findAny(buffer, d)
        if (own === undefined || own.state !== "TENTATIVE") return counters.drop("not_for_us")
        toTentative = true
      }
      walk(buffer, p.payloadOffset, p.payloadLength, p.nextHeader, p, toTentative)
    }

    // --- timers -----------------------------------------------------------------

    const onLinkPollAt = () => {
      let next = Infinity
      for (const p of onLink) if (p.validUntil < next) next = p.validUntil
      return next
    }
    const pollAt = () =>
      Math.min(slaac.pollAt(), neighbors.pollAt(), reassembler.pollAt(), onLinkPollAt(), pmtu.pollAt())

    yield* eth.register(Eth.EtherType.Ipv6, input)
    yield* loop.addTimer({
      pollAt,
      poll: (now) => {
        if (slaac.pollAt() <= now) runSlaac(slaac.onTimer(now))
        if (neighbors.pollAt() <= now) runNeighbor(neighbors.poll(now))
        if (reassembler.pollAt() <= now) {
          for (const t of reassembler.poll(now)) {
            counters.drop("reassembly_timeout")
            // RFC 8200 §4.5: time exceeded, code 1, only when the first fragment came.
            if (t.context !== undefined) {
              reportError(Icmpv6.Type.TimeExceeded, Icmpv6.TimeExceededCode.ReassemblyTimeout, 0, ctxView.wrap(t.context, 0, t.context.length))
            }
          }
        }
        for (let i = onLink.length - 1; i >= 0; i--) if (onLink[i]!.validUntil <= now) onLink.splice(i, 1)
        pmtu.poll(now)
      }
    })

    // Static addresses are on-link for their prefix (as Linux's prefix route) and go through DAD.
    const now0 = loop.time()
    const started = slaac.start(now0)
    autoLinkLocal = keyOf(slaac.addresses().find((a) => a.linkLocal)!.address)
    runSlaac(started)
    for (const c of options.addresses ?? []) {
      staticKeys.add(keyOf(c.address))
      if (c.prefixLength < 128 && onLink.length < MAX_ON_LINK) {
        onLink.push({ prefix: c.address.slice(0, 16), prefixLength: c.prefixLength, validUntil: Infinity })
      }
      runSlaac(slaac.addStatic(c.address, c.prefixLength, now0))
    }
    refresh()

    const service: Ipv6Service = {
      enabled: true,
      register: (nextHeader, handler) => registerIn(handlers, nextHeader, handler),
      registerErrorHandler: (nextHeader, handler) => registerIn(errorHandlers, nextHeader, handler),
      unsafeReportError: reportError,
      unsafeSend,
      unsafeSourceFor: (dst) => sourceFor(dst),
      unsafeIsOurs: (buffer, offset) => findUsable(buffer, offset) !== undefined,
      unsafeMaxPayload: (dst) => mtuFor(dst) - Ip6.HEADER_LEN,
      unsafeSetEchoReplyHandler: (h) => {
        echoReplyHandler = h
      },
      addresses: Effect.sync(() => all.map((a) => ({ ...a }))),
      linkLocal: Deferred.await(linkLocalReady),
      dnsServers: Effect.sync(() => dnsServers),
      counters,
      events
    }
    return service
  })

/** The IPv6 layer as a Layer. */
export const layer = (options?: Ipv6Options): Layer.Layer<Ipv6, never, PollLoop | Ethernet> =>
  Layer.scoped(Ipv6, make(options))
