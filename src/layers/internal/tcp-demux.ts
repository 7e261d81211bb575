/**
 * The TCP layer's connection table: entries by 4-tuple (IPv4 under the local
 * port by remote address · 65536 + remote port, IPv6 by a hash of the
 * 4-tuple with the addresses compared in place, no allocation), their
 * count, and the figures of connections already removed. Synchronous.
 */
import type { IpAddress, Ipv4Address } from "../../protocols/address.js"
import { ipv6Equals } from "../../protocols/ipv6/address.js"
import type { TcpTotals } from "../Tcp.js"
import type { Entry } from "./tcp-socket.js"

const totalKeys = [
  "segmentsIn",
  "segmentsOut",
  "retransmits",
  "fastRetransmits",
  "rtoExpiries",
  "sackRecoveries",
  "outOfOrderBytes",
  "zeroWindowProbes",
  "challengeAcks"
] as const

/** FNV-1a over the IPv6 4-tuple (addresses read in place): the bucket of a connection. */
export const hash6 = (
  localPort: number,
  local: Uint8Array,
  lo: number,
  remote: Uint8Array,
  ro: number,
  remotePort: number
): number => {
  let h = Math.imul(2166136261 ^ localPort, 16777619)
  h = Math.imul(h ^ remotePort, 16777619)
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ remote[ro + i]!, 16777619)
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ local[lo + i]!, 16777619)
  return h >>> 0
}

/** Connections by 4-tuple. */
export class TcpDemux {
  private readonly table = new Map<number, Map<number, Entry>>()
  /** IPv6 buckets by `hash6`; a bucket holds every entry of that hash. */
  private readonly table6 = new Map<number, Array<Entry>>()
  /** Connections in the table. */
  count = 0
  private readonly closedTotals = {
    segmentsIn: 0,
    segmentsOut: 0,
    retransmits: 0,
    fastRetransmits: 0,
    rtoExpiries: 0,
    sackRecoveries: 0,
    outOfOrderBytes: 0,
    zeroWindowProbes: 0,
    challengeAcks: 0
  }

  /** The IPv4 connection of a segment. */
  lookup4(localPort: number, remoteAddr: Ipv4Address, remotePort: number): Entry | undefined {
    return this.table.get(localPort)?.get(remoteAddr * 65536 + remotePort)
  }

  /** The IPv6 connection of a 4-tuple, addresses read in place. */
  lookup6(localPort: number, local: Uint8Array, lo: number, remote: Uint8Array, ro: number, remotePort: number): Entry | undefined {
    const bucket = this.table6.get(hash6(localPort, local, lo, remote, ro, remotePort))
    if (bucket === undefined) return undefined
    for (let i = 0; i < bucket.length; i++) {
      const e = bucket[i]!
      if (
        e.localPort === localPort && e.remotePort === remotePort &&
        ipv6Equals(e.remoteAddr as Uint8Array, 0, remote, ro) && ipv6Equals(e.localAddr as Uint8Array, 0, local, lo)
      ) return e
    }
    return undefined
  }

  /** Any connection using `localPort` towards `remote`: port availability for `connect`. */
  lookup(localPort: number, local: IpAddress, remote: IpAddress, remotePort: number): Entry | undefined {
    return typeof remote === "number" ?
      this.lookup4(localPort, remote, remotePort) :
      this.lookup6(localPort, local as Uint8Array, 0, remote, 0, remotePort)
  }

  forEach(f: (e: Entry) => void): void {
    for (const m of this.table.values()) for (const e of m.values()) f(e)
    for (const bucket of this.table6.values()) for (const e of bucket) f(e)
  }

  insert(e: Entry): void {
    if (e.key6 !== undefined) {
      const bucket = this.table6.get(e.key6)
      if (bucket === undefined) this.table6.set(e.key6, [e])
      else {
        // A new entry for the same tuple replaces the old one, as a Map key would.
        const i = bucket.findIndex((o) => this.sameTuple6(o, e))
        if (i >= 0) bucket[i] = e
        else bucket.push(e)
      }
      this.count++
      return
    }
    let m = this.table.get(e.localPort)
    if (!m) {
      m = new Map()
      this.table.set(e.localPort, m)
    }
    m.set((e.remoteAddr as number) * 65536 + e.remotePort, e)
    this.count++
  }

  /** Takes `e` out (unless another entry holds its tuple by now) and keeps its figures. */
  remove(e: Entry): void {
    const m = e.key6 === undefined ? this.table.get(e.localPort) : undefined
    if (e.key6 !== undefined) {
      const bucket = this.table6.get(e.key6)
      const i = bucket === undefined ? -1 : bucket.indexOf(e)
      if (i >= 0) {
        if (bucket!.length === 1) this.table6.delete(e.key6)
        else bucket!.splice(i, 1)
        this.count--
      }
    } else if (m?.get((e.remoteAddr as number) * 65536 + e.remotePort) === e) {
      m.delete((e.remoteAddr as number) * 65536 + e.remotePort)
      if (m.size === 0) this.table.delete(e.localPort)
      this.count--
    }
    for (const k of totalKeys) this.closedTotals[k] += e.conn.stats[k]
  }

  private sameTuple6(a: Entry, b: Entry): boolean {
    return a.localPort === b.localPort && a.remotePort === b.remotePort &&
      ipv6Equals(a.remoteAddr as Uint8Array, 0, b.remoteAddr as Uint8Array, 0) &&
      ipv6Equals(a.localAddr as Uint8Array, 0, b.localAddr as Uint8Array, 0)
  }

  /** Connections by state. */
  byState(): Record<string, number> {
    const out: Record<string, number> = {}
    this.forEach((e) => {
      out[e.conn.state] = (out[e.conn.state] ?? 0) + 1
    })
    return out
  }

  /** Figures summed over every connection, removed ones included. */
  totals(): TcpTotals {
    const t = { ...this.closedTotals, connections: this.count }
    this.forEach((e) => {
      for (const k of totalKeys) t[k] += e.conn.stats[k]
    })
    return t
  }
}
