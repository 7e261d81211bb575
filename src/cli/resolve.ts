/**
 * `isla resolve NAME [--type A|AAAA]`: a DNS lookup from the stack; prints
 * the addresses one per line. A name that does not exist exits 1.
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Schedule } from "effect"
import * as Dhcp from "../layers/Dhcp.js"
import * as Dns from "../layers/Dns.js"
import * as Ipv6 from "../layers/Ipv6.js"
import { formatIp } from "../protocols/address.js"
import { stackOptions } from "./options.js"
import { awaitIpv6Source, cliStackLayer } from "./up.js"

/** `isla resolve`. */
export const resolve = Command.make(
  "resolve",
  {
    stack: stackOptions,
    type: Options.choice("type", ["A", "AAAA"] as const).pipe(Options.withDefault("A" as const)),
    name: Args.text({ name: "NAME" })
  },
  ({ name, stack, type }) =>
    Effect.gen(function*() {
      if (stack.dhcp) yield* Dhcp.awaitLease(30_000)
      const ipv6 = yield* Ipv6.Ipv6
      let servers = stack.dns
      if (servers.length === 0 && !stack.dhcp && ipv6.enabled) {
        // No server given: wait a little for a Router Advertisement's RDNSS (RFC 8106).
        servers = yield* ipv6.dnsServers.pipe(
          Effect.filterOrFail((list) => list.length > 0),
          Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 50 }),
          Effect.orElseSucceed(() => [])
        )
      }
      for (const s of servers) if (typeof s !== "number") yield* awaitIpv6Source(s)
      const addresses = yield* Dns.resolve(name, type)
      for (const a of addresses) process.stdout.write(formatIp(a.address) + "\n")
    }).pipe(Effect.scoped, Effect.provide(cliStackLayer(stack)))
).pipe(Command.withDescription("DNS lookup from the stack; prints the addresses"))
