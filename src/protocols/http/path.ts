/**
 * From a request-target to the path segments of a file under a static
 * server's root (RFC 9112 §3.2, RFC 3986 §2.1, §3.3): percent-decoded, with
 * every way out of the root refused rather than normalized away. Symbolic
 * links are the server's to check: it must resolve the real path of what
 * it opens and refuse one outside the root (this code never sees the disk).
 */
import { type Malformed } from "../malformed.js"

/** What `resolveRequestPath` accepts beyond the defaults. */
export interface ResolvePathOptions {
  /**
   * Authorities (`host` or `host:port`, any case; port 80 may be left out)
   * served for absolute-form targets (`GET http://host/path`); when absent,
   * any host is accepted and dropped.
   */
  readonly hosts?: ReadonlyArray<string>
  /** Serve names starting with "." (`.git`, `.env`); default false: refused as "dotfile". */
  readonly allowDotfiles?: boolean
}

/** Why a request-target does not name a file under the root. */
export type PathRefusalReason =
  /** Asterisk-form or authority-form: no path at all. */
  | "not_a_path"
  /** Not origin-form nor `http://` absolute-form, raw characters outside visible ASCII, or userinfo in the authority. */
  | "bad_target"
  /** An absolute-form authority not in `hosts`. */
  | "foreign_host"
  /** A "%" not followed by two hex digits. */
  | "bad_escape"
  /** Percent-escapes that are not UTF-8 (overlong forms like `%c0%ae` included). */
  | "bad_encoding"
  /** NUL, raw or `%00`. */
  | "nul"
  /** A control character other than NUL, decoded. */
  | "control_char"
  /** A `..` segment, raw or encoded (`%2e%2e`, `.%2e`, `%2E.`). */
  | "dot_dot"
  /** A backslash, raw or `%5c` (a separator elsewhere). */
  | "backslash"
  /** `%2f` inside a segment: a slash that is not a separator. */
  | "encoded_slash"
  /** A segment starting with "." while `allowDotfiles` is off. */
  | "dotfile"

/** A request-target refused, with the status to answer. */
export interface PathRefusal extends Malformed {
  readonly reason: PathRefusalReason
  readonly status: 400 | 404 | 421
}

/** A request-target resolved to a file path relative to the root. */
export interface ResolvedPath {
  readonly _tag: "Path"
  /** Decoded segments, none empty, "." or ".."; `[]` is the root itself. Join them under the root. */
  readonly segments: ReadonlyArray<string>
  /** The path ended with "/" (or was "/"): the server looks for an index file. */
  readonly directory: boolean
  /** The query without its "?", still percent-encoded; "" when none. */
  readonly query: string
}

const REFUSALS = Object.fromEntries(
  (
    [
      ["not_a_path", 400],
      ["bad_target", 400],
      ["foreign_host", 421],
      ["bad_escape", 400],
      ["bad_encoding", 400],
      ["nul", 400],
      ["control_char", 400],
      ["dot_dot", 400],
      ["backslash", 400],
      ["encoded_slash", 400],
      ["dotfile", 404]
    ] as const
  ).map(([reason, status]) => [reason, Object.freeze({ _tag: "Malformed", reason, status })])
) as unknown as { readonly [R in PathRefusalReason]: PathRefusal }

const refuse = (reason: PathRefusalReason): PathRefusal => REFUSALS[reason]

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)

/** The authority without a default port, lower-cased. */
const normalizeAuthority = (authority: string): string => {
  const lower = authority.toLowerCase()
  return lower.endsWith(":80") ? lower.slice(0, -3) : lower.endsWith(":") ? lower.slice(0, -1) : lower
}

/** Decodes one raw segment (RFC 3986 §2.1) and checks it; undefined means "skip it" (a "." segment). */
const decodeSegment = (raw: string, allowDotfiles: boolean): string | PathRefusal | undefined => {
  let decoded = raw
  if (raw.includes("%")) {
    for (let i = raw.indexOf("%"); i !== -1; i = raw.indexOf("%", i + 1)) {
      if (i + 2 >= raw.length || !isHex(raw.charCodeAt(i + 1)) || !isHex(raw.charCodeAt(i + 2))) {
        return refuse("bad_escape")
      }
    }
    try {
      // Rejects invalid UTF-8: overlong forms (%c0%ae for "."), surrogates, truncated sequences.
      decoded = decodeURIComponent(raw)
    } catch {
      return refuse("bad_encoding")
    }
  }
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i)
    if (c === 0) return refuse("nul")
    if (c === 0x2f) return refuse("encoded_slash")
    if (c === 0x5c) return refuse("backslash")
    if (c < 0x20 || c === 0x7f) return refuse("control_char")
  }
  if (decoded === ".") return undefined
  if (decoded === "..") return refuse("dot_dot")
  if (decoded.startsWith(".") && !allowDotfiles) return refuse("dotfile")
  return decoded
}

/**
 * Resolves a request-target (origin-form `/a/b?q`, or absolute-form
 * `http://host/a/b`) to the segments of a file under the root, or a refusal
 * with its status. The fragment and query are cut first; empty and "."
 * segments are dropped ("//" collapses); ".." in any encoding, NUL,
 * backslashes, encoded slashes, control characters and bad escapes are
 * refused, never normalized, so no result can climb above the root.
 */
export const resolveRequestPath = (target: string, options: ResolvePathOptions = {}): ResolvedPath | PathRefusal => {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i)
    if (c === 0) return refuse("nul")
    if (c <= 0x20 || c >= 0x7f) return refuse("bad_target")
  }
  const hash = target.indexOf("#")
  let path = hash === -1 ? target : target.slice(0, hash)
  if (path === "*") return refuse("not_a_path")
  if (!path.startsWith("/")) {
    // RFC 9112 §3.2.2: absolute-form; the authority in the target wins over Host.
    if (path.slice(0, 7).toLowerCase() !== "http://") {
      // authority-form (CONNECT's `host:port`) names no path; anything else is not a target we serve.
      return /^[^/?:]*:\d*$/.test(path) ? refuse("not_a_path") : refuse("bad_target")
    }
    const rest = path.slice(7)
    let end = rest.length
    for (const delimiter of ["/", "?"]) {
      const at = rest.indexOf(delimiter)
      if (at !== -1 && at < end) end = at
    }
    const authority = rest.slice(0, end)
    if (authority.length === 0 || authority.includes("@")) return refuse("bad_target")
    if (options.hosts !== undefined) {
      const wanted = normalizeAuthority(authority)
      if (!options.hosts.some((host) => normalizeAuthority(host) === wanted)) return refuse("foreign_host")
    }
    path = "/" + rest.slice(end).replace(/^\//, "")
  }
  const question = path.indexOf("?")
  const query = question === -1 ? "" : path.slice(question + 1)
  if (question !== -1) path = path.slice(0, question)
  // A raw backslash is a separator to some servers and file systems: never part of a name here.
  if (path.includes("\\")) return refuse("backslash")
  const allowDotfiles = options.allowDotfiles === true
  const raw = path.split("/")
  const segments: Array<string> = []
  let directory = path.endsWith("/")
  for (let i = 0; i < raw.length; i++) {
    const piece = raw[i]!
    if (piece.length === 0) continue
    const segment = decodeSegment(piece, allowDotfiles)
    if (segment === undefined) {
      // RFC 3986 §5.2.4: a final "." names the directory it is in.
      if (i === raw.length - 1) directory = true
      continue
    }
    if (typeof segment !== "string") return segment
    segments.push(segment)
  }
  if (segments.length === 0) directory = true
  return { _tag: "Path", segments, directory, query }
}
