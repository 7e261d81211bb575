import { describe, expect, it } from "vitest"
import { type ParsedResponse, ResponseParser, type ResponseLimits } from "../../../src/protocols/http/index.js"
import { bytes, drain, feedSplit, text } from "./messages.js"

const parser = (methods: ReadonlyArray<string> = [], limits?: ResponseLimits): ResponseParser => {
  const p = new ResponseParser(limits)
  for (const method of methods) p.requestSent(method)
  return p
}

/** Parses `input` whole; `end` closes the connection afterwards. */
const parse = (input: string, methods: ReadonlyArray<string> = [], end = false, limits?: ResponseLimits) => {
  const p = parser(methods, limits)
  p.push(bytes(input))
  const out = drain(p)
  if (end && out.at(-1)?.["_tag"] !== "Malformed") {
    p.end()
    drain(p, out)
  }
  return out
}

const first = (input: string, methods: ReadonlyArray<string> = [], end = false): ParsedResponse => {
  const p = parser(methods)
  p.push(bytes(input))
  if (end) p.end()
  const r = p.next()
  expect(r?._tag).toBe("Response")
  return r as ParsedResponse
}

describe("ResponseParser delimits bodies", () => {
  it("by Content-Length", () => {
    const r = first("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
    expect(r.status).toBe(200)
    expect(r.reason).toBe("OK")
    expect(r.version).toBe("1.1")
    expect(r.headers.get("content-type")).toBe("text/plain")
    expect(text(r.body)).toBe("hello")
    expect(r.keepAlive).toBe(true)
  })

  it("by chunked coding, trailers skipped", () => {
    const r = first(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n"
    )
    expect(text(r.body)).toBe("Wikipedia in\r\n\r\nchunks.")
    expect(r.keepAlive).toBe(true)
  })

  it("by the end of the connection, only once it ends", () => {
    const p = parser()
    p.push(bytes("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>par"))
    expect(p.next()).toBeUndefined()
    p.push(bytes("tial</p>"))
    expect(p.next()).toBeUndefined()
    p.end()
    const r = p.next() as ParsedResponse
    expect(text(r.body)).toBe("<p>partial</p>")
    expect(r.keepAlive).toBe(false)
    expect(p.next()).toBeUndefined()
  })

  it("none for HEAD, whatever Content-Length says", () => {
    const out = parse(
      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
      ["HEAD", "GET"]
    )
    expect(out.map((r) => [r["status"], r["body"]])).toEqual([[200, ""], [200, "hi"]])
  })

  it("none for HEAD even with Transfer-Encoding: chunked", () => {
    expect(text(first("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ["HEAD"]).body)).toBe("")
  })

  it("none for 204 and 304", () => {
    const out = parse(
      "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"
    )
    expect(out.map((r) => [r["status"], r["body"]])).toEqual([[204, ""], [304, ""], [200, "z"]])
  })

  it("Content-Length: 0 as an empty body, not close-delimited", () => {
    const r = first("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    expect(r.body.length).toBe(0)
    expect(r.keepAlive).toBe(true)
  })
})

describe("ResponseParser status lines and interim responses", () => {
  it("skips 100 Continue and 103 Early Hints", () => {
    const out = parse(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
      ["POST"]
    )
    expect(out.map((r) => [r["status"], r["body"]])).toEqual([[201, "ok"]])
  })

  it("returns 101 and then stops: the bytes belong to another protocol", () => {
    const p = parser(["GET"])
    p.push(bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"))
    expect((p.next() as ParsedResponse).status).toBe(101)
    expect(p.next()).toBeUndefined()
  })

  it("accepts an empty reason, with or without its SP, and keeps odd ones", () => {
    expect(first("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").reason).toBe("")
    expect(first("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").reason).toBe("")
    expect(first("HTTP/1.1 404 Not  Found\t!\r\nContent-Length: 0\r\n\r\n").reason).toBe("Not  Found\t!")
  })

  it("HTTP/1.0: keep-alive only when asked", () => {
    expect(first("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keepAlive).toBe(false)
    expect(first("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").keepAlive).toBe(true)
    expect(first("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keepAlive).toBe(false)
    expect(first("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").version).toBe("1.1")
  })

  it("reads HTTP/1.x above 1.1 as 1.1 (RFC 9110 §2.5)", () => {
    expect(first("HTTP/1.9 200 OK\r\nContent-Length: 0\r\n\r\n").version).toBe("1.1")
  })

  const bad: ReadonlyArray<readonly [string, string, string]> = [
    ["junk", "SSH-2.0-OpenSSH\r\n\r\n", "bad_status_line"],
    ["lower-case HTTP", "http/1.1 200 OK\r\n\r\n", "bad_status_line"],
    ["two-digit status", "HTTP/1.1 20 OK\r\n\r\n", "bad_status_line"],
    ["four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", "bad_status_line"],
    ["status 099", "HTTP/1.1 099 OK\r\n\r\n", "bad_status_line"],
    ["HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", "unsupported_version"],
    ["a NUL in the reason", "HTTP/1.1 200 O\x00K\r\n\r\n", "bad_status_line"],
    ["a bad header", "HTTP/1.1 200 OK\r\nBad Header: 1\r\n\r\n", "bad_header"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nA: 1\r\n 2\r\n\r\n", "obs_fold"],
    ["CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "content_length_and_transfer_encoding"],
    ["conflicting CL", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "conflicting_content_length"],
    ["a bad CL", "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", "bad_content_length"],
    ["gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported_transfer_coding"],
    ["TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "bad_transfer_encoding"],
    ["a bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", "bad_chunk"]
  ]
  for (const [name, input, reason] of bad) {
    it(`refuses ${name}: ${reason}`, () => {
      expect(parse(input).at(-1)).toEqual({ _tag: "Malformed", reason })
    })
  }
})

describe("ResponseParser at the end of the connection", () => {
  it("a clean close between responses is not an error", () => {
    const out = parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", [], true)
    expect(out.map((r) => r["_tag"])).toEqual(["Response"])
  })

  const truncated: ReadonlyArray<readonly [string, string]> = [
    ["inside the status line", "HTTP/1.1 20"],
    ["inside the header section", "HTTP/1.1 200 OK\r\nContent-Len"],
    ["inside a Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"],
    ["inside a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"],
    ["before the last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n"],
    ["inside the trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n"]
  ]
  for (const [name, input] of truncated) {
    it(`${name} is truncated`, () => {
      expect(parse(input, [], true).at(-1)).toEqual({ _tag: "Malformed", reason: "truncated" })
    })
  }
})

describe("ResponseParser pipelining, splits and limits", () => {
  const STREAM = "HTTP/1.1 100 Continue\r\n\r\n" +
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc" +
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + // HEAD
    "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnot\r\n6;a=b\r\n found\r\n0\r\nT: 1\r\n\r\n" +
    "HTTP/1.1 304 Not Modified\r\nETag: \"1\"\r\n\r\n" +
    "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end"
  const METHODS = ["POST", "HEAD", "GET", "GET", "GET"]

  it("answers in order, each framed by its own request", () => {
    const out = parse(STREAM, METHODS, true)
    expect(out.map((r) => [r["status"], r["body"]])).toEqual([
      [200, "abc"],
      [200, ""],
      [404, "not found"],
      [304, ""],
      [200, "until the end"]
    ])
  })

  it("the same wherever the stream is cut", () => {
    const whole = parse(STREAM, METHODS, true)
    const input = bytes(STREAM)
    for (let cut = 0; cut <= input.length; cut++) {
      expect(feedSplit(parser(METHODS), input, [cut], true)).toEqual(whole)
    }
    const everyByte = Array.from({ length: input.length - 1 }, (_, i) => i + 1)
    expect(feedSplit(parser(METHODS), input, everyByte, true)).toEqual(whole)
  })

  it("limits the header section, the status line and the body", () => {
    expect(parse(`HTTP/1.1 200 OK\r\nX: ${"x".repeat(70_000)}\r\n\r\n`).at(-1)?.["reason"]).toBe(
      "header_section_too_large"
    )
    expect(parse(`HTTP/1.1 200 ${"r".repeat(9000)}\r\n\r\n`).at(-1)?.["reason"]).toBe("bad_status_line")
    const many = Array.from({ length: 300 }, (_, i) => `H${i}: 1\r\n`).join("")
    expect(parse(`HTTP/1.1 200 OK\r\n${many}\r\n`).at(-1)?.["reason"]).toBe("too_many_headers")
    const small = { maxBodyBytes: 4 }
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", [], false, small).at(-1)?.["reason"]).toBe(
      "body_too_large"
    )
    expect(parse("HTTP/1.1 200 OK\r\n\r\n12345", [], false, small).at(-1)?.["reason"]).toBe("body_too_large")
    expect(
      parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n123\r\n2\r\n", [], false, small).at(-1)?.[
        "reason"
      ]
    ).toBe("body_too_large")
  })
})
