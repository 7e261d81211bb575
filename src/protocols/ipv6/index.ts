/**
 * IPv6 as pure code: addresses (RFC 4291/5952), the fixed header and the
 * extension-header chain (RFC 8200), ICMPv6 (RFC 4443), NDP and MLDv2
 * messages (RFC 4861, RFC 3810), the neighbour cache (RFC 4861 §7.3),
 * address autoconfiguration with DAD (RFC 4862, RFC 8106), source address
 * selection (RFC 6724) and the path MTU cache (RFC 8201).
 */
export * as Address from "./address.js"
export * as Header from "./header.js"
export * as Icmpv6 from "./icmpv6.js"
export * as Ndp from "./ndp.js"
export * as NeighborCache from "./neighbor-cache.js"
export * as PathMtu from "./path-mtu.js"
export * as Slaac from "./slaac.js"
export * as SourceSelection from "./source-selection.js"
