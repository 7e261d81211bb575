/**
 * Domain names in text (RFC 1035 §5.1 escapes) and on the wire: what names
 * users may give, canonical text, case-insensitive matching (RFC 4343), and
 * reading labels with any bytes.
 */
import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import * as Dns from "../../../src/protocols/dns/index.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import { ascii, fromHex, toHex } from "./frames.js"

describe("names in text", () => {
  it.each([
    ["host.isla.test", "host.isla.test"],
    ["Host.Isla.TEST.", "Host.Isla.TEST"],
    ["", "."],
    [".", "."],
    ["a\\.b.c", "a\\.b.c"],
    ["\\065\\066c", "ABc"],
    ["\\a\\b", "ab"],
    ["a\\032b", "a\\032b"],
    ["a\\ b", "a\\032b"],
    ["back\\\\slash", "back\\\\slash"],
    ["\\255\\000", "\\255\\000"],
    ["_sip._udp.example", "_sip._udp.example"]
  ])("normalizeName(%j) = %j", (text, canonical) => {
    expect(Dns.normalizeName(text)).toBe(canonical)
  })

  it.each([
    ["a..b", Dns.EmptyLabel],
    [".a", Dns.EmptyLabel],
    ["a.b..", Dns.EmptyLabel],
    ["x".repeat(64) + ".test", Dns.LabelTooLong],
    [["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62)].join("."), Dns.NameTooLong],
    ["a b", Dns.BadNameText],
    ["bücher.example", Dns.BadNameText],
    ["a\\256", Dns.BadNameText],
    ["a\\12", Dns.BadNameText],
    ["a\\", Dns.BadNameText],
    ["tab\there", Dns.BadNameText]
  ])("normalizeName(%j) is refused", (text, reason) => {
    expect(Dns.normalizeName(text)).toBe(reason)
  })

  it("a 255-byte name on the wire is the longest accepted", () => {
    const text = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".")
    const wire = Dns.encodeName(text)
    if (isMalformed(wire)) throw new Error(wire.reason)
    expect(wire.length).toBe(Dns.MAX_NAME_LEN)
  })

  it("encodeName writes length-prefixed labels and the root's zero", () => {
    expect(toHex(Dns.encodeName("www.isla.test") as Uint8Array)).toBe("03777777" + "0469736c61" + "0474657374" + "00")
    expect(toHex(Dns.encodeName(".") as Uint8Array)).toBe("00")
    expect(toHex(Dns.encodeName("a\\.b") as Uint8Array)).toBe("03612e62" + "00")
  })

  it("nameEquals ignores ASCII case only (RFC 4343)", () => {
    expect(Dns.nameEquals("HoSt.IsLa.TeSt", "host.isla.test")).toBe(true)
    expect(Dns.nameEquals("host.isla.test", "host.isla.tes")).toBe(false)
    expect(Dns.nameEquals("\\195\\169", "\\195\\137")).toBe(false) // bytes above 0x7f are not letters
    expect(Dns.nameKey("WWW.Example.COM")).toBe("www.example.com")
  })
})

describe("readName", () => {
  it("escapes dots, backslashes, spaces and bytes outside printable ASCII", () => {
    // Header, then one label "a.b\ c" + 0xff, then a second label "z".
    const label = new Uint8Array([...ascii("a.b\\ c"), 0xff])
    const bytes = new Uint8Array([...new Uint8Array(12), label.length, ...label, 1, 0x7a, 0])
    const r = Dns.readName(bytes, 0, bytes.length, 12, bytes.length)
    expect(r).toEqual({ name: "a\\.b\\\\\\032c\\255.z", next: bytes.length })
    if (isMalformed(r)) throw new Error(r.reason)
    expect(toHex(Dns.encodeName(r.name) as Uint8Array)).toBe(toHex(bytes.subarray(12)))
  })

  it("reports where the bytes after a compressed name start: just after its first pointer", () => {
    const bytes = fromHex("000000000000000000000000" + "0161" + "00" + "0162" + "c00c" + "ffff")
    expect(Dns.readName(bytes, 0, bytes.length, 15, bytes.length)).toEqual({ name: "b.a", next: 19 })
  })

  it("text → labels → text is the identity on canonical names", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 63 }), { maxLength: 3 }), (labels) => {
        const text = Dns.labelsToText(labels)
        expect(Dns.textToLabels(text)).toEqual(labels)
        expect(Dns.normalizeName(text)).toBe(text)
      })
    )
  })
})
