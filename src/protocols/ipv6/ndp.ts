/**
 * Neighbor Discovery messages (RFC 4861 §4) with their options (§4.6, RDNSS
 * of RFC 8106) over ICMPv6 bytes, and the MLDv2 Report (RFC 3810 §5.2) a host
 * sends to join its solicited-node groups. `parse` reads a message whose
 * ICMPv6 checksum the caller has verified; `emit` writes the checksum.
 */
import * as Icmpv6 from "./icmpv6.js"
import { malformed, type Malformed } from "../malformed.js"

/** Option types (RFC 4861 §4.6, RFC 8106 §5.1). */
export const OptionType = {
  SourceLinkLayer: 1,
  TargetLinkLayer: 2,
  PrefixInformation: 3,
  Mtu: 5,
  Rdnss: 25
} as const

/** Byte offsets of the message fields (from the start of the ICMPv6 message). */
export const field = {
  RA_CUR_HOP_LIMIT: 4,
  RA_FLAGS: 5,
  RA_ROUTER_LIFETIME: 6,
  RA_REACHABLE_TIME: 8,
  RA_RETRANS_TIMER: 12,
  NA_FLAGS: 4,
  TARGET: 8,
  MLD_RECORD_COUNT: 6,
  MLD_RECORDS: 8
} as const

/** Where the options start, per message type (RFC 4861 §4.1–§4.4). */
export const OPTIONS_OFFSET = { RouterSolicit: 8, RouterAdvert: 16, NeighborSolicit: 24, NeighborAdvert: 24 } as const

/** Parse failures. */
export const Truncated: Malformed = malformed("ndp_truncated")
/** RFC 4861 §4.6: an option of length zero invalidates the whole message. */
export const ZeroOptionLength: Malformed = malformed("ndp_zero_option_length")
/** RFC 4861 §6.1.1, §7.1.1: ICMP code must be 0. */
export const BadCode: Malformed = malformed("ndp_bad_code")
/** RFC 4861 §7.1.1: the target of NS/NA is never multicast. */
export const MulticastTarget: Malformed = malformed("ndp_multicast_target")
export const NotNdp: Malformed = malformed("ndp_not_ndp")

/** Prefix Information option (RFC 4861 §4.6.2). Lifetimes in seconds, 0xffffffff = infinity. */
export interface PrefixInformation {
  readonly _tag: "PrefixInformation"
  readonly prefixLength: number
  readonly onLink: boolean
  readonly autonomous: boolean
  readonly validLifetime: number
  readonly preferredLifetime: number
  readonly prefix: Uint8Array
}

/** An NDP option the stack understands; unknown options are skipped by length on parse. */
export type NdpOption =
  | { readonly _tag: "SourceLinkLayer"; readonly address: Uint8Array }
  | { readonly _tag: "TargetLinkLayer"; readonly address: Uint8Array }
  | PrefixInformation
  | { readonly _tag: "Mtu"; readonly mtu: number }
  | { readonly _tag: "Rdnss"; readonly lifetime: number; readonly servers: ReadonlyArray<Uint8Array> }

/** A parsed NDP message; `options` keeps the wire order. */
export type NdpRepr =
  | { readonly _tag: "RouterSolicit"; readonly options: ReadonlyArray<NdpOption> }
  | {
    readonly _tag: "RouterAdvert"
    readonly curHopLimit: number
    readonly managed: boolean
    readonly other: boolean
    /** Seconds; 0 = not a default router. */
    readonly routerLifetime: number
    /** Milliseconds; 0 = unspecified. */
    readonly reachableTime: number
    /** Milliseconds; 0 = unspecified. */
    readonly retransTimer: number
    readonly options: ReadonlyArray<NdpOption>
  }
  | { readonly _tag: "NeighborSolicit"; readonly target: Uint8Array; readonly options: ReadonlyArray<NdpOption> }
  | {
    readonly _tag: "NeighborAdvert"
    readonly router: boolean
    readonly solicited: boolean
    readonly override: boolean
    readonly target: Uint8Array
    readonly options: ReadonlyArray<NdpOption>
  }

const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!
const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0
const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 8) & 0xff
  b[o + 1] = v & 0xff
}
const put32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 24) & 0xff
  b[o + 1] = (v >>> 16) & 0xff
  b[o + 2] = (v >>> 8) & 0xff
  b[o + 3] = v & 0xff
}

/**
 * Parses the options in `buffer[offset .. end)`, or `Malformed`. A known option
 * of the wrong length is ignored, as Linux does, rather than dropping the
 * message: only a zero length (RFC 4861 §4.6) or an overrun refuses it.
 */
export const parseOptions = (buffer: Uint8Array, offset: number, end: number): ReadonlyArray<NdpOption> | Malformed => {
  const options: Array<NdpOption> = []
  let o = offset
  while (o < end) {
    if (o + 2 > end) return Truncated
    const type = buffer[o]!
    const len = buffer[o + 1]! * 8
    if (len === 0) return ZeroOptionLength
    if (o + len > end) return Truncated
    switch (type) {
      case OptionType.SourceLinkLayer:
      case OptionType.TargetLinkLayer: {
        // Ethernet (RFC 2464 §6): length 1, six address bytes; longer link layers keep all bytes.
        const address = buffer.slice(o + 2, o + (len === 8 ? 8 : len))
        options.push({ _tag: type === OptionType.SourceLinkLayer ? "SourceLinkLayer" : "TargetLinkLayer", address })
        break
      }
      case OptionType.PrefixInformation: {
        if (len !== 32) break
        const flags = buffer[o + 3]!
        options.push({
          _tag: "PrefixInformation",
          prefixLength: buffer[o + 2]!,
          onLink: (flags & 0x80) !== 0,
          autonomous: (flags & 0x40) !== 0,
          validLifetime: u32(buffer, o + 4),
          preferredLifetime: u32(buffer, o + 8),
          prefix: buffer.slice(o + 16, o + 32)
        })
        break
      }
      case OptionType.Mtu:
        if (len !== 8) break
        options.push({ _tag: "Mtu", mtu: u32(buffer, o + 4) })
        break
      case OptionType.Rdnss: {
        // RFC 8106 §5.1: length 3 + 2 per extra address.
        if (len < 24 || (len - 8) % 16 !== 0) break
        const servers: Array<Uint8Array> = []
        for (let a = o + 8; a < o + len; a += 16) servers.push(buffer.slice(a, a + 16))
        options.push({ _tag: "Rdnss", lifetime: u32(buffer, o + 4), servers })
        break
      }
      default:
        // RFC 4861 §4.6: options a node does not recognise are skipped.
        break
    }
    o += len
  }
  return options
}

/** Parses an NDP message from ICMPv6 bytes (checksum already verified), or `Malformed`. */
export const parse = (buffer: Uint8Array, offset = 0, length = buffer.length - offset): NdpRepr | Malformed => {
  if (offset < 0 || length < Icmpv6.HEADER_LEN || offset + length > buffer.length) return Truncated
  const type = buffer[offset]!
  const end = offset + length
  let start: number
  switch (type) {
    case Icmpv6.Type.RouterSolicit:
      start = OPTIONS_OFFSET.RouterSolicit
      break
    case Icmpv6.Type.RouterAdvert:
      start = OPTIONS_OFFSET.RouterAdvert
      break
    case Icmpv6.Type.NeighborSolicit:
    case Icmpv6.Type.NeighborAdvert:
      start = OPTIONS_OFFSET.NeighborSolicit
      break
    default:
      return NotNdp
  }
  if (length < start) return Truncated
  if (buffer[offset + 1] !== 0) return BadCode
  const options = parseOptions(buffer, offset + start, end)
  if (!Array.isArray(options)) return options as Malformed
  switch (type) {
    case Icmpv6.Type.RouterSolicit:
      return { _tag: "RouterSolicit", options }
    case Icmpv6.Type.RouterAdvert: {
      const flags = buffer[offset + field.RA_FLAGS]!
      return {
        _tag: "RouterAdvert",
        curHopLimit: buffer[offset + field.RA_CUR_HOP_LIMIT]!,
        managed: (flags & 0x80) !== 0,
        other: (flags & 0x40) !== 0,
        routerLifetime: u16(buffer, offset + field.RA_ROUTER_LIFETIME),
        reachableTime: u32(buffer, offset + field.RA_REACHABLE_TIME),
        retransTimer: u32(buffer, offset + field.RA_RETRANS_TIMER),
        options
      }
    }
    default: {
      const t = offset + field.TARGET
      if (buffer[t] === 0xff) return MulticastTarget
      const target = buffer.slice(t, t + 16)
      if (type === Icmpv6.Type.NeighborSolicit) return { _tag: "NeighborSolicit", target, options }
      const flags = buffer[offset + field.NA_FLAGS]!
      return {
        _tag: "NeighborAdvert",
        router: (flags & 0x80) !== 0,
        solicited: (flags & 0x40) !== 0,
        override: (flags & 0x20) !== 0,
        target,
        options
      }
    }
  }
}

const optionLen = (opt: NdpOption): number => {
  switch (opt._tag) {
    case "SourceLinkLayer":
    case "TargetLinkLayer":
      return Math.ceil((2 + opt.address.length) / 8) * 8
    case "PrefixInformation":
      return 32
    case "Mtu":
      return 8
    case "Rdnss":
      return 8 + 16 * opt.servers.length
  }
}

/** Bytes the emitted message takes. */
export const bufferLen = (repr: NdpRepr): number => {
  let n: number = OPTIONS_OFFSET[repr._tag]
  for (const opt of repr.options) n += optionLen(opt)
  return n
}

const emitOption = (opt: NdpOption, buffer: Uint8Array, o: number): number => {
  const len = optionLen(opt)
  buffer.fill(0, o, o + len)
  buffer[o + 1] = len / 8
  switch (opt._tag) {
    case "SourceLinkLayer":
    case "TargetLinkLayer":
      buffer[o] = opt._tag === "SourceLinkLayer" ? OptionType.SourceLinkLayer : OptionType.TargetLinkLayer
      buffer.set(opt.address, o + 2)
      break
    case "PrefixInformation":
      buffer[o] = OptionType.PrefixInformation
      buffer[o + 2] = opt.prefixLength
      buffer[o + 3] = (opt.onLink ? 0x80 : 0) | (opt.autonomous ? 0x40 : 0)
      put32(buffer, o + 4, opt.validLifetime)
      put32(buffer, o + 8, opt.preferredLifetime)
      buffer.set(opt.prefix.subarray(0, 16), o + 16)
      break
    case "Mtu":
      buffer[o] = OptionType.Mtu
      put32(buffer, o + 4, opt.mtu)
      break
    case "Rdnss":
      buffer[o] = OptionType.Rdnss
      put32(buffer, o + 4, opt.lifetime)
      opt.servers.forEach((s, i) => buffer.set(s.subarray(0, 16), o + 8 + 16 * i))
      break
  }
  return o + len
}

/** Writes the message at `buffer[offset]` with its ICMPv6 checksum over the pseudo-header of `src`/`dst`. */
export const emit = (repr: NdpRepr, src: Uint8Array, dst: Uint8Array, buffer: Uint8Array, offset = 0): void => {
  const start = OPTIONS_OFFSET[repr._tag]
  buffer.fill(0, offset, offset + start)
  switch (repr._tag) {
    case "RouterSolicit":
      buffer[offset] = Icmpv6.Type.RouterSolicit
      break
    case "RouterAdvert":
      buffer[offset] = Icmpv6.Type.RouterAdvert
      buffer[offset + field.RA_CUR_HOP_LIMIT] = repr.curHopLimit
      buffer[offset + field.RA_FLAGS] = (repr.managed ? 0x80 : 0) | (repr.other ? 0x40 : 0)
      put16(buffer, offset + field.RA_ROUTER_LIFETIME, repr.routerLifetime)
      put32(buffer, offset + field.RA_REACHABLE_TIME, repr.reachableTime)
      put32(buffer, offset + field.RA_RETRANS_TIMER, repr.retransTimer)
      break
    case "NeighborSolicit":
      buffer[offset] = Icmpv6.Type.NeighborSolicit
      buffer.set(repr.target.subarray(0, 16), offset + field.TARGET)
      break
    case "NeighborAdvert":
      buffer[offset] = Icmpv6.Type.NeighborAdvert
      buffer[offset + field.NA_FLAGS] = (repr.router ? 0x80 : 0) | (repr.solicited ? 0x40 : 0) |
        (repr.override ? 0x20 : 0)
      buffer.set(repr.target.subarray(0, 16), offset + field.TARGET)
      break
  }
  let o = offset + start
  for (const opt of repr.options) o = emitOption(opt, buffer, o)
  new Icmpv6.Packet(buffer, offset, o - offset).fillChecksum(src, dst)
}

// --- MLDv2 (RFC 3810) ---------------------------------------------------------

/** Multicast Address Record types (RFC 3810 §5.2.12). */
export const RecordType = {
  ModeIsInclude: 1,
  ModeIsExclude: 2,
  ChangeToInclude: 3,
  ChangeToExclude: 4,
  AllowNewSources: 5,
  BlockOldSources: 6
} as const

/** One Multicast Address Record of an MLDv2 Report. */
export interface MldRecord {
  readonly recordType: number
  readonly group: Uint8Array
  readonly sources: ReadonlyArray<Uint8Array>
}

/** The destination of MLDv2 Reports: ff02::16, all MLDv2-capable routers (RFC 3810 §5.2.14). */
export const ALL_MLDV2_ROUTERS: Uint8Array = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16)

/** The solicited-node multicast group of `address` (RFC 4291 §2.7.1): ff02::1:ffXX:XXXX. */
export const solicitedNode = (address: Uint8Array): Uint8Array =>
  Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, address[13]!, address[14]!, address[15]!)

/** Records that join each group with no source filter: CHANGE_TO_EXCLUDE({}) (RFC 3810 §6.1). */
export const joinRecords = (groups: ReadonlyArray<Uint8Array>): ReadonlyArray<MldRecord> =>
  groups.map((group) => ({ recordType: RecordType.ChangeToExclude, group, sources: [] }))

/** Records of the groups we listen to with no source filter: MODE_IS_EXCLUDE({}), the answer to a query (RFC 3810 §6.2). */
export const currentStateRecords = (groups: ReadonlyArray<Uint8Array>): ReadonlyArray<MldRecord> =>
  groups.map((group) => ({ recordType: RecordType.ModeIsExclude, group, sources: [] }))

/** Bytes an MLDv2 Report with `records` takes. */
export const mldv2ReportLen = (records: ReadonlyArray<MldRecord>): number =>
  records.reduce((n: number, r) => n + 20 + 16 * r.sources.length, field.MLD_RECORDS)

/** Writes an MLDv2 Report (type 143) at `buffer[offset]` with its checksum. */
export const emitMldv2Report = (
  records: ReadonlyArray<MldRecord>,
  src: Uint8Array,
  dst: Uint8Array,
  buffer: Uint8Array,
  offset = 0
): void => {
  buffer.fill(0, offset, offset + field.MLD_RECORDS)
  buffer[offset] = Icmpv6.Type.Mldv2Report
  put16(buffer, offset + field.MLD_RECORD_COUNT, records.length)
  let o = offset + field.MLD_RECORDS
  for (const r of records) {
    buffer[o] = r.recordType
    buffer[o + 1] = 0
    put16(buffer, o + 2, r.sources.length)
    buffer.set(r.group.subarray(0, 16), o + 4)
    o += 20
    for (const s of r.sources) {
      buffer.set(s.subarray(0, 16), o)
      o += 16
    }
  }
  new Icmpv6.Packet(buffer, offset, o - offset).fillChecksum(src, dst)
}

/** Parses an MLDv2 Report (checksum already verified), or `Malformed`. Auxiliary data is skipped. */
export const parseMldv2Report = (
  buffer: Uint8Array,
  offset = 0,
  length = buffer.length - offset
): ReadonlyArray<MldRecord> | Malformed => {
  if (offset < 0 || length < field.MLD_RECORDS || offset + length > buffer.length) return Truncated
  if (buffer[offset] !== Icmpv6.Type.Mldv2Report) return NotNdp
  const count = u16(buffer, offset + field.MLD_RECORD_COUNT)
  const end = offset + length
  const records: Array<MldRecord> = []
  let o = offset + field.MLD_RECORDS
  for (let i = 0; i < count; i++) {
    if (o + 20 > end) return Truncated
    const nSources = u16(buffer, o + 2)
    const next = o + 20 + 16 * nSources + 4 * buffer[o + 1]!
    if (next > end) return Truncated
    const sources: Array<Uint8Array> = []
    for (let s = 0; s < nSources; s++) sources.push(buffer.slice(o + 20 + 16 * s, o + 36 + 16 * s))
    records.push({ recordType: buffer[o]!, group: buffer.slice(o + 4, o + 20), sources })
    o = next
  }
  return records
}
