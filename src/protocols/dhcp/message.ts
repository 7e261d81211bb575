/**
 * BOOTP/DHCP messages (RFC 2131 §2, RFC 951) with the options of RFC 2132 a
 * client needs: a zero-copy `Packet` view of the fixed fields, and a `Repr`
 * whose `parse` returns a value or a `Malformed` for any bytes and whose `emit`
 * writes the message again (at least 300 bytes, as BOOTP clients pad them).
 *
 * Options: repeated instances of one option are concatenated (RFC 3396) and
 * long ones split again on emit. Unknown options are kept raw, in order.
 * Option overload (52) is handled: options continued in `file`, then `sname`
 * (RFC 2131 §4.1) are read as if they were in the options field; such a `Repr`
 * has those areas zeroed (they held options, not names) and emits every option
 * in the options field, without option 52, so it re-parses equal.
 * `optionOrder` keeps the order of the options as received, so that a parsed
 * message re-emits byte for byte.
 */
import { readIpv4, writeIpv4, type Ipv4Address } from "../address.js"
import { malformed, type Malformed } from "../malformed.js"
import { checkedView, WireView } from "../view.js"

/** Byte offsets of the fixed fields. */
export const field = {
  OP: 0,
  HTYPE: 1,
  HLEN: 2,
  HOPS: 3,
  XID: 4,
  SECS: 8,
  FLAGS: 10,
  CIADDR: 12,
  YIADDR: 16,
  SIADDR: 20,
  GIADDR: 24,
  CHADDR: 28,
  SNAME: 44,
  FILE: 108,
  COOKIE: 236,
  OPTIONS: 240
} as const

/** Lengths of the fixed areas. */
export const CHADDR_LEN = 16
export const SNAME_LEN = 64
export const FILE_LEN = 128

/** Length of the fixed part including the magic cookie: the shortest DHCP message. */
export const HEADER_LEN = 240

/** Shortest message emitted: BOOTP's 300 bytes (RFC 951; RFC 1542 §2.1 asks relays and servers to accept it). */
export const MIN_EMIT_LEN = 300

/** The magic cookie 99.130.83.99 (RFC 2131 §3). */
export const MAGIC_COOKIE = 0x63825363

/** UDP ports (RFC 2131 §4.1). */
export const SERVER_PORT = 67
export const CLIENT_PORT = 68

/** The `op` field. */
export const Op = { BootRequest: 1, BootReply: 2 } as const

/** Ethernet's `htype` (RFC 1700 hardware type 1). */
export const HTYPE_ETHERNET = 1

/** The broadcast bit of `flags` (RFC 2131 §2, figure 2). */
export const FLAG_BROADCAST = 0x8000

/** DHCP message types, option 53 (RFC 2132 §9.6). */
export const MessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8
} as const

/** Option codes this module interprets (RFC 2132). */
export const OptionCode = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DnsServers: 6,
  HostName: 12,
  RequestedAddress: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerIdentifier: 54,
  ParameterRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  ClientIdentifier: 61,
  End: 255
} as const

/** Lease time meaning "forever" (RFC 2132 §9.2). */
export const INFINITE_LEASE = 0xffffffff

/** Parse failures. */
export const Truncated: Malformed = malformed("truncated")
export const BadOp: Malformed = malformed("bad_op")
export const BadHardwareLength: Malformed = malformed("bad_hlen")
export const BadCookie: Malformed = malformed("bad_cookie")
export const OptionOverrun: Malformed = malformed("option_overrun")
export const BadOptionLength: Malformed = malformed("bad_option_length")
export const BadOverload: Malformed = malformed("bad_overload")

/** A view of a DHCP message in `buffer[offset .. offset+length)`. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed` (fixed part, `op`, `hlen` and cookie checked; options are not). */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /** Validates the fixed part so that no getter reads out of range. */
  check(): Malformed | undefined {
    if (this.offset < 0 || this.length < HEADER_LEN || this.offset + this.length > this.buffer.length) return Truncated
    if (this.op !== Op.BootRequest && this.op !== Op.BootReply) return BadOp
    if (this.hlen > CHADDR_LEN) return BadHardwareLength
    if (this.cookie !== MAGIC_COOKIE) return BadCookie
    return undefined
  }

  get op(): number {
    return this.buffer[this.offset + field.OP]!
  }
  get htype(): number {
    return this.buffer[this.offset + field.HTYPE]!
  }
  /** Length of the hardware address in `chaddr`. */
  get hlen(): number {
    return this.buffer[this.offset + field.HLEN]!
  }
  get hops(): number {
    return this.buffer[this.offset + field.HOPS]!
  }
  /** Transaction id. */
  get xid(): number {
    return readIpv4(this.buffer, this.offset + field.XID)
  }
  /** Seconds elapsed since the client began acquisition or renewal. */
  get secs(): number {
    const o = this.offset + field.SECS
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  get flags(): number {
    const o = this.offset + field.FLAGS
    return (this.buffer[o]! << 8) | this.buffer[o + 1]!
  }
  /** The client asks for broadcast replies. */
  get broadcast(): boolean {
    return (this.flags & FLAG_BROADCAST) !== 0
  }
  get ciaddr(): Ipv4Address {
    return readIpv4(this.buffer, this.offset + field.CIADDR)
  }
  get yiaddr(): Ipv4Address {
    return readIpv4(this.buffer, this.offset + field.YIADDR)
  }
  get siaddr(): Ipv4Address {
    return readIpv4(this.buffer, this.offset + field.SIADDR)
  }
  get giaddr(): Ipv4Address {
    return readIpv4(this.buffer, this.offset + field.GIADDR)
  }
  /** Offset of `chaddr` in `buffer`; its first `hlen` bytes are the address. */
  get chaddrOffset(): number {
    return this.offset + field.CHADDR
  }
  get snameOffset(): number {
    return this.offset + field.SNAME
  }
  get fileOffset(): number {
    return this.offset + field.FILE
  }
  get cookie(): number {
    return readIpv4(this.buffer, this.offset + field.COOKIE)
  }
  /** Offset of the options field in `buffer`; it runs to `offset + length`. */
  get optionsOffset(): number {
    return this.offset + field.OPTIONS
  }
}

/** An option kept as received: code and data. */
export interface RawOption {
  readonly code: number
  readonly data: Uint8Array
}

/** A parsed message: the fixed fields and the options of RFC 2132 a client uses; absent options are absent keys. */
export interface Repr {
  readonly op: number
  readonly htype: number
  readonly hops: number
  readonly xid: number
  readonly secs: number
  /** The broadcast bit of `flags`; the other bits must be zero (RFC 2131 §2) and are not kept. */
  readonly broadcast: boolean
  readonly ciaddr: Ipv4Address
  readonly yiaddr: Ipv4Address
  readonly siaddr: Ipv4Address
  readonly giaddr: Ipv4Address
  /** The client hardware address: its `hlen` significant bytes (at most 16). */
  readonly chaddr: Uint8Array
  /** The 64-byte server host name field, raw (zeros when absent or when it held options). */
  readonly sname?: Uint8Array
  /** The 128-byte boot file name field, raw (zeros when absent or when it held options). */
  readonly file?: Uint8Array
  /** Option 53. */
  readonly messageType?: number
  /** Option 1. */
  readonly subnetMask?: Ipv4Address
  /** Option 3, in order of preference (an empty list is not emitted). */
  readonly router?: ReadonlyArray<Ipv4Address>
  /** Option 6, in order of preference (an empty list is not emitted). */
  readonly dnsServers?: ReadonlyArray<Ipv4Address>
  /** Option 12, one character per byte (latin1). */
  readonly hostName?: string
  /** Option 50. */
  readonly requestedAddress?: Ipv4Address
  /** Option 51, seconds (`INFINITE_LEASE` for ever). */
  readonly leaseTime?: number
  /** Option 54. */
  readonly serverIdentifier?: Ipv4Address
  /** Option 55: option codes the client asks for. */
  readonly parameterRequestList?: ReadonlyArray<number>
  /** Option 56: a server's error text (with a DHCPNAK), one character per byte. */
  readonly message?: string
  /** Option 57, bytes. */
  readonly maxMessageSize?: number
  /** Option 58 (T1), seconds. */
  readonly renewalTime?: number
  /** Option 59 (T2), seconds. */
  readonly rebindingTime?: number
  /** Option 61: type byte then identifier. */
  readonly clientIdentifier?: Uint8Array
  /** Other options (not 0, 52, 255 nor the ones above), each code once, data concatenated. */
  readonly unknownOptions?: ReadonlyArray<RawOption>
  /** Codes of the options in the order received (emit follows it, then puts the others in code order). */
  readonly optionOrder?: ReadonlyArray<number>
}

/** Codes of the options that have a field in `Repr`, in the order `emit` writes them when `optionOrder` is silent. */
const KNOWN: ReadonlyArray<number> = [
  OptionCode.MessageType,
  OptionCode.ClientIdentifier,
  OptionCode.HostName,
  OptionCode.RequestedAddress,
  OptionCode.ServerIdentifier,
  OptionCode.LeaseTime,
  OptionCode.RenewalTime,
  OptionCode.RebindingTime,
  OptionCode.SubnetMask,
  OptionCode.Router,
  OptionCode.DnsServers,
  OptionCode.ParameterRequestList,
  OptionCode.MaxMessageSize,
  OptionCode.Message
]
const KNOWN_SET: ReadonlySet<number> = new Set(KNOWN)

/** True for the codes that have their own `Repr` field (and so are never in `unknownOptions`). */
export const isKnownOption = (code: number): boolean =>
  KNOWN_SET.has(code) || code === OptionCode.Pad || code === OptionCode.End || code === OptionCode.Overload

/** Where each option's pieces sit while the areas are scanned. */
type Pieces = Map<number, Array<number>> // code → [offset, length, offset, length, ...]

/**
 * Scans one option area `[start, end)`, appending each option's data range to
 * `pieces` and its code (first time) to `order`. Pads are skipped, End stops;
 * an area without End ends at its last byte.
 */
const scanArea = (
  buffer: Uint8Array,
  start: number,
  end: number,
  pieces: Pieces,
  order: Array<number>,
  skipOverload: boolean
): Malformed | undefined => {
  let i = start
  while (i < end) {
    const code = buffer[i]!
    if (code === OptionCode.Pad) {
      i++
      continue
    }
    if (code === OptionCode.End) return undefined
    if (i + 1 >= end) return OptionOverrun
    const len = buffer[i + 1]!
    if (i + 2 + len > end) return OptionOverrun
    // RFC 2131 §4.1: option 52 belongs in the options field only.
    if (!(skipOverload && code === OptionCode.Overload)) {
      let list = pieces.get(code)
      if (list === undefined) {
        list = []
        pieces.set(code, list)
        order.push(code)
      }
      list.push(i + 2, len)
    }
    i += 2 + len
  }
  return undefined
}

/** The concatenated data of an option (RFC 3396): a subarray when it came in one piece. */
const dataOf = (buffer: Uint8Array, list: ReadonlyArray<number>): Uint8Array => {
  if (list.length === 2) return buffer.subarray(list[0]!, list[0]! + list[1]!)
  let total = 0
  for (let k = 1; k < list.length; k += 2) total += list[k]!
  const out = new Uint8Array(total)
  let at = 0
  for (let k = 0; k < list.length; k += 2) {
    out.set(buffer.subarray(list[k]!, list[k]! + list[k + 1]!), at)
    at += list[k + 1]!
  }
  return out
}

const u32 = (d: Uint8Array): number => readIpv4(d, 0)
const addresses = (d: Uint8Array): Array<Ipv4Address> => {
  const out: Array<Ipv4Address> = []
  for (let k = 0; k < d.length; k += 4) out.push(readIpv4(d, k))
  return out
}
const latin1 = (d: Uint8Array): string => {
  let s = ""
  for (let k = 0; k < d.length; k++) s += String.fromCharCode(d[k]!)
  return s
}

/** Parses untrusted bytes into a `Repr`, or `Malformed`; never throws. */
export const parse = (buffer: Uint8Array, offset = 0, length = buffer.length - offset): Repr | Malformed => {
  const p = Packet.checked(buffer, offset, length)
  if (!(p instanceof Packet)) return p
  const pieces: Pieces = new Map()
  const order: Array<number> = []
  const end = offset + length
  const bad = scanArea(buffer, p.optionsOffset, end, pieces, order, false)
  if (bad !== undefined) return bad

  let sname = buffer.slice(p.snameOffset, p.snameOffset + SNAME_LEN)
  let file = buffer.slice(p.fileOffset, p.fileOffset + FILE_LEN)
  const overload = pieces.get(OptionCode.Overload)
  if (overload !== undefined) {
    pieces.delete(OptionCode.Overload)
    order.splice(order.indexOf(OptionCode.Overload), 1)
    if (overload.length !== 2 || overload[1] !== 1) return BadOverload
    const which = buffer[overload[0]!]!
    if (which < 1 || which > 3) return BadOverload
    // RFC 2131 §4.1: `file` is read first, then `sname`.
    if (which & 1) {
      const e = scanArea(buffer, p.fileOffset, p.fileOffset + FILE_LEN, pieces, order, true)
      if (e !== undefined) return e
      file = new Uint8Array(FILE_LEN)
    }
    if (which & 2) {
      const e = scanArea(buffer, p.snameOffset, p.snameOffset + SNAME_LEN, pieces, order, true)
      if (e !== undefined) return e
      sname = new Uint8Array(SNAME_LEN)
    }
  }

  const repr: {
    -readonly [K in keyof Repr]: Repr[K]
  } = {
    op: p.op,
    htype: p.htype,
    hops: p.hops,
    xid: p.xid,
    secs: p.secs,
    broadcast: p.broadcast,
    ciaddr: p.ciaddr,
    yiaddr: p.yiaddr,
    siaddr: p.siaddr,
    giaddr: p.giaddr,
    chaddr: buffer.slice(p.chaddrOffset, p.chaddrOffset + p.hlen),
    sname,
    file
  }
  const unknown: Array<RawOption> = []
  for (const code of order) {
    const d = dataOf(buffer, pieces.get(code)!)
    const n = d.length
    switch (code) {
      case OptionCode.MessageType:
        if (n !== 1) return BadOptionLength
        repr.messageType = d[0]!
        break
      case OptionCode.SubnetMask:
        if (n !== 4) return BadOptionLength
        repr.subnetMask = u32(d)
        break
      case OptionCode.Router:
      case OptionCode.DnsServers:
        if (n === 0 || n % 4 !== 0) return BadOptionLength
        if (code === OptionCode.Router) repr.router = addresses(d)
        else repr.dnsServers = addresses(d)
        break
      case OptionCode.HostName:
        repr.hostName = latin1(d)
        break
      case OptionCode.Message:
        repr.message = latin1(d)
        break
      case OptionCode.RequestedAddress:
      case OptionCode.ServerIdentifier:
      case OptionCode.LeaseTime:
      case OptionCode.RenewalTime:
      case OptionCode.RebindingTime: {
        if (n !== 4) return BadOptionLength
        const v = u32(d)
        if (code === OptionCode.RequestedAddress) repr.requestedAddress = v
        else if (code === OptionCode.ServerIdentifier) repr.serverIdentifier = v
        else if (code === OptionCode.LeaseTime) repr.leaseTime = v
        else if (code === OptionCode.RenewalTime) repr.renewalTime = v
        else repr.rebindingTime = v
        break
      }
      case OptionCode.ParameterRequestList:
        repr.parameterRequestList = Array.from(d)
        break
      case OptionCode.MaxMessageSize:
        if (n !== 2) return BadOptionLength
        repr.maxMessageSize = (d[0]! << 8) | d[1]!
        break
      case OptionCode.ClientIdentifier:
        repr.clientIdentifier = d.slice()
        break
      default:
        unknown.push({ code, data: d.slice() })
    }
  }
  repr.unknownOptions = unknown
  repr.optionOrder = order
  return repr
}

/** The data bytes of option `code` in `repr`, or undefined when it is absent. */
const optionData = (repr: Repr, code: number): Uint8Array | undefined => {
  const addr = (a: Ipv4Address | undefined): Uint8Array | undefined => {
    if (a === undefined) return undefined
    const d = new Uint8Array(4)
    writeIpv4(d, 0, a)
    return d
  }
  const list = (l: ReadonlyArray<Ipv4Address> | undefined): Uint8Array | undefined => {
    if (l === undefined || l.length === 0) return undefined
    const d = new Uint8Array(4 * l.length)
    l.forEach((a, k) => writeIpv4(d, 4 * k, a))
    return d
  }
  const text = (s: string | undefined): Uint8Array | undefined =>
    s === undefined ? undefined : Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff)
  switch (code) {
    case OptionCode.MessageType:
      return repr.messageType === undefined ? undefined : Uint8Array.of(repr.messageType & 0xff)
    case OptionCode.SubnetMask:
      return addr(repr.subnetMask)
    case OptionCode.Router:
      return list(repr.router)
    case OptionCode.DnsServers:
      return list(repr.dnsServers)
    case OptionCode.HostName:
      return text(repr.hostName)
    case OptionCode.Message:
      return text(repr.message)
    case OptionCode.RequestedAddress:
      return addr(repr.requestedAddress)
    case OptionCode.ServerIdentifier:
      return addr(repr.serverIdentifier)
    case OptionCode.LeaseTime:
      return addr(repr.leaseTime)
    case OptionCode.RenewalTime:
      return addr(repr.renewalTime)
    case OptionCode.RebindingTime:
      return addr(repr.rebindingTime)
    case OptionCode.ParameterRequestList:
      return repr.parameterRequestList === undefined ? undefined : Uint8Array.from(repr.parameterRequestList)
    case OptionCode.MaxMessageSize:
      return repr.maxMessageSize === undefined
        ? undefined
        : Uint8Array.of((repr.maxMessageSize >>> 8) & 0xff, repr.maxMessageSize & 0xff)
    case OptionCode.ClientIdentifier:
      return repr.clientIdentifier
    default:
      return repr.unknownOptions?.find((o) => o.code === code)?.data
  }
}

/** The options of `repr` in emission order: `optionOrder` first, then the known ones, then the unknown ones. */
const emissionOrder = (repr: Repr): Array<readonly [number, Uint8Array]> => {
  const out: Array<readonly [number, Uint8Array]> = []
  const seen = new Set<number>()
  const add = (code: number): void => {
    if (seen.has(code) || code === OptionCode.Pad || code === OptionCode.End || code === OptionCode.Overload) return
    const d = optionData(repr, code)
    if (d === undefined) return
    seen.add(code)
    out.push([code, d])
  }
  for (const code of repr.optionOrder ?? []) add(code)
  for (const code of KNOWN) add(code)
  for (const o of repr.unknownOptions ?? []) if (!KNOWN_SET.has(o.code)) add(o.code)
  return out
}

/** Bytes an option takes, split into pieces of at most 255 bytes (RFC 3396). */
const optionLen = (n: number): number => (n === 0 ? 2 : n + 2 * Math.ceil(n / 255))

const totalLen = (options: ReadonlyArray<readonly [number, Uint8Array]>): number => {
  let n = HEADER_LEN + 1
  for (const [, d] of options) n += optionLen(d.length)
  return Math.max(MIN_EMIT_LEN, n)
}

/** Bytes `emit` writes for `repr`: fixed part, options, End, padded to `MIN_EMIT_LEN`. */
export const bufferLen = (repr: Repr): number => totalLen(emissionOrder(repr))

/** Writes `repr` at `buffer[offset]` (`bufferLen(repr)` bytes, padding zeroed) and returns the length written. */
export const emitInto = (repr: Repr, buffer: Uint8Array, offset = 0): number =>
  write(repr, emissionOrder(repr), buffer, offset)

/** The message as new bytes. */
export const emit = (repr: Repr): Uint8Array => {
  const options = emissionOrder(repr)
  const out = new Uint8Array(totalLen(options))
  write(repr, options, out, 0)
  return out
}

const write = (
  repr: Repr,
  options: ReadonlyArray<readonly [number, Uint8Array]>,
  buffer: Uint8Array,
  offset: number
): number => {
  const total = totalLen(options)
  buffer.fill(0, offset, offset + total)
  const b = buffer
  const chaddr = repr.chaddr.subarray(0, CHADDR_LEN)
  b[offset + field.OP] = repr.op
  b[offset + field.HTYPE] = repr.htype
  b[offset + field.HLEN] = chaddr.length
  b[offset + field.HOPS] = repr.hops
  writeIpv4(b, offset + field.XID, repr.xid >>> 0)
  b[offset + field.SECS] = (repr.secs >>> 8) & 0xff
  b[offset + field.SECS + 1] = repr.secs & 0xff
  b[offset + field.FLAGS] = repr.broadcast ? FLAG_BROADCAST >>> 8 : 0
  writeIpv4(b, offset + field.CIADDR, repr.ciaddr)
  writeIpv4(b, offset + field.YIADDR, repr.yiaddr)
  writeIpv4(b, offset + field.SIADDR, repr.siaddr)
  writeIpv4(b, offset + field.GIADDR, repr.giaddr)
  b.set(chaddr, offset + field.CHADDR)
  if (repr.sname !== undefined) b.set(repr.sname.subarray(0, SNAME_LEN), offset + field.SNAME)
  if (repr.file !== undefined) b.set(repr.file.subarray(0, FILE_LEN), offset + field.FILE)
  writeIpv4(b, offset + field.COOKIE, MAGIC_COOKIE)
  let i = offset + field.OPTIONS
  for (const [code, d] of options) {
    let at = 0
    do {
      const n = Math.min(255, d.length - at)
      b[i] = code
      b[i + 1] = n
      b.set(d.subarray(at, at + n), i + 2)
      i += 2 + n
      at += n
    } while (at < d.length)
  }
  b[i] = OptionCode.End
  return total
}
