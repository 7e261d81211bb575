/**
 * Shared pieces of the HTTP tests: text ↔ bytes, draining a parser into
 * plain comparable values, and feeding input split at chosen offsets.
 */
import type {
  ParsedRequest,
  ParsedResponse,
  RequestParseError,
  RequestParser,
  ResponseParseError,
  ResponseParser
} from "../../../src/protocols/http/index.js"

/** `text` as bytes, one per char (Latin-1, like the wire). */
export const bytes = (text: string): Uint8Array => {
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i)
  return out
}

/** `data` as a string of one char per byte. */
export const text = (data: Uint8Array): string => String.fromCharCode(...data)

/** A parse result as plain data (headers as pairs, body as text), for `toEqual`. */
export const plain = (
  result: ParsedRequest | ParsedResponse | RequestParseError | ResponseParseError
): Record<string, unknown> => {
  if (result._tag === "Malformed") return { ...result }
  return {
    ...result,
    headers: result.headers.entries.map(({ name, value }) => [name, value]),
    body: text(result.body)
  }
}

type Parser = RequestParser | ResponseParser

/** Calls `next` until it needs more bytes; stops after an error. */
export const drain = (parser: Parser, into: Array<Record<string, unknown>> = []): Array<Record<string, unknown>> => {
  for (let result = parser.next(); result !== undefined; result = parser.next()) {
    into.push(plain(result))
    if (result._tag === "Malformed") break
  }
  return into
}

/** Pushes `input` cut at each of `cuts` (sorted offsets), draining after every piece. */
export const feedSplit = (
  parser: Parser,
  input: Uint8Array,
  cuts: ReadonlyArray<number>,
  end = false
): Array<Record<string, unknown>> => {
  const out: Array<Record<string, unknown>> = []
  let from = 0
  for (const cut of [...cuts, input.length]) {
    // Fresh copies: a parser keeps pushed chunks by reference.
    parser.push(input.slice(from, cut))
    from = cut
    drain(parser, out)
    // A parser repeats its error on every call: record it once.
    if (out.at(-1)?.["_tag"] === "Malformed") return out
  }
  if (end && "end" in parser) {
    parser.end()
    drain(parser, out)
  }
  return out
}

/** Pushes `input` one byte at a time, draining after every byte. */
export const feedBytewise = (parser: Parser, input: Uint8Array, end = false): Array<Record<string, unknown>> =>
  feedSplit(parser, input, Array.from({ length: Math.max(0, input.length - 1) }, (_, i) => i + 1), end)
