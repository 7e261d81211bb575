/**
 * The resolver's answer cache: address sets, CNAMEs, and negative answers
 * (RFC 2308: NXDOMAIN per name, NODATA per name and type), each with its
 * expiry in ms. Bounded, least recently used first out. Pure: time is `now`.
 */
import type { Ipv4Address } from "../address.js"
import { nameKey } from "./name.js"

/** The address types a resolver asks for. */
export type AddressType = "A" | "AAAA"

/** What the cache holds for a name (and type). */
export type CacheEntry =
  | { readonly _tag: "Addresses"; readonly expires: number; readonly addresses: ReadonlyArray<Ipv4Address | Uint8Array> }
  | { readonly _tag: "Cname"; readonly expires: number; readonly target: string }
  | { readonly _tag: "NoData"; readonly expires: number }
  | { readonly _tag: "NameNotFound"; readonly expires: number }

/** What a cache walk from a name found. */
export type CacheLookup =
  /** The walk ended on an answer; `expires` is the earliest expiry along the chain. */
  | {
    readonly _tag: "Hit"
    readonly entry: CacheEntry & { readonly _tag: "Addresses" | "NoData" | "NameNotFound" }
    readonly name: string
    readonly expires: number
    readonly steps: number
  }
  /** Nothing known past `name` (reached after `steps` cached CNAMEs, which expire at `expires`). */
  | { readonly _tag: "Miss"; readonly name: string; readonly expires: number; readonly steps: number }

/** A bounded LRU map of DNS answers. */
export class DnsCache {
  private readonly entries = new Map<string, CacheEntry>()

  constructor(private readonly maxEntries: number) {}

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.entries.size
  }

  /** Drops everything. */
  clear(): void {
    this.entries.clear()
  }

  private static key(name: string, what: string): string {
    return nameKey(name) + "\u0000" + what
  }

  private get(key: string, now: number): CacheEntry | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    this.entries.delete(key)
    if (now >= e.expires) return undefined
    this.entries.set(key, e) // most recently used last
    return e
  }

  private put(key: string, entry: CacheEntry): void {
    this.entries.delete(key)
    this.entries.set(key, entry)
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }
  }

  /** Addresses of `type` at `name` until `expires`. */
  putAddresses(name: string, type: AddressType, addresses: ReadonlyArray<Ipv4Address | Uint8Array>, expires: number): void {
    this.put(DnsCache.key(name, type), { _tag: "Addresses", expires, addresses })
  }

  /** `name` is an alias of `target` until `expires`. */
  putCname(name: string, target: string, expires: number): void {
    this.put(DnsCache.key(name, "CNAME"), { _tag: "Cname", expires, target })
  }

  /** `name` has no records of `type` until `expires` (RFC 2308 §5). */
  putNoData(name: string, type: AddressType, expires: number): void {
    this.put(DnsCache.key(name, type), { _tag: "NoData", expires })
  }

  /** `name` does not exist, whatever the type, until `expires` (RFC 2308 §5). */
  putNameNotFound(name: string, expires: number): void {
    this.put(DnsCache.key(name, "NX"), { _tag: "NameNotFound", expires })
  }

  /** Follows cached CNAMEs from `name` (at most `maxSteps`) to an answer for `type`, or to where knowledge ends. */
  lookup(name: string, type: AddressType, now: number, maxSteps: number): CacheLookup {
    let cur = name
    let expires = Infinity
    let steps = 0
    for (;;) {
      const nx = this.get(DnsCache.key(cur, "NX"), now)
      const entry = nx ?? this.get(DnsCache.key(cur, type), now)
      if (entry !== undefined && entry._tag !== "Cname") {
        return { _tag: "Hit", entry, name: cur, expires: Math.min(expires, entry.expires), steps }
      }
      if (steps >= maxSteps) return { _tag: "Miss", name: cur, expires, steps }
      const alias = this.get(DnsCache.key(cur, "CNAME"), now)
      if (alias === undefined || alias._tag !== "Cname") return { _tag: "Miss", name: cur, expires, steps }
      expires = Math.min(expires, alias.expires)
      cur = alias.target
      steps++
    }
  }
}
