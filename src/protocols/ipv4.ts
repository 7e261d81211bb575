/**
 * IPv4 headers (RFC 791): a zero-copy view with validation of version, header
 * length, total length and checksum, and a `Repr` of the fields a host uses.
 * Options are skipped, never interpreted (RFC 1122 §3.2.1.8 lets a host ignore
 * the ones it does not implement).
 */
import { readIpv4, writeIpv4, type Ipv4Address } from "./address.js"
import * as Checksum from "./checksum.js"
import { malformed, type Malformed } from "./malformed.js"
import { checkedView, WireView } from "./view.js"

/** Byte offsets of the header fields. */
export const field = {
  VER_IHL: 0,
  DSCP_ECN: 1,
  LENGTH: 2,
  IDENT: 4,
  FLG_OFF: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16
} as const

/** Length of a header without options. */
export const HEADER_LEN = 20

/** IP protocol numbers the stack knows. */
export const Protocol = { Icmp: 1, Tcp: 6, Udp: 17, Icmpv6: 58 } as const

/** Parse failures. */
export const Truncated: Malformed = malformed("truncated")
export const BadVersion: Malformed = malformed("bad_version")
export const BadHeaderLength: Malformed = malformed("bad_header_length")
export const BadTotalLength: Malformed = malformed("bad_total_length")
export const BadChecksum: Malformed = malformed("bad_checksum")

const FLAG_DF = 0x4000
const FLAG_MF = 0x2000

/** A view of an IPv4 packet in `buffer[offset .. offset+length)`. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed` (lengths checked, not the checksum). */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /**
   * Validates lengths so no getter reads out of range. Bytes past the total
   * length (Ethernet padding) are allowed; use `totalLength` for the packet.
   */
  check(): Malformed | undefined {
    if (this.offset < 0 || this.length < HEADER_LEN || this.offset + this.length > this.buffer.length) return Truncated
    if (this.version !== 4) return BadVersion
    const hl = this.headerLength
    if (hl < HEADER_LEN || hl > this.length) return BadHeaderLength
    const tl = this.totalLength
    if (tl < hl || tl > this.length) return BadTotalLength
    return undefined
  }

  get version(): number {
    return this.buffer[this.offset]! >>> 4
  }
  /** Header length in bytes (IHL × 4). */
  get headerLength(): number {
    return (this.buffer[this.offset]! & 0x0f) * 4
  }
  get dscpEcn(): number {
    return this.buffer[this.offset + field.DSCP_ECN]!
  }
  get totalLength(): number {
    const o = this.offset + field.LENGTH
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  get ident(): number {
    const o = this.offset + field.IDENT
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  get dontFragment(): boolean {
    return (this.flagsOffset & FLAG_DF) !== 0
  }
  get moreFragments(): boolean {
    return (this.flagsOffset & FLAG_MF) !== 0
  }
  /** Fragment offset in bytes. */
  get fragmentOffset(): number {
    return (this.flagsOffset & 0x1fff) * 8
  }
  get ttl(): number {
    return this.buffer[this.offset + field.TTL]!
  }
  set ttl(v: number) {
    this.buffer[this.offset + field.TTL] = v
  }
  get protocol(): number {
    return this.buffer[this.offset + field.PROTOCOL]!
  }
  get checksum(): number {
    const o = this.offset + field.CHECKSUM
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  get src(): Ipv4Address {
    return readIpv4(this.buffer, this.offset + field.SRC)
  }
  get dst(): Ipv4Address {
    return readIpv4(this.buffer, this.offset + field.DST)
  }
  /** True when this is a fragment (MF set or a non-zero offset). */
  get isFragment(): boolean {
    return (this.flagsOffset & 0x3fff) !== 0
  }
  private get flagsOffset(): number {
    const o = this.offset + field.FLG_OFF
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }

  /** True when the header checksum is right. */
  verifyChecksum(): boolean {
    return Checksum.compute(this.buffer, this.offset, this.headerLength) === 0
  }
  /** Recomputes the header checksum in place. */
  fillChecksum(): void {
    const o = this.offset + field.CHECKSUM
    this.buffer[o] = 0
    this.buffer[o + 1] = 0
    const c = Checksum.compute(this.buffer, this.offset, this.headerLength)
    this.buffer[o] = c >>> 8
    this.buffer[o + 1] = c & 0xff
  }

  /** Offset of the payload in `buffer`. */
  get payloadOffset(): number {
    return this.offset + this.headerLength
  }
  /** Payload length according to the total length field. */
  get payloadLength(): number {
    return this.totalLength - this.headerLength
  }
}

/** The header fields a host sends and receives. */
export interface Repr {
  readonly src: Ipv4Address
  readonly dst: Ipv4Address
  readonly protocol: number
  readonly payloadLength: number
  readonly ttl: number
  readonly ident: number
  readonly dscpEcn: number
  readonly dontFragment: boolean
  readonly moreFragments: boolean
  /** In bytes, a multiple of 8. */
  readonly fragmentOffset: number
}

/** Parses untrusted bytes into a `Repr` (checksum verified), or `Malformed`. */
export const parse = (buffer: Uint8Array, offset = 0, length = buffer.length - offset): Repr | Malformed => {
  const p = Packet.checked(buffer, offset, length)
  if (!(p instanceof Packet)) return p
  if (!p.verifyChecksum()) return BadChecksum
  return {
    src: p.src,
    dst: p.dst,
    protocol: p.protocol,
    payloadLength: p.payloadLength,
    ttl: p.ttl,
    ident: p.ident,
    dscpEcn: p.dscpEcn,
    dontFragment: p.dontFragment,
    moreFragments: p.moreFragments,
    fragmentOffset: p.fragmentOffset
  }
}

/** Bytes the header takes (no options are emitted). */
export const bufferLen = (_repr?: Repr): number => HEADER_LEN

/** Writes a 20-byte header with its checksum at `buffer[offset]`. */
export const emit = (repr: Repr, buffer: Uint8Array, offset = 0): void => {
  emitHeader(
    buffer,
    offset,
    repr.src,
    repr.dst,
    repr.protocol,
    repr.payloadLength,
    repr.ttl,
    repr.ident,
    repr.dscpEcn,
    (repr.dontFragment ? FLAG_DF : 0) | (repr.moreFragments ? FLAG_MF : 0) | (repr.fragmentOffset >>> 3)
  )
}

/**
 * Writes a 20-byte header from its parts, with its checksum. `flagsOffset` is
 * the raw flags/fragment-offset word (DF 0x4000, MF 0x2000, offset in 8-byte units).
 */
export const emitHeader = (
  buffer: Uint8Array,
  offset: number,
  src: Ipv4Address,
  dst: Ipv4Address,
  protocol: number,
  payloadLength: number,
  ttl: number,
  ident: number,
  dscpEcn: number,
  flagsOffset: number
): void => {
  const total = HEADER_LEN + payloadLength
  buffer[offset] = 0x45
  buffer[offset + 1] = dscpEcn
  buffer[offset + 2] = total >>> 8
  buffer[offset + 3] = total & 0xff
  buffer[offset + 4] = (ident >>> 8) & 0xff
  buffer[offset + 5] = ident & 0xff
  buffer[offset + 6] = flagsOffset >>> 8
  buffer[offset + 7] = flagsOffset & 0xff
  buffer[offset + 8] = ttl
  buffer[offset + 9] = protocol
  buffer[offset + 10] = 0
  buffer[offset + 11] = 0
  writeIpv4(buffer, offset + 12, src)
  writeIpv4(buffer, offset + 16, dst)
  const c = Checksum.compute(buffer, offset, HEADER_LEN)
  buffer[offset + 10] = c >>> 8
  buffer[offset + 11] = c & 0xff
}

/** Flag bits for `emitHeader`'s flagsOffset. */
export const Flags = { DontFragment: FLAG_DF, MoreFragments: FLAG_MF } as const
