/**
 * The path MTU cache of RFC 8201: Packet Too Big lowers the MTU towards one
 * destination (never below 1280, never above the link's), an entry is
 * forgotten after 10 minutes (§4) so a path that grew again is found, and the
 * table is bounded (oldest out). Pure: `now` in ms comes from the caller.
 */

/** RFC 8200 §5: every IPv6 link carries 1280 bytes. */
export const MIN_MTU = 1280

/** Options of a `PathMtuCache`. */
export interface PathMtuOptions {
  /** Entries kept at most (default 256). */
  readonly maxEntries?: number
  /** A lowered MTU is forgotten after this many ms (default 10 minutes, RFC 8201 §4). */
  readonly ageMillis?: number
}

interface Entry {
  readonly mtu: number
  readonly expiresAt: number
}

/** Path MTUs by destination key (e.g. the address in hex). */
export class PathMtuCache {
  private readonly entries = new Map<string, Entry>()
  private readonly maxEntries: number
  private readonly ageMillis: number
  private next = Infinity

  constructor(options: PathMtuOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 256)
    this.ageMillis = options.ageMillis ?? 10 * 60 * 1000
  }

  get size(): number {
    return this.entries.size
  }

  /** The MTU towards `key`: the learned one, else `linkMtu` (never above it). */
  mtuFor(key: string, linkMtu: number): number {
    if (this.entries.size === 0) return linkMtu
    const e = this.entries.get(key)
    return e === undefined ? linkMtu : Math.min(e.mtu, linkMtu)
  }

  /**
   * A Packet Too Big reported `reported` towards `key`: the MTU to use from now
   * on, clamped to [1280, linkMtu] (RFC 8201 §4). Returns true when it lowered
   * the known value (or the link's, for a new destination).
   */
  onPacketTooBig(key: string, reported: number, linkMtu: number, now: number): boolean {
    const mtu = Math.min(linkMtu, Math.max(MIN_MTU, reported))
    const known = this.entries.get(key)
    if (mtu >= (known?.mtu ?? linkMtu)) return false
    this.entries.delete(key)
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    const expiresAt = now + this.ageMillis
    this.entries.set(key, { mtu, expiresAt })
    if (expiresAt < this.next) this.next = expiresAt
    return true
  }

  /** When `poll` has something to do (Infinity when never). */
  pollAt(): number {
    return this.entries.size > 0 ? this.next : Infinity
  }

  /** Forgets the entries whose age is over. */
  poll(now: number): void {
    if (this.next > now) return
    this.next = Infinity
    for (const [k, e] of this.entries) {
      if (e.expiresAt <= now) this.entries.delete(k)
      else if (e.expiresAt < this.next) this.next = e.expiresAt
    }
  }
}
