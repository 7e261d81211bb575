/**
 * Addresses as the hot path wants them: an IPv4 address is an unsigned 32-bit
 * number, a MAC address a 6-byte Uint8Array. Parsing text returns undefined
 * for bad input instead of throwing.
 */
import { formatIpv6, parseIpv6 } from "./ipv6/address.js"

/** An IPv4 address as an unsigned 32-bit integer (network order value). */
export type Ipv4Address = number

/** A MAC address: exactly 6 bytes. */
export type MacAddress = Uint8Array

/** The Ethernet broadcast address ff:ff:ff:ff:ff:ff. */
export const MAC_BROADCAST: MacAddress = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])

/** 00:00:00:00:00:00, used as the unknown target in ARP requests. */
export const MAC_ZERO: MacAddress = new Uint8Array(6)

/** 255.255.255.255 */
export const IPV4_BROADCAST: Ipv4Address = 0xffffffff

/** 0.0.0.0 */
export const IPV4_ANY: Ipv4Address = 0

/** Parses dotted-quad text ("192.168.1.2"); undefined when not exactly that. */
export const parseIpv4 = (text: string): Ipv4Address | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = value * 256 + n
  }
  return value >>> 0
}

/** Formats an IPv4 address as dotted-quad text. */
export const formatIpv4 = (a: Ipv4Address): string =>
  `${(a >>> 24) & 0xff}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`

/** An IPv4 address with its prefix length, e.g. 192.168.1.2/24. */
export interface Ipv4Cidr {
  readonly address: Ipv4Address
  readonly prefixLength: number
}

/** Parses "a.b.c.d/n"; undefined when malformed or n > 32. */
export const parseIpv4Cidr = (text: string): Ipv4Cidr | undefined => {
  const slash = text.indexOf("/")
  if (slash < 0) return undefined
  const address = parseIpv4(text.slice(0, slash))
  const len = text.slice(slash + 1)
  if (address === undefined || !/^\d{1,2}$/.test(len)) return undefined
  const prefixLength = Number(len)
  if (prefixLength > 32) return undefined
  return { address, prefixLength }
}

/** Formats an IPv4 CIDR as "a.b.c.d/n". */
export const formatIpv4Cidr = (c: Ipv4Cidr): string => `${formatIpv4(c.address)}/${c.prefixLength}`

/** The netmask for a prefix length (e.g. 24 → 255.255.255.0). */
export const ipv4Netmask = (prefixLength: number): Ipv4Address =>
  prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0

/** True when `a` and `b` share the first `prefixLength` bits. */
export const ipv4SameSubnet = (a: Ipv4Address, b: Ipv4Address, prefixLength: number): boolean => {
  const mask = ipv4Netmask(prefixLength)
  return ((a & mask) >>> 0) === ((b & mask) >>> 0)
}

/** The directed broadcast address of a subnet (host bits all ones). */
export const ipv4SubnetBroadcast = (c: Ipv4Cidr): Ipv4Address =>
  (c.address | ~ipv4Netmask(c.prefixLength)) >>> 0

/** True for 224.0.0.0/4. */
export const ipv4IsMulticast = (a: Ipv4Address): boolean => a >>> 28 === 0xe

/** Reads a big-endian IPv4 address at `offset`. */
export const readIpv4 = (buf: Uint8Array, offset: number): Ipv4Address =>
  ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0

/** Writes a big-endian IPv4 address at `offset`. */
export const writeIpv4 = (buf: Uint8Array, offset: number, a: Ipv4Address): void => {
  buf[offset] = a >>> 24
  buf[offset + 1] = (a >>> 16) & 0xff
  buf[offset + 2] = (a >>> 8) & 0xff
  buf[offset + 3] = a & 0xff
}

/** Parses "02:00:00:00:00:02" (or with dashes); undefined when malformed. */
export const parseMac = (text: string): MacAddress | undefined => {
  const parts = text.split(/[:-]/)
  if (parts.length !== 6) return undefined
  const mac = new Uint8Array(6)
  for (let i = 0; i < 6; i++) {
    if (!/^[0-9a-fA-F]{2}$/.test(parts[i]!)) return undefined
    mac[i] = parseInt(parts[i]!, 16)
  }
  return mac
}

/** Formats a MAC address as lower-case colon-separated hex. */
export const formatMac = (mac: Uint8Array, offset = 0): string => {
  let s = ""
  for (let i = 0; i < 6; i++) {
    if (i > 0) s += ":"
    s += mac[offset + i]!.toString(16).padStart(2, "0")
  }
  return s
}

/** Compares 6 bytes at `a[ao]` with `b[bo]`. */
export const macEquals = (a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean =>
  a[ao] === b[bo] && a[ao + 1] === b[bo + 1] && a[ao + 2] === b[bo + 2] &&
  a[ao + 3] === b[bo + 3] && a[ao + 4] === b[bo + 4] && a[ao + 5] === b[bo + 5]

/** True when the MAC at `offset` is ff:ff:ff:ff:ff:ff. */
export const macIsBroadcast = (a: Uint8Array, offset: number): boolean =>
  (a[offset]! & a[offset + 1]! & a[offset + 2]! & a[offset + 3]! & a[offset + 4]! & a[offset + 5]!) === 0xff

/** True when the group bit is set (multicast or broadcast). */
export const macIsMulticast = (a: Uint8Array, offset: number): boolean => (a[offset]! & 1) === 1

/** Copies 6 bytes of MAC address from `src[so]` to `dst[d]` (no view allocated). */
export const copyMac = (dst: Uint8Array, d: number, src: Uint8Array, so = 0): void => {
  dst[d] = src[so]!
  dst[d + 1] = src[so + 1]!
  dst[d + 2] = src[so + 2]!
  dst[d + 3] = src[so + 3]!
  dst[d + 4] = src[so + 4]!
  dst[d + 5] = src[so + 5]!
}

/**
 * An IP address of either family: an IPv4 address is a number, an IPv6
 * address a 16-byte Uint8Array (`typeof a === "number"` tells them apart).
 */
export type IpAddress = Ipv4Address | Uint8Array

/** Text of an address of either family (RFC 5952 for IPv6). */
export const formatIp = (a: IpAddress): string => typeof a === "number" ? formatIpv4(a) : formatIpv6(a)

/** Parses a dotted IPv4 or an RFC 4291 IPv6 address (no brackets, no zone); undefined when neither. */
export const parseIp = (text: string): IpAddress | undefined =>
  text.includes(":") ? parseIpv6(text) : parseIpv4(text)

/** An address as it appears before `:port` in a URL or log: IPv6 in brackets. */
export const formatIpHost = (a: IpAddress): string => typeof a === "number" ? formatIpv4(a) : `[${formatIpv6(a)}]`

