import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { isMalformed } from "../../../src/protocols/malformed.js"
import { type ParsedRequest, RequestParser, type RequestLimits } from "../../../src/protocols/http/index.js"
import { bytes, drain, feedBytewise, feedSplit, plain, text } from "./messages.js"

/** Realistic requests, each alone and all pipelined in one stream. */
const REQUESTS: Record<string, string> = {
  curl: "GET /index.html HTTP/1.1\r\nHost: 192.168.1.2\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
  abKeepAlive10:
    "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: 192.168.1.2\r\nUser-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n",
  plain10: "GET /old HTTP/1.0\r\n\r\n",
  headClose: "HEAD /file.css HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n",
  postJson:
    "POST /api/items?x=1 HTTP/1.1\r\nHost: h:8080\r\nContent-Type: application/json\r\nContent-Length: 23\r\n\r\n{\"name\":\"isla\",\"id\":42}",
  chunked:
    "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "5\r\nhello\r\n" + "7;ext=1;q=\"a;b\"\r\n, world\r\n" + "A\r\n0123456789\r\n" + "0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n",
  expect: "PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nbody",
  bareLf: "GET /lf HTTP/1.1\nHost: h\nX-Thing:   spaced value  \n\n",
  leadingBlank: "\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
  absolute: "GET http://example.com/a/b?c HTTP/1.1\r\nHost: example.com\r\n\r\n",
  obsText: "GET / HTTP/1.1\r\nHost: h\r\nX-Latin: caf\xe9 \x80\xff\r\n\r\n"
}

const ALL = Object.values(REQUESTS).join("")

const parseAll = (input: string, limits?: RequestLimits) => drain(pushed(input, limits))

const pushed = (input: string, limits?: RequestLimits): RequestParser => {
  const parser = new RequestParser(limits)
  parser.push(bytes(input))
  return parser
}

const only = (input: string, limits?: RequestLimits): ParsedRequest => {
  const results = drain(pushed(input, limits))
  expect(results).toHaveLength(1)
  expect(results[0]!["_tag"]).toBe("Request")
  const parser = new RequestParser(limits)
  parser.push(bytes(input))
  return parser.next() as ParsedRequest
}

const errorOf = (input: string, limits?: RequestLimits) => {
  const results = parseAll(input, limits)
  const last = results.at(-1)
  expect(last?.["_tag"]).toBe("Malformed")
  return { reason: last?.["reason"], status: last?.["status"] }
}

describe("RequestParser parses", () => {
  it("a curl GET", () => {
    const r = only(REQUESTS["curl"]!)
    expect(r.method).toBe("GET")
    expect(r.target).toBe("/index.html")
    expect(r.version).toBe("1.1")
    expect(r.headers.entries).toEqual([
      { name: "Host", value: "192.168.1.2" },
      { name: "User-Agent", value: "curl/7.88.1" },
      { name: "Accept", value: "*/*" }
    ])
    expect(r.headers.get("user-agent")).toBe("curl/7.88.1")
    expect(r.headers.get("HOST")).toBe("192.168.1.2")
    expect(r.headers.has("accept")).toBe(true)
    expect(r.headers.get("missing")).toBeUndefined()
    expect(r.body.length).toBe(0)
    expect(r.keepAlive).toBe(true)
    expect(r.expectContinue).toBe(false)
  })

  it("every realistic request, pipelined in one chunk, in order", () => {
    const results = parseAll(ALL)
    expect(results.map((r) => r["_tag"])).toEqual(Object.keys(REQUESTS).map(() => "Request"))
    expect(results.map((r) => r["target"])).toEqual([
      "/index.html",
      "/",
      "/old",
      "/file.css",
      "/api/items?x=1",
      "/upload",
      "/big",
      "/lf",
      "*",
      "http://example.com/a/b?c",
      "/"
    ])
  })

  it("a Content-Length body and the request after it", () => {
    const results = parseAll(REQUESTS["postJson"]! + REQUESTS["curl"]!)
    expect(results[0]!["body"]).toBe("{\"name\":\"isla\",\"id\":42}")
    expect(results[1]!["target"]).toBe("/index.html")
  })

  it("a chunked body, with extensions and trailers skipped", () => {
    const r = only(REQUESTS["chunked"]!)
    expect(text(r.body)).toBe("hello, world0123456789")
    expect(r.chunked).toBe(true)
    expect(r.headers.has("x-checksum")).toBe(false)
  })

  it("bare LF line ends, OWS trimmed around values", () => {
    const r = only(REQUESTS["bareLf"]!)
    expect(r.headers.get("x-thing")).toBe("spaced value")
  })

  it("obs-text in values as Latin-1", () => {
    expect(only(REQUESTS["obsText"]!).headers.get("x-latin")).toBe("caf\xe9 \x80\xff")
  })

  it("repeated fields combined in order, tokens lower-cased", () => {
    const r = only("GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nConnection: Upgrade, Keep-Alive\r\naccept: b\r\n\r\n")
    expect(r.headers.get("accept")).toBe("a, b")
    expect(r.headers.getAll("ACCEPT")).toEqual(["a", "b"])
    expect(r.headers.tokens("connection")).toEqual(["upgrade", "keep-alive"])
    expect(r.headers.hasToken("connection", "UPGRADE")).toBe(true)
    expect([...r.headers].map((h) => h.name)).toEqual(["Host", "Accept", "Connection", "accept"])
  })

  it("equal repeated Content-Length values as one (RFC 9110 §8.6)", () => {
    expect(text(only("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\nContent-Length: 003\r\n\r\nabc").body)).toBe("abc")
  })
})

describe("RequestParser derives", () => {
  const keepAlive = (version: string, connection?: string) =>
    only(`GET / HTTP/${version}\r\nHost: h\r\n${connection === undefined ? "" : `Connection: ${connection}\r\n`}\r\n`)
      .keepAlive

  it("keepAlive: on in HTTP/1.1 unless close, off in HTTP/1.0 unless keep-alive", () => {
    expect(keepAlive("1.1")).toBe(true)
    expect(keepAlive("1.1", "close")).toBe(false)
    expect(keepAlive("1.1", "Keep-Alive, CLOSE")).toBe(false)
    expect(keepAlive("1.1", "keep-alive")).toBe(true)
    expect(keepAlive("1.0")).toBe(false)
    expect(keepAlive("1.0", "Keep-Alive")).toBe(true)
    expect(keepAlive("1.0", "close")).toBe(false)
  })

  it("expectContinue, with the head visible before the body arrives", () => {
    const parser = new RequestParser()
    parser.push(bytes("PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-Continue\r\n\r\n"))
    expect(parser.next()).toBeUndefined()
    const head = parser.pendingHead
    expect(head?.expectContinue).toBe(true)
    expect(head?.method).toBe("PUT")
    parser.push(bytes("bo"))
    expect(parser.next()).toBeUndefined()
    parser.push(bytes("dy"))
    const r = parser.next() as ParsedRequest
    expect(text(r.body)).toBe("body")
    expect(parser.pendingHead).toBeUndefined()
  })

  it("no expectContinue in HTTP/1.0 (RFC 9110 §10.1.1)", () => {
    expect(only("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx").expectContinue).toBe(false)
  })
})

describe("RequestParser is independent of how the bytes are split", () => {
  const whole = parseAll(ALL)

  for (const [name, request] of Object.entries(REQUESTS)) {
    it(`${name}: split at every byte boundary`, () => {
      const expected = parseAll(request)
      const input = bytes(request)
      for (let cut = 0; cut <= input.length; cut++) {
        expect(feedSplit(new RequestParser(), input, [cut])).toEqual(expected)
      }
    })
  }

  it("all pipelined: split at every byte boundary", () => {
    const input = bytes(ALL)
    for (let cut = 0; cut <= input.length; cut++) {
      expect(feedSplit(new RequestParser(), input, [cut])).toEqual(whole)
    }
  })

  it("all pipelined: one byte at a time", () => {
    expect(feedBytewise(new RequestParser(), bytes(ALL))).toEqual(whole)
  })

  it("all pipelined: at random cuts", () => {
    const input = bytes(ALL)
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: input.length }), { maxLength: 40 }), (cuts) => {
        expect(feedSplit(new RequestParser(), input, cuts.sort((a, b) => a - b))).toEqual(whole)
      })
    )
  })

  it("errors too: the same error wherever the input is cut", () => {
    const bad = REQUESTS["curl"]! + "GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n" + REQUESTS["curl"]!
    const expected = parseAll(bad)
    expect(expected.map((r) => r["_tag"])).toEqual(["Request", "Malformed"])
    const input = bytes(bad)
    for (let cut = 0; cut <= input.length; cut++) expect(feedSplit(new RequestParser(), input, [cut])).toEqual(expected)
  })
})

describe("RequestParser refuses with the right status", () => {
  const host = "Host: h\r\n"
  const cases: ReadonlyArray<readonly [string, string, number, string]> = [
    ["no target", "GET HTTP/1.1\r\n\r\n", 400, "bad_request_line"],
    ["HTTP/0.9", "GET /\r\n\r\n", 400, "bad_request_line"],
    ["double space", "GET  / HTTP/1.1\r\n\r\n", 400, "bad_request_line"],
    ["trailing space", "GET / HTTP/1.1 \r\n\r\n", 400, "bad_request_line"],
    ["method with a bad char", "GE(T / HTTP/1.1\r\n\r\n", 400, "bad_request_line"],
    ["target with a control char", "GET /a\x01b HTTP/1.1\r\n\r\n", 400, "bad_target"],
    ["target with a non-ASCII byte", "GET /caf\xe9 HTTP/1.1\r\n\r\n", 400, "bad_target"],
    ["relative target", "GET index.html HTTP/1.1\r\n\r\n", 400, "bad_target"],
    ["asterisk for GET", "GET * HTTP/1.1\r\n\r\n", 400, "bad_target"],
    ["lower-case version", "GET / http/1.1\r\n\r\n", 400, "bad_version"],
    ["version without minor", "GET / HTTP/1\r\n\r\n", 400, "bad_version"],
    ["two-digit major", "GET / HTTP/10.1\r\n\r\n", 400, "bad_version"],
    ["HTTP/2.0", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "unsupported_version"],
    ["HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", 505, "unsupported_version"],
    ["HTTP/0.9 as version", "GET / HTTP/0.9\r\n\r\n", 505, "unsupported_version"],
    ["bare CR in the request line", "GET /\r HTTP/1.1\r\n\r\n", 400, "bad_target"],
    ["obs-fold", `GET / HTTP/1.1\r\n${host}X-A: b\r\n  folded\r\n\r\n`, 400, "obs_fold"],
    ["whitespace before the first field", `GET / HTTP/1.1\r\n ${host}\r\n`, 400, "obs_fold"],
    ["space before colon", `GET / HTTP/1.1\r\n${host}X-A : b\r\n\r\n`, 400, "space_before_colon"],
    ["tab before colon", `GET / HTTP/1.1\r\n${host}X-A\t: b\r\n\r\n`, 400, "space_before_colon"],
    ["space inside a name", `GET / HTTP/1.1\r\n${host}X A: b\r\n\r\n`, 400, "bad_header"],
    ["no colon", `GET / HTTP/1.1\r\n${host}X-A b\r\n\r\n`, 400, "bad_header"],
    ["empty name", `GET / HTTP/1.1\r\n${host}: b\r\n\r\n`, 400, "bad_header"],
    ["NUL in a value", `GET / HTTP/1.1\r\n${host}X-A: a\x00b\r\n\r\n`, 400, "bad_header"],
    ["bare CR in a value", `GET / HTTP/1.1\r\n${host}X-A: a\rb\r\n\r\n`, 400, "bad_header"],
    ["DEL in a value", `GET / HTTP/1.1\r\n${host}X-A: a\x7fb\r\n\r\n`, 400, "bad_header"],
    ["no Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "missing_host"],
    ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate_host"],
    ["two Hosts in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400, "duplicate_host"],
    ["a bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad_host"],
    ["a Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "bad_host"],
    ["letters in Content-Length", `POST / HTTP/1.1\r\n${host}Content-Length: abc\r\n\r\n`, 400, "bad_content_length"],
    ["negative Content-Length", `POST / HTTP/1.1\r\n${host}Content-Length: -1\r\n\r\n`, 400, "bad_content_length"],
    ["signed Content-Length", `POST / HTTP/1.1\r\n${host}Content-Length: +1\r\n\r\n`, 400, "bad_content_length"],
    ["empty Content-Length", `POST / HTTP/1.1\r\n${host}Content-Length:\r\n\r\n`, 400, "bad_content_length"],
    ["Content-Length list with a hole", `POST / HTTP/1.1\r\n${host}Content-Length: 1,,1\r\n\r\nx`, 400, "bad_content_length"],
    [
      "conflicting Content-Length list",
      `POST / HTTP/1.1\r\n${host}Content-Length: 5, 6\r\n\r\n`,
      400,
      "conflicting_content_length"
    ],
    [
      "conflicting Content-Length lines",
      `POST / HTTP/1.1\r\n${host}Content-Length: 5\r\nContent-Length: 6\r\n\r\n`,
      400,
      "conflicting_content_length"
    ],
    [
      "Content-Length and Transfer-Encoding",
      `POST / HTTP/1.1\r\n${host}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`,
      400,
      "content_length_and_transfer_encoding"
    ],
    [
      "Transfer-Encoding and Content-Length",
      `POST / HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n`,
      400,
      "content_length_and_transfer_encoding"
    ],
    ["chunked twice", `POST / HTTP/1.1\r\n${host}Transfer-Encoding: chunked, chunked\r\n\r\n`, 400, "bad_transfer_encoding"],
    ["empty coding list", `POST / HTTP/1.1\r\n${host}Transfer-Encoding: ,\r\n\r\n`, 400, "bad_transfer_encoding"],
    ["Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "bad_transfer_encoding"],
    ["gzip coding", `POST / HTTP/1.1\r\n${host}Transfer-Encoding: gzip, chunked\r\n\r\n`, 501, "unsupported_transfer_coding"],
    ["unknown coding", `POST / HTTP/1.1\r\n${host}Transfer-Encoding: foo\r\n\r\n`, 501, "unsupported_transfer_coding"],
    ["chunked with a parameter", `POST / HTTP/1.1\r\n${host}Transfer-Encoding: chunked;x=1\r\n\r\n`, 501, "unsupported_transfer_coding"],
    ["chunked not last", `POST / HTTP/1.1\r\n${host}Transfer-Encoding: chunked, gzip\r\n\r\n`, 501, "unsupported_transfer_coding"]
  ]
  for (const [name, input, status, reason] of cases) {
    it(`${name}: ${status} ${reason}`, () => {
      expect(errorOf(input)).toEqual({ status, reason })
    })
  }

  const chunked = `POST / HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\n`
  const chunkCases: ReadonlyArray<readonly [string, string]> = [
    ["a non-hex size", "zz\r\n"],
    ["an empty size", "\r\nabc\r\n"],
    ["a negative size", "-1\r\n"],
    ["a space before the extension's semicolon only", "3 \r\nabc\r\n0\r\n\r\n"],
    ["a bare extension separator", "3;\r\nabc\r\n0\r\n\r\n"],
    ["an extension name that is not a token", "3;a b\r\nabc\r\n0\r\n\r\n"],
    ["an unterminated quoted extension", "3;a=\"b\r\nabc\r\n0\r\n\r\n"],
    ["an empty extension value", "3;a=\r\nabc\r\n0\r\n\r\n"],
    ["data longer than the size", "3\r\nabcd\r\n0\r\n\r\n"],
    ["data without CRLF", "3\r\nabc0\r\n\r\n"],
    ["a bare CR in the size line", "3\rx\r\nabc\r\n0\r\n\r\n"],
    ["a chunk-size line too long", "1;" + "a".repeat(5000) + "\r\n"]
  ]
  for (const [name, body] of chunkCases) {
    it(`chunked body with ${name}: 400 bad_chunk`, () => {
      expect(errorOf(chunked + body)).toEqual({ status: 400, reason: "bad_chunk" })
    })
  }

  it("a bad trailer: 400", () => {
    expect(errorOf(chunked + "1\r\na\r\n0\r\nBad Trailer: x\r\n\r\n")).toEqual({ status: 400, reason: "bad_header" })
  })

  it("binary junk (a TLS ClientHello) on its first byte", () => {
    const parser = new RequestParser()
    parser.push(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00]))
    expect(parser.next()).toMatchObject({ status: 400, reason: "bad_request_line" })
  })

  it("junk after a method-like prefix as soon as it arrives", () => {
    const parser = new RequestParser()
    parser.push(bytes("GET"))
    expect(parser.next()).toBeUndefined()
    parser.push(bytes("\x00"))
    expect(parser.next()).toMatchObject({ status: 400 })
  })

  it("too many blank lines before a request", () => {
    expect(errorOf("\r\n".repeat(17) + REQUESTS["curl"]!)).toEqual({ status: 400, reason: "bad_request_line" })
    expect(parseAll("\r\n".repeat(16) + REQUESTS["curl"]!)[0]!["_tag"]).toBe("Request")
  })

  it("after an error: no more input, the same error, nothing buffered", () => {
    const parser = new RequestParser()
    parser.push(bytes("GET / HTTP/1.1\r\nHost: h\r\nBad Header: 1\r\n\r\n" + REQUESTS["curl"]!))
    const error = parser.next()
    expect(isMalformed(error)).toBe(true)
    expect(parser.error).toBe(error)
    expect(parser.buffered).toBe(0)
    parser.push(bytes(REQUESTS["curl"]!))
    expect(parser.buffered).toBe(0)
    expect(parser.next()).toBe(error)
    expect(parser.next()).toBe(error)
  })
})

describe("RequestParser limits", () => {
  const headerLines = (n: number, size = 0) =>
    Array.from({ length: n }, (_, i) => `X-H${i}: ${"v".repeat(size)}\r\n`).join("")

  it("a request line of exactly maxRequestLine passes; one byte more is 414", () => {
    const line = (n: number) => `GET /${"a".repeat(n - "GET / HTTP/1.1".length)} HTTP/1.1`
    expect(line(8192).length).toBe(8192)
    expect(parseAll(`${line(8192)}\r\nHost: h\r\n\r\n`)[0]!["_tag"]).toBe("Request")
    expect(errorOf(`${line(8193)}\r\nHost: h\r\n\r\n`)).toEqual({ status: 414, reason: "uri_too_long" })
  })

  it("a request line over the limit: 414 in the target, 400 in a method or version", () => {
    expect(errorOf("G".repeat(9000))).toEqual({ status: 400, reason: "bad_request_line" })
    expect(errorOf(`GET /${"a".repeat(9000)}`)).toEqual({ status: 414, reason: "uri_too_long" })
    expect(errorOf(`GET / HTTP/${"1".repeat(9000)}`)).toEqual({ status: 400, reason: "bad_request_line" })
    expect(errorOf(`GET / HTTP/1.1\r\n`, { maxRequestLine: 10 })).toEqual({ status: 414, reason: "uri_too_long" })
  })

  it("a 100 KB request-target is refused after ~8 KB, before the rest is pushed", () => {
    const parser = new RequestParser()
    parser.push(bytes("GET /"))
    let pushed = 5
    let result = parser.next()
    while (result === undefined && pushed < 100_000) {
      parser.push(bytes("a".repeat(1024)))
      pushed += 1024
      result = parser.next()
    }
    expect(result).toMatchObject({ status: 414 })
    expect(pushed).toBeLessThanOrEqual(8192 + 1024 + 5)
    expect(parser.buffered).toBe(0)
  })

  it("a 100 KB header line is refused after ~16 KB (431), before the rest is pushed", () => {
    const parser = new RequestParser()
    parser.push(bytes("GET / HTTP/1.1\r\nHost: h\r\nX-Long: "))
    let pushed = 0
    let result = parser.next()
    while (result === undefined && pushed < 100_000) {
      parser.push(bytes("x".repeat(1024)))
      pushed += 1024
      result = parser.next()
    }
    expect(result).toMatchObject({ status: 431, reason: "header_section_too_large" })
    expect(pushed).toBeLessThanOrEqual(16384 + 1024)
    expect(parser.buffered).toBe(0)
  })

  it("a header line pushed whole is refused having kept at most the limit", () => {
    expect(errorOf(`GET / HTTP/1.1\r\nHost: h\r\nX-Long: ${"x".repeat(100_000)}\r\n\r\n`)).toEqual({
      status: 431,
      reason: "header_section_too_large"
    })
  })

  it("10,000 headers: 431, at once or in pieces, by count or by size", () => {
    const request = `GET / HTTP/1.1\r\nHost: h\r\n${headerLines(10_000)}\r\n`
    expect(errorOf(request)).toEqual({ status: 431, reason: "too_many_headers" })
    expect(errorOf(request, { maxHeaders: 20_000 })).toEqual({ status: 431, reason: "header_section_too_large" })
    expect(errorOf(request, { maxHeaderBytes: 1 << 20 })).toEqual({ status: 431, reason: "too_many_headers" })
    const input = bytes(request)
    const cuts = Array.from({ length: 200 }, (_, i) => (i + 1) * 512).filter((c) => c < input.length)
    const out = feedSplit(new RequestParser(), input, cuts)
    expect(out).toEqual([{ _tag: "Malformed", reason: "too_many_headers", status: 431 }])
  })

  it("maxHeaders fields pass, one more is 431", () => {
    expect(parseAll(`GET / HTTP/1.1\r\nHost: h\r\n${headerLines(99)}\r\n`)[0]!["_tag"]).toBe("Request")
    expect(errorOf(`GET / HTTP/1.1\r\nHost: h\r\n${headerLines(100)}\r\n`)).toEqual({
      status: 431,
      reason: "too_many_headers"
    })
  })

  it("a header section of exactly maxHeaderBytes passes, one byte more is 431", () => {
    const section = (size: number) => {
      const fixed = "Host: h\r\nX-Pad: \r\n\r\n".length
      return `Host: h\r\nX-Pad: ${"p".repeat(size - fixed)}\r\n\r\n`
    }
    expect(section(16384).length).toBe(16384)
    expect(parseAll(`GET / HTTP/1.1\r\n${section(16384)}`)[0]!["_tag"]).toBe("Request")
    expect(errorOf(`GET / HTTP/1.1\r\n${section(16385)}`)).toEqual({ status: 431, reason: "header_section_too_large" })
  })

  it("a declared body over maxBodyBytes is 413 before any of it arrives", () => {
    expect(errorOf(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${1024 * 1024 + 1}\r\n\r\n`)).toEqual({
      status: 413,
      reason: "body_too_large"
    })
    expect(errorOf(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n`)).toEqual({
      status: 413,
      reason: "body_too_large"
    })
    const r = only(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789`, { maxBodyBytes: 10 })
    expect(text(r.body)).toBe("0123456789")
  })

  it("a chunked body over maxBodyBytes is 413 at the chunk size that passes it", () => {
    const head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    expect(errorOf(head + "ffffffffffffffffffffffff\r\n")).toEqual({ status: 413, reason: "body_too_large" })
    expect(errorOf(head + "6\r\n123456\r\n5\r\n", { maxBodyBytes: 10 })).toEqual({ status: 413, reason: "body_too_large" })
    expect(text(only(head + "6\r\n123456\r\n4\r\n7890\r\n0\r\n\r\n", { maxBodyBytes: 10 }).body)).toBe("1234567890")
  })

  it("trailers have the header section's limits", () => {
    const head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n"
    expect(errorOf(head + headerLines(101) + "\r\n")).toEqual({ status: 431, reason: "too_many_headers" })
    expect(errorOf(head + `T: ${"t".repeat(20_000)}\r\n\r\n`)).toEqual({ status: 431, reason: "header_section_too_large" })
  })

  it("slowloris: 16 KB of headers one byte at a time, in linear time", () => {
    const request = `GET / HTTP/1.1\r\nHost: h\r\n${headerLines(90, 160)}\r\n`
    expect(request.length).toBeGreaterThan(15_000)
    expect(request.length).toBeLessThan(16_384)
    const input = bytes(request)
    const parser = new RequestParser()
    const started = performance.now()
    let result
    let early = 0
    for (let i = 0; i < input.length; i++) {
      parser.push(input.subarray(i, i + 1))
      result = parser.next()
      if (result !== undefined && i < input.length - 1) early++
    }
    const elapsed = performance.now() - started
    expect(early).toBe(0)
    expect(result).toMatchObject({ _tag: "Request" })
    expect((result as ParsedRequest).headers.size).toBe(91)
    expect(elapsed).toBeLessThan(1000)
  })

  it("slowloris: a 512 KB chunked body one byte at a time, in linear time", () => {
    const chunk = `1000\r\n${"b".repeat(4096)}\r\n`
    const request = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk.repeat(128) + "0\r\n\r\n"
    const input = bytes(request)
    const parser = new RequestParser()
    const started = performance.now()
    let result
    for (let i = 0; i < input.length; i++) {
      parser.push(input.subarray(i, i + 1))
      result = parser.next()
    }
    const elapsed = performance.now() - started
    expect((result as ParsedRequest).body.length).toBe(128 * 4096)
    expect(elapsed).toBeLessThan(3000)
  })

  it("consumes no byte past the request it returns", () => {
    const parser = new RequestParser()
    const curl = REQUESTS["curl"]!
    parser.push(bytes(curl + curl))
    expect(plain(parser.next()!)["_tag"]).toBe("Request")
    expect(parser.buffered).toBe(curl.length)
    expect(plain(parser.next()!)["_tag"]).toBe("Request")
    expect(parser.buffered).toBe(0)
    expect(parser.next()).toBeUndefined()
  })
})
