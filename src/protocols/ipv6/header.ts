/**
 * IPv6 headers (RFC 8200): a zero-copy view of the fixed 40-byte header, a
 * `Repr` of its fields, the pseudo-header sum for ICMPv6/UDP/TCP checksums,
 * and a bounded walker over the extension-header chain that never throws and
 * says what to do with the packet: deliver, reassemble, drop, or answer with
 * an ICMPv6 parameter problem.
 */
import { readIpv6, writeIpv6, type Ipv6Address } from "./address.js"
import { malformed, type Malformed } from "../malformed.js"
import { checkedView, WireView } from "../view.js"

/** Byte offsets of the fixed header fields. */
export const field = {
  VER_TC_FL: 0,
  PAYLOAD_LEN: 4,
  NEXT_HEADER: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24
} as const

/** Length of the fixed header. */
export const HEADER_LEN = 40

/** Next Header values the stack knows (IANA protocol numbers). */
export const NextHeader = {
  HopByHop: 0,
  Tcp: 6,
  Udp: 17,
  Routing: 43,
  Fragment: 44,
  Esp: 50,
  Ah: 51,
  Icmpv6: 58,
  NoNextHeader: 59,
  DestinationOptions: 60
} as const

/** Parse failures. */
export const Truncated: Malformed = malformed("truncated")
export const BadVersion: Malformed = malformed("bad_version")
export const BadPayloadLength: Malformed = malformed("bad_payload_length")

/** A view of an IPv6 packet in `buffer[offset .. offset+length)`. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed`. */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /**
   * Validates lengths so no getter reads out of range. Bytes past the payload
   * length (Ethernet padding) are allowed. A zero payload length with a
   * Hop-by-Hop header would be a jumbogram (RFC 2675), which a link with a
   * 16-bit MTU never carries: it reads as an empty payload.
   */
  check(): Malformed | undefined {
    if (this.offset < 0 || this.length < HEADER_LEN || this.offset + this.length > this.buffer.length) return Truncated
    if (this.version !== 6) return BadVersion
    if (HEADER_LEN + this.payloadLength > this.length) return BadPayloadLength
    return undefined
  }

  get version(): number {
    return this.buffer[this.offset]! >>> 4
  }
  /** DSCP and ECN (RFC 8200 §7). */
  get trafficClass(): number {
    const o = this.offset
    return ((this.buffer[o]! & 0x0f) << 4) | (this.buffer[o + 1]! >>> 4)
  }
  /** The 20-bit flow label (RFC 6437). */
  get flowLabel(): number {
    const o = this.offset
    return ((this.buffer[o + 1]! & 0x0f) << 16) | (this.buffer[o + 2]! << 8) | this.buffer[o + 3]!
  }
  /** Bytes after the fixed header, extension headers included. */
  get payloadLength(): number {
    const o = this.offset + field.PAYLOAD_LEN
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  get nextHeader(): number {
    return this.buffer[this.offset + field.NEXT_HEADER]!
  }
  get hopLimit(): number {
    return this.buffer[this.offset + field.HOP_LIMIT]!
  }
  set hopLimit(v: number) {
    this.buffer[this.offset + field.HOP_LIMIT] = v
  }
  /** Offset of the source address in `buffer` (no copy). */
  get srcOffset(): number {
    return this.offset + field.SRC
  }
  /** Offset of the destination address in `buffer` (no copy). */
  get dstOffset(): number {
    return this.offset + field.DST
  }
  /** A copy of the source address. */
  get src(): Ipv6Address {
    return readIpv6(this.buffer, this.offset + field.SRC)
  }
  /** A copy of the destination address. */
  get dst(): Ipv6Address {
    return readIpv6(this.buffer, this.offset + field.DST)
  }
  /** Offset of the payload (the first extension header, if any) in `buffer`. */
  get payloadOffset(): number {
    return this.offset + HEADER_LEN
  }
  /** Header plus payload: the packet without link padding. */
  get totalLength(): number {
    return HEADER_LEN + this.payloadLength
  }
}

/** The fixed-header fields a host sends and receives. */
export interface Repr {
  readonly src: Ipv6Address
  readonly dst: Ipv6Address
  readonly nextHeader: number
  readonly payloadLength: number
  readonly hopLimit: number
  readonly trafficClass: number
  readonly flowLabel: number
}

/** Parses untrusted bytes into a `Repr`, or `Malformed`. */
export const parse = (buffer: Uint8Array, offset = 0, length = buffer.length - offset): Repr | Malformed => {
  const p = Packet.checked(buffer, offset, length)
  if (!(p instanceof Packet)) return p
  return {
    src: p.src,
    dst: p.dst,
    nextHeader: p.nextHeader,
    payloadLength: p.payloadLength,
    hopLimit: p.hopLimit,
    trafficClass: p.trafficClass,
    flowLabel: p.flowLabel
  }
}

/** Bytes the fixed header takes. */
export const bufferLen = (_repr?: Repr): number => HEADER_LEN

/** Writes the 40-byte fixed header at `buffer[offset]`. */
export const emit = (repr: Repr, buffer: Uint8Array, offset = 0): void => {
  const tc = repr.trafficClass & 0xff
  const fl = repr.flowLabel & 0xfffff
  buffer[offset] = 0x60 | (tc >>> 4)
  buffer[offset + 1] = ((tc & 0x0f) << 4) | (fl >>> 16)
  buffer[offset + 2] = (fl >>> 8) & 0xff
  buffer[offset + 3] = fl & 0xff
  buffer[offset + 4] = (repr.payloadLength >>> 8) & 0xff
  buffer[offset + 5] = repr.payloadLength & 0xff
  buffer[offset + 6] = repr.nextHeader
  buffer[offset + 7] = repr.hopLimit
  writeIpv6(buffer, offset + field.SRC, repr.src)
  writeIpv6(buffer, offset + field.DST, repr.dst)
}

/**
 * The partial sum of the IPv6 pseudo-header (RFC 8200 §8.1) for `Checksum.compute`'s
 * `initial`: source, destination, the 32-bit upper-layer length and the next
 * header value. Addresses are read at `srcOffset`/`dstOffset`, so a received
 * packet's own bytes can be passed without copying.
 */
export const pseudoHeaderV6 = (
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  upperLength: number,
  srcOffset = 0,
  dstOffset = 0
): number => {
  let acc = 0
  for (let i = 0; i < 16; i += 2) {
    acc += (src[srcOffset + i]! << 8) | src[srcOffset + i + 1]!
    acc += (dst[dstOffset + i]! << 8) | dst[dstOffset + i + 1]!
  }
  return acc + (upperLength >>> 16) + (upperLength & 0xffff) + nextHeader
}

/** Length of a Fragment header. */
export const FRAGMENT_HEADER_LEN = 8

/** Writes a Fragment header (RFC 8200 §4.5); `fragmentOffset` in bytes, a multiple of 8. */
export const emitFragmentHeader = (
  buffer: Uint8Array,
  offset: number,
  nextHeader: number,
  fragmentOffset: number,
  moreFragments: boolean,
  identification: number
): void => {
  const word = (fragmentOffset & 0xfff8) | (moreFragments ? 1 : 0)
  buffer[offset] = nextHeader
  buffer[offset + 1] = 0
  buffer[offset + 2] = word >>> 8
  buffer[offset + 3] = word & 0xff
  buffer[offset + 4] = (identification >>> 24) & 0xff
  buffer[offset + 5] = (identification >>> 16) & 0xff
  buffer[offset + 6] = (identification >>> 8) & 0xff
  buffer[offset + 7] = identification & 0xff
}

// --- extension headers ------------------------------------------------------

/** The most extension headers the walker follows before dropping the packet. */
export const MAX_EXTENSION_HEADERS = 16

/** ICMPv6 parameter problem codes (RFC 4443 §3.4). */
export const ParamProblemCode = {
  ErroneousHeaderField: 0,
  UnrecognizedNextHeader: 1,
  UnrecognizedOption: 2
} as const

/** Why the walker dropped a packet without an ICMPv6 error. */
export type DropReason =
  | "truncated"
  | "too_many_headers"
  | "bad_option_length"
  /** An unknown option whose action bits say discard silently (01, or 11 to a multicast destination). */
  | "unknown_option"

/** What the chain says to do with a packet. Pointers are offsets from the start of the IPv6 header. */
export type ExtensionResult =
  | {
    /** Deliver `buffer[offset .. offset+length)` to `protocol` (which may be unknown to the caller). */
    readonly _tag: "Upper"
    readonly protocol: number
    readonly offset: number
    readonly length: number
    /** Where the byte naming `protocol` sits: the pointer of an "unrecognized next header" error. */
    readonly nextHeaderPointer: number
  }
  | {
    /** A fragment: reassemble, then walk the reassembled payload from `nextHeader`. */
    readonly _tag: "Fragment"
    readonly nextHeader: number
    /** In bytes. */
    readonly fragmentOffset: number
    readonly moreFragments: boolean
    readonly identification: number
    /** Offset of the Fragment header in `buffer`. */
    readonly headerOffset: number
    /** Offset of the fragment's data (the fragmentable part) in `buffer`. */
    readonly dataOffset: number
    readonly dataLength: number
  }
  | { readonly _tag: "NoNextHeader" }
  | { readonly _tag: "Drop"; readonly reason: DropReason }
  | { readonly _tag: "ParamProblem"; readonly code: 0 | 1 | 2; readonly pointer: number }

/** Options for `walkExtensions`. */
export interface WalkOptions {
  /** The packet went to a multicast group (RFC 8200 §4.2: action 11 sends no error then). */
  readonly multicast?: boolean
  /** Offset of the IPv6 header in `buffer`, for error pointers (default: `offset - 40`). */
  readonly headerOffset?: number
}

const dropTruncated: ExtensionResult = Object.freeze({ _tag: "Drop", reason: "truncated" })
const dropTooMany: ExtensionResult = Object.freeze({ _tag: "Drop", reason: "too_many_headers" })
const dropOptionLength: ExtensionResult = Object.freeze({ _tag: "Drop", reason: "bad_option_length" })
const dropUnknownOption: ExtensionResult = Object.freeze({ _tag: "Drop", reason: "unknown_option" })
const noNextHeader: ExtensionResult = Object.freeze({ _tag: "NoNextHeader" })

const paramProblem = (code: 0 | 1 | 2, pointer: number): ExtensionResult => ({ _tag: "ParamProblem", code, pointer })

/**
 * Walks the options of a Hop-by-Hop or Destination Options header at
 * `buffer[start .. end)`; undefined when every option may be skipped.
 */
const walkOptions = (
  buffer: Uint8Array,
  start: number,
  end: number,
  multicast: boolean,
  base: number
): ExtensionResult | undefined => {
  let i = start + 2
  while (i < end) {
    const type = buffer[i]!
    if (type === 0) {
      i += 1 // Pad1
      continue
    }
    if (i + 2 > end) return dropOptionLength
    const next = i + 2 + buffer[i + 1]!
    if (next > end) return dropOptionLength
    if (type !== 1) {
      // No option other than padding is implemented; RFC 8200 §4.2: the two
      // high bits of the type say what to do with one we do not recognize.
      switch (type >>> 6) {
        case 0:
          break
        case 1:
          return dropUnknownOption
        case 2:
          return paramProblem(2, i - base)
        default:
          return multicast ? dropUnknownOption : paramProblem(2, i - base)
      }
    }
    i = next
  }
  return undefined
}

/**
 * Follows the extension headers in `buffer[offset .. offset+length)`, the
 * payload of an IPv6 header whose Next Header is `firstNextHeader`. Stops at
 * the upper layer, a Fragment header, No Next Header, or a verdict. Never
 * throws; follows at most `MAX_EXTENSION_HEADERS` headers.
 */
export const walkExtensions = (
  buffer: Uint8Array,
  offset: number,
  length: number,
  firstNextHeader: number,
  options?: WalkOptions
): ExtensionResult => {
  if (offset < 0 || length < 0 || offset + length > buffer.length) return dropTruncated
  const multicast = options?.multicast ?? false
  const base = options?.headerOffset ?? offset - HEADER_LEN
  const end = offset + length
  let nh = firstNextHeader
  // The byte that named `nh`: the fixed header's Next Header field to begin with.
  let nhAt = base + field.NEXT_HEADER
  let at = offset
  for (let count = 0; ; count++) {
    switch (nh) {
      case NextHeader.HopByHop:
      case NextHeader.DestinationOptions:
      case NextHeader.Routing:
      case NextHeader.Fragment:
        break
      case NextHeader.NoNextHeader:
        // RFC 8200 §4.7: anything after it is ignored.
        return noNextHeader
      default:
        return { _tag: "Upper", protocol: nh, offset: at, length: end - at, nextHeaderPointer: nhAt - base }
    }
    if (count >= MAX_EXTENSION_HEADERS) return dropTooMany
    // RFC 8200 §4.1: Hop-by-Hop only straight after the fixed header.
    if (nh === NextHeader.HopByHop && count !== 0) return paramProblem(1, nhAt - base)
    if (at + 8 > end) return dropTruncated
    if (nh === NextHeader.Fragment) {
      const word = (buffer[at + 2]! << 8) | buffer[at + 3]!
      const fragmentOffset = word & 0xfff8
      const moreFragments = (word & 1) !== 0
      const dataOffset = at + FRAGMENT_HEADER_LEN
      const dataLength = end - dataOffset
      // RFC 8200 §4.5: a non-final fragment carries a multiple of 8 bytes …
      if (moreFragments && (dataLength & 7) !== 0) return paramProblem(0, field.PAYLOAD_LEN)
      // … and no fragment reaches past 65535 bytes.
      if (fragmentOffset + dataLength > 0xffff) return paramProblem(0, at + 2 - base)
      return {
        _tag: "Fragment",
        nextHeader: buffer[at]!,
        fragmentOffset,
        moreFragments,
        identification: ((buffer[at + 4]! << 24) | (buffer[at + 5]! << 16) | (buffer[at + 6]! << 8) | buffer[at + 7]!) >>> 0,
        headerOffset: at,
        dataOffset,
        dataLength
      }
    }
    const headerEnd = at + (buffer[at + 1]! + 1) * 8
    if (headerEnd > end) return dropTruncated
    if (nh === NextHeader.Routing) {
      // RFC 8200 §4.4: a host is the last hop; with segments left it would
      // have to forward, which it does not (RFC 5095: and never by type 0).
      if (buffer[at + 3] !== 0) return paramProblem(0, at + 2 - base)
    } else {
      const verdict = walkOptions(buffer, at, headerEnd, multicast, base)
      if (verdict !== undefined) return verdict
    }
    nhAt = at
    nh = buffer[at]!
    at = headerEnd
  }
}
