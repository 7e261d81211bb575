/**
 * The TCP layer's connection table: entries by 4-tuple (IPv4 under the local
 * port by remote address · 65536 + remote port, IPv6 by a string key), their
 * count, and the figures of connections already removed. Synchronous.
 */
import type { IpAddress, Ipv4Address } from "../../protocols/address.js"
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

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** The IPv6 key: ports and both addresses in hex (addresses read in place). */
export const key6Of = (
  localPort: number,
  local: Uint8Array,
  lo: number,
  remote: Uint8Array,
  ro: number,
  remotePort: number
) => {
  let k = `${localPort}.${remotePort}.`
  for (let i = 0; i < 16; i++) k += HEX[remote[ro + i]!]
  for (let i = 0; i < 16; i++) k += HEX[local[lo + i]!]
  return k
}

/** Connections by 4-tuple. */
export class TcpDemux {
  private readonly table = new Map<number, Map<number, Entry>>()
  private readonly table6 = new Map<string, Entry>()
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

  /** The IPv6 connection of a key (`key6Of`). */
  lookup6(key: string): Entry | undefined {
    return this.table6.get(key)
  }

  /** Any connection using `localPort` towards `remote`: port availability for `connect`. */
  lookup(localPort: number, local: IpAddress, remote: IpAddress, remotePort: number): Entry | undefined {
    return typeof remote === "number" ?
      this.lookup4(localPort, remote, remotePort) :
      this.table6.get(key6Of(localPort, local as Uint8Array, 0, remote, 0, remotePort))
  }

  forEach(f: (e: Entry) => void): void {
    for (const m of this.table.values()) for (const e of m.values()) f(e)
    for (const e of this.table6.values()) f(e)
  }

  insert(e: Entry): void {
    if (e.key6 !== undefined) {
      this.table6.set(e.key6, e)
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
      if (this.table6.get(e.key6) === e) {
        this.table6.delete(e.key6)
        this.count--
      }
    } else if (m?.get((e.remoteAddr as number) * 65536 + e.remotePort) === e) {
      m.delete((e.remoteAddr as number) * 65536 + e.remotePort)
      if (m.size === 0) this.table.delete(e.localPort)
      this.count--
    }
    for (const k of totalKeys) this.closedTotals[k] += e.conn.stats[k]
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
