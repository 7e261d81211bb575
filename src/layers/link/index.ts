/**
 * Link implementations besides TAP: the in-memory pair and the middleware
 * that wraps any link (fault injector, pcap writer).
 */
export * as FaultInjector from "./FaultInjector.js"
export * as MemoryLink from "./MemoryLink.js"
export * as PcapLink from "./PcapLink.js"
