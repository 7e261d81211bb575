/**
 * TCP segments (RFC 9293 §3.1) and options (RFC 9293 §3.2, RFC 7323,
 * RFC 2018) on segments captured from Linux: handshakes in the three option
 * layouts Linux writes, data, FINs, a RST, ACKs with one and three SACK
 * blocks; byte-identical re-emission, malformed lengths and options, round
 * trips of random segments.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import * as Checksum from "../../../src/protocols/checksum.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import * as Tcp from "../../../src/protocols/tcp/segment.js"
import { arbitraryIpv4, arbitrarySlice } from "../wire/frames.js"
import { allNames, IP_A, IP_B, ok, segment, type TcpFrameName, toHex } from "./frames.js"

const { FIN, SYN, RST, PSH, ACK } = Tcp.Flags

/** What each captured segment parses to, with its header length and checksum. */
const expected: ReadonlyArray<readonly [TcpFrameName, Tcp.Repr, { headerLength: number; checksum: number }]> = [
  [
    "tcp_syn",
    {
      srcPort: 40000,
      dstPort: 7,
      seq: 0x49e24ec2,
      ack: 0,
      flags: SYN,
      window: 64240,
      urgent: 0,
      options: { mss: 1460, sackPermitted: true, timestamp: { value: 0x30e7fdc1, echo: 0 }, windowScale: 10 },
      payloadLength: 0
    },
    { headerLength: 40, checksum: 0xd4d6 }
  ],
  [
    "tcp_syn_ack",
    {
      srcPort: 7,
      dstPort: 40000,
      seq: 0xa081d79b,
      ack: 0x49e24ec3,
      flags: SYN | ACK,
      window: 65160,
      urgent: 0,
      options: { mss: 1460, sackPermitted: true, timestamp: { value: 0x3ab2e335, echo: 0x30e7fdc1 }, windowScale: 10 },
      payloadLength: 0
    },
    { headerLength: 40, checksum: 0x3b28 }
  ],
  [
    "tcp_handshake_ack",
    {
      srcPort: 40000,
      dstPort: 7,
      seq: 0x49e24ec3,
      ack: 0xa081d79c,
      flags: ACK,
      window: 63,
      urgent: 0,
      options: { timestamp: { value: 0x30e7fdc1, echo: 0x3ab2e335 } },
      payloadLength: 0
    },
    { headerLength: 32, checksum: 0x6841 }
  ],
  [
    "tcp_data_a",
    {
      srcPort: 40000,
      dstPort: 7,
      seq: 0x49e24ec3,
      ack: 0xa081d79c,
      flags: PSH | ACK,
      window: 63,
      urgent: 0,
      options: { timestamp: { value: 0x30e7fdc2, echo: 0x3ab2e335 } },
      payloadLength: 13
    },
    { headerLength: 32, checksum: 0x2536 }
  ],
  [
    "tcp_data_b",
    {
      srcPort: 7,
      dstPort: 40000,
      seq: 0xa081d79c,
      ack: 0x49e24ed0,
      flags: PSH | ACK,
      window: 64,
      urgent: 0,
      options: { timestamp: { value: 0x3ab2e338, echo: 0x30e7fdc2 } },
      payloadLength: 13
    },
    { headerLength: 32, checksum: 0x2525 }
  ],
  [
    "tcp_fin_a",
    {
      srcPort: 40000,
      dstPort: 7,
      seq: 0x49e24ed0,
      ack: 0xa081d7a9,
      flags: FIN | ACK,
      window: 63,
      urgent: 0,
      options: { timestamp: { value: 0x30e7fdc4, echo: 0x3ab2e338 } },
      payloadLength: 0
    },
    { headerLength: 32, checksum: 0x6820 }
  ],
  [
    "tcp_fin_b",
    {
      srcPort: 7,
      dstPort: 40000,
      seq: 0xa081d7a9,
      ack: 0x49e24ed1,
      flags: FIN | ACK,
      window: 64,
      urgent: 0,
      options: { timestamp: { value: 0x3ab2e339, echo: 0x30e7fdc4 } },
      payloadLength: 0
    },
    { headerLength: 32, checksum: 0x681d }
  ],
  [
    "tcp_last_ack",
    {
      srcPort: 40000,
      dstPort: 7,
      seq: 0x49e24ed1,
      ack: 0xa081d7aa,
      flags: ACK,
      window: 63,
      urgent: 0,
      options: { timestamp: { value: 0x30e7fdc5, echo: 0x3ab2e339 } },
      payloadLength: 0
    },
    { headerLength: 32, checksum: 0x681d }
  ],
  [
    "tcp_syn_closed_port",
    {
      srcPort: 40001,
      dstPort: 9,
      seq: 0xc0ce9b0c,
      ack: 0,
      flags: SYN,
      window: 64240,
      urgent: 0,
      options: { mss: 1460, sackPermitted: true, timestamp: { value: 0x602b6040, echo: 0 }, windowScale: 10 },
      payloadLength: 0
    },
    { headerLength: 40, checksum: 0x7fda }
  ],
  [
    "tcp_rst_closed_port",
    // RFC 9293 §3.10.7.1: the reset of a SYN has seq 0 and acks the SYN.
    {
      srcPort: 9,
      dstPort: 40001,
      seq: 0,
      ack: 0xc0ce9b0d,
      flags: RST | ACK,
      window: 0,
      urgent: 0,
      options: {},
      payloadLength: 0
    },
    { headerLength: 20, checksum: 0xa309 }
  ],
  [
    "tcp_syn_no_timestamps",
    {
      srcPort: 40002,
      dstPort: 7,
      seq: 0x483cff5c,
      ack: 0,
      flags: SYN,
      window: 64240,
      urgent: 0,
      options: { mss: 1460, sackPermitted: true, windowScale: 10 },
      payloadLength: 0
    },
    { headerLength: 32, checksum: 0x7b9a }
  ],
  [
    "tcp_syn_ack_no_timestamps",
    {
      srcPort: 7,
      dstPort: 40002,
      seq: 0x23a38b9b,
      ack: 0x483cff5d,
      flags: SYN | ACK,
      window: 64240,
      urgent: 0,
      options: { mss: 1460, sackPermitted: true, windowScale: 10 },
      payloadLength: 0
    },
    { headerLength: 32, checksum: 0xcc4a }
  ],
  [
    "tcp_syn_no_sack",
    {
      srcPort: 40003,
      dstPort: 7,
      seq: 0x4fb8cd6c,
      ack: 0,
      flags: SYN,
      window: 64240,
      urgent: 0,
      options: { mss: 1460, timestamp: { value: 0xaf4140b9, echo: 0 }, windowScale: 10 },
      payloadLength: 0
    },
    { headerLength: 40, checksum: 0x9202 }
  ],
  [
    "tcp_syn_ack_no_sack",
    {
      srcPort: 7,
      dstPort: 40003,
      seq: 0x6cfaed98,
      ack: 0x4fb8cd6d,
      flags: SYN | ACK,
      window: 65160,
      urgent: 0,
      options: { mss: 1460, timestamp: { value: 0x080f7c89, echo: 0xaf4140b9 }, windowScale: 10 },
      payloadLength: 0
    },
    { headerLength: 40, checksum: 0xaf2d }
  ],
  [
    "tcp_syn_mss_only",
    {
      srcPort: 40004,
      dstPort: 7,
      seq: 0x6adc1016,
      ack: 0,
      flags: SYN,
      window: 64240,
      urgent: 0,
      options: { mss: 1460 },
      payloadLength: 0
    },
    { headerLength: 24, checksum: 0x7157 }
  ],
  [
    "tcp_syn_ack_mss_only",
    {
      srcPort: 7,
      dstPort: 40004,
      seq: 0x3475fd1c,
      ack: 0x6adc1017,
      flags: SYN | ACK,
      window: 64240,
      urgent: 0,
      options: { mss: 1460 },
      payloadLength: 0
    },
    { headerLength: 24, checksum: 0x3fb4 }
  ],
  [
    "tcp_sack_one_block",
    {
      srcPort: 9,
      dstPort: 40005,
      seq: 0x95c57233,
      ack: 0x7392d0af,
      flags: ACK,
      window: 0x43,
      urgent: 0,
      options: { timestamp: { value: 0x3e2b7b0c, echo: 0xcba1d40d }, sack: [{ start: 0x7392ecf7, end: 0x7392f0af }] },
      payloadLength: 0
    },
    { headerLength: 44, checksum: 0x2585 }
  ],
  [
    "tcp_sack_blocks",
    {
      srcPort: 9,
      dstPort: 40005,
      seq: 0x95c57233,
      ack: 0x7395b0af,
      flags: ACK,
      window: 0x131,
      urgent: 0,
      options: {
        timestamp: { value: 0x3e2b7b0e, echo: 0xcba1d40f },
        // Linux puts the block that changed last first (RFC 2018 §4).
        sack: [
          { start: 0x7395c1a7, end: 0x7395c74f },
          { start: 0x7395b657, end: 0x7395bbff },
          { start: 0x7395ecf7, end: 0x73960ee7 }
        ]
      },
      payloadLength: 0
    },
    { headerLength: 60, checksum: 0x1c8d }
  ]
]

const pseudoV4 = (length: number): number => Checksum.pseudoHeaderV4(IP_A, IP_B, Tcp.PROTOCOL, length)

/**
 * A segment 40000 → 7 whose options are `options` (a multiple of 4 bytes),
 * with `payload` zero bytes and a right checksum, so that only the options
 * can be wrong.
 */
const withOptions = (options: ReadonlyArray<number>, payload = 0): Uint8Array => {
  const hl = Tcp.HEADER_LEN + options.length
  const out = new Uint8Array(hl + payload)
  Tcp.emitHeader(out, 0, 40000, 7, 1000, 2000, ACK, 512, undefined, payload)
  out.set(options, Tcp.HEADER_LEN)
  const p = new Tcp.Packet(out)
  p.headerLength = hl
  p.fillChecksum(pseudoV4(out.length))
  return out
}
const parseAll = (bytes: Uint8Array) => Tcp.parse(bytes, 0, bytes.length, pseudoV4(bytes.length))
const optionsOf = (options: ReadonlyArray<number>) => {
  const r = parseAll(withOptions(options))
  return isMalformed(r) ? r : r.options
}

describe("Tcp segment", () => {
  it("captures every fixture named in the table", () => {
    expect([...allNames()].sort()).toEqual(expected.map(([name]) => name).sort())
  })

  describe("parse (captured frames)", () => {
    it.each(expected)("%s", (name, repr, { headerLength, checksum }) => {
      const { bytes, at, length, pseudo } = segment(name)
      expect(Tcp.parse(bytes, at, length, pseudo)).toEqual(repr)
      const p = ok(Tcp.Packet.checked(bytes, at, length))
      expect(p.srcPort).toBe(repr.srcPort)
      expect(p.dstPort).toBe(repr.dstPort)
      expect(p.seq).toBe(repr.seq)
      expect(p.ack).toBe(repr.ack)
      expect(p.flags).toBe(repr.flags)
      expect(p.window).toBe(repr.window)
      expect(p.urgent).toBe(0)
      expect(p.headerLength).toBe(headerLength)
      expect(p.optionsOffset).toBe(at + 20)
      expect(p.optionsLength).toBe(headerLength - 20)
      expect(p.checksum).toBe(checksum)
      expect(p.verifyChecksum(pseudo)).toBe(true)
      expect(p.payloadOffset).toBe(at + headerLength)
      expect(p.payloadLength).toBe(repr.payloadLength)
    })

    it("data segments carry the echoed text", () => {
      for (const name of ["tcp_data_a", "tcp_data_b"] as const) {
        const { bytes, at, length } = segment(name)
        const p = ok(Tcp.Packet.checked(bytes, at, length))
        expect(new TextDecoder().decode(bytes.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength))).toBe(
          "hello, isla!\n"
        )
      }
    })

    it("parseOptions fills a reused TcpOptions without allocating SACK blocks", () => {
      const opts = Tcp.makeOptions()
      const blocks = [...opts.sackBlocks]
      const sack = segment("tcp_sack_blocks")
      expect(Tcp.parseOptions(ok(Tcp.Packet.checked(sack.bytes, sack.at, sack.length)), opts)).toBeUndefined()
      expect(opts).toEqual({
        mss: 0,
        windowScale: -1,
        sackPermitted: false,
        timestamp: true,
        tsVal: 0x3e2b7b0e,
        tsEcr: 0xcba1d40f,
        sackCount: 3,
        sackBlocks: [
          { start: 0x7395c1a7, end: 0x7395c74f },
          { start: 0x7395b657, end: 0x7395bbff },
          { start: 0x7395ecf7, end: 0x73960ee7 },
          { start: 0, end: 0 }
        ]
      })
      opts.sackBlocks.forEach((b, i) => expect(b).toBe(blocks[i]))

      // A second parse resets what the first one found.
      const syn = segment("tcp_syn_no_timestamps")
      const view = new Tcp.Packet(sack.bytes).wrap(syn.bytes, syn.at, syn.length)
      expect(Tcp.parseOptions(view, opts)).toBeUndefined()
      expect([opts.mss, opts.windowScale, opts.sackPermitted, opts.timestamp]).toEqual([1460, 10, true, false])
      expect(opts.sackCount).toBe(0)
      expect([opts.tsVal, opts.tsEcr]).toEqual([0, 0])
      opts.sackBlocks.forEach((b, i) => expect(b).toBe(blocks[i]))
    })
  })

  describe("emit", () => {
    it.each(expected)("reproduces %s byte for byte, checksum included", (name, _repr, { headerLength }) => {
      const { bytes, at, length, pseudo } = segment(name)
      const repr = ok(Tcp.parse(bytes, at, length, pseudo))
      expect(Tcp.optionsLength(repr.options)).toBe(headerLength - 20)
      expect(Tcp.headerLength(repr)).toBe(headerLength)
      expect(Tcp.bufferLen(repr)).toBe(length)
      const out = bytes.slice()
      out.fill(0xa5, at, at + headerLength)
      Tcp.emit(repr, out, at, pseudo)
      expect(toHex(out)).toBe(toHex(bytes))
    })

    it.each(expected)("emitHeader from a parsed TcpOptions reproduces %s", (name) => {
      const { bytes, at, length, src, dst } = segment(name)
      const p = ok(Tcp.Packet.checked(bytes, at, length))
      const opts = Tcp.makeOptions()
      expect(Tcp.parseOptions(p, opts)).toBeUndefined()
      expect(Tcp.emitHeaderLength(opts)).toBe(p.headerLength)
      const out = bytes.slice()
      out.fill(0x5a, at, at + p.headerLength)
      const hl = Tcp.emitHeader(
        out,
        at,
        p.srcPort,
        p.dstPort,
        p.seq,
        p.ack,
        p.flags,
        p.window,
        opts,
        p.payloadLength,
        Checksum.pseudoHeaderV4(src, dst, Tcp.PROTOCOL, 0)
      )
      expect(hl).toBe(p.headerLength)
      expect(toHex(out)).toBe(toHex(bytes))
    })

    it("emitHeader without a pseudo-header sum leaves the checksum for fillChecksum", () => {
      const { bytes, at, length, pseudo } = segment("tcp_data_a")
      const repr = ok(Tcp.parse(bytes, at, length, pseudo))
      const out = bytes.slice()
      const opts = Tcp.loadOptions(repr.options, Tcp.makeOptions())
      Tcp.emitHeader(out, at, repr.srcPort, repr.dstPort, repr.seq, repr.ack, repr.flags, repr.window, opts, 13)
      const p = new Tcp.Packet(out, at, length)
      expect(p.checksum).toBe(0)
      p.fillChecksum(pseudo)
      expect(p.checksum).toBe(0x2536)
      expect(toHex(out)).toBe(toHex(bytes))
    })

    it("Packet setters write the fields the getters read", () => {
      const out = new Uint8Array(24).fill(0xff)
      const p = new Tcp.Packet(out)
      p.srcPort = 0x1234
      p.dstPort = 0xfedc
      p.seq = 0xdeadbeef
      p.ack = 0x80000001
      p.headerLength = 24
      p.flags = SYN | ACK
      p.window = 0xabcd
      p.checksum = 0x0102
      p.urgent = 0x0304
      expect(toHex(out)).toBe("1234fedcdeadbeef800000016f12abcd01020304ffffffff")
      expect([p.srcPort, p.dstPort, p.seq, p.ack, p.headerLength, p.flags, p.window, p.checksum, p.urgent]).toEqual([
        0x1234, 0xfedc, 0xdeadbeef, 0x80000001, 24, SYN | ACK, 0xabcd, 0x0102, 0x0304
      ])
      expect([p.payloadOffset, p.payloadLength]).toEqual([24, 0])
    })

    it("writes options in Linux's layout, 4-byte aligned", () => {
      const bare = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, payloadLength: 0 }
      const hex = (options: Tcp.ReprOptions): string => {
        const repr: Tcp.Repr = { ...bare, options }
        const out = new Uint8Array(Tcp.headerLength(repr))
        Tcp.emit(repr, out, 0, 0)
        return toHex(out.subarray(20))
      }
      const ts = { value: 0x01020304, echo: 0x05060708 }
      const block = (n: number) => ({ start: n, end: n + 0x10 })
      expect(hex({})).toBe("")
      expect(hex({ mss: 1460 })).toBe("020405b4")
      expect(hex({ sackPermitted: true })).toBe("01010402")
      expect(hex({ timestamp: ts })).toBe("0101080a0102030405060708")
      expect(hex({ sackPermitted: true, timestamp: ts })).toBe("0402080a0102030405060708")
      expect(hex({ windowScale: 7 })).toBe("01030307")
      expect(hex({ mss: 1460, sackPermitted: true, timestamp: ts, windowScale: 7 })).toBe(
        "020405b4" + "0402080a0102030405060708" + "01030307"
      )
      expect(hex({ mss: 536, sackPermitted: true, windowScale: 0 })).toBe("020402180101040201030300")
      expect(hex({ timestamp: ts, sack: [block(0x100), block(0x200)] })).toBe(
        "0101080a0102030405060708" + "01010512" + "0000010000000110" + "0000020000000210"
      )
      // Four blocks fit without timestamps (36 bytes); with them, three (40 bytes), as Linux sends.
      const four = [block(1), block(2), block(3), block(4)]
      expect(hex({ sack: four })).toHaveLength(2 * 36)
      expect(hex({ timestamp: ts, sack: four })).toBe(
        "0101080a0102030405060708" + "0101051a" + "0000000100000011" + "0000000200000012" + "0000000300000013"
      )
      expect(Tcp.optionsLength({ timestamp: ts, sack: four })).toBe(40)
      // Blocks past the fourth are never written; blocks that cannot fit at all leave the option out.
      expect(Tcp.optionsLength({ sack: [...four, block(5)] })).toBe(36)
      expect(Tcp.optionsLength({ mss: 1, timestamp: ts, windowScale: 1, sack: four })).toBe(40)
      expect(Tcp.optionsLength({ mss: 1, sackPermitted: true, windowScale: 1, sack: four })).toBe(40)
      expect(Tcp.optionsLength({ sack: [] })).toBe(0)
      // mss 0 and a negative window scale mean "absent", as in TcpOptions.
      expect(Tcp.optionsLength({ mss: 0, windowScale: -1 })).toBe(0)
    })

    it("emitHeader: a data segment with timestamps and SACK blocks from a reused TcpOptions", () => {
      const opts = Tcp.makeOptions()
      opts.timestamp = true
      opts.tsVal = 0xaabbccdd
      opts.tsEcr = 0x11223344
      opts.sackCount = 2
      opts.sackBlocks[0]!.start = 0xfffffff0
      opts.sackBlocks[0]!.end = 0x10
      opts.sackBlocks[1]!.start = 0x100
      opts.sackBlocks[1]!.end = 0x200
      const hl = Tcp.emitHeaderLength(opts)
      expect(hl).toBe(20 + 12 + 4 + 16)
      const payload = new TextEncoder().encode("abc")
      const out = new Uint8Array(2 + hl + payload.length)
      out.set(payload, 2 + hl)
      const pseudo0 = Checksum.pseudoHeaderV4(IP_A, IP_B, Tcp.PROTOCOL, 0)
      expect(Tcp.emitHeader(out, 2, 40000, 7, 0xfffffffe, 5, PSH | ACK, 1000, opts, payload.length, pseudo0)).toBe(hl)
      expect(Tcp.parse(out, 2, out.length - 2, pseudoV4(out.length - 2))).toEqual({
        srcPort: 40000,
        dstPort: 7,
        seq: 0xfffffffe,
        ack: 5,
        flags: PSH | ACK,
        window: 1000,
        urgent: 0,
        options: {
          timestamp: { value: 0xaabbccdd, echo: 0x11223344 },
          sack: [
            { start: 0xfffffff0, end: 0x10 },
            { start: 0x100, end: 0x200 }
          ]
        },
        payloadLength: 3
      })
      // Without options: a bare 20-byte header.
      expect(Tcp.emitHeaderLength(undefined)).toBe(20)
      expect(Tcp.emitHeader(out, 0, 1, 2, 3, 4, ACK, 5, undefined, 0, pseudo0)).toBe(20)
      expect(Tcp.parse(out, 0, 20, pseudoV4(20))).toMatchObject({ seq: 3, ack: 4, options: {}, payloadLength: 0 })
    })
  })

  describe("malformed", () => {
    it.each(expected)("every truncation of %s is Malformed", (name, _repr, { headerLength }) => {
      const { bytes, at, length, pseudo } = segment(name)
      for (let len = 0; len < length; len++) {
        const want = len < 20 ? Tcp.Truncated : len < headerLength ? Tcp.BadDataOffset : Tcp.BadChecksum
        expect(Tcp.parse(bytes, at, len, pseudo), `length ${len}`).toBe(want)
        const view = Tcp.Packet.checked(bytes, at, len)
        if (len < headerLength) expect(view).toBe(want)
        else expect(isMalformed(view)).toBe(false)
        // The same length claimed over fewer bytes than it says.
        expect(Tcp.parse(bytes.slice(at, at + len), 0, length, pseudo)).toBe(Tcp.Truncated)
      }
      expect(Tcp.parse(bytes, at, length + 1, pseudo)).toBe(Tcp.Truncated)
      expect(Tcp.parse(bytes, -1, length, pseudo)).toBe(Tcp.Truncated)
      expect(Tcp.parse(bytes, Number.NaN, length, pseudo)).toBe(Tcp.Truncated)
    })

    it("a data offset below 5 words or past the segment is BadDataOffset", () => {
      const { bytes, at, length, pseudo } = segment("tcp_syn")
      for (let words = 0; words < 16; words++) {
        const copy = bytes.slice()
        copy[at + 12] = (words << 4) | (copy[at + 12]! & 0x0f)
        const r = Tcp.parse(copy, at, length, pseudo)
        if (words < 5 || words * 4 > length) expect(r, `${words} words`).toBe(Tcp.BadDataOffset)
        else if (words !== 10) expect(r, `${words} words`).toBe(Tcp.BadChecksum)
      }
    })

    it("port 0 at either end is ZeroPort", () => {
      for (const o of [0, 2]) {
        const { bytes, at, length, pseudo } = segment("tcp_syn")
        bytes[at + o] = 0
        bytes[at + o + 1] = 0
        expect(Tcp.parse(bytes, at, length, pseudo)).toBe(Tcp.ZeroPort)
      }
    })

    it("a flipped bit anywhere is BadChecksum (or BadDataOffset in the data offset)", () => {
      for (const name of ["tcp_syn", "tcp_data_b", "tcp_sack_blocks"] as const) {
        const { bytes, at, length, pseudo } = segment(name)
        for (let bit = 0; bit < length * 8; bit++) {
          const copy = bytes.slice()
          copy[at + (bit >>> 3)] ^= 0x80 >>> (bit & 7)
          const r = Tcp.parse(copy, at, length, pseudo)
          if (bit >= 96 && bit < 100) expect([Tcp.BadChecksum, Tcp.BadDataOffset], `${name} bit ${bit}`).toContain(r)
          else expect(r, `${name} bit ${bit}`).toBe(Tcp.BadChecksum)
        }
      }
    })

    it("the pseudo-header binds addresses, protocol and length", () => {
      const { bytes, at, length, src, dst } = segment("tcp_data_a")
      expect(isMalformed(Tcp.parse(bytes, at, length, Checksum.pseudoHeaderV4(src, dst, 6, length)))).toBe(false)
      expect(Tcp.parse(bytes, at, length, Checksum.pseudoHeaderV4(src, 0x0a4f0003, 6, length))).toBe(Tcp.BadChecksum)
      expect(Tcp.parse(bytes, at, length, Checksum.pseudoHeaderV4(dst, src + 1, 6, length))).toBe(Tcp.BadChecksum)
      expect(Tcp.parse(bytes, at, length, Checksum.pseudoHeaderV4(src, dst, 17, length))).toBe(Tcp.BadChecksum)
      expect(Tcp.parse(bytes, at, length, Checksum.pseudoHeaderV4(src, dst, 6, length + 1))).toBe(Tcp.BadChecksum)
    })

    it("option lengths 0 and 1, past the header, or cut after the kind are BadOption", () => {
      expect(optionsOf([2, 0, 0, 0])).toBe(Tcp.BadOption)
      expect(optionsOf([2, 1, 0, 0])).toBe(Tcp.BadOption)
      expect(optionsOf([99, 0, 1, 1])).toBe(Tcp.BadOption)
      expect(optionsOf([99, 1, 1, 1])).toBe(Tcp.BadOption)
      expect(optionsOf([99, 5, 1, 1])).toBe(Tcp.BadOption)
      expect(optionsOf([1, 1, 8, 10, 0, 0, 0, 0])).toBe(Tcp.BadOption)
      expect(optionsOf([1, 1, 1, 2])).toBe(Tcp.BadOption)
      expect(optionsOf([1, 1, 1, 99])).toBe(Tcp.BadOption)
      // The option ends where the header does, whatever payload follows.
      expect(parseAll(withOptions([1, 1, 2, 4], 4))).toBe(Tcp.BadOption)
    })

    it("a known option with the wrong length is BadOption", () => {
      expect(optionsOf([2, 3, 5, 1])).toBe(Tcp.BadOption) // MSS 3
      expect(optionsOf([2, 5, 5, 0xb4, 0, 1, 1, 1])).toBe(Tcp.BadOption) // MSS 5
      expect(optionsOf([2, 2, 1, 1])).toBe(Tcp.BadOption) // MSS 2
      expect(optionsOf([3, 4, 7, 0])).toBe(Tcp.BadOption) // window scale 4
      expect(optionsOf([3, 2, 1, 1])).toBe(Tcp.BadOption) // window scale 2
      expect(optionsOf([4, 3, 0, 1])).toBe(Tcp.BadOption) // SACK-permitted 3
      expect(optionsOf([4, 4, 0, 0])).toBe(Tcp.BadOption) // SACK-permitted 4
      expect(optionsOf([8, 8, 1, 2, 3, 4, 5, 6])).toBe(Tcp.BadOption) // timestamps 8
      expect(optionsOf([8, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBe(Tcp.BadOption) // timestamps 12
      expect(optionsOf([1, 1, 5, 2])).toBe(Tcp.BadOption) // SACK without blocks
      expect(optionsOf([5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1])).toBe(Tcp.BadOption) // SACK 2 + 9
      expect(optionsOf([5, 9, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1])).toBe(Tcp.BadOption) // SACK 2 + 7
    })

    it("SACK with 5 blocks (42 bytes) cannot fit in 40 bytes of options", () => {
      const five = [5, 42, ...Array.from({ length: 38 }, (_, i) => i)]
      expect(optionsOf(five)).toBe(Tcp.BadOption)
      const four = [1, 1, 5, 34, ...Array.from({ length: 32 }, (_, i) => i), 0, 0, 0, 0]
      expect(optionsOf(four)).toEqual({
        sack: [
          { start: 0x00010203, end: 0x04050607 },
          { start: 0x08090a0b, end: 0x0c0d0e0f },
          { start: 0x10111213, end: 0x14151617 },
          { start: 0x18191a1b, end: 0x1c1d1e1f }
        ]
      })
    })

    it("unknown kinds are skipped by their length, EOL ends the list", () => {
      expect(optionsOf([30, 4, 0, 0, 2, 4, 5, 0xb4])).toEqual({ mss: 1460 })
      expect(optionsOf([254, 6, 0xf9, 0x89, 1, 2, 3, 3, 7, 0, 0, 0])).toEqual({ windowScale: 7 })
      expect(optionsOf([2, 4, 5, 0xb4, 0, 2, 0, 99])).toEqual({ mss: 1460 })
      expect(optionsOf([0, 0, 0, 0])).toEqual({})
      expect(optionsOf([1, 1, 1, 1])).toEqual({})
      // Timestamps before SACK-permitted: any order parses.
      expect(optionsOf([8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 4, 2])).toEqual({
        timestamp: { value: 1, echo: 2 },
        sackPermitted: true
      })
    })

    it("a window shift above 14 reads as 14 (RFC 7323 §2.3); an MSS of 0 is ignored; the last duplicate wins", () => {
      expect(optionsOf([1, 3, 3, 15])).toEqual({ windowScale: 14 })
      expect(optionsOf([1, 3, 3, 255])).toEqual({ windowScale: 14 })
      expect(optionsOf([1, 3, 3, 14])).toEqual({ windowScale: 14 })
      expect(optionsOf([2, 4, 0, 0])).toEqual({})
      expect(optionsOf([2, 4, 5, 0xb4, 2, 4, 2, 0x18])).toEqual({ mss: 536 })
    })
  })

  describe("properties", () => {
    const u32 = FastCheck.integer({ min: 0, max: 0xffffffff })
    const u16 = FastCheck.integer({ min: 0, max: 0xffff })
    const port = FastCheck.integer({ min: 1, max: 0xffff })
    const block = FastCheck.record({ start: u32, end: u32 })
    const options: FastCheck.Arbitrary<Tcp.ReprOptions> = FastCheck.record(
      {
        mss: FastCheck.integer({ min: 1, max: 0xffff }),
        windowScale: FastCheck.integer({ min: 0, max: 14 }),
        sackPermitted: FastCheck.constant(true),
        timestamp: FastCheck.record({ value: u32, echo: u32 }),
        sack: FastCheck.array(block, { minLength: 1, maxLength: 6 })
      },
      { requiredKeys: [] }
    )
    const repr = (payloadLength: number): FastCheck.Arbitrary<Tcp.Repr> =>
      FastCheck.record({
        srcPort: port,
        dstPort: port,
        seq: u32,
        ack: u32,
        flags: FastCheck.integer({ min: 0, max: 0xff }),
        window: u16,
        urgent: u16,
        options,
        payloadLength: FastCheck.constant(payloadLength)
      })

    /** The options as they read back: the SACK blocks that fit, independently of the implementation. */
    const readBack = (o: Tcp.ReprOptions): Tcp.ReprOptions => {
      if (o.sack === undefined) return o
      const other =
        (o.mss !== undefined ? 4 : 0) +
        (o.timestamp !== undefined ? 12 : o.sackPermitted ? 4 : 0) +
        (o.windowScale !== undefined ? 4 : 0)
      const fit = Math.min(o.sack.length, 4, Math.floor((40 - other - 4) / 8))
      const { sack, ...rest } = o
      return fit > 0 ? { ...rest, sack: sack.slice(0, fit) } : rest
    }

    it("emit → parse is the identity (SACK blocks that do not fit left out), and emitHeader agrees", () => {
      FastCheck.assert(
        FastCheck.property(
          FastCheck.uint8Array({ maxLength: 300 }).chain((payload) =>
            FastCheck.tuple(FastCheck.constant(payload), repr(payload.length))
          ),
          arbitraryIpv4,
          arbitraryIpv4,
          FastCheck.nat(6),
          ([payload, r], src, dst, at) => {
            const hl = Tcp.headerLength(r)
            expect(hl % 4).toBe(0)
            expect(hl).toBeLessThanOrEqual(60)
            const out = new Uint8Array(at + hl + payload.length)
            out.set(payload, at + hl)
            const pseudo = Checksum.pseudoHeaderV4(src, dst, 6, hl + payload.length)
            Tcp.emit(r, out, at, pseudo)
            expect(Tcp.parse(out, at, out.length - at, pseudo)).toEqual({ ...r, options: readBack(r.options) })
            expect(out.subarray(at + hl)).toEqual(payload)

            const again = out.slice()
            again.fill(0, at, at + hl)
            const opts = Tcp.loadOptions(r.options, Tcp.makeOptions())
            const written = Tcp.emitHeader(
              again,
              at,
              r.srcPort,
              r.dstPort,
              r.seq,
              r.ack,
              r.flags,
              r.window,
              opts,
              payload.length,
              Checksum.pseudoHeaderV4(src, dst, 6, 0),
              r.urgent
            )
            expect(written).toBe(hl)
            expect(toHex(again)).toBe(toHex(out))
          }
        )
      )
    })

    it("parse and checked never throw on arbitrary bytes, offsets and lengths", () => {
      FastCheck.assert(
        FastCheck.property(arbitrarySlice, FastCheck.nat(0x7ffff), ([bytes, offset, length], pseudo) => {
          const repr = Tcp.parse(bytes, offset, length, pseudo)
          const p = Tcp.Packet.checked(bytes, offset, length)
          if (isMalformed(p)) {
            expect(repr).toBe(p)
            return
          }
          expect(p.headerLength).toBeGreaterThanOrEqual(20)
          expect(p.payloadOffset + p.payloadLength).toBe(offset + length)
          expect(offset + length).toBeLessThanOrEqual(bytes.length)
          if (!p.verifyChecksum(pseudo)) expect(repr).toBe(Tcp.BadChecksum)
        })
      )
    })

    it("arbitrary option bytes behind a right checksum parse or are BadOption, never throw", () => {
      FastCheck.assert(
        FastCheck.property(
          FastCheck.integer({ min: 0, max: 10 }).chain((words) =>
            FastCheck.tuple(
              FastCheck.uint8Array({ minLength: words * 4, maxLength: words * 4 }),
              FastCheck.nat(40)
            )
          ),
          ([optionBytes, payload]) => {
            const bytes = withOptions([...optionBytes], payload)
            const r = parseAll(bytes)
            if (isMalformed(r)) {
              expect(r).toBe(Tcp.BadOption)
              return
            }
            expect(r.payloadLength).toBe(payload)
            const o = r.options
            if (o.windowScale !== undefined) expect(o.windowScale).toBeLessThanOrEqual(14)
            if (o.mss !== undefined) expect(o.mss).toBeGreaterThan(0)
            if (o.sack !== undefined) expect(o.sack.length).toBeGreaterThanOrEqual(1)
            if (o.sack !== undefined) expect(o.sack.length).toBeLessThanOrEqual(4)
            // Whatever was read re-emits to a header of at most 60 bytes that reads back the same.
            const again = { ...r, options: o }
            const out = new Uint8Array(Tcp.bufferLen(again))
            Tcp.emit(again, out, 0, pseudoV4(out.length))
            expect(parseAll(out)).toEqual({ ...again, options: readBack(o) })
          }
        )
      )
    })
  })
})
