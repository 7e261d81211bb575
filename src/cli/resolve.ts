/**
 * `isla resolve NAME [--type A|AAAA]`: a DNS lookup from the stack; prints
 * the addresses one per line. A name that does not exist exits 1.
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect } from "effect"
import * as Dhcp from "../layers/Dhcp.js"
import * as Dns from "../layers/Dns.js"
import { formatIpv4 } from "../protocols/address.js"
import { stackOptions } from "./options.js"
import { cliStackLayer } from "./up.js"

const formatIpv6 = (b: Uint8Array) => {
  const groups: Array<string> = []
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16))
  // RFC 5952: compress the longest run of zero groups.
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === "0") j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  if (best < 0) return groups.join(":")
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`
}

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
      const addresses = yield* Dns.resolve(name, type)
      for (const a of addresses) {
        process.stdout.write((a._tag === "A" ? formatIpv4(a.address) : formatIpv6(a.address)) + "\n")
      }
    }).pipe(Effect.scoped, Effect.provide(cliStackLayer(stack)))
).pipe(Command.withDescription("DNS lookup from the stack; prints the addresses"))
