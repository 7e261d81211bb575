/**
 * The common stack options of SPEC §3, parsed and validated once so every
 * command that runs a stack takes them the same way. Bad values are usage
 * errors (exit 2).
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Effect, Option } from "effect"
import {
  parseIp,
  parseIpv4,
  parseIpv4Cidr,
  parseMac,
  type IpAddress,
  type Ipv4Address,
  type Ipv4Cidr,
  type MacAddress
} from "../protocols/address.js"
import { isLinkLocal, isMulticast, isUnspecified, parseIpv6Cidr, type Ipv6Cidr } from "../protocols/ipv6/address.js"
import type { PollMode } from "../runtime/PollScheduler.js"

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

const cidr = (name: string, text: string) =>
  Effect.suspend(() => {
    const c = parseIpv4Cidr(text)
    return c ? Effect.succeed(c) : Effect.fail(invalid(`--${name}: expected an IPv4 address with prefix, like 192.168.1.2/24, got "${text}"`))
  })

/** The stack options, validated. */
export interface StackOptions {
  readonly tap: string
  readonly mac: MacAddress
  readonly ip: Ipv4Cidr
  readonly gateway: Ipv4Address | undefined
  readonly hostIp: Ipv4Cidr | undefined
  readonly mtu: number | undefined
  readonly workers: number
  readonly poll: PollMode
  readonly pcap: string | undefined
  readonly logLevel: "error" | "warn" | "info" | "debug"
  /** Get the address, gateway and DNS servers by DHCP instead of `--ip`. */
  readonly dhcp: boolean
  /** DNS servers (repeatable, either family); from DHCP and Router Advertisements when none. */
  readonly dns: ReadonlyArray<IpAddress>
  /** IPv6 on (link-local, SLAAC, NDP); `--no-ipv6` turns it off. */
  readonly ipv6: boolean
  /** Static IPv6 addresses (repeatable), besides SLAAC. */
  readonly ip6: ReadonlyArray<Ipv6Cidr>
}

const tap = Options.text("tap").pipe(
  Options.withDefault("isla0"),
  Options.withDescription("TAP interface; created if missing, removed on exit if isla created it"),
  Options.mapEffect((t) =>
    /^[A-Za-z0-9_.-]{1,15}$/.test(t) ? Effect.succeed(t) : Effect.fail(invalid(`--tap: bad interface name "${t}"`))
  )
)

const mac = Options.text("mac").pipe(
  Options.withDefault("02:00:00:00:00:02"),
  Options.withDescription("the stack's MAC address"),
  Options.mapEffect((t) => {
    const m = parseMac(t)
    if (!m) return Effect.fail(invalid(`--mac: expected a MAC like 02:00:00:00:00:02, got "${t}"`))
    if ((m[0]! & 1) === 1) return Effect.fail(invalid(`--mac: ${t} is a multicast address`))
    return Effect.succeed(m)
  })
)

const ip = Options.text("ip").pipe(
  Options.withDefault("192.168.1.2/24"),
  Options.withDescription("static IPv4 address of the stack (CIDR)"),
  Options.mapEffect((t) => cidr("ip", t))
)

const gateway = Options.text("gateway").pipe(
  Options.optional,
  Options.withDescription("IPv4 default gateway"),
  Options.mapEffect((o) =>
    Option.match(o, {
      onNone: () => Effect.succeed(undefined),
      onSome: (t) => {
        const a = parseIpv4(t)
        return a === undefined ? Effect.fail(invalid(`--gateway: expected an IPv4 address, got "${t}"`)) : Effect.succeed(a)
      }
    })
  )
)

const hostIp = Options.text("host-ip").pipe(
  Options.optional,
  Options.withDescription("also bring the TAP up on the host side with this address (via ip)"),
  Options.mapEffect((o) =>
    Option.match(o, { onNone: () => Effect.succeed(undefined), onSome: (t) => cidr("host-ip", t) })
  )
)

const mtu = Options.integer("mtu").pipe(
  Options.optional,
  Options.withDescription("link MTU (default: the TAP's, 1500)"),
  Options.mapEffect((o) =>
    Option.match(o, {
      onNone: () => Effect.succeed(undefined),
      onSome: (n) =>
        n >= 576 && n <= 65521 ? Effect.succeed(n) : Effect.fail(invalid(`--mtu: must be between 576 and 65521, got ${n}`))
    })
  )
)

const workers = Options.text("workers").pipe(
  Options.withDefault("1"),
  Options.withDescription("worker threads (only 1 until the sharded mode lands)"),
  Options.mapEffect((t) =>
    t === "1" ? Effect.succeed(1) : Effect.fail(invalid(`--workers: only 1 is supported in this version, got "${t}"`))
  )
)

const poll = Options.choice("poll", ["adaptive", "spin"] as const).pipe(
  Options.withDefault("adaptive" as const),
  Options.withDescription("adaptive (spin → yield → sleep 50 µs → park) or spin")
)

const pcap = Options.file("pcap").pipe(
  Options.optional,
  Options.withDescription("write every frame sent and received to this pcap file"),
  Options.map(Option.getOrUndefined)
)

const logLevel = Options.choice("log-level", ["error", "warn", "info", "debug"] as const).pipe(
  Options.withDefault("info" as const),
  Options.withDescription("error, warn, info or debug")
)

const dhcp = Options.boolean("dhcp").pipe(
  Options.withDescription("get the IPv4 address, gateway and DNS servers by DHCP instead of --ip")
)

const dns = Options.text("dns").pipe(
  Options.repeated,
  Options.withDescription("DNS server, IPv4 or IPv6 (repeatable); from DHCP and RAs when none"),
  Options.mapEffect((list) => {
    const out: Array<IpAddress> = []
    for (const t of list) {
      const a = parseIp(t)
      if (a === undefined) return Effect.fail(invalid(`--dns: expected an IPv4 or IPv6 address, got "${t}"`))
      out.push(a)
    }
    return Effect.succeed(out)
  })
)

const noIpv6 = Options.boolean("no-ipv6").pipe(
  Options.withDescription("disable IPv6 (link-local, SLAAC, NDP): no IPv6 frame is sent")
)

const ip6 = Options.text("ip6").pipe(
  Options.repeated,
  Options.withDescription("static IPv6 address with prefix (repeatable), besides SLAAC, e.g. fd00::2/64"),
  Options.mapEffect((list) => {
    const out: Array<Ipv6Cidr> = []
    for (const t of list) {
      const c = parseIpv6Cidr(t)
      if (c === undefined) return Effect.fail(invalid(`--ip6: expected an IPv6 address with prefix, like fd00::2/64, got "${t}"`))
      if (isMulticast(c.address) || isUnspecified(c.address) || isLinkLocal(c.address)) {
        return Effect.fail(invalid(`--ip6: ${t} is not a global or unique-local unicast address`))
      }
      out.push(c)
    }
    return Effect.succeed(out)
  })
)

/** All common stack options. */
export const stackOptions: Options.Options<StackOptions> = Options.all({
  tap,
  mac,
  ip,
  gateway,
  hostIp,
  mtu,
  workers,
  poll,
  pcap,
  logLevel,
  dhcp,
  dns,
  noIpv6,
  ip6
}).pipe(
  Options.mapEffect(({ noIpv6, ...rest }) =>
    noIpv6 && rest.ip6.length > 0 ?
      Effect.fail(invalid("--ip6 cannot be used with --no-ipv6")) :
      Effect.succeed({ ...rest, ipv6: !noIpv6 })
  )
)
