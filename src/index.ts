/**
 * Isla's public API: the stack's layers as Effect services, the links it runs
 * on, and the pure wire formats underneath.
 */
export * as Arp from "./layers/Arp.js"
export * as Ethernet from "./layers/Ethernet.js"
export * as Http from "./layers/Http.js"
export * as Icmp from "./layers/Icmp.js"
export * as Ipv4 from "./layers/Ipv4.js"
export * as Ipv4Config from "./layers/Ipv4Config.js"
export * as Ipv6 from "./layers/Ipv6.js"
export * as Link from "./layers/Link.js"
export * as Metrics from "./layers/Metrics.js"
export * as Stack from "./layers/Stack.js"
export * as Tcp from "./layers/Tcp.js"
export * as Udp from "./layers/Udp.js"
export { FaultInjector, MemoryLink, PcapLink } from "./layers/link/index.js"
export * as Counters from "./runtime/Counters.js"
export * as PollLoop from "./runtime/PollLoop.js"
export * as PollScheduler from "./runtime/PollScheduler.js"
export * as Tap from "./runtime/Tap.js"
export * as Wire from "./protocols/index.js"
