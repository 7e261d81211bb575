/**
 * ICMP for IPv4 (RFC 792): a zero-copy view and a `Repr` for the messages a
 * host sends and receives: echo request/reply, destination unreachable, time
 * exceeded, parameter problem. Other types parse as `Other`.
 */
import * as Checksum from "./checksum.js"
import { malformed, type Malformed } from "./malformed.js"
import { checkedView, WireView } from "./view.js"

/** Byte offsets of the fields. */
export const field = { TYPE: 0, CODE: 1, CHECKSUM: 2, IDENT: 4, SEQ: 6, MTU: 6, POINTER: 4, DATA: 8 } as const

/** Length of the fixed header. */
export const HEADER_LEN = 8

/** Message types. */
export const Type = {
  EchoReply: 0,
  DstUnreachable: 3,
  EchoRequest: 8,
  TimeExceeded: 11,
  ParamProblem: 12
} as const

/** Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1). */
export const Unreachable = {
  Net: 0,
  Host: 1,
  Protocol: 2,
  Port: 3,
  FragmentationNeeded: 4
} as const

/** Time exceeded codes. */
export const TimeExceededCode = { TtlExpired: 0, ReassemblyTimeout: 1 } as const

/** Parse failures. */
export const Truncated: Malformed = malformed("truncated")
export const BadChecksum: Malformed = malformed("bad_checksum")

/** A view of an ICMP message in `buffer[offset .. offset+length)`. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed` (length only). */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /** Validates the length once so that no getter reads out of range. */
  check(): Malformed | undefined {
    return this.offset < 0 || this.length < HEADER_LEN || this.offset + this.length > this.buffer.length ? Truncated : undefined
  }

  get type(): number {
    return this.buffer[this.offset]!
  }
  set type(v: number) {
    this.buffer[this.offset] = v
  }
  get code(): number {
    return this.buffer[this.offset + 1]!
  }
  get ident(): number {
    const o = this.offset + field.IDENT
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  get seqNo(): number {
    const o = this.offset + field.SEQ
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  /** The next-hop MTU of a "fragmentation needed" message (RFC 1191). */
  get nextHopMtu(): number {
    const o = this.offset + field.MTU
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  get dataOffset(): number {
    return this.offset + HEADER_LEN
  }
  get dataLength(): number {
    return this.length - HEADER_LEN
  }

  /** True when the checksum over the whole message is right. */
  verifyChecksum(): boolean {
    return Checksum.compute(this.buffer, this.offset, this.length) === 0
  }
  /** Recomputes the checksum in place over the whole message. */
  fillChecksum(): void {
    const o = this.offset + field.CHECKSUM
    this.buffer[o] = 0
    this.buffer[o + 1] = 0
    const c = Checksum.compute(this.buffer, this.offset, this.length)
    this.buffer[o] = c >>> 8
    this.buffer[o + 1] = c & 0xff
  }
}

/** A parsed ICMP message. `data`/`quote` are copies. */
export type Repr =
  | { readonly _tag: "EchoRequest"; readonly ident: number; readonly seqNo: number; readonly data: Uint8Array }
  | { readonly _tag: "EchoReply"; readonly ident: number; readonly seqNo: number; readonly data: Uint8Array }
  | {
    readonly _tag: "DstUnreachable"
    readonly code: number
    /** Next-hop MTU for code 4, else 0. */
    readonly nextHopMtu: number
    /** The offending datagram's IP header and first bytes. */
    readonly quote: Uint8Array
  }
  | { readonly _tag: "TimeExceeded"; readonly code: number; readonly quote: Uint8Array }
  | { readonly _tag: "ParamProblem"; readonly code: number; readonly pointer: number; readonly quote: Uint8Array }
  | { readonly _tag: "Other"; readonly type: number; readonly code: number; readonly rest: number; readonly data: Uint8Array }

/** Parses untrusted bytes (checksum verified) into a `Repr`, or `Malformed`. */
export const parse = (buffer: Uint8Array, offset = 0, length = buffer.length - offset): Repr | Malformed => {
  const p = Packet.checked(buffer, offset, length)
  if (!(p instanceof Packet)) return p
  if (!p.verifyChecksum()) return BadChecksum
  const data = buffer.slice(p.dataOffset, p.offset + p.length)
  switch (p.type) {
    case Type.EchoRequest:
      return { _tag: "EchoRequest", ident: p.ident, seqNo: p.seqNo, data }
    case Type.EchoReply:
      return { _tag: "EchoReply", ident: p.ident, seqNo: p.seqNo, data }
    case Type.DstUnreachable:
      return { _tag: "DstUnreachable", code: p.code, nextHopMtu: p.code === 4 ? p.nextHopMtu : 0, quote: data }
    case Type.TimeExceeded:
      return { _tag: "TimeExceeded", code: p.code, quote: data }
    case Type.ParamProblem:
      return { _tag: "ParamProblem", code: p.code, pointer: buffer[p.offset + field.POINTER]!, quote: data }
    default: {
      const o = p.offset + 4
      const rest = ((buffer[o]! << 24) | (buffer[o + 1]! << 16) | (buffer[o + 2]! << 8) | buffer[o + 3]!) >>> 0
      return { _tag: "Other", type: p.type, code: p.code, rest, data }
    }
  }
}

/** Bytes the emitted message takes. */
export const bufferLen = (repr: Repr): number =>
  HEADER_LEN + ("data" in repr ? repr.data.length : repr.quote.length)

/** Writes the message with its checksum at `buffer[offset]`. */
export const emit = (repr: Repr, buffer: Uint8Array, offset = 0): void => {
  let type: number
  let code = 0
  let rest = 0
  let body: Uint8Array
  switch (repr._tag) {
    case "EchoRequest":
    case "EchoReply":
      type = repr._tag === "EchoRequest" ? Type.EchoRequest : Type.EchoReply
      rest = ((repr.ident << 16) | repr.seqNo) >>> 0
      body = repr.data
      break
    case "DstUnreachable":
      type = Type.DstUnreachable
      code = repr.code
      rest = repr.nextHopMtu & 0xffff
      body = repr.quote
      break
    case "TimeExceeded":
      type = Type.TimeExceeded
      code = repr.code
      body = repr.quote
      break
    case "ParamProblem":
      type = Type.ParamProblem
      code = repr.code
      rest = (repr.pointer << 24) >>> 0
      body = repr.quote
      break
    case "Other":
      type = repr.type
      code = repr.code
      rest = repr.rest
      body = repr.data
      break
  }
  buffer[offset] = type
  buffer[offset + 1] = code
  buffer[offset + 4] = rest >>> 24
  buffer[offset + 5] = (rest >>> 16) & 0xff
  buffer[offset + 6] = (rest >>> 8) & 0xff
  buffer[offset + 7] = rest & 0xff
  buffer.set(body, offset + HEADER_LEN)
  new Packet(buffer, offset, HEADER_LEN + body.length).fillChecksum()
}
