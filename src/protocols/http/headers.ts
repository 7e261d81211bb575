/**
 * A message's header section as received or to be sent: field lines in
 * order, names in their original case, with case-insensitive lookups
 * (RFC 9110 §5.1). Lookups build a name index once, on first use. Also the
 * shared writer of a start line and header section.
 */
import { type Malformed, malformed } from "../malformed.js"
import { equalsLower, isFieldValue, isToken, listElements, writeLatin1 } from "./grammar.js"

/** One field line: a name and its value (OWS already trimmed). */
export interface Header {
  readonly name: string
  readonly value: string
}

const NONE: ReadonlyArray<string> = Object.freeze([])

/** Field lines in order with case-insensitive lookups; immutable. */
export class HeaderList implements Iterable<Header> {
  /** The field lines in the order they came or will be sent. */
  readonly entries: ReadonlyArray<Header>
  // Lower-cased name → values in order; built on first lookup.
  #index: Map<string, Array<string>> | undefined

  constructor(entries: ReadonlyArray<Header> = []) {
    this.entries = entries
  }

  /** A list from `[name, value]` pairs, in order. */
  static fromPairs(pairs: Iterable<readonly [string, string]>): HeaderList {
    const entries: Array<Header> = []
    for (const [name, value] of pairs) entries.push({ name, value })
    return new HeaderList(entries)
  }

  /** Number of field lines. */
  get size(): number {
    return this.entries.length
  }

  /** True when a field line named `name` (any case) is present. */
  has(name: string): boolean {
    return this.index().has(name.toLowerCase())
  }

  /**
   * The value of field `name` (any case); several field lines with that name
   * are combined with ", " in order (RFC 9110 §5.3). Undefined when absent.
   * Use `getAll` for Set-Cookie, which cannot be combined.
   */
  get(name: string): string | undefined {
    const values = this.index().get(name.toLowerCase())
    if (values === undefined) return undefined
    return values.length === 1 ? values[0] : values.join(", ")
  }

  /** The value of each field line named `name` (any case), in order. */
  getAll(name: string): ReadonlyArray<string> {
    return this.index().get(name.toLowerCase()) ?? NONE
  }

  /**
   * The elements of the comma-separated token list in every `name` field line
   * (Connection, Transfer-Encoding, Expect …), lower-cased, empty ones dropped.
   */
  tokens(name: string): ReadonlyArray<string> {
    const values = this.index().get(name.toLowerCase())
    if (values === undefined) return NONE
    const out: Array<string> = []
    for (const value of values) for (const element of listElements(value)) out.push(element.toLowerCase())
    return out
  }

  /** True when the token list in field `name` holds `token` (case-insensitive). */
  hasToken(name: string, token: string): boolean {
    return this.tokens(name).includes(token.toLowerCase())
  }

  [Symbol.iterator](): Iterator<Header> {
    return this.entries[Symbol.iterator]()
  }

  private index(): Map<string, Array<string>> {
    if (this.#index !== undefined) return this.#index
    const index = new Map<string, Array<string>>()
    for (const { name, value } of this.entries) {
      const key = name.toLowerCase()
      const values = index.get(key)
      if (values === undefined) index.set(key, [value])
      else values.push(value)
    }
    this.#index = index
    return index
  }
}

/** Why a message could not be serialized (a value, like parse failures): bytes that would break framing or inject lines. */
export interface SerializeError extends Malformed {
  readonly reason:
    | "bad_status"
    | "bad_reason"
    | "bad_method"
    | "bad_target"
    | "bad_header_name"
    | "bad_header_value"
    | "bad_framing"
}

const serializeErrors = {
  bad_status: malformed("bad_status"),
  bad_reason: malformed("bad_reason"),
  bad_method: malformed("bad_method"),
  bad_target: malformed("bad_target"),
  bad_header_name: malformed("bad_header_name"),
  bad_header_value: malformed("bad_header_value"),
  bad_framing: malformed("bad_framing")
} as { readonly [R in SerializeError["reason"]]: SerializeError }

/** The shared `SerializeError` constant for `reason`. */
export const serializeError = (reason: SerializeError["reason"]): SerializeError => serializeErrors[reason]

/** True when some field in `headers` is named `name` (lower-case). */
export const hasField = (headers: Iterable<Header>, name: string): boolean => {
  for (const header of headers) if (equalsLower(header.name, name)) return true
  return false
}

/**
 * `startLine` CRLF, each field of `headers` then of `extra` as `name: value`
 * CRLF, and the empty line, as Latin-1 bytes. `startLine` is checked by the
 * caller; names must be tokens and values free of CR, LF and other CTLs.
 */
export const serializeHead = (
  startLine: string,
  headers: Iterable<Header>,
  extra: ReadonlyArray<Header>
): Uint8Array | SerializeError => {
  let size = startLine.length + 4
  const fields: Array<Header> = []
  for (const list of [headers, extra]) {
    for (const field of list) {
      if (!isToken(field.name)) return serializeErrors.bad_header_name
      if (!isFieldValue(field.value)) return serializeErrors.bad_header_value
      size += field.name.length + field.value.length + 4
      fields.push(field)
    }
  }
  const bytes = new Uint8Array(size)
  let at = writeLatin1(startLine, bytes, 0)
  bytes[at++] = 0x0d
  bytes[at++] = 0x0a
  for (const field of fields) {
    at = writeLatin1(field.name, bytes, at)
    bytes[at++] = 0x3a
    bytes[at++] = 0x20
    at = writeLatin1(field.value, bytes, at)
    bytes[at++] = 0x0d
    bytes[at++] = 0x0a
  }
  bytes[at++] = 0x0d
  bytes[at] = 0x0a
  return bytes
}
