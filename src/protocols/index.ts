/** Wire formats and protocol state machines: pure code, no Effect, no I/O. */
export * as Address from "./address.js"
export * as Arp from "./arp.js"
export * as Checksum from "./checksum.js"
export * as Ethernet from "./ethernet.js"
export * as Icmpv4 from "./icmpv4.js"
export * as Ipv4 from "./ipv4.js"
export * as Udp from "./udp.js"
export * from "./malformed.js"
