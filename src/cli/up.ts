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
import * as Ipv6 from "../layers/Ipv6.js"
import * as Prometheus from "../layers/internal/Prometheus.js"
import { Link } from "../layers/Link.js"
import * as PcapLink from "../layers/link/PcapLink.js"
import * as Metrics from "../layers/Metrics.js"
import * as Stack from "../layers/Stack.js"
import * as Tcp from "../layers/Tcp.js"
import { formatIpv4Cidr, formatMac } from "../protocols/address.js"
import { formatIpv6, isLinkLocal, type Ipv6Address } from "../protocols/ipv6/address.js"
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
  const base = Stack.layer({
    mac: o.mac,
    ipv4: o.dhcp ? undefined : o.ip,
    gateway: o.gateway,
    ipv6: { enabled: o.ipv6, addresses: o.ip6 }
  }).pipe(
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

/**
 * Before a one-shot command talks IPv6: waits (at most 5 s each) for the
 * link-local address to pass DAD and, for a destination beyond the link, for
 * a source address of global scope (SLAAC after a Router Advertisement, or
 * `--ip6`). Without them the stack would have no valid source to send from.
 */
export const awaitIpv6Source = (dst: Ipv6Address) =>
  Effect.gen(function*() {
    const ipv6 = yield* Ipv6.Ipv6
    if (!ipv6.enabled) return
    yield* ipv6.linkLocal.pipe(Effect.timeout("5 seconds"), Effect.ignore)
    if (isLinkLocal(dst)) return
    yield* Effect.suspend(() => {
      const src = ipv6.unsafeSourceFor(dst)
      return src !== undefined && !isLinkLocal(src) ? Effect.void : Effect.fail("no global source")
    }).pipe(Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 100 }), Effect.ignore)
  })

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
    // SPEC §3: `ipv6=` is the link-local address once it passed DAD; never wait for an RA.
    let v6 = ""
    const ipv6 = yield* Ipv6.Ipv6
    if (ipv6.enabled) {
      const ll = yield* ipv6.linkLocal
      v6 = ` ipv6=${formatIpv6(ll)}/64`
      const others = (yield* ipv6.addresses).filter((a) => a.origin !== "link-local" && a.state === "PREFERRED")
      if (others.length > 0) v6 += ` ipv6_global=${others.map((a) => `${formatIpv6(a.address)}/${a.prefixLength}`).join(",")}`
    }
    yield* Effect.sync(() =>
      process.stdout.write(`ready tap=${link.name} mac=${formatMac(o.mac)} ipv4=${formatIpv4Cidr(cidr)}${v6}\n`)
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
