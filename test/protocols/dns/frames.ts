/**
 * The DNS messages captured from dnsmasq by test/fixtures/dns-capture.sh,
 * loaded from test/fixtures/dns-frames.json, and small byte helpers.
 */
import { readFileSync } from "node:fs"

interface FramesFile {
  readonly about: string
  readonly frames: Record<string, { readonly command: string; readonly transport: "udp" | "tcp"; readonly hex: string }>
}

const file = JSON.parse(readFileSync(new URL("../../fixtures/dns-frames.json", import.meta.url), "utf8")) as FramesFile

/** The exchanges captured; each has `<name>_query` and `<name>_response`. */
export const exchanges = [
  "a_noedns",
  "a_edns",
  "aaaa_cookie",
  "cname_with_target",
  "cname_alone",
  "cname_next",
  "nxdomain",
  "nodata",
  "nxdomain_soa",
  "nodata_soa",
  "soa",
  "mx",
  "ptr",
  "mixed_case",
  "truncated_noedns",
  "truncated_edns",
  "tcp_lots",
  "txt_truncated",
  "txt_tcp"
] as const

/** One captured exchange. */
export type Exchange = (typeof exchanges)[number]

/** The name of one captured message. */
export type DnsFrameName = `${Exchange}_query` | `${Exchange}_response`

/** Every captured message's name. */
export const allFrameNames: ReadonlyArray<DnsFrameName> = exchanges.flatMap((e) => [`${e}_query`, `${e}_response`] as const)

/** A fresh copy of a captured message (tests may mutate it). */
export const dnsFrame = (name: DnsFrameName): Uint8Array => {
  const entry = file.frames[name]
  if (entry === undefined) throw new Error(`no fixture ${name} in dns-frames.json`)
  return fromHex(entry.hex)
}

/** The transport a captured message went over. */
export const transportOf = (name: DnsFrameName): "udp" | "tcp" => file.frames[name]!.transport

/** Bytes from hex text (whitespace ignored). */
export const fromHex = (hex: string): Uint8Array => {
  const clean = hex.replace(/\s+/g, "")
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Hex text of bytes, for readable assertion failures. */
export const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")

/** Bytes from ASCII text. */
export const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0))

/** A copy of `bytes` with the DNS id set to `id`. */
export const withId = (bytes: Uint8Array, id: number): Uint8Array => {
  const out = bytes.slice()
  out[0] = id >>> 8
  out[1] = id & 0xff
  return out
}

/** The 16 bytes of an IPv6 address written with hex groups (no `::`). */
export const ipv6 = (...groups: ReadonlyArray<number>): Uint8Array => {
  const out = new Uint8Array(16)
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8
    out[2 * i + 1] = g & 0xff
  })
  return out
}
