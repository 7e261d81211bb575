/**
 * `isla fetch URL`: an HTTP GET from the stack (TCP active open over the
 * TAP); the body goes to stdout, the status line and headers to stderr with
 * `-v`. A final status outside 2xx exits 1.
 */
import { Args, Command, Options } from "@effect/cli"
import { Data, Effect, Layer } from "effect"
import * as Http from "../layers/Http.js"
import * as Stack from "../layers/Stack.js"
import { stackOptions } from "./options.js"
import { tapLinkLayer } from "./up.js"

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
    url: Args.text({ name: "URL" }).pipe(Args.withDescription("http:// URL (an IPv4 address as host)"))
  },
  ({ stack, url, verbose }) =>
    Effect.gen(function*() {
      const response = yield* Http.fetch(url, { timeout: "30 seconds" })
      if (verbose) {
        let head = `HTTP/1.1 ${response.status} ${response.reason}\n`
        for (const h of response.headers) head += `${h.name}: ${h.value}\n`
        process.stderr.write(head + "\n")
      }
      yield* writeOut(response.body)
      if (response.status < 200 || response.status > 299) {
        return yield* new FetchFailed({ message: `${response.url}: HTTP ${response.status} ${response.reason}` })
      }
    }).pipe(
      Effect.provide(
        Stack.layer({ mac: stack.mac, ipv4: stack.ip, gateway: stack.gateway }).pipe(Layer.provideMerge(tapLinkLayer(stack)))
      )
    )
).pipe(Command.withDescription("HTTP GET over the stack; the body goes to stdout"))
