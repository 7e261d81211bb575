/**
 * The state the IPv6 layer's parts share (transmit, NDP and MLD, ICMPv6, the
 * receive path): built once by `Ipv6.make` and handed to each part's factory.
 * Everything here is read per packet without Effect.
 */
import type { MacAddress } from "../../protocols/address.js"
import type { Ipv6Address } from "../../protocols/ipv6/address.js"
import type { NeighborCache } from "../../protocols/ipv6/neighbor-cache.js"
import type { PathMtuCache } from "../../protocols/ipv6/path-mtu.js"
import type { Slaac } from "../../protocols/ipv6/slaac.js"
import type { LayerCounters } from "../../runtime/Counters.js"
import type { PollLoopService } from "../../runtime/PollLoop.js"
import type { EthernetService } from "../Ethernet.js"
import type { OnLinkPrefixes, OwnAddresses } from "./ipv6-addresses.js"

/** What Router Advertisements have taught us about the link. */
export interface LinkState {
  /** Default hop limit (RA Cur Hop Limit, else the option, else 64). */
  hopLimit: number
  /** Link MTU (RA MTU option, never above the Ethernet MTU). */
  mtu: number
  /** DNS servers (RDNSS, RFC 8106). */
  dnsServers: ReadonlyArray<Ipv6Address>
}

/** A log line from the data plane, queued to the layer's logging fiber. */
export interface LogLine {
  readonly level: "info" | "warning"
  readonly message: string
}

/** The shared state of one IPv6 layer. */
export interface Ipv6Core {
  readonly loop: PollLoopService
  readonly eth: EthernetService
  readonly mac: MacAddress
  readonly random: () => number
  /** A 64 KiB buffer for the ICMPv6 and NDP message being built (one at a time). */
  readonly scratch: Uint8Array
  /** The "ipv6", "icmpv6" and "ndp" layer counters. */
  readonly counters: LayerCounters
  readonly icmpCounters: LayerCounters
  readonly ndpCounters: LayerCounters
  /** Queues a log line (dropped when the queue is full). */
  readonly log: (level: LogLine["level"], message: string) => void
  readonly addresses: OwnAddresses
  readonly onLink: OnLinkPrefixes
  readonly neighbors: NeighborCache
  readonly slaac: Slaac
  readonly pmtu: PathMtuCache
  readonly link: LinkState
}
