/**
 * IPv6 stateless address autoconfiguration as a pure state machine (RFC 4862,
 * with the host side of RFC 4861 §6.3 and RDNSS of RFC 8106): a link-local
 * address and addresses from Router Advertisement prefixes, each checked by
 * Duplicate Address Detection before use; the router list, link MTU and DNS
 * servers with their lifetimes; Router Solicitations at start. Time comes in
 * as `now` (ms); what to do comes out as `SlaacAction`s. Every table is bounded.
 */

/** A 16-byte IPv6 address. */
type Ipv6Bytes = Uint8Array

/** Limits, RFC constants and the random source of a `Slaac`; only `interfaceId` is required. */
export interface SlaacOptions {
  /** The 8-byte interface identifier (modified EUI-64 of the MAC, RFC 4291 App. A). */
  readonly interfaceId: Uint8Array
  /** Addresses held, link-local and duplicates included (default 16). */
  readonly maxAddresses?: number
  /** Routers in the default router list (default 8). */
  readonly maxRouters?: number
  /** DNS servers held (default 8). */
  readonly maxDnsServers?: number
  /** DupAddrDetectTransmits (default 1; 0 turns DAD off). */
  readonly dupAddrDetectTransmits?: number
  /** RetransTimer in ms between DAD solicitations and before success (default 1000; RAs update it). */
  readonly retransTimer?: number
  /** MAX_RTR_SOLICITATION_DELAY in ms: the random delay before the first RS and each DAD (default 1000). */
  readonly maxRtrSolicitationDelay?: number
  /** MAX_RTR_SOLICITATIONS (default 3). */
  readonly maxRtrSolicitations?: number
  /** RTR_SOLICITATION_INTERVAL in ms (default 4000). */
  readonly rtrSolicitationInterval?: number
  /** Uniform in [0, 1), for the random delays (default 0: no delay). */
  readonly random?: () => number
  /**
   * The interface identifier for a /64 `prefix` (its first 8 bytes), e.g. RFC
   * 7217 stable-privacy identifiers; default: `interfaceId` for every prefix.
   */
  readonly interfaceIdFor?: (prefix: Uint8Array) => Uint8Array
}

/** A Prefix Information option (RFC 4861 §4.6.2); lifetimes in seconds, 0xffffffff = infinity. */
export interface PrefixInformation {
  readonly prefix: Ipv6Bytes
  readonly prefixLength: number
  readonly onLink: boolean
  readonly autonomous: boolean
  readonly validLifetime: number
  readonly preferredLifetime: number
}

/** A Recursive DNS Server option (RFC 8106 §5.1); lifetime in seconds, 0xffffffff = infinity. */
export interface RdnssOption {
  readonly servers: ReadonlyArray<Ipv6Bytes>
  readonly lifetime: number
}

/** The parts of a validated Router Advertisement that configuration uses. */
export interface RouterAdvertisementFields {
  /** The router's link-local source address. */
  readonly source: Ipv6Bytes
  /** Router Lifetime in seconds; 0: not a default router. */
  readonly routerLifetime: number
  /** Cur Hop Limit; 0 = unspecified. */
  readonly curHopLimit?: number
  /** Reachable Time in ms; 0 = unspecified. */
  readonly reachableTime?: number
  /** Retrans Timer in ms; 0 = unspecified. */
  readonly retransTimer?: number
  /** The MTU option. */
  readonly mtu?: number
  readonly prefixes?: ReadonlyArray<PrefixInformation>
  readonly rdnss?: ReadonlyArray<RdnssOption>
}

/** The state of a configured address (RFC 4862 §2). */
export type AddressState = "TENTATIVE" | "PREFERRED" | "DEPRECATED" | "DUPLICATE"

/** An address as `addresses()` reports it. */
export interface ConfiguredAddress {
  readonly address: Ipv6Bytes
  readonly prefixLength: number
  readonly state: AddressState
  readonly linkLocal: boolean
  /** Absolute times in ms; Infinity when unbounded. */
  readonly preferredUntil: number
  readonly validUntil: number
}

/** A default router as `routers()` reports it. */
export interface DefaultRouter {
  readonly address: Ipv6Bytes
  readonly expiresAt: number
}

/** Link parameters learned from Router Advertisements. */
export interface LinkParameters {
  readonly mtu: number | undefined
  readonly curHopLimit: number | undefined
  readonly baseReachableTime: number | undefined
  readonly retransTimer: number
}

/** Something the caller must do on behalf of the configuration. */
export type SlaacAction =
  /** Send a DAD Neighbor Solicitation for `address` (unspecified source, to its solicited-node group; join the group first). */
  | { readonly _tag: "SendDadSolicitation"; readonly address: Ipv6Bytes }
  /** Send a Router Solicitation to all-routers. */
  | { readonly _tag: "SendRouterSolicitation" }
  /** `address` passed DAD (or got its preferred lifetime back): use it as a source. */
  | { readonly _tag: "AddressPreferred"; readonly address: Ipv6Bytes; readonly prefixLength: number }
  /** `address`'s preferred lifetime ended: keep it for existing communication only. */
  | { readonly _tag: "AddressDeprecated"; readonly address: Ipv6Bytes }
  /** `address`'s valid lifetime ended: remove it from the interface. */
  | { readonly _tag: "AddressRemoved"; readonly address: Ipv6Bytes }
  /** DAD found `address` in use by another node: it is not used (log it, RFC 4862 §5.4.5). */
  | { readonly _tag: "DuplicateDetected"; readonly address: Ipv6Bytes }
  | { readonly _tag: "RouterAdded"; readonly router: Ipv6Bytes }
  | { readonly _tag: "RouterRemoved"; readonly router: Ipv6Bytes }
  /** The DNS server list changed; `servers` is the full current list. */
  | { readonly _tag: "DnsServers"; readonly servers: ReadonlyArray<Ipv6Bytes> }
  /** A Router Advertisement changed a link parameter; the full current set. */
  | { readonly _tag: "LinkParametersChanged"; readonly parameters: LinkParameters }

interface AddressEntry {
  readonly key: string
  readonly address: Ipv6Bytes
  readonly prefixLength: number
  readonly linkLocal: boolean
  state: AddressState
  /** TENTATIVE: time of the next DAD solicitation or of success; else Infinity. */
  dadAt: number
  dadSent: number
  preferredUntil: number
  validUntil: number
}

interface RouterEntry {
  readonly address: Ipv6Bytes
  expiresAt: number
}

interface DnsEntry {
  readonly address: Ipv6Bytes
  expiresAt: number
}

const NO_ACTIONS: ReadonlyArray<SlaacAction> = Object.freeze([])
const INFINITE_LIFETIME = 0xffffffff
const TWO_HOURS = 2 * 60 * 60 * 1000

const option = (value: number | undefined, fallback: number, min: number): number =>
  value === undefined || !Number.isFinite(value) ? fallback : Math.max(min, Math.floor(value))

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const keyOf = (addr: Ipv6Bytes): string => {
  let key = ""
  for (let i = 0; i < 16; i++) key += HEX[addr[i] ?? 0]
  return key
}

/** Lifetime in seconds (0xffffffff = infinity) to an absolute deadline in ms. */
const until = (now: number, seconds: number): number =>
  seconds >= INFINITE_LIFETIME ? Infinity : now + Math.max(0, seconds) * 1000

/**
 * Address autoconfiguration of one interface.
 * Use: `start` once the link is up; feed validated RAs to
 * `onRouterAdvertisement`, NAs and NSs whose target may be ours to
 * `onNeighborAdvertisement` / `onNeighborSolicitation` (never our own looped-back
 * DAD NS); call `onTimer` at `pollAt()`; perform the actions.
 */
export class Slaac {
  private readonly interfaceId: Uint8Array
  private readonly maxAddresses: number
  private readonly maxRouters: number
  private readonly maxDnsServers: number
  private readonly dadTransmits: number
  private readonly maxDelay: number
  private readonly maxRtrSolicitations: number
  private readonly rtrSolicitationInterval: number
  private readonly random: () => number
  private readonly interfaceIdFor: ((prefix: Uint8Array) => Uint8Array) | undefined
  private retrans: number
  private mtuValue: number | undefined
  private hopLimit: number | undefined
  private baseReachable: number | undefined

  private readonly addressTable = new Map<string, AddressEntry>()
  /** In order of first advertisement: the first is the default router. */
  private readonly routerTable = new Map<string, RouterEntry>()
  private readonly dnsTable = new Map<string, DnsEntry>()
  private rsAt = Infinity
  private rsSent = 0
  private started = false

  constructor(options: SlaacOptions) {
    this.interfaceId = options.interfaceId.slice(0, 8)
    this.maxAddresses = option(options.maxAddresses, 16, 1)
    this.maxRouters = option(options.maxRouters, 8, 0)
    this.maxDnsServers = option(options.maxDnsServers, 8, 0)
    this.dadTransmits = option(options.dupAddrDetectTransmits, 1, 0)
    this.retrans = option(options.retransTimer, 1_000, 1)
    this.maxDelay = option(options.maxRtrSolicitationDelay, 1_000, 0)
    this.maxRtrSolicitations = option(options.maxRtrSolicitations, 3, 0)
    this.rtrSolicitationInterval = option(options.rtrSolicitationInterval, 4_000, 1)
    this.random = options.random ?? (() => 0)
    this.interfaceIdFor = options.interfaceIdFor
  }

  /** The addresses held, in order of creation (link-local first). */
  addresses(): ReadonlyArray<ConfiguredAddress> {
    return Array.from(this.addressTable.values(), (e) => ({
      address: e.address,
      prefixLength: e.prefixLength,
      state: e.state,
      linkLocal: e.linkLocal,
      preferredUntil: e.preferredUntil,
      validUntil: e.validUntil
    }))
  }

  /** The state of `address`, undefined when not held. */
  stateOf(address: Ipv6Bytes): AddressState | undefined {
    return this.addressTable.get(keyOf(address))?.state
  }

  /** The default router list, in order of first advertisement. */
  routers(): ReadonlyArray<DefaultRouter> {
    return Array.from(this.routerTable.values(), (r) => ({ address: r.address, expiresAt: r.expiresAt }))
  }

  /**
   * RFC 4861 §6.3.6: the first router of the list for which `reachable` holds
   * (the neighbour cache knows), else the first one (round-robin is not done).
   */
  defaultRouter(reachable: (router: Ipv6Bytes) => boolean = () => true): Ipv6Bytes | undefined {
    let first: Ipv6Bytes | undefined
    for (const router of this.routerTable.values()) {
      if (reachable(router.address)) return router.address
      first ??= router.address
    }
    return first
  }

  /**
   * RFC 4861 §7.2.5: a Neighbor Advertisement cleared `router`'s IsRouter
   * flag: it leaves the default router list at once.
   */
  removeRouter(router: Ipv6Bytes): ReadonlyArray<SlaacAction> {
    const key = keyOf(router)
    const known = this.routerTable.get(key)
    if (known === undefined) return NO_ACTIONS
    this.routerTable.delete(key)
    return [{ _tag: "RouterRemoved", router: known.address }]
  }

  /** The current DNS servers, in order of first advertisement. */
  dnsServers(): ReadonlyArray<Ipv6Bytes> {
    return Array.from(this.dnsTable.values(), (d) => d.address)
  }

  /** Link parameters learned so far. */
  get linkParameters(): LinkParameters {
    return {
      mtu: this.mtuValue,
      curHopLimit: this.hopLimit,
      baseReachableTime: this.baseReachable,
      retransTimer: this.retrans
    }
  }

  /**
   * Brings the interface up: the link-local address fe80::/64 + interface id
   * starts DAD and Router Solicitations are scheduled, each after a random delay
   * of up to MAX_RTR_SOLICITATION_DELAY (RFC 4861 §6.3.7, RFC 4862 §5.4.2).
   * A second call does nothing.
   */
  start(now: number): ReadonlyArray<SlaacAction> {
    if (this.started) return NO_ACTIONS
    this.started = true
    const linkLocal = new Uint8Array(16)
    linkLocal[0] = 0xfe
    linkLocal[1] = 0x80
    linkLocal.set(this.idFor(linkLocal), 8)
    this.addTentative(linkLocal, 64, true, Infinity, Infinity, now)
    if (this.maxRtrSolicitations > 0) this.rsAt = now + this.randomDelay()
    return this.onTimer(now)
  }

  /** A validated Router Advertisement (hop limit 255, link-local source, RFC 4861 §6.1.2). */
  onRouterAdvertisement(ra: RouterAdvertisementFields, now: number): ReadonlyArray<SlaacAction> {
    const actions: Array<SlaacAction> = []
    // RFC 4861 §6.3.7: stop soliciting once an RA with a non-zero lifetime came.
    if (ra.routerLifetime > 0) this.rsAt = Infinity

    // RFC 4861 §6.3.4: the default router list.
    const routerKey = keyOf(ra.source)
    const known = this.routerTable.get(routerKey)
    if (ra.routerLifetime <= 0) {
      if (known !== undefined) {
        this.routerTable.delete(routerKey)
        actions.push({ _tag: "RouterRemoved", router: known.address })
      }
    } else if (known !== undefined) {
      known.expiresAt = now + ra.routerLifetime * 1000
    } else if (this.routerTable.size < this.maxRouters) {
      const address = ra.source.slice(0, 16)
      this.routerTable.set(routerKey, { address, expiresAt: now + ra.routerLifetime * 1000 })
      actions.push({ _tag: "RouterAdded", router: address })
    }

    // RFC 4861 §6.3.4: unspecified (0) fields leave the current values.
    let changed = false
    if (ra.curHopLimit !== undefined && ra.curHopLimit > 0 && ra.curHopLimit !== this.hopLimit) {
      this.hopLimit = ra.curHopLimit
      changed = true
    }
    if (ra.reachableTime !== undefined && ra.reachableTime > 0 && ra.reachableTime !== this.baseReachable) {
      this.baseReachable = ra.reachableTime
      changed = true
    }
    if (ra.retransTimer !== undefined && ra.retransTimer > 0 && ra.retransTimer !== this.retrans) {
      this.retrans = ra.retransTimer
      changed = true
    }
    // RFC 8200 §5: the IPv6 minimum link MTU is 1280; smaller values are ignored.
    if (ra.mtu !== undefined && ra.mtu >= 1280 && ra.mtu !== this.mtuValue) {
      this.mtuValue = ra.mtu
      changed = true
    }
    if (changed) actions.push({ _tag: "LinkParametersChanged", parameters: this.linkParameters })

    for (const prefix of ra.prefixes ?? []) this.onPrefix(prefix, now, actions)
    if (ra.rdnss !== undefined && ra.rdnss.length > 0) this.onRdnss(ra.rdnss, now, actions)

    const timed = this.onTimer(now)
    return actions.length === 0 ? timed : actions.concat(timed)
  }

  /** A Neighbor Advertisement for `target`: a tentative address is a duplicate (RFC 4862 §5.4.4). */
  onNeighborAdvertisement(target: Ipv6Bytes, now: number): ReadonlyArray<SlaacAction> {
    void now
    return this.conflict(target)
  }

  /**
   * A Neighbor Solicitation for `target`: from the unspecified address it is
   * another node's DAD for our tentative address, a duplicate (RFC 4862
   * §5.4.3); otherwise it is address resolution and changes nothing here.
   */
  onNeighborSolicitation(target: Ipv6Bytes, sourceUnspecified: boolean, now: number): ReadonlyArray<SlaacAction> {
    void now
    return sourceUnspecified ? this.conflict(target) : NO_ACTIONS
  }

  /** Timers: RS retransmission, DAD steps, lifetimes of addresses, routers and DNS servers. */
  onTimer(now: number): ReadonlyArray<SlaacAction> {
    let actions: Array<SlaacAction> | undefined
    const push = (action: SlaacAction): void => {
      ;(actions ??= []).push(action)
    }

    if (now >= this.rsAt) {
      // RFC 4861 §6.3.7: up to MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL apart.
      this.rsSent++
      push({ _tag: "SendRouterSolicitation" })
      this.rsAt = this.rsSent >= this.maxRtrSolicitations ? Infinity : now + this.rtrSolicitationInterval
    }

    for (const entry of this.addressTable.values()) {
      if (now >= entry.validUntil) {
        this.addressTable.delete(entry.key)
        // Tentative and duplicate addresses were never announced.
        if (entry.state === "PREFERRED" || entry.state === "DEPRECATED") {
          push({ _tag: "AddressRemoved", address: entry.address })
        }
        continue
      }
      if (entry.state === "TENTATIVE" && now >= entry.dadAt) {
        if (entry.dadSent < this.dadTransmits) {
          entry.dadSent++
          entry.dadAt = now + this.retrans
          push({ _tag: "SendDadSolicitation", address: entry.address })
        } else {
          // RFC 4862 §5.4: RetransTimer after the last NS with no conflict, the address is unique.
          entry.state = "PREFERRED"
          entry.dadAt = Infinity
          push({ _tag: "AddressPreferred", address: entry.address, prefixLength: entry.prefixLength })
        }
      }
      if (entry.state === "PREFERRED" && now >= entry.preferredUntil) {
        entry.state = "DEPRECATED"
        push({ _tag: "AddressDeprecated", address: entry.address })
      }
    }

    for (const [key, router] of this.routerTable) {
      if (now >= router.expiresAt) {
        this.routerTable.delete(key)
        push({ _tag: "RouterRemoved", router: router.address })
      }
    }

    let dnsChanged = false
    for (const [key, server] of this.dnsTable) {
      if (now >= server.expiresAt) {
        this.dnsTable.delete(key)
        dnsChanged = true
      }
    }
    if (dnsChanged) push({ _tag: "DnsServers", servers: this.dnsServers() })
    return actions ?? NO_ACTIONS
  }

  /** The earliest time `onTimer` has work; Infinity when none. */
  pollAt(): number {
    let next = this.rsAt
    for (const entry of this.addressTable.values()) {
      if (entry.validUntil < next) next = entry.validUntil
      if (entry.state === "TENTATIVE" && entry.dadAt < next) next = entry.dadAt
      if (entry.state === "PREFERRED" && entry.preferredUntil < next) next = entry.preferredUntil
    }
    for (const router of this.routerTable.values()) if (router.expiresAt < next) next = router.expiresAt
    for (const server of this.dnsTable.values()) if (server.expiresAt < next) next = server.expiresAt
    return next
  }

  /**
   * Adds a static address (infinite lifetimes, not link-local) that goes
   * through DAD like the others; nothing when it is held or the table is full.
   */
  addStatic(address: Ipv6Bytes, prefixLength: number, now: number): ReadonlyArray<SlaacAction> {
    if (this.addressTable.has(keyOf(address)) || this.addressTable.size >= this.maxAddresses) return NO_ACTIONS
    this.addTentative(address.slice(0, 16), prefixLength, false, Infinity, Infinity, now)
    return this.onTimer(now)
  }

  private idFor(prefix: Uint8Array): Uint8Array {
    return this.interfaceIdFor === undefined ? this.interfaceId : this.interfaceIdFor(prefix.subarray(0, 8)).subarray(0, 8)
  }

  private randomDelay(): number {
    const r = this.random()
    const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 0.999999) : 0
    return Math.floor(unit * this.maxDelay)
  }

  private addTentative(
    address: Ipv6Bytes,
    prefixLength: number,
    linkLocal: boolean,
    preferredUntil: number,
    validUntil: number,
    now: number
  ): void {
    const key = keyOf(address)
    this.addressTable.set(key, {
      key,
      address,
      prefixLength,
      linkLocal,
      state: "TENTATIVE",
      // RFC 4862 §5.4: with DupAddrDetectTransmits 0 there is no DAD to delay.
      dadAt: this.dadTransmits === 0 ? now : now + this.randomDelay(),
      dadSent: 0,
      preferredUntil,
      validUntil
    })
  }

  private conflict(target: Ipv6Bytes): ReadonlyArray<SlaacAction> {
    const entry = this.addressTable.get(keyOf(target))
    if (entry === undefined || entry.state !== "TENTATIVE") return NO_ACTIONS
    // RFC 4862 §5.4.5: the address is not used; it stays as DUPLICATE until its
    // valid lifetime ends so that the next RA does not start DAD again.
    entry.state = "DUPLICATE"
    entry.dadAt = Infinity
    return [{ _tag: "DuplicateDetected", address: entry.address }]
  }

  /** RFC 4862 §5.5.3 for one Prefix Information option. */
  private onPrefix(info: PrefixInformation, now: number, actions: Array<SlaacAction>): void {
    // (a) autonomous flag off; (b) link-local prefix; (c) preferred > valid: ignore.
    if (!info.autonomous) return
    if (info.prefix.length < 16) return
    if (info.prefix[0] === 0xfe && (info.prefix[1]! & 0xc0) === 0x80) return
    if (info.preferredLifetime > info.validLifetime) return
    // Prefix length + 64-bit interface id must make 128 bits (RFC 4862 §5.5.3 (d)).
    if (info.prefixLength !== 64) return
    const address = new Uint8Array(16)
    address.set(info.prefix.subarray(0, 8), 0)
    address.set(this.idFor(address), 8)
    const entry = this.addressTable.get(keyOf(address))
    if (entry === undefined) {
      // (d) a new prefix with a non-zero valid lifetime forms an address.
      if (info.validLifetime === 0 || this.addressTable.size >= this.maxAddresses) return
      this.addTentative(
        address,
        64,
        false,
        until(now, info.preferredLifetime),
        until(now, info.validLifetime),
        now
      )
      return
    }
    if (entry.linkLocal) return
    // (e) an address formed from this prefix: the preferred lifetime is reset ...
    entry.preferredUntil = until(now, info.preferredLifetime)
    if (entry.state === "DEPRECATED" && now < entry.preferredUntil) {
      entry.state = "PREFERRED"
      actions.push({ _tag: "AddressPreferred", address: entry.address, prefixLength: entry.prefixLength })
    }
    // ... and the valid lifetime by the two-hour rule, against denial of
    // service by forged RAs with short lifetimes.
    const received = until(now, info.validLifetime)
    const remaining = entry.validUntil - now
    if (received - now > TWO_HOURS || received > entry.validUntil) {
      entry.validUntil = received
    } else if (remaining <= TWO_HOURS) {
      // (e.2) unauthenticated RA: ignore the valid lifetime.
    } else {
      entry.validUntil = now + TWO_HOURS
    }
  }

  /** RFC 8106 §5.3.1: add, refresh or (lifetime 0) remove servers; the list is bounded. */
  private onRdnss(options: ReadonlyArray<RdnssOption>, now: number, actions: Array<SlaacAction>): void {
    let changed = false
    for (const opt of options) {
      for (const server of opt.servers) {
        const key = keyOf(server)
        const known = this.dnsTable.get(key)
        if (opt.lifetime <= 0) {
          if (known !== undefined) {
            this.dnsTable.delete(key)
            changed = true
          }
        } else if (known !== undefined) {
          known.expiresAt = until(now, opt.lifetime)
        } else if (this.dnsTable.size < this.maxDnsServers) {
          this.dnsTable.set(key, { address: server.slice(0, 16), expiresAt: until(now, opt.lifetime) })
          changed = true
        }
      }
    }
    if (changed) actions.push({ _tag: "DnsServers", servers: this.dnsServers() })
  }
}
