/**
 * Ethernet II frames (IEEE 802.3 with an EtherType): a zero-copy view and a
 * `Repr`. The 4-byte FCS is not present on a TAP; frames shorter than the
 * 14-byte header are malformed.
 */
import { copyMac, macEquals, type MacAddress } from "./address.js"
import { malformed, type Malformed } from "./malformed.js"
import { checkedView, WireView } from "./view.js"

/** Byte offsets of the header fields. */
export const field = { DST: 0, SRC: 6, ETHERTYPE: 12, PAYLOAD: 14 } as const

/** Length of the Ethernet II header. */
export const HEADER_LEN = 14

/** EtherTypes the stack knows. */
export const EtherType = { Ipv4: 0x0800, Arp: 0x0806, Ipv6: 0x86dd } as const

/** Parse failures. */
export const Truncated: Malformed = malformed("truncated")

/** A view of an Ethernet frame in `buffer[offset .. offset+length)`. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed` when too short for the header. */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /** Validates the length once so that no getter reads out of range. */
  check(): Malformed | undefined {
    return this.offset < 0 || this.length < HEADER_LEN || this.offset + this.length > this.buffer.length ? Truncated : undefined
  }

  get ethertype(): number {
    const o = this.offset + field.ETHERTYPE
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  set ethertype(v: number) {
    const o = this.offset + field.ETHERTYPE
    this.buffer[o] = v >>> 8
    this.buffer[o + 1] = v & 0xff
  }

  /** The destination MAC as a subarray (allocates a view; use `dstEquals` on hot paths). */
  get dst(): MacAddress {
    return this.buffer.subarray(this.offset + field.DST, this.offset + field.DST + 6)
  }
  set dst(mac: MacAddress) {
    copyMac(this.buffer, this.offset + field.DST, mac)
  }

  /** The source MAC as a subarray. */
  get src(): MacAddress {
    return this.buffer.subarray(this.offset + field.SRC, this.offset + field.SRC + 6)
  }
  set src(mac: MacAddress) {
    copyMac(this.buffer, this.offset + field.SRC, mac)
  }

  /** True when the destination MAC equals `mac`. */
  dstEquals(mac: MacAddress): boolean {
    return macEquals(this.buffer, this.offset + field.DST, mac, 0)
  }

  /** Offset of the payload in `buffer`. */
  get payloadOffset(): number {
    return this.offset + HEADER_LEN
  }

  /** Length of the payload (everything after the header). */
  get payloadLength(): number {
    return this.length - HEADER_LEN
  }
}

/** The parsed header. */
export interface Repr {
  readonly src: MacAddress
  readonly dst: MacAddress
  readonly ethertype: number
}

/** Parses a checked packet's header (copies the addresses). */
export const parse = (p: Packet): Repr => ({
  src: p.src.slice(),
  dst: p.dst.slice(),
  ethertype: p.ethertype
})

/** Bytes needed for a frame carrying `payloadLength` bytes. */
export const bufferLen = (payloadLength: number): number => HEADER_LEN + payloadLength

/** Writes the header at `buffer[offset]`. */
export const emit = (repr: Repr, buffer: Uint8Array, offset = 0): void => {
  emitHeader(buffer, offset, repr.dst, repr.src, repr.ethertype)
}

/** Writes a header from its parts (no `Repr` object needed on the hot path). */
export const emitHeader = (
  buffer: Uint8Array,
  offset: number,
  dst: MacAddress,
  src: MacAddress,
  ethertype: number
): void => {
  copyMac(buffer, offset + field.DST, dst)
  copyMac(buffer, offset + field.SRC, src)
  buffer[offset + field.ETHERTYPE] = ethertype >>> 8
  buffer[offset + field.ETHERTYPE + 1] = ethertype & 0xff
}
