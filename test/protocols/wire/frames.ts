/**
 * The Ethernet frames captured from Linux by test/fixtures/capture.sh, loaded
 * from test/fixtures/frames.json, and the addresses of the two namespaces.
 */
import { readFileSync } from "node:fs"
import { FastCheck } from "effect"
import type { Malformed } from "../../../src/protocols/malformed.js"

interface FramesFile {
  readonly about: string
  readonly frames: Record<string, { readonly command: string; readonly hex: string }>
}

const file = JSON.parse(readFileSync(new URL("../../fixtures/frames.json", import.meta.url), "utf8")) as FramesFile

/** The names of the captured frames. */
export type FrameName =
  | "arp_request"
  | "arp_reply"
  | "icmp_echo_request"
  | "icmp_echo_reply"
  | "ipv4_fragment_first_request"
  | "ipv4_fragment_middle_request"
  | "ipv4_fragment_last_request"
  | "ipv4_fragment_first_reply"
  | "ipv4_fragment_middle_reply"
  | "ipv4_fragment_last_reply"
  | "udp_datagram"
  | "udp_no_checksum"
  | "udp_closed_port"
  | "icmp_port_unreachable"
  | "icmp_echo_request_record_route"
  | "icmp_echo_reply_record_route"

/** A fresh copy of a captured frame (tests may mutate it). */
export const frame = (name: FrameName): Uint8Array => {
  const entry = file.frames[name]
  if (entry === undefined) throw new Error(`no fixture ${name} in frames.json`)
  return fromHex(entry.hex)
}

/** Every captured frame, by name. */
export const allFrames = (): ReadonlyArray<readonly [FrameName, Uint8Array]> =>
  Object.keys(file.frames).map((name) => [name as FrameName, frame(name as FrameName)] as const)

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

/** Namespace A's end of the veth: 02:00:00:4e:00:01, 10.78.0.1. */
export const MAC_A = fromHex("0200004e0001")
export const IP_A = 0x0a4e0001
/** Namespace B's end of the veth: 02:00:00:4e:00:02, 10.78.0.2. */
export const MAC_B = fromHex("0200004e0002")
export const IP_B = 0x0a4e0002

/** Offset of the IPv4 header in a captured frame. */
export const IP_AT = 14

/** Narrows a parser result, failing the test when it is `Malformed`. */
export const ok = <A>(result: A | Malformed): A => {
  if (typeof result === "object" && result !== null && (result as { _tag?: unknown })._tag === "Malformed") {
    throw new Error(`unexpected Malformed: ${(result as Malformed).reason}`)
  }
  return result as A
}

/** Arbitrary byte arrays, biased towards the short lengths around header sizes. */
export const arbitraryBytes: FastCheck.Arbitrary<Uint8Array> = FastCheck.oneof(
  FastCheck.uint8Array({ maxLength: 80 }),
  FastCheck.uint8Array({ minLength: 80, maxLength: 1600 })
)

/** Arbitrary (bytes, offset, length), including offsets and lengths outside the bytes. */
export const arbitrarySlice: FastCheck.Arbitrary<readonly [Uint8Array, number, number]> = arbitraryBytes.chain((bytes) =>
  FastCheck.tuple(
    FastCheck.constant(bytes),
    FastCheck.integer({ min: -4, max: bytes.length + 4 }),
    FastCheck.integer({ min: -4, max: bytes.length + 4 })
  )
)

/** A 6-byte MAC address. */
export const arbitraryMac: FastCheck.Arbitrary<Uint8Array> = FastCheck.uint8Array({ minLength: 6, maxLength: 6 })

/** An IPv4 address as an unsigned 32-bit number. */
export const arbitraryIpv4: FastCheck.Arbitrary<number> = FastCheck.integer({ min: 0, max: 0xffffffff })
