/**
 * DHCP messages (RFC 2131, RFC 2132) on payloads captured from dnsmasq, udhcpc
 * and a hand-built client: concrete values, byte-identical re-emission,
 * option overload and RFC 3396 concatenation, malformed inputs refused as
 * values, emit → parse identity and no throw on random bytes.
 */
import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import * as Message from "../../../src/protocols/dhcp/message.js"
import { isMalformed, type Malformed } from "../../../src/protocols/malformed.js"
import { arbitrarySlice } from "../wire/frames.js"
import {
  ADDRESS_CLIENT,
  ADDRESS_UDHCPC,
  allMessages,
  fromHex,
  MAC_CLIENT,
  MAC_UDHCPC,
  message,
  ok,
  SERVER,
  toHex,
  XID
} from "./frames.js"

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))
const ZERO_SNAME = new Uint8Array(Message.SNAME_LEN)
const ZERO_FILE = new Uint8Array(Message.FILE_LEN)
const MASK_24 = 0xffffff00
const DNS2 = 0x0a510002

/** What dnsmasq puts in every OFFER/ACK of the capture (10 min lease, T1 5 min, T2 8 min 45 s). */
const dnsmasqLease = {
  serverIdentifier: SERVER,
  leaseTime: 600,
  renewalTime: 300,
  rebindingTime: 525,
  subnetMask: MASK_24,
  router: [SERVER],
  dnsServers: [SERVER, DNS2]
}

describe("Dhcp.Message parse (captured)", () => {
  it("udhcpc's DISCOVER: fixed fields, known options and its vendor class kept raw", () => {
    const bytes = message("udhcpc_discover")
    const p = ok(Message.Packet.checked(bytes))
    expect([p.op, p.htype, p.hlen, p.hops, p.secs, p.flags, p.broadcast]).toEqual([1, 1, 6, 0, 0, 0, false])
    expect(p.cookie).toBe(Message.MAGIC_COOKIE)
    expect(p.optionsOffset).toBe(240)
    const r = ok(Message.parse(bytes))
    expect(r).toEqual({
      op: Message.Op.BootRequest,
      htype: 1,
      hops: 0,
      xid: r.xid,
      secs: 0,
      broadcast: false,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr: MAC_UDHCPC,
      sname: ZERO_SNAME,
      file: ZERO_FILE,
      messageType: Message.MessageType.Discover,
      maxMessageSize: 576,
      parameterRequestList: [1, 3, 6, 12, 15, 28, 42],
      hostName: "isla-udhcpc",
      clientIdentifier: fromHex("01020000510002"),
      unknownOptions: [{ code: 60, data: ascii("udhcp 1.35.0") }],
      optionOrder: [53, 57, 55, 12, 60, 61]
    })
    expect(r.xid).toBe(p.xid)
  })

  it("dnsmasq's OFFER to udhcpc: address, server, lease, T1/T2, mask, router, DNS; the broadcast address (28) unknown", () => {
    const r = ok(Message.parse(message("udhcpc_offer")))
    expect(r).toMatchObject({
      op: Message.Op.BootReply,
      broadcast: false,
      ciaddr: 0,
      yiaddr: ADDRESS_UDHCPC,
      siaddr: SERVER,
      giaddr: 0,
      chaddr: MAC_UDHCPC,
      messageType: Message.MessageType.Offer,
      ...dnsmasqLease,
      unknownOptions: [{ code: 28, data: fromHex("0a5100ff") }],
      optionOrder: [53, 54, 51, 58, 59, 1, 28, 6, 3]
    })
    expect(r.xid).toBe(ok(Message.parse(message("udhcpc_discover"))).xid)
    expect(r.hostName).toBeUndefined()
  })

  it("udhcpc's REQUEST (selecting, 305 bytes, no padding) and dnsmasq's ACK echoing the host name", () => {
    const req = ok(Message.parse(message("udhcpc_request")))
    expect(message("udhcpc_request").length).toBe(305)
    expect(req).toMatchObject({
      messageType: Message.MessageType.Request,
      ciaddr: 0,
      requestedAddress: ADDRESS_UDHCPC,
      serverIdentifier: SERVER
    })
    const ack = ok(Message.parse(message("udhcpc_ack")))
    expect(ack).toMatchObject({
      messageType: Message.MessageType.Ack,
      yiaddr: ADDRESS_UDHCPC,
      hostName: "isla-udhcpc",
      ...dnsmasqLease
    })
  })

  it("udhcpc's RELEASE: ciaddr and server identifier, a fresh xid", () => {
    const r = ok(Message.parse(message("udhcpc_release")))
    expect(r).toMatchObject({
      messageType: Message.MessageType.Release,
      ciaddr: ADDRESS_UDHCPC,
      serverIdentifier: SERVER,
      clientIdentifier: fromHex("01020000510002")
    })
    expect(r.requestedAddress).toBeUndefined()
    expect(r.xid).not.toBe(ok(Message.parse(message("udhcpc_discover"))).xid)
  })

  it("the hand-built DORA with the broadcast flag, answered by broadcast", () => {
    const discover = ok(Message.parse(message("select_discover")))
    expect(discover).toMatchObject({
      xid: XID.select,
      broadcast: true,
      chaddr: MAC_CLIENT,
      messageType: Message.MessageType.Discover,
      clientIdentifier: fromHex("01020000510003"),
      hostName: "isla-test",
      parameterRequestList: [1, 3, 6, 12, 15, 28, 51, 54, 58, 59],
      maxMessageSize: 1500,
      unknownOptions: []
    })
    const offer = ok(Message.parse(message("select_offer")))
    expect(offer).toMatchObject({ xid: XID.select, broadcast: true, yiaddr: ADDRESS_CLIENT, ...dnsmasqLease })
    const request = ok(Message.parse(message("select_request")))
    expect(request).toMatchObject({ requestedAddress: ADDRESS_CLIENT, serverIdentifier: SERVER, ciaddr: 0 })
    const ack = ok(Message.parse(message("select_ack")))
    expect(ack).toMatchObject({ messageType: Message.MessageType.Ack, yiaddr: ADDRESS_CLIENT, ...dnsmasqLease })
  })

  it("RENEWING and REBINDING REQUESTs carry ciaddr only; the ACKs shorten T1/T2 to the lease's end", () => {
    for (const name of ["renew_request", "rebind_request"] as const) {
      const r = ok(Message.parse(message(name)))
      expect(r.ciaddr).toBe(ADDRESS_CLIENT)
      expect(r.requestedAddress).toBeUndefined()
      expect(r.serverIdentifier).toBeUndefined()
      expect(r.broadcast).toBe(false)
    }
    expect(ok(Message.parse(message("renew_ack")))).toMatchObject({
      ciaddr: ADDRESS_CLIENT,
      yiaddr: ADDRESS_CLIENT,
      leaseTime: 600,
      renewalTime: 279,
      rebindingTime: 504
    })
    expect(ok(Message.parse(message("rebind_ack")))).toMatchObject({ leaseTime: 600, renewalTime: 266, rebindingTime: 491 })
  })

  it("INIT-REBOOT REQUEST (requested address, no server id), DECLINE, and the NAK with its message (56)", () => {
    const reboot = ok(Message.parse(message("reboot_request")))
    expect(reboot).toMatchObject({ ciaddr: 0, requestedAddress: ADDRESS_CLIENT })
    expect(reboot.serverIdentifier).toBeUndefined()
    expect(ok(Message.parse(message("decline_decline")))).toMatchObject({
      messageType: Message.MessageType.Decline,
      requestedAddress: ADDRESS_CLIENT,
      serverIdentifier: SERVER,
      ciaddr: 0
    })
    const nak = ok(Message.parse(message("nak_nak")))
    expect(nak).toMatchObject({
      xid: XID.nak,
      messageType: Message.MessageType.Nak,
      yiaddr: 0,
      serverIdentifier: SERVER,
      message: "wrong network",
      optionOrder: [53, 54, 56]
    })
    expect(nak.leaseTime).toBeUndefined()
  })
})

describe("Dhcp.Message emit", () => {
  it.each(allMessages())("re-emits %s byte for byte", (_name, bytes) => {
    const r = ok(Message.parse(bytes))
    expect(Message.bufferLen(r)).toBe(bytes.length)
    expect(toHex(Message.emit(r))).toBe(toHex(bytes))
  })

  it("emitInto writes at an offset and zeroes the padding", () => {
    const bytes = message("select_offer")
    const out = new Uint8Array(bytes.length + 10).fill(0xa5)
    expect(Message.emitInto(ok(Message.parse(bytes)), out, 10)).toBe(bytes.length)
    expect(toHex(out.subarray(10))).toBe(toHex(bytes))
    expect(out[9]).toBe(0xa5)
  })

  it("a minimal Repr (no sname/file, no order) is padded to 300 bytes with options in the default order", () => {
    const out = Message.emit({
      op: 1,
      htype: 1,
      hops: 0,
      xid: 0x01020304,
      secs: 3,
      broadcast: true,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr: MAC_CLIENT,
      messageType: Message.MessageType.Request,
      requestedAddress: ADDRESS_CLIENT,
      serverIdentifier: SERVER,
      clientIdentifier: fromHex("01020000510003")
    })
    expect(out.length).toBe(300)
    expect(toHex(out.subarray(0, 12))).toBe("010106000102030400038000")
    expect(toHex(out.subarray(236, 265))).toBe(
      "63825363" + "350103" + "3d0701020000510003" + "32040a510046" + "36040a510001" + "ff"
    )
    expect(out.subarray(265).every((b) => b === 0)).toBe(true)
  })

  it("an option over 255 bytes is split into consecutive pieces and concatenated back (RFC 3396)", () => {
    const base = ok(Message.parse(message("select_discover")))
    const clientIdentifier = Uint8Array.from({ length: 300 }, (_, k) => k & 0xff)
    const out = Message.emit({ ...base, clientIdentifier })
    const at = 240 + 3 // after option 53
    expect([out[at], out[at + 1]]).toEqual([61, 255])
    expect([out[at + 257], out[at + 258]]).toEqual([61, 45])
    expect(ok(Message.parse(out)).clientIdentifier).toEqual(clientIdentifier)
  })
})

/** A message with `options` after the cookie and `file`/`sname` set. */
const build = (options: ReadonlyArray<number>, file: ReadonlyArray<number> = [], sname: ReadonlyArray<number> = []) => {
  const head = message("select_offer").subarray(0, 240)
  const out = new Uint8Array(Math.max(300, 240 + options.length))
  out.set(head)
  out.fill(0, Message.field.SNAME, Message.field.COOKIE)
  out.set(sname, Message.field.SNAME)
  out.set(file, Message.field.FILE)
  out.set(options, 240)
  return out
}

describe("Dhcp.Message options", () => {
  it("option overload (52): options continue in file, then sname; those areas read back as zeros", () => {
    const bytes = build(
      [53, 1, 2, 52, 1, 3, 255],
      [54, 4, 10, 81, 0, 1, 0, 0, 51, 4, 0, 0, 2, 88, 255],
      [12, 3, 0x61, 0x62, 0x63, 255]
    )
    const r = ok(Message.parse(bytes))
    expect(r).toMatchObject({
      messageType: Message.MessageType.Offer,
      serverIdentifier: SERVER,
      leaseTime: 600,
      hostName: "abc",
      sname: ZERO_SNAME,
      file: ZERO_FILE,
      optionOrder: [53, 54, 51, 12]
    })
    // Re-emitted with every option in the options field and no overload: it parses equal.
    const again = Message.emit(r)
    expect(again.subarray(Message.field.SNAME, Message.field.COOKIE).every((b) => b === 0)).toBe(true)
    expect(ok(Message.parse(again))).toEqual(r)
  })

  it("overload of file only leaves sname raw; option 52 inside file is ignored", () => {
    const sname = ascii("boot-server")
    const bytes = build([53, 1, 5, 52, 1, 1, 255], [52, 1, 2, 59, 4, 0, 0, 1, 0, 255], Array.from(sname))
    const r = ok(Message.parse(bytes))
    expect(r.rebindingTime).toBe(256)
    expect(r.sname!.subarray(0, sname.length)).toEqual(sname)
    expect(r.optionOrder).toEqual([53, 59])
  })

  it("without overload, file and sname are kept raw even when they look like options", () => {
    const file = [51, 4, 0, 0, 0, 1, 255]
    const r = ok(Message.parse(build([53, 1, 5, 255], file)))
    expect(r.leaseTime).toBeUndefined()
    expect(Array.from(r.file!.subarray(0, 7))).toEqual(file)
  })

  it("a repeated option is concatenated (RFC 3396), pads are skipped, bytes after End are ignored", () => {
    const r = ok(Message.parse(build([0, 0, 6, 4, 10, 81, 0, 1, 53, 1, 5, 0, 6, 4, 10, 81, 0, 2, 255, 1, 2])))
    expect(r.dnsServers).toEqual([SERVER, DNS2])
    expect(r.optionOrder).toEqual([6, 53])
  })

  it("an options field without End ends at the last byte", () => {
    const bytes = build([53, 1, 5])
    expect(ok(Message.parse(bytes, 0, 243)).messageType).toBe(5)
  })

  it("unknown options are kept raw, in order, and re-emitted", () => {
    const bytes = build([53, 1, 2, 200, 0, 43, 3, 1, 2, 3, 28, 4, 10, 81, 0, 255, 255])
    const r = ok(Message.parse(bytes))
    expect(r.unknownOptions).toEqual([
      { code: 200, data: new Uint8Array(0) },
      { code: 43, data: Uint8Array.of(1, 2, 3) },
      { code: 28, data: fromHex("0a5100ff") }
    ])
    expect(toHex(Message.emit(r))).toBe(toHex(bytes))
  })
})

describe("Dhcp.Message malformed", () => {
  const cases: ReadonlyArray<readonly [string, Uint8Array, Malformed]> = [
    ["empty", new Uint8Array(0), Message.Truncated],
    ["shorter than the fixed part and cookie", message("select_offer").subarray(0, 239), Message.Truncated],
    ["bad magic cookie", (() => {
      const b = message("select_offer")
      b[239] = 0x64
      return b
    })(), Message.BadCookie],
    ["op neither request nor reply", (() => {
      const b = message("select_offer")
      b[0] = 3
      return b
    })(), Message.BadOp],
    ["hlen over 16", (() => {
      const b = message("select_offer")
      b[2] = 17
      return b
    })(), Message.BadHardwareLength],
    ["an option length past the end", build([53, 1, 2, 12, 200, 0x61]), Message.OptionOverrun],
    ["an option code as the last byte", build([53, 1, 2, 12]).subarray(0, 244), Message.OptionOverrun],
    ["message type of 2 bytes", build([53, 2, 2, 2, 255]), Message.BadOptionLength],
    ["subnet mask of 3 bytes", build([53, 1, 2, 1, 3, 255, 255, 255, 255]), Message.BadOptionLength],
    ["router list of 6 bytes", build([53, 1, 2, 3, 6, 1, 2, 3, 4, 5, 6, 255]), Message.BadOptionLength],
    ["empty DNS list", build([53, 1, 2, 6, 0, 255]), Message.BadOptionLength],
    ["lease time of 2 bytes", build([53, 1, 2, 51, 2, 0, 1, 255]), Message.BadOptionLength],
    ["max message size of 4 bytes", build([53, 1, 2, 57, 4, 0, 0, 2, 64, 255]), Message.BadOptionLength],
    ["overload value 4", build([53, 1, 2, 52, 1, 4, 255]), Message.BadOverload],
    ["overload of 2 bytes", build([53, 1, 2, 52, 2, 1, 1, 255]), Message.BadOverload],
    ["overloaded file with an option past its end", build([53, 1, 2, 52, 1, 1, 255], [...new Array(126).fill(0), 12, 9]), Message.OptionOverrun]
  ]
  it.each(cases)("%s", (_name, bytes, reason) => {
    const r = Message.parse(bytes)
    expect(isMalformed(r)).toBe(true)
    expect(r).toBe(reason)
  })

  it("a truncated capture is refused or parses within its bounds at every length", () => {
    const bytes = message("udhcpc_ack")
    for (let n = 0; n <= bytes.length; n++) {
      const r = Message.parse(bytes, 0, n)
      if (n < 240) expect(r).toBe(Message.Truncated)
      else if (!isMalformed(r)) expect(Message.emit(r).length).toBeGreaterThanOrEqual(300)
    }
  })
})

// --- properties -------------------------------------------------------------

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const u16 = fc.integer({ min: 0, max: 0xffff })
const latin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }).map((cs) => String.fromCharCode(...cs))
const bytes = (maxLength: number) => fc.uint8Array({ maxLength })
const addresses = fc.array(u32, { minLength: 1, maxLength: 70 })
const unknownCode = fc.integer({ min: 1, max: 254 }).filter((c) => !Message.isKnownOption(c))

/** Reprs as a sender builds them (no `optionOrder`): each optional field present or absent. */
const arbitraryRepr: fc.Arbitrary<Message.Repr> = fc.record(
  {
    op: fc.constantFrom(1, 2),
    htype: fc.integer({ min: 0, max: 255 }),
    hops: fc.integer({ min: 0, max: 255 }),
    xid: u32,
    secs: u16,
    broadcast: fc.boolean(),
    ciaddr: u32,
    yiaddr: u32,
    siaddr: u32,
    giaddr: u32,
    chaddr: fc.uint8Array({ maxLength: 16 }),
    sname: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    file: fc.uint8Array({ minLength: 128, maxLength: 128 }),
    messageType: fc.integer({ min: 0, max: 255 }),
    subnetMask: u32,
    router: addresses,
    dnsServers: addresses,
    hostName: latin1,
    requestedAddress: u32,
    leaseTime: u32,
    serverIdentifier: u32,
    parameterRequestList: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }),
    message: latin1,
    maxMessageSize: u16,
    renewalTime: u32,
    rebindingTime: u32,
    clientIdentifier: bytes(300),
    unknownOptions: fc.uniqueArray(fc.record({ code: unknownCode, data: bytes(300) }), {
      selector: (o) => o.code,
      maxLength: 5
    })
  },
  {
    requiredKeys: [
      "op", "htype", "hops", "xid", "secs", "broadcast", "ciaddr", "yiaddr", "siaddr", "giaddr", "chaddr",
      "sname", "file", "unknownOptions"
    ]
  }
)

/** A Repr without `optionOrder`, for comparing what a parse gives back. */
const withoutOrder = ({ optionOrder: _, ...rest }: Message.Repr): Message.Repr => rest

describe("Dhcp.Message properties", () => {
  it("emit → parse is the identity (up to the recorded option order), and re-emits the same bytes", () => {
    fc.assert(
      fc.property(arbitraryRepr, (repr) => {
        const bytes = Message.emit(repr)
        expect(bytes.length).toBe(Message.bufferLen(repr))
        const back = ok(Message.parse(bytes))
        expect(withoutOrder(back)).toEqual(repr)
        expect(Message.emit(back)).toEqual(bytes)
      }),
      { numRuns: 300 }
    )
  })

  it("parse never throws on random bytes, and what it accepts re-emits to a message that parses equal", () => {
    fc.assert(
      fc.property(arbitrarySlice, ([buffer, offset, length]) => {
        const r = Message.parse(buffer, offset, length)
        if (!isMalformed(r)) expect(withoutOrder(ok(Message.parse(Message.emit(r))))).toEqual(withoutOrder(r))
      }),
      { numRuns: 2000 }
    )
  })

  it("parse never throws on a valid header followed by random options", () => {
    const head = message("select_offer").subarray(0, 240)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 192 }), (options, areas) => {
        const bytes = new Uint8Array(240 + options.length)
        bytes.set(head)
        bytes.set(areas, Message.field.SNAME)
        bytes.set(options, 240)
        const r = Message.parse(bytes)
        if (!isMalformed(r)) expect(Message.emit(r).length).toBeGreaterThanOrEqual(300)
      }),
      { numRuns: 2000 }
    )
  })
})
