/**
 * ARP for IPv4 over Ethernet (RFC 826): a zero-copy view and a `Repr`.
 * Only hardware type 1 (Ethernet) with protocol 0x0800 (IPv4), 6-byte and
 * 4-byte addresses is accepted; anything else is `Malformed`.
 */
import { copyMac, readIpv4, writeIpv4, type Ipv4Address, type MacAddress } from "./address.js"
import { malformed, type Malformed } from "./malformed.js"
import { checkedView, WireView } from "./view.js"

/** Byte offsets of the fields. */
export const field = { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OPER: 6, SHA: 8, SPA: 14, THA: 18, TPA: 24 } as const

/** Length of an Ethernet/IPv4 ARP packet. */
export const PACKET_LEN = 28

/** ARP operations. */
export const Operation = { Request: 1, Reply: 2 } as const

/** Parse failures. */
export const Truncated: Malformed = malformed("truncated")
export const Unsupported: Malformed = malformed("unsupported")
export const BadOperation: Malformed = malformed("bad_operation")

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!

/** A view of an ARP packet in `buffer[offset .. offset+length)`. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed`. */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /** Validates length and the Ethernet/IPv4 address types. */
  check(): Malformed | undefined {
    if (this.offset < 0 || this.length < PACKET_LEN || this.offset + this.length > this.buffer.length) return Truncated
    if (this.htype !== 1 || this.ptype !== 0x0800 || this.hlen !== 6 || this.plen !== 4) return Unsupported
    const op = this.operation
    if (op !== Operation.Request && op !== Operation.Reply) return BadOperation
    return undefined
  }

  get htype(): number {
    return u16(this.buffer, this.offset + field.HTYPE)
  }
  get ptype(): number {
    return u16(this.buffer, this.offset + field.PTYPE)
  }
  get hlen(): number {
    return this.buffer[this.offset + field.HLEN]!
  }
  get plen(): number {
    return this.buffer[this.offset + field.PLEN]!
  }
  get operation(): number {
    return u16(this.buffer, this.offset + field.OPER)
  }
  /** Sender protocol address. */
  get spa(): Ipv4Address {
    return readIpv4(this.buffer, this.offset + field.SPA)
  }
  /** Target protocol address. */
  get tpa(): Ipv4Address {
    return readIpv4(this.buffer, this.offset + field.TPA)
  }
  /** Sender hardware address (a view). */
  get sha(): MacAddress {
    return this.buffer.subarray(this.offset + field.SHA, this.offset + field.SHA + 6)
  }
  /** Target hardware address (a view). */
  get tha(): MacAddress {
    return this.buffer.subarray(this.offset + field.THA, this.offset + field.THA + 6)
  }
}

/** A parsed Ethernet/IPv4 ARP packet. */
export interface Repr {
  readonly operation: number
  readonly sha: MacAddress
  readonly spa: Ipv4Address
  readonly tha: MacAddress
  readonly tpa: Ipv4Address
}

/** Parses untrusted bytes into a `Repr`, or `Malformed`. */
export const parse = (buffer: Uint8Array, offset = 0, length = buffer.length - offset): Repr | Malformed => {
  const p = Packet.checked(buffer, offset, length)
  if (!(p instanceof Packet)) return p
  return { operation: p.operation, sha: p.sha.slice(), spa: p.spa, tha: p.tha.slice(), tpa: p.tpa }
}

/** Bytes an emitted packet takes. */
export const bufferLen = (_repr?: Repr): number => PACKET_LEN

/** Writes the packet at `buffer[offset]`. */
export const emit = (repr: Repr, buffer: Uint8Array, offset = 0): void => {
  emitParts(buffer, offset, repr.operation, repr.sha, repr.spa, repr.tha, repr.tpa)
}

/** Writes a packet from its parts (no `Repr` object needed on the hot path). */
export const emitParts = (
  buffer: Uint8Array,
  offset: number,
  operation: number,
  sha: MacAddress,
  spa: Ipv4Address,
  tha: MacAddress,
  tpa: Ipv4Address
): void => {
  buffer[offset] = 0
  buffer[offset + 1] = 1
  buffer[offset + 2] = 0x08
  buffer[offset + 3] = 0x00
  buffer[offset + 4] = 6
  buffer[offset + 5] = 4
  buffer[offset + 6] = operation >>> 8
  buffer[offset + 7] = operation & 0xff
  copyMac(buffer, offset + field.SHA, sha)
  writeIpv4(buffer, offset + field.SPA, spa)
  copyMac(buffer, offset + field.THA, tha)
  writeIpv4(buffer, offset + field.TPA, tpa)
}
