/**
 * The IPv6 neighbour cache as a pure state machine (RFC 4861 §7.2-§7.3): it maps
 * IPv6 addresses (16-byte arrays) to MACs through the reachability states
 * INCOMPLETE, REACHABLE, STALE, DELAY and PROBE, holds packets waiting for a
 * resolution and paces the solicitations. Time comes in as `now` (ms); what to
 * send comes out as `NeighborAction`s. Bounded: at most `maxEntries` entries and
 * `maxQueuedTotal` waiting packets.
 */
import type { MacAddress } from "../address.js"
import { macEquals } from "../address.js"

/** A 16-byte IPv6 address. */
type Ipv6Bytes = Uint8Array

/** Limits, RFC 4861 §10 constants and the random source of a `NeighborCache`; every field has a default. */
export interface NeighborCacheOptions {
  /** Entries in the table, all states together (default 512). */
  readonly maxEntries?: number
  /** Packets held for one unresolved address (default 8). */
  readonly maxQueuedPerAddress?: number
  /** Packets held for all unresolved addresses together (default 64). */
  readonly maxQueuedTotal?: number
  /** MAX_MULTICAST_SOLICIT (default 3). */
  readonly maxMulticastSolicit?: number
  /** MAX_UNICAST_SOLICIT (default 3). */
  readonly maxUnicastSolicit?: number
  /** RetransTimer in ms (default RETRANS_TIMER 1000). */
  readonly retransTimer?: number
  /** DELAY_FIRST_PROBE_TIME in ms (default 5000). */
  readonly delayFirstProbeTime?: number
  /** BaseReachableTime in ms (default REACHABLE_TIME 30000). */
  readonly baseReachableTime?: number
  /** Uniform in [0, 1), for the ReachableTime factor (default 0.5: ReachableTime = BaseReachableTime). */
  readonly random?: () => number
}

/** The reachability state of an entry (RFC 4861 §7.3.2). */
export type NeighborState = "INCOMPLETE" | "REACHABLE" | "STALE" | "DELAY" | "PROBE"

/** Flags of a received Neighbor Advertisement (RFC 4861 §4.4). */
export interface AdvertisementFlags {
  readonly solicited: boolean
  readonly override: boolean
  readonly router: boolean
}

/** Something the caller must do on behalf of the cache. */
export type NeighborAction =
  /** Send a Neighbor Solicitation for `target` to its solicited-node multicast group. */
  | { readonly _tag: "SendMulticastSolicitation"; readonly target: Ipv6Bytes }
  /** Send a Neighbor Solicitation for `target` unicast to `mac` (a reachability probe). */
  | { readonly _tag: "SendUnicastSolicitation"; readonly target: Ipv6Bytes; readonly mac: MacAddress }
  /** `target` resolved to `mac`: send these queued packets to it, in order. */
  | {
    readonly _tag: "Flush"
    readonly target: Ipv6Bytes
    readonly mac: MacAddress
    readonly packets: ReadonlyArray<Uint8Array>
  }
  /** Resolution of `target` gave up; its queued packets are dropped (may answer ICMPv6 address unreachable). */
  | { readonly _tag: "Unresolved"; readonly target: Ipv6Bytes; readonly dropped: ReadonlyArray<Uint8Array> }
  /** An advertisement cleared the router flag of `target`: remove it from the default router list (§7.2.5). */
  | { readonly _tag: "NoLongerRouter"; readonly target: Ipv6Bytes }

/**
 * What `enqueue` did: `QueuedAndSolicit` started a resolution (the caller sends
 * a multicast solicitation now); `ReplacedOldest` queued it in place of the
 * oldest waiting packet (§7.2.2), which is dropped.
 */
export type NeighborEnqueueResult = "Queued" | "QueuedAndSolicit" | "ReplacedOldest" | "Dropped"

interface Entry {
  readonly key: string
  readonly addr: Ipv6Bytes
  state: NeighborState
  /** Undefined only while INCOMPLETE. Never mutated once stored. */
  mac: MacAddress | undefined
  isRouter: boolean
  /** INCOMPLETE/PROBE: next solicitation or giving up. REACHABLE: end of reachability. DELAY: first probe. STALE: Infinity. */
  deadline: number
  /** Solicitations sent in the current INCOMPLETE or PROBE run. */
  probes: number
  /** Packets waiting; empty unless INCOMPLETE. */
  queue: Array<Uint8Array>
}

const NO_ACTIONS: ReadonlyArray<NeighborAction> = Object.freeze([])

const option = (value: number | undefined, fallback: number, min: number): number =>
  value === undefined || !Number.isFinite(value) ? fallback : Math.max(min, Math.floor(value))

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const keyOf = (addr: Ipv6Bytes): string => {
  let key = ""
  for (let i = 0; i < 16; i++) key += HEX[addr[i] ?? 0]
  return key
}

const copyMac = (mac: MacAddress): MacAddress => mac.slice(0, 6)

/**
 * IPv6 → MAC cache with the RFC 4861 reachability states.
 * Use: `lookup` first (it marks the entry used); on a miss `enqueue` the packet
 * (send a multicast NS on `QueuedAndSolicit`); feed NAs to `onAdvertisement`,
 * NS/RS/RA/redirect source link-layer options to `onSolicitation`, upper-layer
 * progress to `confirmReachability`; call `poll` at `pollAt()`.
 */
export class NeighborCache {
  private readonly maxEntries: number
  private readonly maxQueuedPerAddress: number
  private readonly maxQueuedTotal: number
  private readonly maxMulticastSolicit: number
  private readonly maxUnicastSolicit: number
  private readonly delayFirstProbeTime: number
  private readonly random: () => number
  private retrans: number
  private baseReachable: number
  private reachable: number

  /** In order of the last confirmation or use: the first entry is the least recently confirmed. */
  private readonly entries = new Map<string, Entry>()
  private queued = 0
  private nextDeadline = Infinity
  private deadlineStale = false

  constructor(options: NeighborCacheOptions = {}) {
    this.maxEntries = option(options.maxEntries, 512, 1)
    this.maxQueuedPerAddress = option(options.maxQueuedPerAddress, 8, 0)
    this.maxQueuedTotal = option(options.maxQueuedTotal, 64, 0)
    this.maxMulticastSolicit = option(options.maxMulticastSolicit, 3, 1)
    this.maxUnicastSolicit = option(options.maxUnicastSolicit, 3, 1)
    this.retrans = option(options.retransTimer, 1_000, 1)
    this.delayFirstProbeTime = option(options.delayFirstProbeTime, 5_000, 0)
    this.random = options.random ?? (() => 0.5)
    this.baseReachable = option(options.baseReachableTime, 30_000, 1)
    this.reachable = this.randomizedReachable()
  }

  /** Entries in the table, all states. */
  get size(): number {
    return this.entries.size
  }

  /** Packets waiting for a resolution, all addresses together. */
  get queuedPackets(): number {
    return this.queued
  }

  /** The current ReachableTime in ms (BaseReachableTime × [0.5, 1.5)). */
  get reachableTime(): number {
    return this.reachable
  }

  /** The current RetransTimer in ms. */
  get retransTimer(): number {
    return this.retrans
  }

  /**
   * RFC 4861 §6.3.4: a Router Advertisement with a non-zero Reachable Time sets
   * BaseReachableTime; ReachableTime is drawn again when it changed. Entries
   * already REACHABLE keep their deadline.
   */
  setBaseReachableTime(ms: number): void {
    if (!Number.isFinite(ms) || ms <= 0 || Math.floor(ms) === this.baseReachable) return
    this.baseReachable = Math.floor(ms)
    this.reachable = this.randomizedReachable()
  }

  /** RFC 4861 §6.3.4: a Router Advertisement with a non-zero Retrans Timer sets RetransTimer. */
  setRetransTimer(ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.retrans = Math.floor(ms)
  }

  /** Draws ReachableTime again (RFC 4861 §6.3.2 asks for it at least every few hours). */
  rerandomizeReachableTime(): void {
    this.reachable = this.randomizedReachable()
  }

  /** The state of the entry for `addr`, undefined when none. */
  stateOf(addr: Ipv6Bytes): NeighborState | undefined {
    return this.entries.get(keyOf(addr))?.state
  }

  /** Whether the entry for `addr` has the router flag set. */
  isRouter(addr: Ipv6Bytes): boolean {
    return this.entries.get(keyOf(addr))?.isRouter ?? false
  }

  /**
   * The MAC of `addr` when the entry has one (any state but INCOMPLETE), and
   * marks the use: RFC 4861 §7.3.3, a packet sent to a STALE entry moves it to
   * DELAY. A REACHABLE entry past its ReachableTime counts as STALE.
   */
  lookup(addr: Ipv6Bytes, now: number): MacAddress | undefined {
    const entry = this.entries.get(keyOf(addr))
    if (entry === undefined || entry.state === "INCOMPLETE") return undefined
    if (entry.state === "STALE" || (entry.state === "REACHABLE" && now >= entry.deadline)) {
      this.setDeadline(entry, "DELAY", now + this.delayFirstProbeTime)
    }
    return entry.mac
  }

  /**
   * Holds `packet` (kept as given: pass a copy) until `addr` resolves. Call it
   * after `lookup` missed; an entry that has a MAC answers `Dropped`.
   */
  enqueue(addr: Ipv6Bytes, packet: Uint8Array, now: number): NeighborEnqueueResult {
    const key = keyOf(addr)
    const entry = this.entries.get(key)
    if (entry !== undefined) {
      if (entry.state !== "INCOMPLETE") return "Dropped"
      if (this.maxQueuedPerAddress === 0) return "Dropped"
      if (entry.queue.length >= this.maxQueuedPerAddress) {
        // RFC 4861 §7.2.2: on overflow the new arrival replaces the oldest.
        entry.queue.shift()
        entry.queue.push(packet)
        return "ReplacedOldest"
      }
      if (this.queued >= this.maxQueuedTotal) return "Dropped"
      entry.queue.push(packet)
      this.queued++
      return "Queued"
    }
    if (this.maxQueuedPerAddress === 0 || this.queued >= this.maxQueuedTotal) return "Dropped"
    if (!this.makeRoom()) return "Dropped"
    // RFC 4861 §7.2.2: create INCOMPLETE, send the first multicast NS now.
    const created: Entry = {
      key,
      addr: addr.slice(0, 16),
      state: "INCOMPLETE",
      mac: undefined,
      isRouter: false,
      deadline: now + this.retrans,
      probes: 1,
      queue: [packet]
    }
    this.entries.set(key, created)
    this.queued++
    this.armed(created.deadline)
    return "QueuedAndSolicit"
  }

  /**
   * A Neighbor Advertisement for `addr`, with its Target Link-Layer Address
   * option (`mac`) when present: RFC 4861 §7.2.5. Without an entry it is
   * ignored (no entry is created).
   */
  onAdvertisement(
    addr: Ipv6Bytes,
    mac: MacAddress | undefined,
    flags: AdvertisementFlags,
    now: number
  ): ReadonlyArray<NeighborAction> {
    const entry = this.entries.get(keyOf(addr))
    if (entry === undefined) return NO_ACTIONS
    if (entry.state === "INCOMPLETE") {
      // §7.2.5: without a target link-layer address the advertisement is useless here.
      if (mac === undefined) return NO_ACTIONS
      entry.isRouter = flags.router
      this.touch(entry)
      if (flags.solicited) this.setDeadline(entry, "REACHABLE", now + this.reachable)
      else this.setDeadline(entry, "STALE", Infinity)
      return [this.resolve(entry, copyMac(mac))]
    }
    const differs = mac !== undefined && !macEquals(entry.mac!, 0, mac, 0)
    if (!flags.override && differs) {
      // §7.2.5: a non-override NA with a different address only weakens REACHABLE.
      if (entry.state === "REACHABLE") this.setDeadline(entry, "STALE", Infinity)
      return NO_ACTIONS
    }
    if (differs) entry.mac = copyMac(mac!)
    if (flags.solicited) {
      this.touch(entry)
      entry.probes = 0
      this.setDeadline(entry, "REACHABLE", now + this.reachable)
    } else if (differs) {
      this.setDeadline(entry, "STALE", Infinity)
    }
    const wasRouter = entry.isRouter
    entry.isRouter = flags.router
    return wasRouter && !flags.router ? [{ _tag: "NoLongerRouter", target: entry.addr }] : NO_ACTIONS
  }

  /**
   * A Neighbor Solicitation (or RS, RA, redirect) from `sourceAddr` carrying a
   * Source Link-Layer Address option `sourceMac`: RFC 4861 §7.2.3. Creates a
   * STALE entry or updates one whose MAC changed; an INCOMPLETE entry resolves
   * to STALE and its packets come back as a Flush.
   */
  onSolicitation(sourceAddr: Ipv6Bytes, sourceMac: MacAddress, now: number): ReadonlyArray<NeighborAction> {
    const key = keyOf(sourceAddr)
    const entry = this.entries.get(key)
    if (entry === undefined) {
      if (!this.makeRoom()) return NO_ACTIONS
      this.entries.set(key, {
        key,
        addr: sourceAddr.slice(0, 16),
        state: "STALE",
        mac: copyMac(sourceMac),
        isRouter: false,
        deadline: Infinity,
        probes: 0,
        queue: []
      })
      return NO_ACTIONS
    }
    if (entry.state === "INCOMPLETE") {
      this.touch(entry)
      this.setDeadline(entry, "STALE", Infinity)
      return [this.resolve(entry, copyMac(sourceMac))]
    }
    if (!macEquals(entry.mac!, 0, sourceMac, 0)) {
      entry.mac = copyMac(sourceMac)
      this.setDeadline(entry, "STALE", Infinity)
    }
    void now
    return NO_ACTIONS
  }

  /**
   * A Router Advertisement came from `addr`: RFC 4861 §6.3.4, the IsRouter
   * flag of its entry (if any) is set, so that a later advertisement clearing
   * it takes the router out of the default list (§7.2.5).
   */
  markRouter(addr: Ipv6Bytes): void {
    const entry = this.entries.get(keyOf(addr))
    if (entry !== undefined) entry.isRouter = true
  }

  /**
   * Upper-layer progress (a TCP ACK for new data, RFC 4861 §7.3.1) confirms
   * `addr` reachable: an entry with a MAC becomes REACHABLE.
   */
  confirmReachability(addr: Ipv6Bytes, now: number): void {
    const entry = this.entries.get(keyOf(addr))
    if (entry === undefined || entry.state === "INCOMPLETE") return
    this.touch(entry)
    entry.probes = 0
    this.setDeadline(entry, "REACHABLE", now + this.reachable)
  }

  /** Forgets `addr`; an INCOMPLETE entry's packets come back as Unresolved. */
  remove(addr: Ipv6Bytes): ReadonlyArray<NeighborAction> {
    const entry = this.entries.get(keyOf(addr))
    if (entry === undefined) return NO_ACTIONS
    if (entry.state === "INCOMPLETE") return [this.drop(entry)]
    this.delete(entry)
    return NO_ACTIONS
  }

  /**
   * Timers (RFC 4861 §7.3.3, Appendix C): INCOMPLETE retransmits the multicast
   * NS every RetransTimer and gives up after MAX_MULTICAST_SOLICIT (Unresolved);
   * REACHABLE turns STALE after ReachableTime; DELAY turns PROBE after
   * DELAY_FIRST_PROBE_TIME with a unicast NS; PROBE retransmits and deletes the
   * entry after MAX_UNICAST_SOLICIT unanswered probes.
   */
  poll(now: number): ReadonlyArray<NeighborAction> {
    if (now < this.pollAt()) return NO_ACTIONS
    let actions: Array<NeighborAction> | undefined
    let next = Infinity
    for (const entry of this.entries.values()) {
      if (now >= entry.deadline) {
        switch (entry.state) {
          case "INCOMPLETE": {
            actions ??= []
            if (entry.probes >= this.maxMulticastSolicit) {
              actions.push(this.drop(entry))
              continue
            }
            entry.probes++
            entry.deadline = now + this.retrans
            actions.push({ _tag: "SendMulticastSolicitation", target: entry.addr })
            break
          }
          case "REACHABLE":
            entry.state = "STALE"
            entry.deadline = Infinity
            break
          case "DELAY":
          case "PROBE": {
            if (entry.state === "PROBE" && entry.probes >= this.maxUnicastSolicit) {
              this.delete(entry)
              continue
            }
            if (entry.state === "DELAY") {
              entry.state = "PROBE"
              entry.probes = 0
            }
            actions ??= []
            entry.probes++
            entry.deadline = now + this.retrans
            actions.push({ _tag: "SendUnicastSolicitation", target: entry.addr, mac: entry.mac! })
            break
          }
          case "STALE":
            break
        }
      }
      if (entry.deadline < next) next = entry.deadline
    }
    this.nextDeadline = next
    this.deadlineStale = false
    return actions ?? NO_ACTIONS
  }

  /** The earliest time `poll` has work; Infinity when none. */
  pollAt(): number {
    if (this.deadlineStale) {
      let next = Infinity
      for (const entry of this.entries.values()) if (entry.deadline < next) next = entry.deadline
      this.nextDeadline = next
      this.deadlineStale = false
    }
    return this.nextDeadline
  }

  private randomizedReachable(): number {
    // RFC 4861 §6.3.2: uniformly between MIN_RANDOM_FACTOR 0.5 and MAX_RANDOM_FACTOR 1.5.
    const r = this.random()
    const factor = 0.5 + (Number.isFinite(r) ? Math.min(Math.max(r, 0), 0.999999) : 0.5)
    return Math.max(1, Math.floor(this.baseReachable * factor))
  }

  private setDeadline(entry: Entry, state: NeighborState, deadline: number): void {
    if (entry.deadline <= this.nextDeadline) this.deadlineStale = true
    entry.state = state
    entry.deadline = deadline
    if (deadline < this.nextDeadline) this.nextDeadline = deadline
  }

  private armed(deadline: number): void {
    if (deadline < this.nextDeadline) this.nextDeadline = deadline
  }

  /** Moves the entry to the end: the map order is the order of last confirmation. */
  private touch(entry: Entry): void {
    this.entries.delete(entry.key)
    this.entries.set(entry.key, entry)
  }

  private delete(entry: Entry): void {
    this.entries.delete(entry.key)
    if (entry.deadline <= this.nextDeadline) this.deadlineStale = true
  }

  /** Turns an INCOMPLETE entry into one with a MAC (state already set) and hands back its packets. */
  private resolve(entry: Entry, mac: MacAddress): NeighborAction {
    const packets = entry.queue
    this.queued -= packets.length
    entry.mac = mac
    entry.queue = []
    entry.probes = 0
    return { _tag: "Flush", target: entry.addr, mac, packets }
  }

  /** Removes an INCOMPLETE entry and hands back its packets as dropped. */
  private drop(entry: Entry): NeighborAction {
    const dropped = entry.queue
    this.queued -= dropped.length
    this.delete(entry)
    return { _tag: "Unresolved", target: entry.addr, dropped }
  }

  /**
   * Frees a slot when the table is full: the least recently confirmed STALE
   * entry goes first (RFC 4861 §7.3.2 lets STALE entries be collected), else
   * any entry with a MAC; false when only INCOMPLETE entries are left.
   */
  private makeRoom(): boolean {
    if (this.entries.size < this.maxEntries) return true
    let victim: Entry | undefined
    for (const entry of this.entries.values()) {
      if (entry.state === "STALE") {
        victim = entry
        break
      }
      if (victim === undefined && entry.state !== "INCOMPLETE") victim = entry
    }
    if (victim === undefined) return false
    this.delete(victim)
    return true
  }
}
