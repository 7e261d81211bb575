/**
 * The ICMPv6 messages captured from the Linux kernel and radvd by
 * test/fixtures/icmpv6-capture.sh, loaded from test/fixtures/icmpv6-frames.json,
 * with the addresses of their pseudo-headers.
 */
import { readFileSync } from "node:fs"
import { fromHex } from "../wire/frames.js"

export { arbitrarySlice, fromHex, ok, toHex } from "../wire/frames.js"

interface MessagesFile {
  readonly about: string
  readonly messages: Record<string, {
    readonly command: string
    readonly ip: { readonly src: string; readonly dst: string; readonly hopLimit: number }
    readonly hex: string
  }>
}

const file = JSON.parse(
  readFileSync(new URL("../../fixtures/icmpv6-frames.json", import.meta.url), "utf8")
) as MessagesFile

/** The names of the captured messages. */
export type Icmpv6MessageName =
  | "dad_ns"
  | "dad_ns_link_local"
  | "rs"
  | "mldv2_report"
  | "mldv2_report_unspecified"
  | "ra"
  | "ns"
  | "na"
  | "echo_request"
  | "echo_reply"
  | "echo_request_link_local"
  | "echo_reply_link_local"
  | "port_unreachable"

/** A 16-byte IPv6 address from text (test-only; no zone, no embedded IPv4). */
export const v6 = (text: string): Uint8Array => {
  const [head = "", tail] = text.split("::")
  const words = (s: string): Array<number> => (s === "" ? [] : s.split(":").map((w) => parseInt(w, 16)))
  const h = words(head)
  const t = tail === undefined ? [] : words(tail)
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  const out = new Uint8Array(16)
  all.forEach((w, i) => {
    out[2 * i] = w >>> 8
    out[2 * i + 1] = w & 0xff
  })
  return out
}

/** A captured message: its ICMPv6 bytes (a fresh copy) and pseudo-header addresses. */
export const message = (name: Icmpv6MessageName): {
  readonly bytes: Uint8Array
  readonly src: Uint8Array
  readonly dst: Uint8Array
  readonly hopLimit: number
} => {
  const m = file.messages[name]
  if (m === undefined) throw new Error(`no message ${name} in icmpv6-frames.json`)
  return { bytes: fromHex(m.hex), src: v6(m.ip.src), dst: v6(m.ip.dst), hopLimit: m.ip.hopLimit }
}

/** Every captured message name. */
export const allMessages = (): ReadonlyArray<Icmpv6MessageName> => Object.keys(file.messages) as Array<Icmpv6MessageName>

/** Router R: 02:00:00:78:00:01, fe80::ff:fe78:1, fd00:78::1. Host H: 02:00:00:78:00:02, fe80::ff:fe78:2. */
export const MAC_R = fromHex("020000780001")
export const MAC_H = fromHex("020000780002")
export const LL_R = v6("fe80::ff:fe78:1")
export const LL_H = v6("fe80::ff:fe78:2")
export const GLOBAL_R = v6("fd00:78::1")
export const SLAAC_H = v6("fd00:78::ff:fe78:2")
