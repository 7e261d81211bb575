/**
 * `isla ping HOST [-c N] [-i SECONDS] [-s SIZE] [-W SECONDS] [-t TTL]`: ICMP or
 * ICMPv6 echo from the stack, printed like iputils ping (one line per reply,
 * then the statistics). Exits 0 when a reply came, 1 when none did, 2 on bad
 * usage. Without -c it pings until SIGINT, then prints the statistics.
 */
import { Args, Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { Cause, Clock, Data, Duration, Effect, Exit, Option, Stream } from "effect"
import * as Dhcp from "../layers/Dhcp.js"
import * as Dns from "../layers/Dns.js"
import * as Icmp from "../layers/Icmp.js"
import { Ipv6 } from "../layers/Ipv6.js"
import { formatIp, parseIp, parseIpv4, type IpAddress } from "../protocols/address.js"
import { parseIpv6 } from "../protocols/ipv6/address.js"
import { stackOptions, type StackOptions } from "./options.js"
import { cliStackLayer } from "./up.js"

class PingFailed extends Data.TaggedError("PingFailed")<{ readonly message: string }> {}

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

const positive = (name: string, min: number, max: number) => (o: Option.Option<number>) =>
  Option.match(o, {
    onNone: () => Effect.succeed(undefined),
    onSome: (n) =>
      Number.isFinite(n) && n >= min && n <= max ?
        Effect.succeed(n) :
        Effect.fail(invalid(`${name}: must be between ${min} and ${max}, got ${n}`))
  })

const count = Options.integer("count").pipe(
  Options.withAlias("c"),
  Options.withDescription("stop after N requests (default: until interrupted)"),
  Options.optional,
  Options.mapEffect(positive("-c", 1, 2 ** 31 - 1))
)

const interval = Options.float("interval").pipe(
  Options.withAlias("i"),
  Options.withDescription("seconds between requests (default 1)"),
  Options.optional,
  Options.mapEffect(positive("-i", 0.001, 86_400))
)

const size = Options.integer("size").pipe(
  Options.withAlias("s"),
  Options.withDescription("bytes of data per request (default 56; large sizes are fragmented)"),
  Options.optional,
  Options.mapEffect(positive("-s", 0, 65_507))
)

const wait = Options.float("timeout").pipe(
  Options.withAlias("W"),
  Options.withDescription("seconds to wait for each reply (default: the larger of 1 and twice the interval)"),
  Options.optional,
  Options.mapEffect(positive("-W", 0.001, 3_600))
)

const ttl = Options.integer("ttl").pipe(
  Options.withAlias("t"),
  Options.withDescription("TTL (IPv4) or hop limit (IPv6) of the requests"),
  Options.optional,
  Options.mapEffect(positive("-t", 1, 255))
)

/** An address literal, possibly IPv6 with a `%zone`: the zone must name the stack's interface. */
const parseHost = (host: string, stack: StackOptions): IpAddress | "bad-zone" | undefined => {
  const pct = host.indexOf("%")
  if (pct < 0) return parseIp(host)
  const address = parseIpv6(host.slice(0, pct))
  if (address === undefined) return undefined
  // Isla has one interface: the zone, when given, is its name (or its index, 1).
  const zone = host.slice(pct + 1)
  return zone === stack.tap || zone === "1" ? address : "bad-zone"
}

const isLinkLocal = (a: IpAddress): boolean => typeof a !== "number" && a[0] === 0xfe && (a[1]! & 0xc0) === 0x80

/** A name by the resolver: its first A address, else its first AAAA address. */
const lookup = (name: string) =>
  Effect.gen(function*() {
    const v4 = yield* Effect.either(Dns.resolve(name, "A"))
    if (v4._tag === "Right") {
      const a = v4.right.find((x) => x._tag === "A")
      if (a !== undefined) return a.address as IpAddress
    } else if (v4.left.reason !== "NoData") {
      return yield* new PingFailed({ message: `${name}: ${v4.left.message}` })
    }
    const v6 = yield* Dns.resolve(name, "AAAA").pipe(
      Effect.mapError((e) => new PingFailed({ message: `${name}: ${e.message}` }))
    )
    const a = v6.find((x) => x._tag === "AAAA")
    if (a === undefined) return yield* new PingFailed({ message: `${name}: no address` })
    return a.address as IpAddress
  })

/** Before an IPv6 ping: our link-local address has passed DAD, and the other addresses are done with it (≤ 3 s more). */
const awaitIpv6Source = Effect.gen(function*() {
  const ipv6 = yield* Ipv6
  yield* ipv6.linkLocal.pipe(
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new PingFailed({ message: "no IPv6 link-local address after 10 s" }) }),
    Effect.catchTag("Ipv6Error", (e) => new PingFailed({ message: `cannot ping over IPv6: ${e.message}` }))
  )
  for (let i = 0; i < 30; i++) {
    const addresses = yield* ipv6.addresses
    if (!addresses.some((a) => a.state === "TENTATIVE")) return
    yield* Effect.sleep("100 millis")
  }
})

/** iputils' precision: three decimals under 1 ms, two under 10, one under 100, none above. */
const formatRtt = (ms: number): string =>
  ms < 1 ? ms.toFixed(3) : ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)

/** `%g`-like: 0, 100, 33.3333. */
const formatPercent = (p: number): string => String(Number(p.toPrecision(6)))

/** `isla ping`. */
export const ping = Command.make(
  "ping",
  {
    stack: stackOptions,
    count,
    interval,
    size,
    wait,
    ttl,
    host: Args.text({ name: "HOST" }).pipe(
      Args.withDescription("IPv4 or IPv6 address (fe80::…%TAP for link-local) or a name (needs --dns or --dhcp)")
    )
  },
  (args) =>
    Effect.gen(function*() {
      const { host, stack } = args
      const literal = parseHost(host, stack)
      if (literal === "bad-zone") {
        process.stderr.write(`isla ping: ${host}: the zone must be the stack's interface, ${stack.tap}\n`)
        return yield* Effect.fail(invalid(`bad zone in ${host}`))
      }
      if (literal === undefined && (host.includes(":") || parseIpv4(host) === undefined && /^[\d.]+$/.test(host))) {
        process.stderr.write(`isla ping: ${host}: not an address\n`)
        return yield* Effect.fail(invalid(`bad address ${host}`))
      }
      if (stack.dhcp) yield* Dhcp.awaitLease(30_000)
      const dst = literal ?? (yield* lookup(host))
      const v6 = typeof dst !== "number"
      if (v6) yield* awaitIpv6Source

      const dataSize = args.size ?? 56
      const intervalSeconds = args.interval ?? 1
      const zone = isLinkLocal(dst) ? `%${stack.tap}` : ""
      const shown = `${formatIp(dst)}${zone}`
      process.stdout.write(
        v6 ?
          `PING ${host} (${shown}) ${dataSize} data bytes\n` :
          `PING ${host} (${shown}) ${dataSize}(${dataSize + 28}) bytes of data.\n`
      )

      let transmitted = 0
      let received = 0
      let errors = 0
      const rtts: Array<number> = []
      const started = yield* Clock.currentTimeMillis
      const summary = Effect.gen(function*() {
        const elapsed = (yield* Clock.currentTimeMillis) - started
        const loss = transmitted === 0 ? 0 : ((transmitted - received) * 100) / transmitted
        let text = `\n--- ${host} ping statistics ---\n${transmitted} packets transmitted, ${received} received, ` +
          `${errors > 0 ? `+${errors} errors, ` : ""}${formatPercent(loss)}% packet loss, time ${Math.round(elapsed)}ms\n`
        if (rtts.length > 0) {
          const min = Math.min(...rtts)
          const max = Math.max(...rtts)
          const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length
          const avg2 = rtts.reduce((a, b) => a + b * b, 0) / rtts.length
          const mdev = Math.sqrt(Math.max(0, avg2 - avg * avg))
          text += `rtt min/avg/max/mdev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${mdev.toFixed(3)} ms\n`
        }
        process.stdout.write(text)
      })

      const outcomes = Icmp.ping(dst, {
        ...(args.count !== undefined ? { count: args.count } : {}),
        interval: Duration.millis(intervalSeconds * 1000),
        size: dataSize,
        ...(args.wait !== undefined ? { timeout: Duration.millis(args.wait * 1000) } : {}),
        ...(args.ttl !== undefined ? { ttl: args.ttl } : {})
      })
      yield* outcomes.pipe(
        Stream.runForEach((o) =>
          Effect.sync(() => {
            transmitted++
            switch (o._tag) {
              case "Reply": {
                received++
                rtts.push(o.rttMillis)
                const from = `${formatIp(o.from)}${isLinkLocal(o.from) ? `%${stack.tap}` : ""}`
                process.stdout.write(`${o.bytes} bytes from ${from}: icmp_seq=${o.seq} ttl=${o.ttl} time=${formatRtt(o.rttMillis)} ms\n`)
                return
              }
              case "Unreachable": {
                errors++
                const from = o.from !== undefined ? `From ${formatIp(o.from)} ` : ""
                process.stdout.write(`${from}icmp_seq=${o.seq} ${o.message}\n`)
                return
              }
              case "Timeout":
                return
            }
          })
        ),
        Effect.mapError((e) => new PingFailed({ message: `ping ${host}: ${e.message}` })),
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause) || transmitted > 0 ? summary : Effect.void
        )
      )
      if (received === 0) {
        return yield* new PingFailed({ message: `no reply from ${shown} (${transmitted} sent)` })
      }
    }).pipe(Effect.scoped, Effect.provide(cliStackLayer(args.stack)))
).pipe(Command.withDescription("ICMP/ICMPv6 echo from the stack; one line per reply, then the statistics"))
