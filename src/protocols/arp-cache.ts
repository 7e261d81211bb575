/**
 * The ARP cache as a pure state machine (RFC 826, RFC 1122 §2.3.2.1-2): it maps
 * IPv4 addresses to MACs, holds packets waiting for a resolution and paces the
 * requests. Time comes in as `now` (ms); what to send comes out as `ArpAction`s.
 * Bounded: at most `maxEntries` entries and `maxQueuedTotal` waiting packets.
 */
import type { Ipv4Address, MacAddress } from "./address.js"
import { macEquals } from "./address.js"

/** Limits and timers of an `ArpCache`; every field has a default. */
export interface ArpCacheOptions {
  /** Entries in the table, resolved and pending together (default 512). */
  readonly maxEntries?: number
  /** How long a resolved entry is used after it was last confirmed (default 60 s). */
  readonly reachableMillis?: number
  /** Interval between requests for a pending entry (default 1 s). */
  readonly retryMillis?: number
  /** Requests sent before a resolution gives up (default 3). */
  readonly maxRequests?: number
  /** Packets held for one unresolved address (default 8). */
  readonly maxQueuedPerAddress?: number
  /** Packets held for all unresolved addresses together (default 64). */
  readonly maxQueuedTotal?: number
}

/** Something the caller must do on behalf of the cache. */
export type ArpAction =
  /** Send an ARP request for `target`. */
  | { readonly _tag: "SendRequest"; readonly target: Ipv4Address }
  /** `target` resolved to `mac`: send these queued packets to it, in order. */
  | {
    readonly _tag: "Flush"
    readonly target: Ipv4Address
    readonly mac: MacAddress
    readonly packets: ReadonlyArray<Uint8Array>
  }
  /** Resolution of `target` gave up; its queued packets are dropped (count them, may answer ICMP host unreachable). */
  | { readonly _tag: "Unresolved"; readonly target: Ipv4Address; readonly dropped: ReadonlyArray<Uint8Array> }

/** What `enqueue` did: `QueuedAndRequest` started a resolution, and the caller sends a request now. */
export type EnqueueResult = "Queued" | "QueuedAndRequest" | "Dropped"

const PENDING = 0
const RESOLVED = 1
const STATIC = 2
type EntryState = typeof PENDING | typeof RESOLVED | typeof STATIC

interface Entry {
  readonly ip: Ipv4Address
  state: EntryState
  /** Undefined while pending. Never mutated once stored: a changed MAC gets a new array. */
  mac: MacAddress | undefined
  /** Pending: time of the next request or of giving up. Resolved: expiry. Static: Infinity. */
  deadline: number
  /** Requests sent for the current resolution. */
  requests: number
  /** Packets waiting for the resolution; undefined unless pending. */
  queue: Array<Uint8Array> | undefined
}

const NO_ACTIONS: ReadonlyArray<ArpAction> = Object.freeze([])

const option = (value: number | undefined, fallback: number, min: number): number =>
  value === undefined || !Number.isFinite(value) ? fallback : Math.max(min, Math.floor(value))

const copyMac = (mac: MacAddress): MacAddress => mac.slice(0, 6)

/**
 * IPv4 → MAC cache with a queue of packets per unresolved address.
 * Use: `lookup` first; on a miss `enqueue` the packet (send a request on
 * `QueuedAndRequest`); feed every received ARP packet to `update`; call `poll`
 * at `pollAt()` and perform the actions.
 */
export class ArpCache {
  private readonly maxEntries: number
  private readonly reachableMillis: number
  private readonly retryMillis: number
  private readonly maxRequests: number
  private readonly maxQueuedPerAddress: number
  private readonly maxQueuedTotal: number

  /** In order of the last resolution or confirmation: the first resolved entry is the oldest. */
  private readonly entries = new Map<Ipv4Address, Entry>()
  private queued = 0
  /** Earliest deadline of any entry; a lower bound when `deadlineStale`. */
  private nextDeadline = Infinity
  private deadlineStale = false

  constructor(options: ArpCacheOptions = {}) {
    this.maxEntries = option(options.maxEntries, 512, 1)
    this.reachableMillis = option(options.reachableMillis, 60_000, 0)
    this.retryMillis = option(options.retryMillis, 1_000, 0)
    this.maxRequests = option(options.maxRequests, 3, 1)
    this.maxQueuedPerAddress = option(options.maxQueuedPerAddress, 8, 0)
    this.maxQueuedTotal = option(options.maxQueuedTotal, 64, 0)
  }

  /** Entries in the table (pending, resolved and static). */
  get size(): number {
    return this.entries.size
  }

  /** Packets waiting for a resolution, all addresses together. */
  get queuedPackets(): number {
    return this.queued
  }

  /** The MAC of `ip` when resolved and not expired (or static); no allocation. */
  lookup(ip: Ipv4Address, now: number): MacAddress | undefined {
    const entry = this.entries.get(ip)
    if (entry === undefined || entry.state === PENDING || now >= entry.deadline) return undefined
    return entry.mac
  }

  /** When the resolved entry of `ip` expires (Infinity when static, undefined when none or pending). */
  expiresAt(ip: Ipv4Address): number | undefined {
    const entry = this.entries.get(ip)
    return entry === undefined || entry.state === PENDING ? undefined : entry.deadline
  }

  /**
   * Holds `packet` (kept as given: pass a copy) until `ip` resolves. Call it
   * after `lookup` missed. On an expired or still-cached resolved entry it
   * starts a new resolution.
   */
  enqueue(ip: Ipv4Address, packet: Uint8Array, now: number): EnqueueResult {
    const entry = this.entries.get(ip)
    if (entry !== undefined && entry.state === PENDING) {
      // RFC 1122 §2.3.2.2 asks to keep at least one packet per address: the
      // first ones are kept and later ones dropped once the queue is full.
      const queue = entry.queue!
      if (queue.length >= this.maxQueuedPerAddress || this.queued >= this.maxQueuedTotal) return "Dropped"
      queue.push(packet)
      this.queued++
      return "Queued"
    }
    if (entry !== undefined && entry.state === STATIC) return "Dropped" // lookup would have hit
    if (this.maxQueuedPerAddress === 0 || this.queued >= this.maxQueuedTotal) return "Dropped"
    if (entry !== undefined) {
      this.entries.delete(ip) // resolved: re-resolve in place
      this.staleIf(entry.deadline)
    } else if (!this.makeRoomForResolved()) {
      return "Dropped"
    }
    const deadline = now + this.retryMillis
    this.entries.set(ip, { ip, state: PENDING, mac: undefined, deadline, requests: 1, queue: [packet] })
    this.queued++
    this.armed(deadline)
    return "QueuedAndRequest"
  }

  /**
   * RFC 826 "merge": a received ARP packet says `ip` is at `mac`. Updates an
   * existing entry (a pending one resolves and its packets come back as a
   * Flush); creates one only when `create` (we were the target). Static
   * entries are left alone. The MAC is copied.
   */
  update(ip: Ipv4Address, mac: MacAddress, now: number, create: boolean): ReadonlyArray<ArpAction> {
    const entry = this.entries.get(ip)
    const deadline = now + this.reachableMillis
    if (entry === undefined) {
      // RFC 826: only the target adds the sender; a full table of pending
      // entries just skips it (the peer is learned again on the next request).
      if (!create || !this.makeRoomForResolved()) return NO_ACTIONS
      this.entries.set(ip, { ip, state: RESOLVED, mac: copyMac(mac), deadline, requests: 0, queue: undefined })
      this.armed(deadline)
      return NO_ACTIONS
    }
    if (entry.state === STATIC) return NO_ACTIONS
    // Move to the end: the map order is the order of last confirmation.
    this.entries.delete(ip)
    this.entries.set(ip, entry)
    this.staleIf(entry.deadline)
    entry.deadline = deadline
    this.armed(deadline)
    if (entry.state === RESOLVED) {
      if (!macEquals(entry.mac!, 0, mac, 0)) entry.mac = copyMac(mac)
      return NO_ACTIONS
    }
    return [this.resolve(entry, copyMac(mac), RESOLVED)]
  }

  /**
   * Pins `ip` to `mac`: never expires, never evicted, not changed by `update`.
   * A pending entry resolves (its Flush is returned). Makes room by evicting
   * the oldest resolved entry, else the oldest pending one (its Unresolved is
   * returned); undefined when the table holds only static entries.
   */
  insertStatic(ip: Ipv4Address, mac: MacAddress): ReadonlyArray<ArpAction> | undefined {
    const entry = this.entries.get(ip)
    if (entry !== undefined) {
      this.staleIf(entry.deadline)
      if (entry.state === PENDING) return [this.resolve(entry, copyMac(mac), STATIC)]
      entry.state = STATIC
      entry.mac = copyMac(mac)
      entry.deadline = Infinity
      return NO_ACTIONS
    }
    let actions = NO_ACTIONS
    if (!this.makeRoomForResolved()) {
      const pending = this.oldest(PENDING)
      if (pending === undefined) return undefined
      actions = [this.drop(pending)]
    }
    this.entries.set(ip, { ip, state: STATIC, mac: copyMac(mac), deadline: Infinity, requests: 0, queue: undefined })
    return actions
  }

  /** Forgets `ip`; a pending entry's packets come back as Unresolved. */
  remove(ip: Ipv4Address): ReadonlyArray<ArpAction> {
    const entry = this.entries.get(ip)
    if (entry === undefined) return NO_ACTIONS
    if (entry.state === PENDING) return [this.drop(entry)]
    this.entries.delete(ip)
    this.staleIf(entry.deadline)
    return NO_ACTIONS
  }

  /**
   * Timers: a pending entry whose retry time came sends another request, or
   * after `maxRequests` requests gives up (Unresolved, RFC 1122 §2.3.2.1 asks
   * for such a limit); a resolved entry past `reachableMillis` is removed.
   */
  poll(now: number): ReadonlyArray<ArpAction> {
    if (now < this.pollAt()) return NO_ACTIONS
    let actions: Array<ArpAction> | undefined
    let next = Infinity
    for (const entry of this.entries.values()) {
      if (now >= entry.deadline) {
        if (entry.state === RESOLVED) {
          this.entries.delete(entry.ip)
          continue
        }
        // Pending (static entries never reach their deadline).
        actions ??= []
        if (entry.requests >= this.maxRequests) {
          actions.push(this.drop(entry))
          continue
        }
        entry.requests++
        entry.deadline = now + this.retryMillis
        actions.push({ _tag: "SendRequest", target: entry.ip })
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

  /** Turns a pending entry into a resolved or static one and hands back its packets. */
  private resolve(entry: Entry, mac: MacAddress, state: typeof RESOLVED | typeof STATIC): ArpAction {
    const packets = entry.queue!
    this.queued -= packets.length
    entry.state = state
    entry.mac = mac
    entry.queue = undefined
    entry.requests = 0
    if (state === STATIC) entry.deadline = Infinity
    return { _tag: "Flush", target: entry.ip, mac, packets }
  }

  /** Removes a pending entry and hands back its packets as dropped. */
  private drop(entry: Entry): ArpAction {
    const dropped = entry.queue!
    this.queued -= dropped.length
    this.entries.delete(entry.ip)
    this.staleIf(entry.deadline)
    return { _tag: "Unresolved", target: entry.ip, dropped }
  }

  /** Frees a slot when the table is full by evicting the oldest resolved entry; false when none can go. */
  private makeRoomForResolved(): boolean {
    if (this.entries.size < this.maxEntries) return true
    const victim = this.oldest(RESOLVED)
    if (victim === undefined) return false
    this.entries.delete(victim.ip)
    this.staleIf(victim.deadline)
    return true
  }

  private oldest(state: EntryState): Entry | undefined {
    for (const entry of this.entries.values()) if (entry.state === state) return entry
    return undefined
  }

  /** A new deadline was set. */
  private armed(deadline: number): void {
    if (deadline < this.nextDeadline) this.nextDeadline = deadline
  }

  /** A deadline went away or moved later: the cached minimum may be too early. */
  private staleIf(oldDeadline: number): void {
    if (oldDeadline <= this.nextDeadline) this.deadlineStale = true
  }
}
