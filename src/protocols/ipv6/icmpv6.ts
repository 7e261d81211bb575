/**
 * ICMP for IPv6 (RFC 4443): a zero-copy view whose checksum covers the IPv6
 * pseudo-header (RFC 8200 §8.1), and a `Repr` for echo and the error messages.
 * NDP and MLD messages parse here as `Other`; `ndp.ts` reads them.
 */
import * as Checksum from "../checksum.js"
import { malformed, type Malformed } from "../malformed.js"
import { checkedView, WireView } from "../view.js"

/** Byte offsets of the fields. */
export const field = { TYPE: 0, CODE: 1, CHECKSUM: 2, IDENT: 4, SEQ: 6, MTU: 4, POINTER: 4, DATA: 8 } as const

/** Length of the fixed header. */
export const HEADER_LEN = 8

/** The IPv6 minimum link MTU (RFC 8200 §5). */
export const MIN_MTU = 1280

/** Length of the fixed IPv6 header. */
const IPV6_HEADER_LEN = 40

/** The IPv6 next-header value of ICMPv6. */
export const NEXT_HEADER = 58

/** Most bytes of the offending packet an error message quotes (RFC 4443 §2.4(c): the whole packet fits 1280). */
export const MAX_QUOTE_LEN = MIN_MTU - IPV6_HEADER_LEN - HEADER_LEN

/** Message types. */
export const Type = {
  DstUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParamProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  RouterSolicit: 133,
  RouterAdvert: 134,
  NeighborSolicit: 135,
  NeighborAdvert: 136,
  MldQuery: 130,
  Mldv2Report: 143
} as const

/** Destination unreachable codes (RFC 4443 §3.1). */
export const Unreachable = {
  NoRoute: 0,
  AdminProhibited: 1,
  BeyondScope: 2,
  Address: 3,
  Port: 4,
  SourcePolicy: 5,
  RejectRoute: 6
} as const

/** Time exceeded codes (RFC 4443 §3.3). */
export const TimeExceededCode = { HopLimit: 0, ReassemblyTimeout: 1 } as const

/** Parameter problem codes (RFC 4443 §3.4). */
export const ParamProblemCode = { HeaderField: 0, NextHeader: 1, Option: 2 } as const

/** Parse failures. */
export const Truncated: Malformed = malformed("truncated")
export const BadChecksum: Malformed = malformed("bad_checksum")

/** True for error messages (RFC 4443 §2.1: types 0-127). */
export const isError = (type: number): boolean => type < 128

// RFC 8200 §8.1: source, destination, 32-bit upper-layer length, 24 zero bits, next header.
const pseudoHeaderSum = (src: Uint8Array, dst: Uint8Array, length: number): number =>
  Checksum.sum(dst, 0, 16, Checksum.sum(src, 0, 16)) + (length >>> 16) + (length & 0xffff) + NEXT_HEADER

/** A view of an ICMPv6 message in `buffer[offset .. offset+length)`. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed` (length only). */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /** Validates the length once so that no getter reads out of range. */
  check(): Malformed | undefined {
    return this.offset < 0 || this.length < HEADER_LEN || this.offset + this.length > this.buffer.length
      ? Truncated
      : undefined
  }

  get type(): number {
    return this.buffer[this.offset]!
  }
  set type(v: number) {
    this.buffer[this.offset] = v
  }
  get code(): number {
    return this.buffer[this.offset + field.CODE]!
  }
  set code(v: number) {
    this.buffer[this.offset + field.CODE] = v
  }
  get checksum(): number {
    const o = this.offset + field.CHECKSUM
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  get ident(): number {
    const o = this.offset + field.IDENT
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  get seqNo(): number {
    const o = this.offset + field.SEQ
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  /** The 32 bits after the checksum: MTU of packet too big, pointer of parameter problem. */
  get rest(): number {
    const b = this.buffer
    const o = this.offset + 4
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0
  }
  get dataOffset(): number {
    return this.offset + HEADER_LEN
  }
  get dataLength(): number {
    return this.length - HEADER_LEN
  }

  /** True when the checksum over the pseudo-header and the whole message is right. */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    return Checksum.compute(this.buffer, this.offset, this.length, pseudoHeaderSum(src, dst, this.length)) === 0
  }
  /** Recomputes the checksum in place over the pseudo-header and the whole message. */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    const o = this.offset + field.CHECKSUM
    this.buffer[o] = 0
    this.buffer[o + 1] = 0
    const c = Checksum.compute(this.buffer, this.offset, this.length, pseudoHeaderSum(src, dst, this.length))
    this.buffer[o] = c >>> 8
    this.buffer[o + 1] = c & 0xff
  }
}

/** A parsed ICMPv6 message. `data`/`quote` are copies. */
export type Repr =
  | { readonly _tag: "EchoRequest"; readonly ident: number; readonly seqNo: number; readonly data: Uint8Array }
  | { readonly _tag: "EchoReply"; readonly ident: number; readonly seqNo: number; readonly data: Uint8Array }
  | {
    readonly _tag: "DstUnreachable"
    readonly code: number
    /** As much of the offending packet (IPv6 header first) as fits: see `MAX_QUOTE_LEN`. */
    readonly quote: Uint8Array
  }
  | { readonly _tag: "PacketTooBig"; readonly mtu: number; readonly quote: Uint8Array }
  | { readonly _tag: "TimeExceeded"; readonly code: number; readonly quote: Uint8Array }
  | { readonly _tag: "ParamProblem"; readonly code: number; readonly pointer: number; readonly quote: Uint8Array }
  | { readonly _tag: "Other"; readonly type: number; readonly code: number; readonly rest: number; readonly data: Uint8Array }

/** Parses untrusted bytes (checksum verified against `src`/`dst`) into a `Repr`, or `Malformed`. */
export const parse = (
  buffer: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  offset = 0,
  length = buffer.length - offset
): Repr | Malformed => {
  const p = Packet.checked(buffer, offset, length)
  if (!(p instanceof Packet)) return p
  if (!p.verifyChecksum(src, dst)) return BadChecksum
  const data = buffer.slice(p.dataOffset, p.offset + p.length)
  switch (p.type) {
    case Type.EchoRequest:
      return { _tag: "EchoRequest", ident: p.ident, seqNo: p.seqNo, data }
    case Type.EchoReply:
      return { _tag: "EchoReply", ident: p.ident, seqNo: p.seqNo, data }
    case Type.DstUnreachable:
      return { _tag: "DstUnreachable", code: p.code, quote: data }
    case Type.PacketTooBig:
      return { _tag: "PacketTooBig", mtu: p.rest, quote: data }
    case Type.TimeExceeded:
      return { _tag: "TimeExceeded", code: p.code, quote: data }
    case Type.ParamProblem:
      return { _tag: "ParamProblem", code: p.code, pointer: p.rest, quote: data }
    default:
      return { _tag: "Other", type: p.type, code: p.code, rest: p.rest, data }
  }
}

/** The body an emitted `repr` carries: an error's quote is clipped to `MAX_QUOTE_LEN`. */
const body = (repr: Repr): Uint8Array =>
  "data" in repr
    ? repr.data
    : repr.quote.length > MAX_QUOTE_LEN
    ? repr.quote.subarray(0, MAX_QUOTE_LEN)
    : repr.quote

/** Bytes the emitted message takes (an error message never exceeds `MIN_MTU` with its IPv6 header). */
export const bufferLen = (repr: Repr): number => HEADER_LEN + body(repr).length

/** Writes the message at `buffer[offset]` with its checksum over the pseudo-header of `src`/`dst`. */
export const emit = (repr: Repr, src: Uint8Array, dst: Uint8Array, buffer: Uint8Array, offset = 0): void => {
  let type: number
  let code = 0
  let rest = 0
  switch (repr._tag) {
    case "EchoRequest":
    case "EchoReply":
      type = repr._tag === "EchoRequest" ? Type.EchoRequest : Type.EchoReply
      rest = ((repr.ident << 16) | (repr.seqNo & 0xffff)) >>> 0
      break
    case "DstUnreachable":
      type = Type.DstUnreachable
      code = repr.code
      break
    case "PacketTooBig":
      type = Type.PacketTooBig
      rest = repr.mtu >>> 0
      break
    case "TimeExceeded":
      type = Type.TimeExceeded
      code = repr.code
      break
    case "ParamProblem":
      type = Type.ParamProblem
      code = repr.code
      rest = repr.pointer >>> 0
      break
    case "Other":
      type = repr.type
      code = repr.code
      rest = repr.rest >>> 0
      break
  }
  const data = body(repr)
  buffer[offset] = type
  buffer[offset + 1] = code
  buffer[offset + 4] = rest >>> 24
  buffer[offset + 5] = (rest >>> 16) & 0xff
  buffer[offset + 6] = (rest >>> 8) & 0xff
  buffer[offset + 7] = rest & 0xff
  buffer.set(data, offset + HEADER_LEN)
  new Packet(buffer, offset, HEADER_LEN + data.length).fillChecksum(src, dst)
}
