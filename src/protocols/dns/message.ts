/**
 * DNS messages (RFC 1035 §4, AAAA from RFC 3596, OPT/EDNS0 from RFC 6891): a
 * zero-copy header view, and a `Repr` whose `parse` follows compression
 * pointers and refuses bad ones as `Malformed` values, and whose `emit`
 * compresses every name it may (owners, questions, and the names inside NS,
 * CNAME, PTR, MX and SOA data, RFC 3597 §4) with one table per message.
 */
import { readIpv4, writeIpv4, type Ipv4Address } from "../address.js"
import { isMalformed, malformed, type Malformed } from "../malformed.js"
import { readName, textToLabels } from "./name.js"
import { checkedView, WireView } from "../view.js"

/** Byte offsets of the header fields. */
export const field = { ID: 0, FLAGS: 2, QDCOUNT: 4, ANCOUNT: 6, NSCOUNT: 8, ARCOUNT: 10 } as const

/** Length of the header. */
export const HEADER_LEN = 12

/** The DNS port. */
export const PORT = 53

/** Largest message over UDP without EDNS (RFC 1035 §4.2.1). */
export const MAX_UDP_PAYLOAD = 512

/** The UDP payload size advertised in queries' OPT record (the DNS flag day 2020 value). */
export const EDNS_UDP_PAYLOAD = 1232

/** Resource record types the stack knows by name. */
export const Type = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  ANY: 255
} as const

/** Classes. */
export const Class = { IN: 1, CH: 3, ANY: 255 } as const

/** Header opcodes. */
export const Opcode = { Query: 0, IQuery: 1, Status: 2, Notify: 4, Update: 5 } as const

/** Header response codes (RFC 1035 §4.1.1). */
export const Rcode = { NoError: 0, FormErr: 1, ServFail: 2, NXDomain: 3, NotImp: 4, Refused: 5 } as const

/** Parse failures (names add theirs, see `name.ts`). */
export const Truncated: Malformed = malformed("truncated")
export const TrailingBytes: Malformed = malformed("trailing_bytes")
export const BadRdata: Malformed = malformed("bad_rdata")
export const BadOpt: Malformed = malformed("bad_opt")

const QR = 0x8000
const AA = 0x0400
const TC = 0x0200
const RD = 0x0100
const RA = 0x0080
const AD = 0x0020
const CD = 0x0010
const DO = 0x8000

/** A view of a DNS message's header in `buffer[offset .. offset+length)`. */
export class Packet extends WireView {
  /** A view over untrusted bytes, or `Malformed` (the header's length only). */
  static checked(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Packet | Malformed {
    return checkedView(new Packet(buffer, offset, length))
  }

  /** Validates that the header fits, so no getter reads out of range. */
  check(): Malformed | undefined {
    if (this.offset < 0 || this.length < HEADER_LEN || this.offset + this.length > this.buffer.length) return Truncated
    return undefined
  }

  private u16(at: number): number {
    return (this.buffer[this.offset + at]! << 8) | this.buffer[this.offset + at + 1]!
  }

  get id(): number {
    return this.u16(field.ID)
  }
  set id(v: number) {
    this.buffer[this.offset] = (v >>> 8) & 0xff
    this.buffer[this.offset + 1] = v & 0xff
  }
  /** The raw flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE). */
  get flags(): number {
    return this.u16(field.FLAGS)
  }
  /** QR: a response. */
  get response(): boolean {
    return (this.flags & QR) !== 0
  }
  get opcode(): number {
    return (this.flags >>> 11) & 0x0f
  }
  /** AA */
  get authoritative(): boolean {
    return (this.flags & AA) !== 0
  }
  /** TC: the message was cut to fit the transport. */
  get truncated(): boolean {
    return (this.flags & TC) !== 0
  }
  /** RD */
  get recursionDesired(): boolean {
    return (this.flags & RD) !== 0
  }
  /** RA */
  get recursionAvailable(): boolean {
    return (this.flags & RA) !== 0
  }
  /** AD (RFC 4035) */
  get authenticData(): boolean {
    return (this.flags & AD) !== 0
  }
  /** CD (RFC 4035) */
  get checkingDisabled(): boolean {
    return (this.flags & CD) !== 0
  }
  /** The header's 4-bit RCODE (EDNS extends it, see `Edns.extendedRcode`). */
  get rcode(): number {
    return this.flags & 0x0f
  }
  get questionCount(): number {
    return this.u16(field.QDCOUNT)
  }
  get answerCount(): number {
    return this.u16(field.ANCOUNT)
  }
  get authorityCount(): number {
    return this.u16(field.NSCOUNT)
  }
  get additionalCount(): number {
    return this.u16(field.ARCOUNT)
  }

  /**
   * The first question, or `Malformed` (also when there is none). Reads no
   * further, so it works on a truncated answer whose records were cut.
   */
  question(): Question | Malformed {
    if (this.questionCount === 0) return Truncated
    const end = this.offset + this.length
    const q = readQuestion(this.buffer, this.offset, end, this.offset + HEADER_LEN)
    return isMalformed(q) ? q : q.question
  }
}

/** A question (RFC 1035 §4.1.2). */
export interface Question {
  /** Canonical text ("host.example.com", root "."), case as on the wire. */
  readonly name: string
  readonly type: number
  readonly class: number
}

/** Decoded RDATA: the types the stack uses, the rest as bytes. */
export type Rdata =
  | { readonly _tag: "A"; readonly address: Ipv4Address }
  /** `address` is 16 bytes. */
  | { readonly _tag: "AAAA"; readonly address: Uint8Array }
  | { readonly _tag: "CNAME"; readonly target: string }
  | { readonly _tag: "NS"; readonly host: string }
  | { readonly _tag: "PTR"; readonly target: string }
  | { readonly _tag: "MX"; readonly preference: number; readonly exchange: string }
  | {
    readonly _tag: "SOA"
    readonly mname: string
    readonly rname: string
    readonly serial: number
    readonly refresh: number
    readonly retry: number
    readonly expire: number
    /** RFC 2308 §4: the TTL of negative answers. */
    readonly minimum: number
  }
  /** Any other type's RDATA, as it was on the wire. */
  | { readonly _tag: "Raw"; readonly bytes: Uint8Array }

/** A resource record (RFC 1035 §4.1.3). `type` says how `data` is encoded: A ↔ "A" and so on, other types ↔ "Raw". */
export interface ResourceRecord {
  readonly name: string
  readonly type: number
  readonly class: number
  /** Seconds, unsigned 32-bit as on the wire (RFC 2181 §8 says to read values ≥ 2^31 as 0: users of TTLs do). */
  readonly ttl: number
  readonly data: Rdata
}

/** An EDNS option (RFC 6891 §6.1.2). */
export interface EdnsOption {
  readonly code: number
  readonly data: Uint8Array
}

/** The OPT pseudo-record (RFC 6891 §6.1), lifted out of the additional section. */
export interface Edns {
  /** The largest UDP payload the sender can take. */
  readonly udpPayloadSize: number
  /** The upper 8 bits of the 12-bit RCODE. */
  readonly extendedRcode: number
  readonly version: number
  /** DO (RFC 3225). */
  readonly dnssecOk: boolean
  readonly options: ReadonlyArray<EdnsOption>
}

/** A whole message. */
export interface Repr {
  readonly id: number
  /** QR */
  readonly response: boolean
  readonly opcode: number
  /** AA */
  readonly authoritative: boolean
  /** TC */
  readonly truncated: boolean
  /** RD */
  readonly recursionDesired: boolean
  /** RA */
  readonly recursionAvailable: boolean
  /** AD */
  readonly authenticData: boolean
  /** CD */
  readonly checkingDisabled: boolean
  /** The header's 4-bit RCODE. */
  readonly rcode: number
  readonly questions: ReadonlyArray<Question>
  readonly answers: ReadonlyArray<ResourceRecord>
  readonly authorities: ReadonlyArray<ResourceRecord>
  /** Without the OPT record, which is `edns`. */
  readonly additionals: ReadonlyArray<ResourceRecord>
  readonly edns?: Edns
}

// --- parse ------------------------------------------------------------------

const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!
const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0

const readQuestion = (
  buf: Uint8Array,
  base: number,
  end: number,
  pos: number
): { readonly question: Question; readonly next: number } | Malformed => {
  const n = readName(buf, base, end, pos, end)
  if (isMalformed(n)) return n
  if (n.next + 4 > end) return Truncated
  return { question: { name: n.name, type: u16(buf, n.next), class: u16(buf, n.next + 2) }, next: n.next + 4 }
}

/** Reads a name that must fill `buf[pos .. stop)` exactly (an RDATA made of one name). */
const rdataName = (buf: Uint8Array, base: number, end: number, pos: number, stop: number): string | Malformed => {
  const n = readName(buf, base, end, pos, stop)
  if (isMalformed(n)) return n
  return n.next === stop ? n.name : BadRdata
}

const readRdata = (
  buf: Uint8Array,
  base: number,
  end: number,
  type: number,
  pos: number,
  len: number
): Rdata | Malformed => {
  const stop = pos + len
  switch (type) {
    case Type.A:
      return len === 4 ? { _tag: "A", address: readIpv4(buf, pos) } : BadRdata
    case Type.AAAA:
      return len === 16 ? { _tag: "AAAA", address: buf.slice(pos, stop) } : BadRdata
    case Type.CNAME: {
      const target = rdataName(buf, base, end, pos, stop)
      return isMalformed(target) ? target : { _tag: "CNAME", target }
    }
    case Type.NS: {
      const host = rdataName(buf, base, end, pos, stop)
      return isMalformed(host) ? host : { _tag: "NS", host }
    }
    case Type.PTR: {
      const target = rdataName(buf, base, end, pos, stop)
      return isMalformed(target) ? target : { _tag: "PTR", target }
    }
    case Type.MX: {
      if (len < 3) return BadRdata
      const exchange = rdataName(buf, base, end, pos + 2, stop)
      return isMalformed(exchange) ? exchange : { _tag: "MX", preference: u16(buf, pos), exchange }
    }
    case Type.SOA: {
      const mname = readName(buf, base, end, pos, stop)
      if (isMalformed(mname)) return mname
      const rname = readName(buf, base, end, mname.next, stop)
      if (isMalformed(rname)) return rname
      const o = rname.next
      if (o + 20 !== stop) return BadRdata
      return {
        _tag: "SOA",
        mname: mname.name,
        rname: rname.name,
        serial: u32(buf, o),
        refresh: u32(buf, o + 4),
        retry: u32(buf, o + 8),
        expire: u32(buf, o + 12),
        minimum: u32(buf, o + 16)
      }
    }
    default:
      return { _tag: "Raw", bytes: buf.slice(pos, stop) }
  }
}

const readOptions = (buf: Uint8Array, pos: number, stop: number): ReadonlyArray<EdnsOption> | Malformed => {
  const options: Array<EdnsOption> = []
  while (pos < stop) {
    if (pos + 4 > stop) return BadOpt
    const len = u16(buf, pos + 2)
    if (pos + 4 + len > stop) return BadOpt
    options.push({ code: u16(buf, pos), data: buf.slice(pos + 4, pos + 4 + len) })
    pos += 4 + len
  }
  return options
}

const ANSWER = 0
const AUTHORITY = 1
const ADDITIONAL = 2

/**
 * Parses untrusted bytes into a `Repr`, or `Malformed`: truncated sections,
 * bad names (see `readName`), RDATA whose length does not fit its type, an OPT
 * record outside the additional section, not owned by the root or repeated
 * (RFC 6891 §6.1.1), and bytes after the last record are all refused.
 */
export const parse = (buffer: Uint8Array, offset = 0, length = buffer.length - offset): Repr | Malformed => {
  const p = Packet.checked(buffer, offset, length)
  if (isMalformed(p)) return p
  const end = offset + length
  let pos = offset + HEADER_LEN
  const questions: Array<Question> = []
  for (let i = p.questionCount; i > 0; i--) {
    const q = readQuestion(buffer, offset, end, pos)
    if (isMalformed(q)) return q
    questions.push(q.question)
    pos = q.next
  }
  const sections: [Array<ResourceRecord>, Array<ResourceRecord>, Array<ResourceRecord>] = [[], [], []]
  const counts = [p.answerCount, p.authorityCount, p.additionalCount]
  let edns: Edns | undefined
  for (let s = ANSWER; s <= ADDITIONAL; s++) {
    for (let i = counts[s]!; i > 0; i--) {
      const n = readName(buffer, offset, end, pos, end)
      if (isMalformed(n)) return n
      const o = n.next
      if (o + 10 > end) return Truncated
      const type = u16(buffer, o)
      const cls = u16(buffer, o + 2)
      const ttl = u32(buffer, o + 4)
      const rdlength = u16(buffer, o + 8)
      const rdata = o + 10
      if (rdata + rdlength > end) return Truncated
      pos = rdata + rdlength
      if (type === Type.OPT) {
        if (s !== ADDITIONAL || edns !== undefined || n.name !== ".") return BadOpt
        const options = readOptions(buffer, rdata, pos)
        if (isMalformed(options)) return options
        edns = {
          udpPayloadSize: cls,
          extendedRcode: ttl >>> 24,
          version: (ttl >>> 16) & 0xff,
          dnssecOk: (ttl & DO) !== 0,
          options
        }
        continue
      }
      const data = readRdata(buffer, offset, end, type, rdata, rdlength)
      if (isMalformed(data)) return data
      sections[s].push({ name: n.name, type, class: cls, ttl, data })
    }
  }
  if (pos !== end) return TrailingBytes
  const repr: Repr = {
    id: p.id,
    response: p.response,
    opcode: p.opcode,
    authoritative: p.authoritative,
    truncated: p.truncated,
    recursionDesired: p.recursionDesired,
    recursionAvailable: p.recursionAvailable,
    authenticData: p.authenticData,
    checkingDisabled: p.checkingDisabled,
    rcode: p.rcode,
    questions,
    answers: sections[ANSWER],
    authorities: sections[AUTHORITY],
    additionals: sections[ADDITIONAL]
  }
  return edns === undefined ? repr : { ...repr, edns }
}

// --- emit -------------------------------------------------------------------

/** A growing output buffer with the message's compression table. */
class Writer {
  buf = new Uint8Array(512)
  pos = 0
  /** Wire form of a name suffix (as a latin1 string, case kept) → its offset. */
  private readonly suffixes = new Map<string, number>()

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    if (this.pos + n > 0xffff) throw new RangeError("DNS message longer than 65535 bytes")
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }
  u8(v: number): void {
    this.room(1)
    this.buf[this.pos++] = v & 0xff
  }
  u16(v: number): void {
    this.room(2)
    this.buf[this.pos++] = (v >>> 8) & 0xff
    this.buf[this.pos++] = v & 0xff
  }
  u32(v: number): void {
    this.room(4)
    this.buf[this.pos++] = (v >>> 24) & 0xff
    this.buf[this.pos++] = (v >>> 16) & 0xff
    this.buf[this.pos++] = (v >>> 8) & 0xff
    this.buf[this.pos++] = v & 0xff
  }
  bytes(b: Uint8Array): void {
    this.room(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }
  ipv4(a: Ipv4Address): void {
    this.room(4)
    writeIpv4(this.buf, this.pos, a)
    this.pos += 4
  }
  setU16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff
    this.buf[at + 1] = v & 0xff
  }

  /**
   * Writes a name, replacing its longest suffix already in the message by a
   * pointer (RFC 1035 §4.1.4), and records its own suffixes for later names.
   * Matching is byte-exact: pointing at a differently cased copy would change
   * the name's case (0x20 mixing must come back as sent).
   */
  name(text: string): void {
    const labels = textToLabels(text)
    if (isMalformed(labels)) throw new RangeError(`invalid DNS name ${JSON.stringify(text)}: ${labels.reason}`)
    const keys: Array<string> = new Array(labels.length)
    let key = ""
    for (let i = labels.length - 1; i >= 0; i--) {
      const l = labels[i]!
      key = String.fromCharCode(l.length, ...l) + key
      keys[i] = key
    }
    for (let i = 0; i < labels.length; i++) {
      const at = this.suffixes.get(keys[i]!)
      if (at !== undefined) {
        this.u16(0xc000 | at)
        return
      }
      if (this.pos < 0x4000) this.suffixes.set(keys[i]!, this.pos)
      const l = labels[i]!
      this.u8(l.length)
      this.bytes(l)
    }
    this.u8(0)
  }
}

const flagsOf = (r: Repr): number =>
  (r.response ? QR : 0) |
  ((r.opcode & 0x0f) << 11) |
  (r.authoritative ? AA : 0) |
  (r.truncated ? TC : 0) |
  (r.recursionDesired ? RD : 0) |
  (r.recursionAvailable ? RA : 0) |
  (r.authenticData ? AD : 0) |
  (r.checkingDisabled ? CD : 0) |
  (r.rcode & 0x0f)

const emitRecord = (w: Writer, rr: ResourceRecord): void => {
  w.name(rr.name)
  w.u16(rr.type)
  w.u16(rr.class)
  w.u32(rr.ttl)
  const lengthAt = w.pos
  w.u16(0)
  const d = rr.data
  switch (d._tag) {
    case "A":
      w.ipv4(d.address)
      break
    case "AAAA":
      if (d.address.length !== 16) throw new RangeError("AAAA address is not 16 bytes")
      w.bytes(d.address)
      break
    case "CNAME":
      w.name(d.target)
      break
    case "NS":
      w.name(d.host)
      break
    case "PTR":
      w.name(d.target)
      break
    case "MX":
      w.u16(d.preference)
      w.name(d.exchange)
      break
    case "SOA":
      w.name(d.mname)
      w.name(d.rname)
      w.u32(d.serial)
      w.u32(d.refresh)
      w.u32(d.retry)
      w.u32(d.expire)
      w.u32(d.minimum)
      break
    case "Raw":
      w.bytes(d.bytes)
      break
  }
  const len = w.pos - lengthAt - 2
  if (len > 0xffff) throw new RangeError("RDATA longer than 65535 bytes")
  w.setU16(lengthAt, len)
}

/**
 * The bytes of a message: header, sections in order, the OPT record (from
 * `edns`) last in the additional section. Throws `RangeError` only on a
 * `Repr` no parser produces (an invalid name, a 15-byte AAAA address, more
 * than 65535 bytes): check names from users with `normalizeName` first.
 */
export const emit = (repr: Repr): Uint8Array => {
  const w = new Writer()
  w.u16(repr.id)
  w.u16(flagsOf(repr))
  w.u16(repr.questions.length)
  w.u16(repr.answers.length)
  w.u16(repr.authorities.length)
  w.u16(repr.additionals.length + (repr.edns === undefined ? 0 : 1))
  for (const q of repr.questions) {
    w.name(q.name)
    w.u16(q.type)
    w.u16(q.class)
  }
  for (const rr of repr.answers) emitRecord(w, rr)
  for (const rr of repr.authorities) emitRecord(w, rr)
  for (const rr of repr.additionals) emitRecord(w, rr)
  const e = repr.edns
  if (e !== undefined) {
    w.u8(0) // RFC 6891 §6.1.2: owned by the root
    w.u16(Type.OPT)
    w.u16(e.udpPayloadSize)
    w.u8(e.extendedRcode)
    w.u8(e.version)
    w.u16(e.dnssecOk ? DO : 0)
    let len = 0
    for (const o of e.options) len += 4 + o.data.length
    w.u16(len)
    for (const o of e.options) {
      w.u16(o.code)
      w.u16(o.data.length)
      w.bytes(o.data)
    }
  }
  return w.buf.slice(0, w.pos)
}

/** Options of `makeQuery`. */
export interface QueryOptions {
  /** RD (default true: a stub resolver asks a recursive server). */
  readonly recursionDesired?: boolean
  /** Add an OPT record advertising `EDNS_UDP_PAYLOAD` bytes (default true). */
  readonly edns?: boolean
}

/** A standard query for `name` (text, not checked: see `normalizeName`) of `type`, class IN. */
export const makeQuery = (id: number, name: string, type: number, options: QueryOptions = {}): Repr => {
  const repr: Repr = {
    id: id & 0xffff,
    response: false,
    opcode: Opcode.Query,
    authoritative: false,
    truncated: false,
    recursionDesired: options.recursionDesired ?? true,
    recursionAvailable: false,
    authenticData: false,
    checkingDisabled: false,
    rcode: Rcode.NoError,
    questions: [{ name, type, class: Class.IN }],
    answers: [],
    authorities: [],
    additionals: []
  }
  if (options.edns === false) return repr
  return {
    ...repr,
    edns: { udpPayloadSize: EDNS_UDP_PAYLOAD, extendedRcode: 0, version: 0, dnssecOk: false, options: [] }
  }
}

/** The 12-bit response code: the header's RCODE extended by the OPT record's upper bits (RFC 6891 §6.1.3). */
export const fullRcode = (repr: Repr): number =>
  repr.edns === undefined ? repr.rcode : (repr.edns.extendedRcode << 4) | repr.rcode

/** A message framed for TCP: the 2-byte length prefix, then the message (RFC 1035 §4.2.2, RFC 7766 §8). */
export const tcpFrame = (message: Uint8Array): Uint8Array => {
  const out = new Uint8Array(2 + message.length)
  out[0] = message.length >>> 8
  out[1] = message.length & 0xff
  out.set(message, 2)
  return out
}
