/**
 * The IPv6 layer (RFC 8200, RFC 4443, RFC 4861, RFC 4862, RFC 3810): the
 * extension-header chain, reassembly and fragmentation, ICMPv6 (echo reply,
 * errors with rate limiting, errors about our packets handed to their
 * transport), neighbour discovery, router discovery, address configuration
 * (link-local, SLAAC, static) with DAD, MLDv2 reports for our solicited-node
 * groups, and source address selection (RFC 6724). Upper layers register for
 * a next-header value, as with IPv4.
 */
import { Context, Data, Effect, Layer, type Scope } from "effect"
import type { Ipv6Address, Ipv6Cidr } from "../protocols/ipv6-address.js"
import type * as Ip6 from "../protocols/ipv6.js"
import type { ReassemblyOptions } from "../protocols/reassembly.js"
import type { NeighborCacheOptions } from "../protocols/neighbor-cache.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { PollLoop } from "../runtime/PollLoop.js"
import { Ethernet } from "./Ethernet.js"
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

/** Builds the IPv6 layer and wires it under Ethernet. */
export const make = (options: Ipv6Options = {}) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    yield* Ethernet
    const counters = loop.counters.layer("ipv6")
    void options
    const disabled = new Ipv6Error({ reason: "Disabled", message: "IPv6 is disabled" })
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
      counters
    }
    return service
  })

/** The IPv6 layer as a Layer. */
export const layer = (options?: Ipv6Options): Layer.Layer<Ipv6, never, PollLoop | Ethernet> =>
  Layer.scoped(Ipv6, make(options))
