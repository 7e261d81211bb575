/**
 * IPv6 addresses (RFC 4291) as 16-byte Uint8Arrays: text parsing of every
 * §2.2 form, RFC 5952 canonical formatting, the well-known groups, EUI-64
 * link-local and solicited-node derivation. Parsing returns undefined for bad
 * input instead of throwing; byte helpers take an offset so headers need no copy.
 */

/** An IPv6 address: exactly 16 bytes. */
export type Ipv6Address = Uint8Array

/** Length of an address in bytes. */
export const IPV6_LEN = 16

/** :: */
export const UNSPECIFIED: Ipv6Address = new Uint8Array(16)

/** ::1 */
export const LOOPBACK: Ipv6Address = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)

/** ff02::1, all nodes on the link. */
export const ALL_NODES: Ipv6Address = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)

/** ff02::2, all routers on the link. */
export const ALL_ROUTERS: Ipv6Address = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2)

/** ff02::16, all MLDv2-capable routers (RFC 3810 §5.2.14). */
export const ALL_MLDV2_ROUTERS: Ipv6Address = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16)

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

const parseDotted = (text: string, out: Uint8Array, at: number): boolean => {
  const parts = text.split(".")
  if (parts.length !== 4) return false
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!
    if (!/^\d{1,3}$/.test(p)) return false
    const n = Number(p)
    if (n > 255) return false
    out[at + i] = n
  }
  return true
}

/** Parses the groups of one side of "::" into 16-bit words; undefined when malformed. */
const parseGroups = (text: string, allowIpv4Tail: boolean): Array<number> | undefined => {
  if (text === "") return []
  const parts = text.split(":")
  const words: Array<number> = []
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    if (i === parts.length - 1 && allowIpv4Tail && p.includes(".")) {
      const v4 = new Uint8Array(4)
      if (!parseDotted(p, v4, 0)) return undefined
      words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
    } else {
      if (!HEX_GROUP.test(p)) return undefined
      words.push(parseInt(p, 16))
    }
  }
  return words
}

/**
 * Parses RFC 4291 §2.2 text: full, "::"-compressed, and with an embedded
 * dotted IPv4 tail ("::ffff:192.0.2.1"). No zone ("%eth0"), no brackets.
 */
export const parseIpv6 = (text: string): Ipv6Address | undefined => {
  if (text.length < 2 || text.length > 45) return undefined
  const dc = text.indexOf("::")
  let words: Array<number>
  if (dc < 0) {
    const all = parseGroups(text, true)
    if (all === undefined || all.length !== 8) return undefined
    words = all
  } else {
    if (text.indexOf("::", dc + 1) >= 0) return undefined
    const head = text.slice(0, dc)
    const tail = text.slice(dc + 2)
    const h = parseGroups(head, false)
    const t = parseGroups(tail, true)
    if (h === undefined || t === undefined) return undefined
    // "::" stands for at least one zero group (RFC 4291 §2.2 item 2).
    if (h.length + t.length > 7) return undefined
    words = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  }
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >>> 8
    out[2 * i + 1] = words[i]! & 0xff
  }
  return out
}

/**
 * RFC 5952 canonical text: lowercase, no leading zeros, the longest run of two
 * or more zero groups (the first on a tie) as "::". IPv4-mapped addresses
 * (::ffff:0:0/96) end in dotted form (§5).
 */
export const formatIpv6 = (bytes: Uint8Array, offset = 0): string => {
  const w = new Array<number>(8)
  for (let i = 0; i < 8; i++) w[i] = (bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    const b = offset + 12
    return `::ffff:${bytes[b]}.${bytes[b + 1]}.${bytes[b + 2]}.${bytes[b + 3]}`
  }
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && w[j] === 0) j++
    // RFC 5952 §4.2.2: a single zero group is never shortened.
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (from: number, to: number): string => w.slice(from, to).map((x) => x.toString(16)).join(":")
  if (bestStart < 0) return hex(0, 8)
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`
}

/** True when the 16 bytes at `a[ao]` equal those at `b[bo]`. */
export const ipv6Equals = (a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean => {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false
  return true
}

/** A copy of the 16 bytes at `buffer[offset]`. */
export const readIpv6 = (buffer: Uint8Array, offset: number): Ipv6Address => buffer.slice(offset, offset + 16)

/** Copies `address` into `buffer[offset .. offset+16)`. */
export const writeIpv6 = (buffer: Uint8Array, offset: number, address: Ipv6Address): void => {
  buffer.set(address.subarray(0, 16), offset)
}

/** True for ff00::/8. */
export const isMulticast = (a: Uint8Array, offset = 0): boolean => a[offset] === 0xff

/** True for fe80::/10. */
export const isLinkLocal = (a: Uint8Array, offset = 0): boolean =>
  a[offset] === 0xfe && (a[offset + 1]! & 0xc0) === 0x80

/** True for ::. */
export const isUnspecified = (a: Uint8Array, offset = 0): boolean => ipv6Equals(a, offset, UNSPECIFIED, 0)

/** True for ::1. */
export const isLoopback = (a: Uint8Array, offset = 0): boolean => ipv6Equals(a, offset, LOOPBACK, 0)

/**
 * The EUI-64 interface identifier of a MAC (RFC 4291 App. A): ff:fe in the
 * middle and the universal/local bit inverted.
 */
export const interfaceIdFromMac = (mac: Uint8Array): Uint8Array =>
  Uint8Array.of(mac[0]! ^ 0x02, mac[1]!, mac[2]!, 0xff, 0xfe, mac[3]!, mac[4]!, mac[5]!)

/** fe80::/64 with the EUI-64 interface identifier of `mac`. */
export const linkLocalFromMac = (mac: Uint8Array): Ipv6Address => {
  const out = new Uint8Array(16)
  out[0] = 0xfe
  out[1] = 0x80
  out.set(interfaceIdFromMac(mac), 8)
  return out
}

/** The solicited-node group of an address (RFC 4291 §2.7.1): ff02::1:ff00:0/104 plus its low 24 bits. */
export const solicitedNodeMulticast = (address: Uint8Array, offset = 0): Ipv6Address =>
  Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, address[offset + 13]!, address[offset + 14]!, address[offset + 15]!)

/** The Ethernet address of a multicast group (RFC 2464 §7): 33:33 and its low 32 bits. */
export const multicastMac = (group: Uint8Array, offset = 0): Uint8Array =>
  Uint8Array.of(0x33, 0x33, group[offset + 12]!, group[offset + 13]!, group[offset + 14]!, group[offset + 15]!)

/** An IPv6 address with its prefix length, e.g. fd00:77::1/64. */
export interface Ipv6Cidr {
  readonly address: Ipv6Address
  readonly prefixLength: number
}

/** Parses "addr/n"; undefined when malformed or n > 128. */
export const parseIpv6Cidr = (text: string): Ipv6Cidr | undefined => {
  const slash = text.indexOf("/")
  if (slash < 0) return undefined
  const address = parseIpv6(text.slice(0, slash))
  const len = text.slice(slash + 1)
  if (address === undefined || !/^\d{1,3}$/.test(len)) return undefined
  const prefixLength = Number(len)
  if (prefixLength > 128) return undefined
  return { address, prefixLength }
}

/** Formats an IPv6 CIDR as "addr/n" (canonical address text). */
export const formatIpv6Cidr = (c: Ipv6Cidr): string => `${formatIpv6(c.address)}/${c.prefixLength}`

/** True when `a` and `b` share their first `prefixLength` bits (0..128). */
export const prefixMatch = (a: Uint8Array, b: Uint8Array, prefixLength: number): boolean => {
  const full = prefixLength >>> 3
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false
  const rest = prefixLength & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (a[full]! & mask) === (b[full]! & mask)
}
