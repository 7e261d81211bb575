/**
 * `isla dhcp`: acquires a lease over the TAP, prints it as one line
 * (`lease ipv4=A/PLEN router=R dns=D[,D] lease=SECONDS server=S`), releases it
 * and exits; without a server it gives up after 30 s.
 */
import { Command } from "@effect/cli"
import { Effect } from "effect"
import * as Dhcp from "../layers/Dhcp.js"
import { formatIpv4 } from "../protocols/address.js"
import { stackOptions } from "./options.js"
import { cliStackLayer } from "./up.js"

/** `isla dhcp`. */
export const dhcp = Command.make("dhcp", { stack: stackOptions }, ({ stack }) =>
  Effect.gen(function*() {
    const lease = yield* Dhcp.awaitLease(30_000)
    const router = lease.router === undefined ? "none" : formatIpv4(lease.router)
    const dns = lease.dns.length === 0 ? "none" : lease.dns.map(formatIpv4).join(",")
    process.stdout.write(
      `lease ipv4=${formatIpv4(lease.address)}/${lease.prefixLength} router=${router} dns=${dns} lease=${lease.leaseSeconds} server=${formatIpv4(lease.server)}\n`
    )
  }).pipe(Effect.scoped, Effect.provide(cliStackLayer({ ...stack, dhcp: true })))
).pipe(Command.withDescription("acquire a DHCP lease, print it, release it"))
