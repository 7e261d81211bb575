/**
 * The IPv6 layer's view of its own addresses and its link: our addresses as
 * lists rebuilt from the SLAAC state (with the solicited-node groups they
 * join) and the on-link prefixes, read in place per packet. No Effect.
 */
import { createHash } from "node:crypto"
import {
  ALL_NODES,
  ipv6Equals,
  isLinkLocal,
  prefixMatch,
  solicitedNodeMulticast,
  type Ipv6Address
} from "../../protocols/ipv6/address.js"
import type * as Ndp from "../../protocols/ipv6/ndp.js"
import type { ConfiguredAddress } from "../../protocols/ipv6/slaac.js"
import { selectSource } from "../../protocols/ipv6/source-selection.js"
import type { AddressInfo, AddressOrigin } from "../Ipv6.js"

/** On-link prefixes kept at most. */
const MAX_ON_LINK = 16
const INFINITE_LIFETIME = 0xffffffff

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** The 32-hex-digit key of the address at `b[o .. o+16)`. */
export const keyOf = (b: Uint8Array, o = 0): string => {
  let k = ""
  for (let i = 0; i < 16; i++) k += HEX[b[o + i]!]
  return k
}

/** RFC 7217 §5 stable-privacy interface identifier: SHA-256(prefix | interface | secret | DAD counter). */
export const stablePrivacyId = (secret: Uint8Array, mac: Uint8Array) => (prefix: Uint8Array): Uint8Array => {
  const h = createHash("sha256")
  h.update(prefix.subarray(0, 8))
  h.update(mac)
  h.update(secret)
  h.update(Uint8Array.of(0))
  return new Uint8Array(h.digest().subarray(0, 8))
}

/** One of our addresses (a source-selection candidate). */
export interface Own {
  readonly address: Ipv6Address
  readonly prefixLength: number
  readonly state: AddressInfo["state"]
  readonly origin: AddressOrigin
  readonly deprecated: boolean
}

/** Our addresses, every state, and the multicast groups we listen to. */
export class OwnAddresses {
  /** Preferred and deprecated addresses: the ones we send from and receive on. */
  usable: ReadonlyArray<Own> = []
  /** Every address, tentative and duplicate ones too. */
  all: ReadonlyArray<Own> = []
  /** Our solicited-node groups (RFC 4291 §2.7.1), one per distinct address tail. */
  groups: ReadonlyArray<Ipv6Address> = []
  private readonly groupKeys = new Set<string>()
  /** Keys of the statically configured addresses. */
  readonly staticKeys = new Set<string>()
  /** The key of the automatic link-local address (set at start). */
  autoLinkLocal = ""

  originOf(address: Ipv6Address): AddressOrigin {
    const k = keyOf(address)
    return k === this.autoLinkLocal ? "link-local" : this.staticKeys.has(k) ? "static" : "slaac"
  }

  /** Rebuilds the lists from the SLAAC state; returns the solicited-node groups newly joined. */
  refresh(configured: ReadonlyArray<ConfiguredAddress>): ReadonlyArray<Ipv6Address> {
    const next: Array<Own> = []
    for (const a of configured) {
      next.push({
        address: a.address,
        prefixLength: a.prefixLength,
        state: a.state,
        origin: this.originOf(a.address),
        deprecated: a.state === "DEPRECATED"
      })
    }
    this.all = next
    this.usable = next.filter((a) => a.state === "PREFERRED" || a.state === "DEPRECATED")
    const joined: Array<Ipv6Address> = []
    const keys = new Set<string>()
    const nextGroups: Array<Ipv6Address> = []
    for (const a of next) {
      if (a.state === "DUPLICATE") continue
      const g = solicitedNodeMulticast(a.address)
      const k = keyOf(g)
      if (keys.has(k)) continue
      keys.add(k)
      nextGroups.push(g)
      if (!this.groupKeys.has(k)) joined.push(g)
    }
    this.groups = nextGroups
    this.groupKeys.clear()
    for (const k of keys) this.groupKeys.add(k)
    return joined
  }

  /** The usable address at `b[o .. o+16)`, if it is ours. */
  findUsable(b: Uint8Array, o: number): Own | undefined {
    const usable = this.usable
    for (let i = 0; i < usable.length; i++) if (ipv6Equals(usable[i]!.address, 0, b, o)) return usable[i]
    return undefined
  }

  /** Our address at `b[o .. o+16)` in any state. */
  findAny(b: Uint8Array, o: number): Own | undefined {
    const all = this.all
    for (let i = 0; i < all.length; i++) if (ipv6Equals(all[i]!.address, 0, b, o)) return all[i]
    return undefined
  }

  /** True for all-nodes and our solicited-node groups. */
  inGroups(b: Uint8Array, o: number): boolean {
    if (ipv6Equals(b, o, ALL_NODES, 0)) return true
    const groups = this.groups
    for (let i = 0; i < groups.length; i++) if (ipv6Equals(groups[i]!, 0, b, o)) return true
    return false
  }

  /** RFC 6724 §5 for one interface. */
  sourceFor(dst: Uint8Array, dstOffset = 0): Ipv6Address | undefined {
    return selectSource(this.usable, dst, dstOffset)?.address
  }

  /** The link-local address once it has passed DAD. */
  linkLocal(): Ipv6Address | undefined {
    for (const a of this.usable) if (a.origin === "link-local") return a.address
    return undefined
  }
}

interface OnLinkPrefix {
  readonly prefix: Ipv6Address
  readonly prefixLength: number
  validUntil: number
}

/** The prefixes on our link (RFC 4861 §5.2, RFC 5942): from RA Prefix Information with L set, and static addresses. */
export class OnLinkPrefixes {
  private readonly prefixes: Array<OnLinkPrefix> = []

  /** Applies a Prefix Information option whose on-link flag is set. */
  onPrefixInformation(o: Ndp.PrefixInformation, now: number): void {
    const onLink = this.prefixes
    if (isLinkLocal(o.prefix) || o.prefixLength > 128) return
    const i = onLink.findIndex((p) => p.prefixLength === o.prefixLength && prefixMatch(p.prefix, o.prefix, o.prefixLength))
    // RFC 4861 §6.3.4: a zero valid lifetime removes the prefix.
    if (o.validLifetime === 0) {
      if (i >= 0) onLink.splice(i, 1)
      return
    }
    const validUntil = o.validLifetime >= INFINITE_LIFETIME ? Infinity : now + o.validLifetime * 1000
    if (i >= 0) onLink[i]!.validUntil = validUntil
    else if (onLink.length < MAX_ON_LINK) onLink.push({ prefix: o.prefix.slice(0, 16), prefixLength: o.prefixLength, validUntil })
  }

  /** A static address's prefix is on-link for good (as Linux's prefix route). */
  addStatic(address: Ipv6Address, prefixLength: number): void {
    if (prefixLength < 128 && this.prefixes.length < MAX_ON_LINK) {
      this.prefixes.push({ prefix: address.slice(0, 16), prefixLength, validUntil: Infinity })
    }
  }

  /** True when `dst` is link-local or under an on-link prefix. */
  has(dst: Uint8Array): boolean {
    if (isLinkLocal(dst)) return true
    const onLink = this.prefixes
    for (let i = 0; i < onLink.length; i++) {
      const p = onLink[i]!
      if (prefixMatch(p.prefix, dst, p.prefixLength)) return true
    }
    return false
  }

  pollAt(): number {
    let next = Infinity
    for (const p of this.prefixes) if (p.validUntil < next) next = p.validUntil
    return next
  }

  /** Drops the prefixes whose valid lifetime has run out. */
  expire(now: number): void {
    const onLink = this.prefixes
    for (let i = onLink.length - 1; i >= 0; i--) if (onLink[i]!.validUntil <= now) onLink.splice(i, 1)
  }
}
