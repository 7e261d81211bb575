/**
 * The DHCP messages captured from dnsmasq, udhcpc and a hand-built client by
 * test/fixtures/dhcp-capture.sh, loaded from test/fixtures/dhcp-frames.json.
 */
import { readFileSync } from "node:fs"
import { fromHex } from "../wire/frames.js"

export { fromHex, ok, toHex } from "../wire/frames.js"

interface MessagesFile {
  readonly about: string
  readonly messages: Record<string, {
    readonly command: string
    readonly ip: { readonly src: string; readonly dst: string }
    readonly udp: { readonly src: number; readonly dst: number }
    readonly hex: string
  }>
}

const file = JSON.parse(
  readFileSync(new URL("../../fixtures/dhcp-frames.json", import.meta.url), "utf8")
) as MessagesFile

/** The names of the captured messages. */
export type DhcpMessageName =
  | "udhcpc_discover"
  | "udhcpc_offer"
  | "udhcpc_request"
  | "udhcpc_ack"
  | "udhcpc_release"
  | "select_discover"
  | "select_offer"
  | "select_request"
  | "select_ack"
  | "renew_request"
  | "renew_ack"
  | "rebind_request"
  | "rebind_ack"
  | "release_release"
  | "reboot_request"
  | "reboot_ack"
  | "decline_decline"
  | "nak_request"
  | "nak_nak"

/** A fresh copy of a captured UDP payload (tests may mutate it). */
export const message = (name: DhcpMessageName): Uint8Array => {
  const entry = file.messages[name]
  if (entry === undefined) throw new Error(`no fixture ${name} in dhcp-frames.json`)
  return fromHex(entry.hex)
}

/** Every captured message, by name. */
export const allMessages = (): ReadonlyArray<readonly [DhcpMessageName, Uint8Array]> =>
  Object.keys(file.messages).map((name) => [name as DhcpMessageName, message(name as DhcpMessageName)] as const)

/** The server: dnsmasq on 10.81.0.1. */
export const SERVER = 0x0a510001
/** udhcpc's MAC (the client namespace's veth) and the hand-built client's chaddr. */
export const MAC_UDHCPC = fromHex("020000510002")
export const MAC_CLIENT = fromHex("020000510003")
/** Addresses dnsmasq leased in the capture. */
export const ADDRESS_UDHCPC = 0x0a510045 // 10.81.0.69
export const ADDRESS_CLIENT = 0x0a510046 // 10.81.0.70
/** Transaction ids of the hand-built scenarios. */
export const XID = {
  select: 0x49534c41,
  renew: 0x49534c42,
  rebind: 0x49534c43,
  release: 0x49534c44,
  reboot: 0x49534c45,
  decline: 0x49534c46,
  nak: 0x49534c47
} as const
