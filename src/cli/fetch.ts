/**
 * `isla fetch URL`: an HTTP GET from the stack (TCP active open over the
 * TAP); the body goes to stdout, the status line and headers to stderr with
 * `-v`. A final status outside 2xx exits 1.
 */
import { Args, Command, Options } from "@effect/cli"
import { Data, Effect } from "effect"
import * as Dhcp from "../layers/Dhcp.js"
import * as Dns from "../layers/Dns.js"
import * as Http from "../layers/Http.js"
import { parseIpv6 } from "../protocols/ipv6/address.js"
import { stackOptions } from "./options.js"
import { awaitIpv6Source, cliStackLayer } from "./up.js"

class FetchFailed extends Data.TaggedError("FetchFailed")<{ readonly message: string }> {}

const writeOut = (bytes: Uint8Array) =>
  Effect.async<void>((resume) => {
    process.stdout.write(bytes, () => resume(Effect.void))
  })

/** `isla fetch`. */
export const fetch = Command.make(
  "fetch",
  {
    stack: stackOptions,
    verbose: Options.boolean("verbose").pipe(Options.withAlias("v"), Options.withDescription("status line and headers to stderr")),
    url: Args.text({ name: "URL" }).pipe(Args.withDescription("http:// URL (a host name needs --dns or --dhcp)"))
  },
  ({ stack, url, verbose }) =>
    Effect.gen(function*() {
      if (stack.dhcp) yield* Dhcp.awaitLease(30_000)
      // An IPv6 literal host: wait for a usable source address first.
      const bracket = /^http:\/\/\[([^\]]+)\]/i.exec(url)
      const literal6 = bracket === null ? undefined : parseIpv6(bracket[1]!)
      if (literal6 !== undefined) yield* awaitIpv6Source(literal6)
      const lookup = (host: string) =>
        Effect.tap(Dns.lookupHost(host), (a) => typeof a === "number" ? Effect.void : awaitIpv6Source(a))
      const response = yield* Http.fetch(url, { timeout: "30 seconds", lookup })
      if (verbose) {
        let head = `HTTP/1.1 ${response.status} ${response.reason}\n`
        for (const h of response.headers) head += `${h.name}: ${h.value}\n`
        process.stderr.write(head + "\n")
      }
      yield* writeOut(response.body)
      if (response.status < 200 || response.status > 299) {
        return yield* new FetchFailed({ message: `${response.url}: HTTP ${response.status} ${response.reason}` })
      }
    }).pipe(Effect.provide(cliStackLayer(stack)))
).pipe(Command.withDescription("HTTP GET over the stack; the body goes to stdout"))
