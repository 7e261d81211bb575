/**
 * `isla up`: opens the TAP, runs the stack and its services until SIGINT or
 * SIGTERM, prints one `ready …` line on stdout when serving, and on exit logs
 * a one-line summary of its counters to stderr.
 */
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { Effect, Layer, Option, Schedule } from "effect"
import * as Dhcp from "../layers/Dhcp.js"
import * as Dns from "../layers/Dns.js"
import * as Http from "../layers/Http.js"
import * as Prometheus from "../layers/internal/Prometheus.js"
import { Link } from "../layers/Link.js"
import * as PcapLink from "../layers/link/PcapLink.js"
import * as Metrics from "../layers/Metrics.js"
import * as Stack from "../layers/Stack.js"
import * as Tcp from "../layers/Tcp.js"
import { formatIpv4Cidr, formatMac } from "../protocols/address.js"
import * as HostInterface from "../runtime/HostInterface.js"
import { PollLoop } from "../runtime/PollLoop.js"
import * as Tap from "../runtime/Tap.js"
import { stackOptions, type StackOptions } from "./options.js"
import { tcpDiscard, tcpEcho, tcpSource, udpDiscard, udpEcho } from "./services.js"

/** The TAP (wrapped by the pcap writer when asked) as the stack's Link. */
export const tapLinkLayer = (o: StackOptions) =>
  Layer.scoped(
    Link,
    Effect.gen(function*() {
      const tap = yield* Tap.open({ name: o.tap, mtu: o.mtu, poll: o.poll })
      yield* Effect.logDebug(`opened ${tap.name} (mtu ${tap.mtu}, ${tap.created ? "created" : "existing"})`)
      if (o.hostIp) yield* HostInterface.addAddress(tap.name, o.hostIp, !tap.created)
      return o.pcap ? yield* PcapLink.wrap(tap, o.pcap) : tap
    })
  )

/**
 * The whole stack a command runs: the TAP link, the layers, the resolver, and
 * with `--dhcp` the DHCP client (which then owns the IPv4 configuration).
 */
export const cliStackLayer = (o: StackOptions) => {
  const base = Stack.layer({ mac: o.mac, ipv4: o.dhcp ? undefined : o.ip, gateway: o.gateway }).pipe(
    Layer.provideMerge(tapLinkLayer(o))
  )
  const withDns = Dns.layer({ servers: o.dns }).pipe(Layer.provideMerge(base))
  return o.dhcp ?
    Layer.merge(withDns, Dhcp.layer({ hostName: "isla" }).pipe(Layer.provide(withDns))) :
    Layer.merge(withDns, Layer.succeed(Dhcp.Dhcp, noDhcp))
}

const noDhcp: Dhcp.DhcpService = {
  awaitLease: Effect.never,
  lease: () => undefined,
  state: () => "STOPPED"
}

/** `GET /metrics`: every counter published, in Prometheus text format. */
export const metricsRoute = Effect.gen(function*() {
  const loop = yield* PollLoop
  const tcp = yield* Tcp.Tcp
  const route: Http.Handler = () =>
    Effect.gen(function*() {
      yield* Metrics.sync(loop.counters)
      yield* Metrics.syncTcp(tcp)
      const body = yield* Prometheus.render
      return {
        status: 200,
        headers: [{ name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8" }],
        body: new TextEncoder().encode(body)
      }
    })
  return route
})

/** Runs the stack until interrupted. */
export const runUp = (
  o: StackOptions & { readonly services: boolean; readonly httpRoot: string | undefined; readonly httpPort: number }
) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    const link = yield* Link
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(Metrics.sync(loop.counters), Effect.logInfo(`isla: ${loop.counters.summary()}`))
    )
    if (o.services) {
      yield* udpEcho(7)
      yield* udpDiscard(9)
      yield* tcpEcho(7)
      yield* tcpDiscard(9)
      yield* tcpSource(19)
      const handler = yield* Http.staticFiles(o.httpRoot, { routes: { "/metrics": yield* metricsRoute } })
      yield* Http.serve(o.httpPort, handler)
    }
    const tcp = yield* Tcp.Tcp
    const publish = Effect.zipRight(Metrics.sync(loop.counters), Metrics.syncTcp(tcp))
    yield* publish.pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.forkScoped)
    let cidr = o.ip
    if (o.dhcp) {
      yield* Effect.logInfo("waiting for a DHCP lease")
      const lease = yield* Effect.flatMap(Dhcp.Dhcp, (d) => d.awaitLease)
      cidr = { address: lease.address, prefixLength: lease.prefixLength }
    }
    yield* Effect.sync(() =>
      process.stdout.write(`ready tap=${link.name} mac=${formatMac(o.mac)} ipv4=${formatIpv4Cidr(cidr)}\n`)
    )
    // Run until a signal interrupts us, or fail if the link dies.
    return yield* loop.failure
  }).pipe(Effect.scoped, Effect.provide(cliStackLayer(o)))

/** `isla up`. */
export const up = Command.make(
  "up",
  {
    stack: stackOptions,
    noServices: Options.boolean("no-services").pipe(Options.withDescription("run no services (HTTP, echo, discard, source)")),
    http: Options.directory("http").pipe(
      Options.optional,
      Options.withDescription("serve static files from this directory (a built-in page when absent)")
    ),
    httpPort: Options.integer("http-port").pipe(
      Options.withDefault(80),
      Options.withDescription("HTTP port"),
      Options.mapEffect((n) =>
        n >= 1 && n <= 65535 ? Effect.succeed(n) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--http-port: 1-65535, got ${n}`)))
      )
    )
  },
  ({ http, httpPort, noServices, stack }) =>
    runUp({ ...stack, services: !noServices, httpRoot: Option.getOrUndefined(http), httpPort })
).pipe(Command.withDescription("run the stack until SIGINT/SIGTERM"))
