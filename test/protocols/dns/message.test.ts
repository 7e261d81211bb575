/**
 * DNS messages (RFC 1035 §4, RFC 3596, RFC 6891) on answers captured from
 * dnsmasq and on messages built by hand from RFC 1035 §4.1.4: concrete parse
 * results, byte-identical re-emission (or, where dnsmasq leaves names in
 * RDATA uncompressed, a shorter emit that parses back the same), malformed
 * names and lengths refused as values, and properties over random messages.
 */
import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { parseIpv4 } from "../../../src/protocols/address.js"
import * as Dns from "../../../src/protocols/dns/index.js"
import { isMalformed, type Malformed } from "../../../src/protocols/malformed.js"
import { allFrameNames, ascii, dnsFrame, type DnsFrameName, fromHex, ipv6, toHex } from "./frames.js"

const ip = (text: string): number => parseIpv4(text)!

const ok = (bytes: Uint8Array): Dns.Repr => {
  const r = Dns.parse(bytes)
  if (isMalformed(r)) throw new Error(`unexpected Malformed: ${r.reason}`)
  return r
}

const noEdns = { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: [] }

/** Header flags of a query from dig and of dnsmasq's answers. */
const queryFlags = {
  response: false,
  opcode: 0,
  authoritative: false,
  truncated: false,
  recursionDesired: true,
  recursionAvailable: false,
  authenticData: false,
  checkingDisabled: false,
  rcode: 0
} as const
const answerFlags = { ...queryFlags, response: true, recursionAvailable: true } as const
const authFlags = { ...queryFlags, response: true, authoritative: true } as const

const rr = (name: string, type: number, ttl: number, data: Dns.Rdata): Dns.ResourceRecord => ({
  name,
  type,
  class: Dns.Class.IN,
  ttl,
  data
})

const soa: Dns.Rdata = {
  _tag: "SOA",
  mname: "ns.isla.test",
  rname: "hostmaster.isla.test",
  serial: 2024060101,
  refresh: 1200,
  retry: 180,
  expire: 1209600,
  minimum: 600
}

const section = { answers: [], authorities: [], additionals: [] } as const

/** What the captured messages parse to (the big ones are checked on their own below). */
const expected: ReadonlyArray<readonly [DnsFrameName, Dns.Repr]> = [
  ["a_noedns_query", { id: 0xc724, ...queryFlags, questions: [{ name: "host.isla.test", type: 1, class: 1 }], ...section }],
  [
    "a_noedns_response",
    {
      id: 0xc724,
      ...answerFlags,
      questions: [{ name: "host.isla.test", type: 1, class: 1 }],
      ...section,
      answers: [rr("host.isla.test", Dns.Type.A, 600, { _tag: "A", address: ip("10.80.0.10") })]
    }
  ],
  [
    "a_edns_query",
    { id: 0xbd7d, ...queryFlags, questions: [{ name: "host.isla.test", type: 1, class: 1 }], ...section, edns: noEdns }
  ],
  [
    "aaaa_cookie_query",
    {
      id: 0xca4c,
      ...queryFlags,
      authenticData: true, // dig sets AD in queries unless +noadflag (RFC 6840 §5.7)
      questions: [{ name: "host.isla.test", type: 28, class: 1 }],
      ...section,
      edns: { ...noEdns, options: [{ code: 10, data: fromHex("0a88b048d5c60500") }] } // COOKIE (RFC 7873)
    }
  ],
  [
    "aaaa_cookie_response",
    {
      id: 0xca4c,
      ...answerFlags,
      questions: [{ name: "host.isla.test", type: 28, class: 1 }],
      ...section,
      answers: [rr("host.isla.test", Dns.Type.AAAA, 600, { _tag: "AAAA", address: ipv6(0xfd00, 0x80, 0, 0, 0, 0, 0, 0x10) })],
      edns: noEdns
    }
  ],
  [
    "cname_with_target_response",
    {
      id: 0x84af,
      ...answerFlags,
      questions: [{ name: "alias.isla.test", type: 1, class: 1 }],
      ...section,
      answers: [
        rr("alias.isla.test", Dns.Type.CNAME, 600, { _tag: "CNAME", target: "host.isla.test" }),
        rr("host.isla.test", Dns.Type.A, 600, { _tag: "A", address: ip("10.80.0.10") })
      ],
      edns: noEdns
    }
  ],
  [
    "cname_alone_response",
    {
      id: 0xdd69,
      ...answerFlags,
      questions: [{ name: "www.isla.test", type: 1, class: 1 }],
      ...section,
      answers: [rr("www.isla.test", Dns.Type.CNAME, 600, { _tag: "CNAME", target: "web.isla.test" })],
      edns: noEdns
    }
  ],
  [
    "nxdomain_response",
    { id: 0xdf10, ...answerFlags, rcode: 3, questions: [{ name: "missing.isla.test", type: 1, class: 1 }], ...section, edns: noEdns }
  ],
  [
    "nodata_response",
    { id: 0xbdbb, ...answerFlags, questions: [{ name: "v4only.isla.test", type: 28, class: 1 }], ...section, edns: noEdns }
  ],
  [
    "nxdomain_soa_response",
    {
      id: 0xb481,
      ...authFlags,
      rcode: 3,
      questions: [{ name: "missing.isla.test", type: 1, class: 1 }],
      ...section,
      authorities: [rr("isla.test", Dns.Type.SOA, 600, soa)],
      edns: noEdns
    }
  ],
  [
    "nodata_soa_response",
    {
      id: 0x0720,
      ...authFlags,
      questions: [{ name: "v4only.isla.test", type: 28, class: 1 }],
      ...section,
      authorities: [rr("isla.test", Dns.Type.SOA, 600, soa)],
      edns: noEdns
    }
  ],
  [
    "soa_response",
    {
      id: 0x04ba,
      ...authFlags,
      questions: [{ name: "isla.test", type: 6, class: 1 }],
      ...section,
      answers: [rr("isla.test", Dns.Type.SOA, 600, soa)],
      authorities: [rr("isla.test", Dns.Type.NS, 600, { _tag: "NS", host: "ns.isla.test" })],
      edns: noEdns
    }
  ],
  [
    "mx_response",
    {
      id: 0x55fd,
      ...answerFlags,
      questions: [{ name: "isla.test", type: 15, class: 1 }],
      ...section,
      answers: [rr("isla.test", Dns.Type.MX, 600, { _tag: "MX", preference: 10, exchange: "mail.isla.test" })],
      edns: noEdns
    }
  ],
  [
    "ptr_response",
    {
      id: 0xa337,
      ...answerFlags,
      authoritative: true,
      questions: [{ name: "10.0.80.10.in-addr.arpa", type: 12, class: 1 }],
      ...section,
      answers: [rr("10.0.80.10.in-addr.arpa", Dns.Type.PTR, 0, { _tag: "PTR", target: "host.isla.test" })],
      edns: noEdns
    }
  ],
  [
    "mixed_case_response",
    {
      id: 0x2353,
      ...answerFlags,
      questions: [{ name: "HoSt.IsLa.TeSt", type: 1, class: 1 }],
      ...section,
      answers: [rr("HoSt.IsLa.TeSt", Dns.Type.A, 600, { _tag: "A", address: ip("10.80.0.10") })],
      edns: noEdns
    }
  ],
  [
    "txt_truncated_response",
    { id: 0x06d4, ...answerFlags, truncated: true, questions: [{ name: "big.isla.test", type: 16, class: 1 }], ...section }
  ]
]

/**
 * Captured messages our emit reproduces byte for byte: dnsmasq compresses
 * owner names as we do. In the others it writes names inside RDATA (CNAME,
 * SOA, MX targets) and an SOA owner in full where we point at an earlier copy.
 */
const identical: ReadonlyArray<DnsFrameName> = allFrameNames.filter(
  (n) =>
    n.endsWith("_query") ||
    !["cname_with_target", "cname_alone", "cname_next", "nxdomain_soa", "nodata_soa", "soa", "mx"].some((e) =>
      n.startsWith(e + "_")
    )
)

describe("Dns.Packet (header view)", () => {
  it("reads the header of a captured answer", () => {
    const p = Dns.Packet.checked(dnsFrame("nxdomain_soa_response"))
    if (isMalformed(p)) throw new Error(p.reason)
    expect(p.id).toBe(0xb481)
    expect(p.flags).toBe(0x8503)
    expect([p.response, p.opcode, p.authoritative, p.truncated, p.recursionDesired, p.recursionAvailable]).toEqual([
      true,
      0,
      true,
      false,
      true,
      false
    ])
    expect([p.authenticData, p.checkingDisabled, p.rcode]).toEqual([false, false, Dns.Rcode.NXDomain])
    expect([p.questionCount, p.answerCount, p.authorityCount, p.additionalCount]).toEqual([1, 0, 1, 1])
    expect(p.question()).toEqual({ name: "missing.isla.test", type: Dns.Type.A, class: Dns.Class.IN })
  })

  it("reads TC and the question of a truncated answer", () => {
    const p = Dns.Packet.checked(dnsFrame("truncated_noedns_response")) as Dns.Packet
    expect(p.truncated).toBe(true)
    expect(p.answerCount).toBe(30)
    expect(p.question()).toEqual({ name: "lots.isla.test", type: Dns.Type.A, class: Dns.Class.IN })
  })

  it("sets the id in place", () => {
    const bytes = dnsFrame("a_noedns_query")
    const p = new Dns.Packet(bytes)
    p.id = 0xbeef
    expect(toHex(bytes.subarray(0, 2))).toBe("beef")
  })

  it("refuses fewer than 12 bytes, and a question when there is none", () => {
    for (let n = 0; n < Dns.HEADER_LEN; n++) expect(Dns.Packet.checked(new Uint8Array(n))).toBe(Dns.Truncated)
    const p = Dns.Packet.checked(new Uint8Array(12)) as Dns.Packet
    expect(p.question()).toBe(Dns.Truncated)
  })
})

describe("Dns.parse on dnsmasq's answers", () => {
  it.each(expected)("%s", (name, repr) => {
    expect(ok(dnsFrame(name))).toEqual(repr)
  })

  it("cname_alone_query / cname_next: the chain www → web → host comes one link per answer", () => {
    expect(ok(dnsFrame("cname_alone_query")).questions).toEqual([{ name: "www.isla.test", type: 1, class: 1 }])
    expect(ok(dnsFrame("cname_next_response")).answers).toEqual([
      rr("web.isla.test", Dns.Type.CNAME, 600, { _tag: "CNAME", target: "host.isla.test" }),
      rr("host.isla.test", Dns.Type.A, 600, { _tag: "A", address: ip("10.80.0.10") })
    ])
  })

  it("truncated answers: as many whole records as fit in 512 and 1232 bytes, counts matching", () => {
    const small = ok(dnsFrame("truncated_noedns_response"))
    expect(small.truncated).toBe(true)
    expect(small.answers).toHaveLength(30)
    expect(small.edns).toBeUndefined()
    const big = ok(dnsFrame("truncated_edns_response"))
    expect(dnsFrame("truncated_edns_response")).toHaveLength(1232)
    expect(big.truncated).toBe(true)
    expect(big.answers).toHaveLength(75)
    for (const r of [...small.answers, ...big.answers]) {
      expect(r.name).toBe("lots.isla.test")
      expect(r.data._tag).toBe("A")
    }
  })

  it("tcp_lots_response: all 90 addresses, 1489 bytes over TCP", () => {
    const r = ok(dnsFrame("tcp_lots_response"))
    expect(r.truncated).toBe(false)
    const addresses = r.answers.map((a) => (a.data._tag === "A" ? a.data.address : -1)).sort((a, b) => a - b)
    expect(addresses).toEqual(Array.from({ length: 90 }, (_, i) => ip(`10.80.2.${i + 1}`)))
    expect(r.answers.every((a) => a.ttl === 600 && a.name === "lots.isla.test")).toBe(true)
  })

  it("txt_tcp_response: the TXT record kept as raw RDATA, three 250-byte strings", () => {
    const r = ok(dnsFrame("txt_tcp_response"))
    expect(r.answers).toHaveLength(1)
    const data = r.answers[0]!.data
    if (data._tag !== "Raw") throw new Error(data._tag)
    expect(data.bytes).toHaveLength(753)
    const strings: Array<string> = []
    for (let o = 0; o < data.bytes.length; o += 1 + data.bytes[o]!) {
      strings.push(String.fromCharCode(...data.bytes.subarray(o + 1, o + 1 + data.bytes[o]!)))
    }
    expect(strings).toEqual(["a".repeat(250), "b".repeat(250), "c".repeat(250)])
  })

  it("every captured message parses", () => {
    for (const name of allFrameNames) expect(isMalformed(Dns.parse(dnsFrame(name))), name).toBe(false)
  })
})

describe("Dns.emit", () => {
  it.each(identical)("re-emits %s byte-identical", (name) => {
    const bytes = dnsFrame(name)
    expect(toHex(Dns.emit(ok(bytes)))).toBe(toHex(bytes))
  })

  it.each(allFrameNames.filter((n) => !identical.includes(n)))(
    "re-emits %s shorter (names in RDATA compressed too), parsing back the same",
    (name) => {
      const bytes = dnsFrame(name)
      const repr = ok(bytes)
      const again = Dns.emit(repr)
      expect(again.length).toBeLessThan(bytes.length)
      expect(ok(again)).toEqual(repr)
    }
  )

  it("compresses a CNAME target against the question (cname_alone_response)", () => {
    const out = Dns.emit(ok(dnsFrame("cname_alone_response")))
    // The answer at 31: owner → 12, CNAME IN 600, 6 bytes of RDATA: "web" and a pointer to isla.test at 16
    // (dnsmasq writes the 15 bytes of web.isla.test in full), then the OPT record.
    expect(toHex(out.subarray(31, 49))).toBe("c00c" + "0005" + "0001" + "00000258" + "0006" + "03776562" + "c010")
    expect(out.length).toBe(dnsFrame("cname_alone_response").length - 9)
  })

  it("makeQuery writes the queries dig sends (+noadflag +nocookie), byte for byte", () => {
    expect(toHex(Dns.emit(Dns.makeQuery(0xc724, "host.isla.test", Dns.Type.A, { edns: false })))).toBe(
      toHex(dnsFrame("a_noedns_query"))
    )
    expect(toHex(Dns.emit(Dns.makeQuery(0xbd7d, "host.isla.test", Dns.Type.A)))).toBe(toHex(dnsFrame("a_edns_query")))
  })

  it("makeQuery: RD and EDNS by default, 1232 bytes advertised", () => {
    const q = Dns.makeQuery(7, "example.com.", Dns.Type.AAAA)
    expect(q.recursionDesired).toBe(true)
    expect(q.edns?.udpPayloadSize).toBe(Dns.EDNS_UDP_PAYLOAD)
    expect(Dns.makeQuery(7, "example.com", Dns.Type.A, { recursionDesired: false, edns: false })).toMatchObject({
      recursionDesired: false,
      additionals: []
    })
    expect(ok(Dns.emit(q)).questions).toEqual([{ name: "example.com", type: Dns.Type.AAAA, class: Dns.Class.IN }])
  })

  it("throws RangeError only on names no parser produces", () => {
    expect(() => Dns.emit(Dns.makeQuery(1, "a..b", Dns.Type.A))).toThrow(RangeError)
    expect(() => Dns.emit(Dns.makeQuery(1, "x".repeat(64), Dns.Type.A))).toThrow(RangeError)
  })

  it("fullRcode joins the OPT record's upper bits (RFC 6891 §6.1.3) and tcpFrame prefixes the length", () => {
    const r = { ...ok(dnsFrame("a_edns_response")), rcode: 0 }
    expect(Dns.fullRcode({ ...r, edns: { ...noEdns, extendedRcode: 1 } })).toBe(16) // BADVERS
    expect(Dns.fullRcode({ ...r, rcode: 3 })).toBe(3)
    expect(toHex(Dns.tcpFrame(fromHex("abcdef")))).toBe("0003abcdef")
  })
})

// --- hand-built messages (RFC 1035 §4.1.4) ------------------------------------

const header = (counts: readonly [number, number, number, number], flags = 0x8180): string =>
  "1234" + flags.toString(16).padStart(4, "0") + counts.map((c) => c.toString(16).padStart(4, "0")).join("")

/**
 * RFC 1035 §4.1.4's example: F.ISI.ARPA, then FOO.F.ISI.ARPA as FOO and a
 * pointer to it, ARPA as a pointer, and the root.
 *   12  F.ISI.ARPA  A IN                      (ARPA's label at 18)
 *   28  FOO → 12   CNAME IN 3600   → 18 (ARPA)
 *   46  .          NS IN 86400     → 12 (F.ISI.ARPA)
 */
const rfc1035Example =
  header([1, 1, 1, 0]) +
  "0146034953490441525041" + "00" + "00010001" +
  "03464f4f" + "c00c" + "0005" + "0001" + "00000e10" + "0002" + "c012" +
  "00" + "0002" + "0001" + "00015180" + "0002" + "c00c"

describe("compression by hand (RFC 1035 §4.1.4)", () => {
  it("parses the RFC's example", () => {
    expect(ok(fromHex(rfc1035Example))).toEqual({
      id: 0x1234,
      ...answerFlags,
      questions: [{ name: "F.ISI.ARPA", type: 1, class: 1 }],
      answers: [rr("FOO.F.ISI.ARPA", Dns.Type.CNAME, 3600, { _tag: "CNAME", target: "ARPA" })],
      authorities: [rr(".", Dns.Type.NS, 86400, { _tag: "NS", host: "F.ISI.ARPA" })],
      additionals: []
    })
  })

  it("emits the RFC's layout back, byte for byte", () => {
    expect(toHex(Dns.emit(ok(fromHex(rfc1035Example))))).toBe(rfc1035Example)
  })

  it("follows a pointer to a name that itself ends in a pointer, and pointers into RDATA", () => {
    // An additional record BAR → 28 (FOO → 12), and one whose owner points into the CNAME's RDATA at 44 (→ 18).
    const bytes = fromHex(
      header([1, 1, 1, 2]) + rfc1035Example.slice(24) +
        "03424152" + "c01c" + "0001" + "0001" + "00000000" + "0004" + "0a000001" +
        "c02c" + "0001" + "0001" + "00000000" + "0004" + "0a000002"
    )
    expect(ok(bytes).additionals.map((r) => r.name)).toEqual(["BAR.FOO.F.ISI.ARPA", "ARPA"])
  })

  it("case is kept, and compression only points at an identical copy (0x20 case must come back)", () => {
    const repr = ok(dnsFrame("mixed_case_response"))
    const lower = { ...repr, answers: repr.answers.map((a) => ({ ...a, name: "host.isla.test" })) }
    const out = Dns.emit(lower)
    expect(ok(out).answers[0]!.name).toBe("host.isla.test")
    expect(out.length).toBe(dnsFrame("mixed_case_response").length + 14) // written out, not a 2-byte pointer
  })
})

// --- malformed ----------------------------------------------------------------

/** A query whose question name is `nameHex` (hex of the wire bytes), then type A class IN, then `tail`. */
const question = (nameHex: string, tail = ""): Uint8Array =>
  fromHex(header([1, 0, 0, 0], 0x0100) + nameHex + "00010001" + tail)

const label = (len: number, c = "a"): string => len.toString(16).padStart(2, "0") + toHex(ascii(c.repeat(len)))

describe("malformed names and lengths are values", () => {
  const cases: ReadonlyArray<readonly [string, Uint8Array, Malformed]> = [
    ["a pointer to itself", question("c00c"), Dns.PointerLoop],
    ["a pointer back into its own name (a loop)", question("0161c00c"), Dns.PointerLoop],
    ["a forward pointer", question("c010", "0161" + "00"), Dns.PointerLoop],
    ["a pointer past the end", question("c0ff"), Dns.PointerOutOfRange],
    ["a pointer into the header", question("c005"), Dns.PointerOutOfRange],
    ["a 64-byte label (length byte 0x40 is label type 01)", question(label(64) + "00"), Dns.ReservedLabelType],
    ["label type 10", question("8161" + "00"), Dns.ReservedLabelType],
    ["a 256-byte name", question(label(63) + label(63) + label(63) + label(62) + "00"), Dns.NameTooLong],
    ["a label running past the end", fromHex(header([1, 0, 0, 0]) + "0561626300"), Dns.NameTruncated],
    ["a name without its root byte", fromHex(header([1, 0, 0, 0]) + "03616263"), Dns.NameTruncated],
    ["half a pointer", fromHex(header([1, 0, 0, 0]) + "c0"), Dns.NameTruncated],
    ["a question without type and class", fromHex(header([1, 0, 0, 0]) + "0161" + "00" + "0001"), Dns.Truncated],
    ["more questions counted than present", fromHex(header([2, 0, 0, 0]) + "0161" + "00" + "00010001"), Dns.NameTruncated],
    ["bytes after the last record", question("0161" + "00", "00"), Dns.TrailingBytes]
  ]
  it.each(cases)("%s", (_, bytes, reason) => {
    expect(Dns.parse(bytes)).toBe(reason)
  })

  it("a 255-byte name is fine, a 256-byte one made through a pointer is not", () => {
    expect(isMalformed(Dns.parse(question(label(63) + label(63) + label(63) + label(61) + "00")))).toBe(false)
    // Question: three 63-byte labels (193 bytes on the wire); answer owner: a 62-byte label, then a pointer to it.
    const bytes = fromHex(
      header([1, 1, 0, 0]) + label(63) + label(63) + label(63) + "00" + "00010001" +
        label(62) + "c00c" + "0001" + "0001" + "00000000" + "0004" + "0a000001"
    )
    expect(Dns.parse(bytes)).toBe(Dns.NameTooLong)
  })

  it("a loop through two names: each pointer must go strictly backwards", () => {
    // Answer owner at 19: "b" then a pointer to 12 ("a" then a pointer to 19).
    const bytes = fromHex(header([1, 1, 0, 0]) + "0161c013" + "00010001" + "0162c00c" + "00010001" + "00000000" + "0000")
    expect(Dns.parse(bytes)).toBe(Dns.PointerLoop)
  })

  const record = (type: string, rdata: string): Uint8Array =>
    fromHex(header([0, 1, 0, 0]) + "00" + type + "0001" + "00000000" + (rdata.length / 2).toString(16).padStart(4, "0") + rdata)

  it.each([
    ["an A record of 5 bytes", record("0001", "0a00000100"), Dns.BadRdata],
    ["an AAAA record of 4 bytes", record("001c", "0a000001"), Dns.BadRdata],
    ["a CNAME with a byte after its name", record("0005", "016100" + "ff"), Dns.BadRdata],
    ["a CNAME whose name runs past its RDATA", record("0005", "0361"), Dns.NameTruncated],
    ["an MX without exchange", record("000f", "000a"), Dns.BadRdata],
    ["an SOA missing its numbers", record("0006", "00" + "00" + "00000001"), Dns.BadRdata],
    ["an OPT in the answer section", record("0029", ""), Dns.BadOpt]
  ] as const)("%s", (_, bytes, reason) => {
    expect(Dns.parse(bytes)).toBe(reason)
  })

  it("OPT: only one, owned by the root, options within its RDATA (RFC 6891 §6.1.1)", () => {
    const opt = (owner: string, rdata: string) =>
      owner + "0029" + "04d0" + "00000000" + (rdata.length / 2).toString(16).padStart(4, "0") + rdata
    const msg = (...opts: Array<string>) => fromHex(header([0, 0, 0, opts.length]) + opts.join(""))
    expect(ok(msg(opt("00", "000a0002abcd"))).edns?.options).toEqual([{ code: 10, data: fromHex("abcd") }])
    expect(Dns.parse(msg(opt("00", ""), opt("00", "")))).toBe(Dns.BadOpt)
    expect(Dns.parse(msg(opt("016100", "")))).toBe(Dns.BadOpt)
    expect(Dns.parse(msg(opt("00", "000a0003abcd")))).toBe(Dns.BadOpt)
    expect(Dns.parse(msg(opt("00", "000a00")))).toBe(Dns.BadOpt)
  })

  it("every cut of every captured message is Malformed, never an exception", () => {
    for (const name of allFrameNames) {
      const bytes = dnsFrame(name)
      for (let n = 0; n < bytes.length; n++) {
        expect(isMalformed(Dns.parse(bytes.subarray(0, n))), `${name} cut at ${n}`).toBe(true)
      }
    }
  })

  it("parses a message inside a larger buffer (offset, length)", () => {
    const bytes = dnsFrame("cname_with_target_response")
    const buf = new Uint8Array(bytes.length + 20)
    buf.set(bytes, 7)
    expect(Dns.parse(buf, 7, bytes.length)).toEqual(ok(bytes))
  })
})

// --- properties -----------------------------------------------------------------

/** Labels that repeat (so compression happens) and random ones with any bytes (so escaping does). */
const arbLabel = fc.oneof(
  fc.constantFrom("www", "isla", "test", "Host", "a"),
  fc.uint8Array({ minLength: 1, maxLength: 60 }).map((b) => String.fromCharCode(...b))
)
const arbName: fc.Arbitrary<string> = fc
  .array(arbLabel, { maxLength: 4 })
  .map((labels) => Dns.labelsToText(labels.map((l) => Uint8Array.from(l, (c) => c.charCodeAt(0)))))
const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const decodedTypes: ReadonlyArray<number> = [1, 2, 5, 6, 12, 15, 28, 41]
const arbRecord: fc.Arbitrary<Dns.ResourceRecord> = fc
  .tuple(
    arbName,
    u16,
    u32,
    fc.oneof(
      u32.map((address) => [Dns.Type.A, { _tag: "A", address }] as const),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((address) => [Dns.Type.AAAA, { _tag: "AAAA", address }] as const),
      arbName.map((target) => [Dns.Type.CNAME, { _tag: "CNAME", target }] as const),
      arbName.map((host) => [Dns.Type.NS, { _tag: "NS", host }] as const),
      arbName.map((target) => [Dns.Type.PTR, { _tag: "PTR", target }] as const),
      fc.tuple(u16, arbName).map(([preference, exchange]) => [Dns.Type.MX, { _tag: "MX", preference, exchange }] as const),
      fc
        .tuple(arbName, arbName, u32, u32, u32, u32, u32)
        .map(([mname, rname, serial, refresh, retry, expire, minimum]) =>
          [Dns.Type.SOA, { _tag: "SOA", mname, rname, serial, refresh, retry, expire, minimum }] as const
        ),
      fc
        .tuple(u16.filter((t) => !decodedTypes.includes(t)), fc.uint8Array({ maxLength: 40 }))
        .map(([type, bytes]) => [type, { _tag: "Raw", bytes }] as const)
    )
  )
  .map(([name, cls, ttl, [type, data]]) => ({ name, type, class: cls, ttl, data: data as Dns.Rdata }))
const arbEdns: fc.Arbitrary<Dns.Edns> = fc.record({
  udpPayloadSize: u16,
  extendedRcode: fc.integer({ min: 0, max: 255 }),
  version: fc.integer({ min: 0, max: 255 }),
  dnssecOk: fc.boolean(),
  options: fc.array(fc.record({ code: u16, data: fc.uint8Array({ maxLength: 12 }) }), { maxLength: 3 })
})
const arbRepr: fc.Arbitrary<Dns.Repr> = fc
  .record({
    id: u16,
    response: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 15 }),
    authoritative: fc.boolean(),
    truncated: fc.boolean(),
    recursionDesired: fc.boolean(),
    recursionAvailable: fc.boolean(),
    authenticData: fc.boolean(),
    checkingDisabled: fc.boolean(),
    rcode: fc.integer({ min: 0, max: 15 }),
    questions: fc.array(fc.record({ name: arbName, type: u16, class: u16 }), { maxLength: 3 }),
    answers: fc.array(arbRecord, { maxLength: 4 }),
    authorities: fc.array(arbRecord, { maxLength: 3 }),
    additionals: fc.array(arbRecord, { maxLength: 3 })
  })
  .chain((r) => fc.option(arbEdns, { nil: undefined }).map((edns): Dns.Repr => (edns === undefined ? r : { ...r, edns })))

describe("properties", () => {
  it("emit → parse is the identity", () => {
    fc.assert(
      fc.property(arbRepr, (repr) => {
        expect(ok(Dns.emit(repr))).toEqual(repr)
      }),
      { numRuns: 500 }
    )
  })

  it("emit never writes a name twice: re-emitting the parsed output gives the same bytes", () => {
    fc.assert(
      fc.property(arbRepr, (repr) => {
        const once = Dns.emit(repr)
        expect(toHex(Dns.emit(ok(once)))).toBe(toHex(once))
      }),
      { numRuns: 200 }
    )
  })

  it("parse never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = Dns.parse(bytes)
        expect(typeof r).toBe("object")
      }),
      { numRuns: 2000 }
    )
  })

  it("parse never throws on captured messages with random bytes changed", () => {
    const frames = allFrameNames.map(dnsFrame)
    fc.assert(
      fc.property(
        fc.nat(frames.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (which, changes) => {
          const bytes = frames[which]!.slice()
          for (const [at, v] of changes) bytes[at % bytes.length] = v
          const r = Dns.parse(bytes)
          if (!isMalformed(r)) expect(ok(Dns.emit(r))).toEqual(r)
        }
      ),
      { numRuns: 3000 }
    )
  })
})
