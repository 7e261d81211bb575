/**
 * The IPv6 layer (RFC 8200, RFC 4443, RFC 4861, RFC 4862, RFC 3810): the
 * extension-header chain, reassembly and fragmentation, ICMPv6 (echo reply,
 * errors with rate limiting, errors about our packets handed to their
 * transport), neighbour discovery, router discovery, address configuration
 * (link-local, SLAAC, static) with DAD, MLDv2 reports for our solicited-node
 * groups, and source address selection (RFC 6724). Upper layers register for
 * a next-header value, as with IPv4.
 */
import { Context, Data, Deferred, Effect, Exit, Layer, Queue, type Scope } from "effect"
import * as Eth from "../protocols/ethernet.js"
import { formatIpv6, interfaceIdFromMac, type Ipv6Address, type Ipv6Cidr } from "../protocols/ipv6/address.js"
import * as Ip6 from "../protocols/ipv6/header.js"
import { NeighborCache, type NeighborCacheOptions } from "../protocols/ipv6/neighbor-cache.js"
import { PathMtuCache } from "../protocols/ipv6/path-mtu.js"
import { Slaac } from "../protocols/ipv6/slaac.js"
import type { ReassemblyOptions } from "../protocols/reassembly.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { PollLoop } from "../runtime/PollLoop.js"
import { fromEffectRandom } from "../runtime/SeededRandom.js"
import { Ethernet } from "./Ethernet.js"
import { keyOf, OnLinkPrefixes, OwnAddresses, stablePrivacyId } from "./internal/ipv6-addresses.js"
import type { Ipv6Core, LogLine } from "./internal/ipv6-core.js"
import { makeIcmp } from "./internal/ipv6-icmp.js"
import { makeNdp } from "./internal/ipv6-ndp.js"
import { makeReceive } from "./internal/ipv6-receive.js"
import { makeTransmit } from "./internal/ipv6-transmit.js"
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
  /** Largest TCP packet `unsafeSendTso` takes (0: the link cannot segment). */
  readonly tsoMaxPayload: number
  /**
   * Sends one large TCP packet from `src` for the link to cut into
   * `segmentSize`-byte segments (TSO); "Unsupported" when the link cannot or
   * the next hop is not resolved yet (the caller cuts it then).
   */
  readonly unsafeSendTso: (
    dst: Ipv6Address,
    src: Ipv6Address,
    payload: Uint8Array,
    offset: number,
    length: number,
    tcpHeaderLength: number,
    segmentSize: number
  ) => SendResult | "Unsupported"
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
   * NDP, ICMPv6 and IPv6 event counts (ns_rx, na_tx, rs_tx, ra_rx, dad_ok,
   * dad_duplicate, echo_request_rx, echo_reply_tx, error_tx_T_C, ...): a
   * merged view of the "ndp", "icmpv6" and "ipv6" layer counters' events,
   * which /metrics publishes with their drops.
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

/** Builds the IPv6 layer and wires it under Ethernet. */
export const make = (options: Ipv6Options = {}) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    const eth = yield* Ethernet
    const counters = loop.counters.layer("ipv6")
    const icmpCounters = loop.counters.layer("icmpv6")
    const ndpCounters = loop.counters.layer("ndp")
    /** Every event of the three layers (NDP, ICMPv6, IPv6) in one record, read on demand. */
    const events = (): Readonly<Record<string, number>> => ({ ...counters.events, ...icmpCounters.events, ...ndpCounters.events })
    const disabled = new Ipv6Error({ reason: "Disabled", message: "IPv6 is disabled" })
    if (options.enabled === false) {
      const service: Ipv6Service = {
        enabled: false,
        register: () => Effect.void,
        registerErrorHandler: () => Effect.void,
        unsafeReportError: () => {},
        unsafeSend: () => "NoRoute",
        tsoMaxPayload: 0,
        unsafeSendTso: () => "Unsupported",
        unsafeSourceFor: () => undefined,
        unsafeIsOurs: () => false,
        unsafeMaxPayload: () => 1280 - 40,
        unsafeSetEchoReplyHandler: () => {},
        addresses: Effect.succeed([]),
        linkLocal: Effect.fail(disabled),
        dnsServers: Effect.succeed([]),
        counters,
        get events() {
          return events()
        }
      }
      return service
    }

    const random = yield* fromEffectRandom
    const mac = eth.mac
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
    const linkLocalReady = yield* Deferred.make<Ipv6Address, Ipv6Error>()

    // Logs from the data plane go through a bounded queue to a logging fiber.
    const logs = yield* Queue.dropping<LogLine>(64)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(logs), (l) => l.level === "info" ? Effect.logInfo(l.message) : Effect.logWarning(l.message))
      )
    )

    const core: Ipv6Core = {
      loop,
      eth,
      mac,
      random,
      scratch: new Uint8Array(0x10000),
      counters,
      icmpCounters,
      ndpCounters,
      log: (level, message) => {
        logs.unsafeOffer({ level, message })
      },
      addresses: new OwnAddresses(),
      onLink: new OnLinkPrefixes(),
      neighbors,
      slaac,
      pmtu: new PathMtuCache(),
      link: { hopLimit: options.hopLimit ?? 64, mtu: eth.mtu, dnsServers: [] }
    }
    const { addresses, onLink, pmtu, link } = core

    // The parts, wired once: transmit asks NDP to solicit a next hop, NDP sends
    // through transmit, ICMPv6 hands NDP and MLD to NDP, receive hands ICMPv6 on.
    const transmit = makeTransmit(core, (target) => ndp.sendMulticastNs(target))
    const ndp = makeNdp(core, transmit, {
      useSlaac: options.slaac !== false,
      onLinkLocal: (address, duplicate) =>
        Deferred.unsafeDone(
          linkLocalReady,
          duplicate
            ? Exit.fail(new Ipv6Error({ reason: "DuplicateAddress", message: `${formatIpv6(address)} is a duplicate` }))
            : Exit.succeed(address)
        )
    })
    const icmp = makeIcmp(core, transmit, ndp)
    const receive = makeReceive(core, icmp, options.reassembly ?? defaultReassembly)

    yield* eth.register(Eth.EtherType.Ipv6, receive.input)
    yield* loop.addTimer({
      pollAt: () => Math.min(slaac.pollAt(), neighbors.pollAt(), receive.pollAt(), onLink.pollAt(), pmtu.pollAt()),
      poll: (now) => {
        if (slaac.pollAt() <= now) ndp.runSlaac(slaac.onTimer(now))
        if (neighbors.pollAt() <= now) ndp.runNeighbor(neighbors.poll(now))
        if (receive.pollAt() <= now) receive.poll(now)
        onLink.expire(now)
        pmtu.poll(now)
      }
    })

    // Static addresses are on-link for their prefix (as Linux's prefix route) and go through DAD.
    const now0 = loop.time()
    const started = slaac.start(now0)
    addresses.autoLinkLocal = keyOf(slaac.addresses().find((a) => a.linkLocal)!.address)
    ndp.runSlaac(started)
    for (const c of options.addresses ?? []) {
      addresses.staticKeys.add(keyOf(c.address))
      onLink.addStatic(c.address, c.prefixLength)
      ndp.runSlaac(slaac.addStatic(c.address, c.prefixLength, now0))
    }
    ndp.refresh()

    const service: Ipv6Service = {
      enabled: true,
      register: (nextHeader, handler) => registerIn(receive.handlers, nextHeader, handler),
      registerErrorHandler: (nextHeader, handler) => registerIn(icmp.errorHandlers, nextHeader, handler),
      unsafeReportError: icmp.reportError,
      unsafeSend: transmit.unsafeSend,
      tsoMaxPayload: transmit.tsoMaxPayload,
      unsafeSendTso: transmit.unsafeSendTso,
      unsafeSourceFor: (dst) => addresses.sourceFor(dst),
      unsafeIsOurs: (buffer, offset) => addresses.findUsable(buffer, offset) !== undefined,
      unsafeMaxPayload: (dst) => transmit.mtuFor(dst) - Ip6.HEADER_LEN,
      unsafeSetEchoReplyHandler: icmp.setEchoReplyHandler,
      addresses: Effect.sync(() => addresses.all.map((a) => ({ ...a }))),
      linkLocal: Deferred.await(linkLocalReady),
      dnsServers: Effect.sync(() => link.dnsServers),
      counters,
      get events() {
        return events()
      }
    }
    return service
  })

/** The IPv6 layer as a Layer. */
export const layer = (options?: Ipv6Options): Layer.Layer<Ipv6, never, PollLoop | Ethernet> =>
  Layer.scoped(Ipv6, make(options))
