/**
 * The whole stack over a link, as one Layer: the poll loop, Ethernet,
 * the IPv4 configuration, ARP, IPv4, IPv6, ICMP, UDP and TCP, each built from the one
 * below and wired into the frame path once, at start (mirage-tcpip's
 * `Make(...)` chain). Provide a `Link` (TAP or in-memory) and use the services.
 */
import { Layer } from "effect"
import type { Ipv4Address, Ipv4Cidr, MacAddress } from "../protocols/address.js"
import type { ArpCacheOptions } from "../protocols/arp-cache.js"
import * as PollLoop from "../runtime/PollLoop.js"
import * as Arp from "./Arp.js"
import * as Ethernet from "./Ethernet.js"
import * as Icmp from "./Icmp.js"
import * as Ipv4 from "./Ipv4.js"
import * as Ipv4Config from "./Ipv4Config.js"
import * as Ipv6 from "./Ipv6.js"
import type { Link } from "./Link.js"
import * as Tcp from "./Tcp.js"
import * as Udp from "./Udp.js"

/** How to configure a stack. */
export interface StackOptions {
  readonly mac: MacAddress
  /** Static IPv4 address; omit to start unconfigured (DHCP later). */
  readonly ipv4?: Ipv4Cidr | undefined
  readonly gateway?: Ipv4Address | undefined
  readonly arp?: ArpCacheOptions
  readonly ipv4Options?: Ipv4.Ipv4Options
  /** IPv6 (on by default; `{ enabled: false }` turns it off). */
  readonly ipv6?: Ipv6.Ipv6Options
  readonly icmp?: Icmp.IcmpOptions
  readonly tcp?: Tcp.TcpLayerOptions
}

/** Every service of the stack. */
export type Services =
  | PollLoop.PollLoop
  | Ethernet.Ethernet
  | Ipv4Config.Ipv4Config
  | Arp.Arp
  | Ipv4.Ipv4
  | Ipv6.Ipv6
  | Icmp.Icmp
  | Udp.Udp
  | Tcp.Tcp

/** The stack over the `Link` in context. */
export const layer = (options: StackOptions): Layer.Layer<Services, never, Link> => {
  const eth = Ethernet.layer({ mac: options.mac }).pipe(Layer.provideMerge(PollLoop.layer))
  const cfg = Ipv4Config.layer({ address: options.ipv4, gateway: options.gateway })
  const arp = Arp.layer(options.arp).pipe(Layer.provideMerge(Layer.merge(eth, cfg)))
  const ip = Ipv4.layer(options.ipv4Options).pipe(Layer.provideMerge(arp))
  const ip6 = Ipv6.layer(options.ipv6).pipe(Layer.provideMerge(ip))
  const icmp = Icmp.layer(options.icmp).pipe(Layer.provideMerge(ip6))
  const udp = Udp.layer.pipe(Layer.provideMerge(icmp))
  return Tcp.layer(options.tcp).pipe(Layer.provideMerge(udp))
}
