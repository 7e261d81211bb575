/**
 * UDP datagrams (RFC 768): a zero-copy view with length validation and the
 * pseudo-header checksum, and a `Repr`. A checksum of zero means "none" over
 * IPv4 and is accepted; a computed zero is sent as 0xffff.
 */
import type { Ipv4Address } from "./address.js"
import * as Checksum from "./checksum.js"
import { malformed, type Malformed } from "./malformed.js"
import { checkedView, WireView } from "./view.js"

/** Byte offsets of the header fields. */
export const field = { SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6, PAYLOAD: 8 } as const

/** Length of the header. */
export const HEADER_LEN = 8

/** IP protocol number. */
export const PROTOCOL = 17

/** Parse failures. */
export const Truncated: Malformed = malformed("truncated")
export const BadLength: Malformed = malformed("bad_length")
export const BadChecksum: Malformed = malformed("bad_checksum")
export const ZeroPort: Malformed = malformed("zero_port")

/** A view of a UDP datagram in `buffer[offset .. offset+length)`. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed` (lengths only). */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /** Validates that the length field fits within the bytes given. */
  check(): Malformed | undefined {
    if (this.offset < 0 || this.length < HEADER_LEN || this.offset + this.length > this.buffer.length) return Truncated
    const len = this.lengthField
    if (len < HEADER_LEN || len > this.length) return BadLength
    if (this.dstPort === 0) return ZeroPort
    return undefined
  }

  get srcPort(): number {
    return (this.buffer[this.offset]! << 8) | this.buffer[this.offset + 1]!
  }
  get dstPort(): number {
    return (this.buffer[this.offset + 2]! << 8) | this.buffer[this.offset + 3]!
  }
  /** The length field: header plus payload. */
  get lengthField(): number {
    return (this.buffer[this.offset + 4]! << 8) | this.buffer[this.offset + 5]!
  }
  get checksum(): number {
    return (this.buffer[this.offset + 6]! << 8) | this.buffer[this.offset + 7]!
  }
  get payloadOffset(): number {
    return this.offset + HEADER_LEN
  }
  get payloadLength(): number {
    return this.lengthField - HEADER_LEN
  }

  /** True when the checksum is right or absent (zero, allowed over IPv4 by RFC 768). */
  verifyChecksum(src: Ipv4Address, dst: Ipv4Address): boolean {
    if (this.checksum === 0) return true
    const len = this.lengthField
    return Checksum.compute(this.buffer, this.offset, len, Checksum.pseudoHeaderV4(src, dst, PROTOCOL, len)) === 0
  }

  /**
   * True when the checksum is right given the pseudo-header's partial sum
   * (`ipv6.pseudoHeaderV6(src, dst, 17, lengthField)`). Over IPv6 a zero
   * checksum is invalid (RFC 8200 §8.1).
   */
  verifyChecksumV6(pseudo: number): boolean {
    if (this.checksum === 0) return false
    return Checksum.compute(this.buffer, this.offset, this.lengthField, pseudo) === 0
  }

  /** Computes the checksum in place over header and payload. */
  fillChecksum(src: Ipv4Address, dst: Ipv4Address): void {
    const len = this.lengthField
    const o = this.offset + field.CHECKSUM
    this.buffer[o] = 0
    this.buffer[o + 1] = 0
    let c = Checksum.compute(this.buffer, this.offset, len, Checksum.pseudoHeaderV4(src, dst, PROTOCOL, len))
    if (c === 0) c = 0xffff // RFC 768: a computed zero is transmitted as all ones
    this.buffer[o] = c >>> 8
    this.buffer[o + 1] = c & 0xff
  }
}

/** A parsed datagram header. */
export interface Repr {
  readonly srcPort: number
  readonly dstPort: number
  readonly payloadLength: number
}

/** Parses and verifies a datagram between `src` and `dst`, or `Malformed`. */
export const parse = (
  buffer: Uint8Array,
  offset: number,
  length: number,
  src: Ipv4Address,
  dst: Ipv4Address
): Repr | Malformed => {
  const p = Packet.checked(buffer, offset, length)
  if (!(p instanceof Packet)) return p
  if (!p.verifyChecksum(src, dst)) return BadChecksum
  return { srcPort: p.srcPort, dstPort: p.dstPort, payloadLength: p.payloadLength }
}

/** Bytes the datagram takes. */
export const bufferLen = (repr: Repr): number => HEADER_LEN + repr.payloadLength

/**
 * Writes the header at `buffer[offset]` and, the payload being already in place
 * right after it, fills the checksum.
 */
export const emit = (repr: Repr, buffer: Uint8Array, offset: number, src: Ipv4Address, dst: Ipv4Address): void => {
  emitHeader(buffer, offset, repr.srcPort, repr.dstPort, repr.payloadLength, src, dst)
}

/** `emit` from parts (no `Repr` object needed on the hot path). */
export const emitHeader = (
  buffer: Uint8Array,
  offset: number,
  srcPort: number,
  dstPort: number,
  payloadLength: number,
  src: Ipv4Address,
  dst: Ipv4Address
): void => {
  const len = HEADER_LEN + payloadLength
  emitHeaderPseudo(buffer, offset, srcPort, dstPort, payloadLength, Checksum.pseudoHeaderV4(src, dst, PROTOCOL, len))
}

/**
 * `emitHeader` with the pseudo-header's partial sum given (length and
 * protocol included): for IPv6, `ipv6.pseudoHeaderV6(src, dst, 17, 8 + payloadLength)`.
 */
export const emitHeaderPseudo = (
  buffer: Uint8Array,
  offset: number,
  srcPort: number,
  dstPort: number,
  payloadLength: number,
  pseudo: number
): void => {
  const len = HEADER_LEN + payloadLength
  buffer[offset] = srcPort >>> 8
  buffer[offset + 1] = srcPort & 0xff
  buffer[offset + 2] = dstPort >>> 8
  buffer[offset + 3] = dstPort & 0xff
  buffer[offset + 4] = len >>> 8
  buffer[offset + 5] = len & 0xff
  buffer[offset + 6] = 0
  buffer[offset + 7] = 0
  let c = Checksum.compute(buffer, offset, len, pseudo)
  if (c === 0) c = 0xffff // RFC 768 / RFC 8200 §8.1: a computed zero is transmitted as all ones
  buffer[offset + 6] = c >>> 8
  buffer[offset + 7] = c & 0xff
}
