import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import {
  type Header,
  LAST_CHUNK,
  type ParsedRequest,
  reasonPhrase,
  RequestParser,
  ResponseParser,
  serializeChunk,
  serializeRequest,
  serializeResponseHead
} from "../../../src/protocols/http/index.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import { bytes, feedSplit, text } from "./messages.js"

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
// Fields whose meaning the serializer or parser act on; generated headers leave them out.
const FRAMING = new Set(["content-length", "transfer-encoding", "host", "connection", "expect"])

const token = (maxLength = 16) =>
  fc.array(fc.constantFrom(...TCHARS), { minLength: 1, maxLength }).map((chars) => chars.join(""))

const vchar = fc.oneof(
  fc.integer({ min: 0x21, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff })
).map((c) => String.fromCharCode(c))

/** A field value: visible chars and obs-text, SP/HTAB only inside (OWS around a value is not part of it). */
const fieldValue = fc.oneof(
  fc.constant(""),
  fc.tuple(vchar, fc.array(fc.oneof(vchar, fc.constantFrom(" ", "\t")), { maxLength: 40 }), vchar).map(
    ([a, middle, b]) => a + middle.join("") + b
  ),
  vchar
)

const headers = fc.array(
  fc.record({ name: token(), value: fieldValue }).filter((h) => !FRAMING.has(h.name.toLowerCase())),
  { maxLength: 20 }
)

const pathChars = "abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@%/?"
const target = fc.array(fc.constantFrom(...pathChars), { maxLength: 60 }).map((chars) => "/" + chars.join(""))

// CONNECT takes an authority-form target, not generated here.
const method = fc.oneof(fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"), token(10)).filter(
  (m) => m !== "CONNECT"
)

const body = fc.uint8Array({ maxLength: 300 })

/** Up to 8 places to cut an input, as fractions of its length (in 1/10000). */
const cutFractions = fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 8 })

const cutsOf = (fractions: ReadonlyArray<number>, length: number): Array<number> =>
  [...new Set(fractions.map((f) => Math.floor((f * length) / 10_000)))].sort((a, b) => a - b)

const HOST: Header = { name: "Host", value: "isla.test:8080" }

describe("serializeRequest → RequestParser is the identity", () => {
  it("for random valid requests, with Content-Length, chunked or no body, split anywhere", () => {
    fc.assert(
      fc.property(
        method,
        target,
        headers,
        fc.oneof(
          fc.constant({ kind: "none" as const }),
          body.map((b) => ({ kind: "length" as const, body: b })),
          fc.tuple(body, fc.integer({ min: 1, max: 64 })).map(([b, size]) => ({ kind: "chunked" as const, body: b, size }))
        ),
        fc.constantFrom("1.0" as const, "1.1" as const),
        cutFractions,
        (method, target, fields, framing, version, fractions) => {
          const useVersion = framing.kind === "chunked" ? "1.1" : version
          const all = [HOST, ...fields]
          const wire = serializeRequest(
            method,
            target,
            all,
            framing.kind === "none" ? undefined : framing.body,
            framing.kind === "chunked" ? { version: useVersion, chunkSize: framing.size } : { version: useVersion }
          )
          expect(isMalformed(wire)).toBe(false)
          const input = wire as Uint8Array
          const cuts = cutsOf(fractions, input.length)
          const out = feedSplit(new RequestParser(), input, cuts)
          expect(out).toHaveLength(1)
          const parser = new RequestParser()
          parser.push(input)
          const r = parser.next() as ParsedRequest
          expect(r._tag).toBe("Request")
          expect(r.method).toBe(method)
          expect(r.target).toBe(target)
          expect(r.version).toBe(useVersion)
          const extra = framing.kind === "none"
            ? []
            : framing.kind === "chunked"
            ? [{ name: "Transfer-Encoding", value: "chunked" }]
            : [{ name: "Content-Length", value: String(framing.body.length) }]
          expect(r.headers.entries).toEqual([...all, ...extra])
          expect(r.body).toEqual(framing.kind === "none" ? new Uint8Array(0) : framing.body)
          expect(r.chunked).toBe(framing.kind === "chunked")
          expect(parser.buffered).toBe(0)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("for several requests pipelined in one stream", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(method, target, headers, body), { minLength: 1, maxLength: 5 }), (requests) => {
        const parts = requests.map(([m, t, h, b]) => serializeRequest(m, t, [HOST, ...h], b) as Uint8Array)
        const parser = new RequestParser()
        for (const part of parts) parser.push(part)
        for (const [m, t, , b] of requests) {
          const r = parser.next() as ParsedRequest
          expect([r.method, r.target, text(r.body)]).toEqual([m, t, text(b)])
        }
        expect(parser.next()).toBeUndefined()
      })
    )
  })
})

describe("serializeResponseHead → ResponseParser is the identity", () => {
  const reason = fc.array(fc.oneof(vchar, fc.constantFrom(" ", "\t")), { maxLength: 30 }).map((c) => c.join(""))

  it("for random responses with Content-Length or chunked bodies, split anywhere", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
        reason,
        headers,
        body,
        fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
        cutFractions,
        (status, phrase, fields, data, chunkSize, fractions) => {
          const all: Array<Header> = chunkSize === undefined
            ? [...fields, { name: "Content-Length", value: String(data.length) }]
            : [...fields, { name: "Transfer-Encoding", value: "chunked" }]
          const head = serializeResponseHead(status, phrase, all)
          expect(isMalformed(head)).toBe(false)
          const pieces = [head as Uint8Array]
          if (chunkSize === undefined) pieces.push(data)
          else {
            for (let at = 0; at < data.length; at += chunkSize) pieces.push(serializeChunk(data.subarray(at, at + chunkSize)))
            pieces.push(LAST_CHUNK)
          }
          const input = bytes(pieces.map(text).join(""))
          const cuts = cutsOf(fractions, input.length)
          const out = feedSplit(new ResponseParser(), input, cuts)
          expect(out).toHaveLength(1)
          expect(out[0]).toEqual({
            _tag: "Response",
            version: "1.1",
            status,
            reason: phrase,
            headers: all.map((h) => [h.name, h.value]),
            body: text(data),
            keepAlive: true
          })
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("serializeResponseHead", () => {
  it("writes the status line, the fields and the empty line", () => {
    const head = serializeResponseHead(404, undefined, [{ name: "Content-Type", value: "text/plain" }], {
      date: Date.UTC(1994, 10, 6, 8, 49, 37),
      contentLength: 9,
      connection: "close"
    })
    expect(text(head as Uint8Array)).toBe(
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 9\r\nConnection: close\r\n\r\n"
    )
  })

  it("leaves fields the caller gave alone", () => {
    const head = serializeResponseHead(200, "Fine", [
      { name: "date", value: "x" },
      { name: "transfer-encoding", value: "chunked" },
      { name: "CONNECTION", value: "keep-alive" }
    ], { date: 0, contentLength: 5, connection: "close", version: "1.0" })
    expect(text(head as Uint8Array)).toBe(
      "HTTP/1.0 200 Fine\r\ndate: x\r\ntransfer-encoding: chunked\r\nCONNECTION: keep-alive\r\n\r\n"
    )
  })

  it("refuses what would break the framing or inject lines", () => {
    const reasons = [
      serializeResponseHead(99, undefined, []),
      serializeResponseHead(200.5, undefined, []),
      serializeResponseHead(200, "OK\r\nX: injected", []),
      serializeResponseHead(200, undefined, [{ name: "Bad Name", value: "v" }]),
      serializeResponseHead(200, undefined, [{ name: "", value: "v" }]),
      serializeResponseHead(200, undefined, [{ name: "X", value: "a\r\nSet-Cookie: evil" }]),
      serializeResponseHead(200, undefined, [{ name: "X", value: "a\nb" }]),
      serializeResponseHead(200, undefined, [{ name: "X", value: "nul\x00" }]),
      serializeResponseHead(200, undefined, [{ name: "X", value: "wide \u0100" }]),
      serializeResponseHead(200, undefined, [], { contentLength: -1 })
    ].map((r) => (isMalformed(r) ? r.reason : "accepted"))
    expect(reasons).toEqual([
      "bad_status",
      "bad_status",
      "bad_reason",
      "bad_header_name",
      "bad_header_name",
      "bad_header_value",
      "bad_header_value",
      "bad_header_value",
      "bad_header_value",
      "bad_framing"
    ])
  })

  it("knows the reason phrases of the statuses a server sends", () => {
    expect([200, 206, 304, 400, 404, 405, 413, 414, 416, 431, 500, 501, 505, 799].map(reasonPhrase)).toEqual([
      "OK",
      "Partial Content",
      "Not Modified",
      "Bad Request",
      "Not Found",
      "Method Not Allowed",
      "Content Too Large",
      "URI Too Long",
      "Range Not Satisfiable",
      "Request Header Fields Too Large",
      "Internal Server Error",
      "Not Implemented",
      "HTTP Version Not Supported",
      ""
    ])
  })
})

describe("serializeChunk and serializeRequest", () => {
  it("chunks in hex, with no bytes for empty data", () => {
    expect(text(serializeChunk(new Uint8Array(26).fill(0x61)))).toBe(`1a\r\n${"a".repeat(26)}\r\n`)
    expect(serializeChunk(new Uint8Array(0)).length).toBe(0)
    expect(text(LAST_CHUNK)).toBe("0\r\n\r\n")
  })

  it("writes a GET without framing fields and a POST with Content-Length", () => {
    expect(text(serializeRequest("GET", "/", [HOST]) as Uint8Array)).toBe("GET / HTTP/1.1\r\nHost: isla.test:8080\r\n\r\n")
    expect(text(serializeRequest("POST", "/f", [HOST], bytes("")) as Uint8Array)).toBe(
      "POST /f HTTP/1.1\r\nHost: isla.test:8080\r\nContent-Length: 0\r\n\r\n"
    )
    expect(text(serializeRequest("PUT", "/f", [HOST], bytes("abcde"), { chunkSize: 2 }) as Uint8Array)).toBe(
      "PUT /f HTTP/1.1\r\nHost: isla.test:8080\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n1\r\ne\r\n0\r\n\r\n"
    )
  })

  it("refuses bad methods, targets and framing", () => {
    const cl = (value: string): Header => ({ name: "Content-Length", value })
    const te: Header = { name: "Transfer-Encoding", value: "chunked" }
    const reasons = [
      serializeRequest("G T", "/", []),
      serializeRequest("", "/", []),
      serializeRequest("GET", "", []),
      serializeRequest("GET", "/a b", []),
      serializeRequest("GET", "/\r\nX: y", []),
      serializeRequest("GET", "/caf\u00e9", []),
      serializeRequest("POST", "/", [cl("3")], bytes("ab")),
      serializeRequest("POST", "/", [cl("3")]),
      serializeRequest("POST", "/", [cl("2"), te], bytes("ab")),
      serializeRequest("POST", "/", [], bytes("ab"), { version: "1.0", chunkSize: 1 }),
      serializeRequest("POST", "/", [cl("2")], bytes("ab"))
    ].map((r) => (isMalformed(r) ? r.reason : "accepted"))
    expect(reasons).toEqual([
      "bad_method",
      "bad_method",
      "bad_target",
      "bad_target",
      "bad_target",
      "bad_target",
      "bad_framing",
      "bad_framing",
      "bad_framing",
      "bad_framing",
      "accepted"
    ])
  })
})
