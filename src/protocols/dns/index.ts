/**
 * DNS, flat so callers write `Dns.parse`, `Dns.Packet`, `Dns.Resolver`:
 * names, messages (RFC 1035, RFC 3596, RFC 6891), the answer cache and the
 * stub resolver state machine.
 */
export * from "./cache.js"
export * from "./message.js"
export * from "./name.js"
export * from "./resolver.js"
