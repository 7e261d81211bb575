/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones'
 * complement sum of 16-bit big-endian words. `sum` accumulates without folding
 * so pieces (pseudo-header, header, payload) can be added cheaply.
 */
import type { Ipv4Address } from "./address.js"

/** Adds the 16-bit words of `buf[offset .. offset+length)` to `initial` (odd byte padded with zero). */
export const sum = (buf: Uint8Array, offset: number, length: number, initial = 0): number => {
  let acc = initial
  const end = offset + length
  let i = offset
  // Fold periodically so the accumulator stays a small integer (fast SMI path in V8).
  while (i + 1 < end) {
    acc += (buf[i]! << 8) | buf[i + 1]!
    i += 2
    if (acc > 0x3fffffff) acc = (acc & 0xffff) + (acc >>> 16)
  }
  if (i < end) acc += buf[i]! << 8
  return acc
}

/** Folds an accumulated sum to 16 bits and complements it: the checksum field value. */
export const finish = (acc: number): number => {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16)
  return ~acc & 0xffff
}

/** The checksum of `buf[offset .. offset+length)` starting from `initial`. */
export const compute = (buf: Uint8Array, offset: number, length: number, initial = 0): number =>
  finish(sum(buf, offset, length, initial))

/** The partial sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1). */
export const pseudoHeaderV4 = (src: Ipv4Address, dst: Ipv4Address, protocol: number, length: number): number =>
  (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length
