import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import {
  DEFAULT_MIME_TYPE,
  extensionOf,
  formatHttpDate,
  mimeTypeFor,
  parseHttpDate
} from "../../../src/protocols/http/index.js"

// RFC 9110 §5.6.7's example instant, in its three formats.
const EXAMPLE = Date.UTC(1994, 10, 6, 8, 49, 37)

describe("formatHttpDate", () => {
  it("writes IMF-fixdate", () => {
    expect(formatHttpDate(EXAMPLE)).toBe("Sun, 06 Nov 1994 08:49:37 GMT")
    expect(formatHttpDate(EXAMPLE + 999)).toBe("Sun, 06 Nov 1994 08:49:37 GMT")
    expect(formatHttpDate(0)).toBe("Thu, 01 Jan 1970 00:00:00 GMT")
    expect(formatHttpDate(Date.UTC(2024, 1, 29, 23, 59, 59))).toBe("Thu, 29 Feb 2024 23:59:59 GMT")
    expect(formatHttpDate(-1)).toBe("Wed, 31 Dec 1969 23:59:59 GMT")
  })

  it("clamps what four digits of year cannot hold, and reads NaN as the epoch", () => {
    expect(formatHttpDate(8.64e15)).toBe("Fri, 31 Dec 9999 23:59:59 GMT")
    expect(formatHttpDate(Infinity)).toBe("Fri, 31 Dec 9999 23:59:59 GMT")
    expect(formatHttpDate(-Infinity)).toBe("Sat, 01 Jan 0000 00:00:00 GMT")
    expect(formatHttpDate(NaN)).toBe("Thu, 01 Jan 1970 00:00:00 GMT")
  })
})

describe("parseHttpDate", () => {
  it("reads the three formats of RFC 9110 §5.6.7", () => {
    expect(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")).toBe(EXAMPLE)
    expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT")).toBe(EXAMPLE)
    expect(parseHttpDate("Sun Nov  6 08:49:37 1994")).toBe(EXAMPLE)
    expect(parseHttpDate("Sun Nov 06 08:49:37 1994")).toBe(EXAMPLE)
    expect(parseHttpDate("Wed Nov 16 08:49:37 1994")).toBe(EXAMPLE + 10 * 86_400_000)
  })

  it("resolves RFC 850 two-digit years against now (more than 50 years ahead is the past)", () => {
    const now = Date.UTC(2025, 0, 1)
    expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", now)).toBe(EXAMPLE)
    expect(parseHttpDate("Monday, 01-Jan-74 00:00:00 GMT", now)).toBe(Date.UTC(2074, 0, 1))
    expect(parseHttpDate("Wednesday, 01-Jan-76 00:00:00 GMT", now)).toBe(Date.UTC(1976, 0, 1))
    expect(parseHttpDate("Friday, 01-Jan-01 00:00:00 GMT", Date.UTC(2099, 0, 1))).toBe(Date.UTC(2101, 0, 1))
    expect(parseHttpDate("Thursday, 01-Jan-70 00:00:00 GMT")).toBe(0)
    expect(parseHttpDate("Saturday, 01-Jan-00 00:00:00 GMT")).toBe(Date.UTC(2000, 0, 1))
  })

  it("takes a leap second as the next minute", () => {
    expect(parseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT")).toBe(Date.UTC(2017, 0, 1))
  })

  const invalid = [
    "",
    "garbage",
    "sun, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 gmt",
    "Sun,  06 Nov 1994 08:49:37 GMT",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 94 08:49:37 GMT",
    " Sun, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT ",
    "Sun, 30 Feb 1994 08:49:37 GMT",
    "Sun, 29 Feb 1900 08:49:37 GMT",
    "Sun, 00 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:00:00 GMT",
    "Sun, 06 Nov 1994 08:60:00 GMT",
    "Sun, 06 Nov 1994 08:49:61 GMT",
    "Sunday, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06-Nov-94 08:49:37 GMT",
    "Sun Nov 6 08:49:37 1994",
    "Sun Nov  6 08:49:37 94",
    "Funday, 06-Nov-94 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT".repeat(3)
  ]
  for (const text of invalid) {
    it(`refuses ${JSON.stringify(text.slice(0, 40))}`, () => {
      expect(parseHttpDate(text)).toBeUndefined()
    })
  }

  it("round-trips any second in years 0000–9999", () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200, max: 253_402_300_799 }), fc.integer({ min: 0, max: 999 }), (s, ms) => {
        expect(parseHttpDate(formatHttpDate(s * 1000 + ms))).toBe(s * 1000)
      }),
      { numRuns: 2000 }
    )
  })
})

describe("mimeTypeFor", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["index.html", "text/html; charset=utf-8"],
    ["/a/b/PAGE.HTM", "text/html; charset=utf-8"],
    ["style.css", "text/css; charset=utf-8"],
    ["app.js", "text/javascript; charset=utf-8"],
    ["mod.mjs", "text/javascript; charset=utf-8"],
    ["data.json", "application/json"],
    ["notes.txt", "text/plain; charset=utf-8"],
    ["logo.svg", "image/svg+xml"],
    ["a.png", "image/png"],
    ["a.jpg", "image/jpeg"],
    ["a.JPEG", "image/jpeg"],
    ["a.gif", "image/gif"],
    ["a.webp", "image/webp"],
    ["favicon.ico", "image/x-icon"],
    ["lib.wasm", "application/wasm"],
    ["doc.pdf", "application/pdf"],
    ["feed.xml", "application/xml"],
    ["f.woff", "font/woff"],
    ["f.woff2", "font/woff2"],
    ["v.mp4", "video/mp4"],
    ["v.webm", "video/webm"],
    ["archive.tar.gz", "application/gzip"],
    ["Makefile", DEFAULT_MIME_TYPE],
    [".profile", DEFAULT_MIME_TYPE],
    ["name.", DEFAULT_MIME_TYPE],
    ["x.unknown", DEFAULT_MIME_TYPE],
    ["x.constructor", DEFAULT_MIME_TYPE],
    ["x.__proto__", DEFAULT_MIME_TYPE],
    ["dir.html/file", DEFAULT_MIME_TYPE]
  ]
  for (const [path, type] of cases) {
    it(`${path} → ${type}`, () => {
      expect(mimeTypeFor(path)).toBe(type)
    })
  }

  it("extensionOf", () => {
    expect(["a.TXT", "/x/y.tar.gz", "noext", ".hidden", "a/b.c/d", "win\\x.js"].map(extensionOf)).toEqual([
      "txt",
      "gz",
      "",
      "",
      "",
      "js"
    ])
  })
})
