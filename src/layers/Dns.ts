/**
 * The DNS resolver as a service: the pure `Resolver` (random ids and source
 * ports, matching, CNAME chains, TTL and negative cache, retries across
 * servers, TC → TCP) driven over Isla's UDP and TCP. Servers come from the
 * options or, when none are given, from the IPv4 configuration (DHCP).
 * `Dns.resolve(name, "A" | "AAAA")` has typed errors a caller can act on.
 */
import { Context, Data, Deferred, Effect, Layer, Option, Queue } from "effect"
import { formatIp, parseIp, parseIpv4, type IpAddress } from "../protocols/address.js"
import { ipv6Equals, parseIpv6 } from "../protocols/ipv6/address.js"
import { tcpFrame } from "../protocols/dns/message.js"
import type { AddressType } from "../protocols/dns/cache.js"
import {
  type DnsServer,
  type ResolvedAddress,
  Resolver,
  type ResolverAction,
  type ResolverOptions
} from "../protocols/dns/resolver.js"
import { fromEffectRandom } from "../runtime/SeededRandom.js"
import { Ipv4Config } from "./Ipv4Config.js"
import { Ipv6 } from "./Ipv6.js"
import * as Tcp from "./Tcp.js"
import * as Udp from "./Udp.js"

/** Why a lookup failed. */
export class DnsError extends Data.TaggedError("DnsError")<{
  readonly reason: "NameNotFound" | "NoData" | "TimedOut" | "ServerFailure" | "Malformed" | "InvalidName" | "NoServers"
  readonly message: string
}> {}

export type { AddressType } from "../protocols/dns/cache.js"
export type { ResolvedAddress } from "../protocols/dns/resolver.js"

/** Options of the DNS layer. */
export interface DnsOptions {
  /**
   * Servers to ask (either family); when empty, those of the IPv4
   * configuration (DHCP) and of Router Advertisements (RDNSS, RFC 8106).
   */
  readonly servers?: ReadonlyArray<IpAddress>
  readonly resolver?: Partial<Omit<ResolverOptions, "servers" | "random">>
}

/** The resolver service. */
export interface DnsService {
  /** Addresses of `name` of the given type (after CNAMEs). */
  readonly resolve: (name: string, type?: AddressType) => Effect.Effect<ReadonlyArray<ResolvedAddress>, DnsError>
  /** Queries, answers, cache hits, timeouts, TCP fallbacks. */
  readonly counters: () => Resolver["counters"]
}

/** The DNS resolver. */
export class Dns extends Context.Tag("isla/Dns")<Dns, DnsService>() {}

/** Resolves `name` (see `DnsService.resolve`). */
export const resolve = (name: string, type: AddressType = "A") => Effect.flatMap(Dns, (d) => d.resolve(name, type))


/** Builds the resolver; its driver fibers live in the layer's scope. */
export const make = (options: DnsOptions = {}) =>
  Effect.gen(function*() {
    const config = yield* Ipv4Config
    const ipv6 = yield* Ipv6
    const udp = yield* Udp.Udp
    const tcp = yield* Tcp.Tcp
    const clock = yield* Effect.clock
    const scope = yield* Effect.scope
    const resolver = new Resolver({
      ...options.resolver,
      servers: [],
      random: yield* fromEffectRandom
    })
    const waiting = new Map<number, Deferred.Deferred<ReadonlyArray<ResolvedAddress>, DnsError>>()
    const names = new Map<number, string>()
    const kick = yield* Queue.sliding<void>(1)
    let serverKey = ""

    const currentServers: Effect.Effect<ReadonlyArray<DnsServer>> = Effect.gen(function*() {
      const list: ReadonlyArray<IpAddress> = options.servers && options.servers.length > 0 ?
        options.servers :
        [...(config.settings.dns ?? []), ...(yield* ipv6.dnsServers)]
      return list.map((a) => ({ address: formatIp(a), port: 53 }))
    })

    const perform = (actions: ReadonlyArray<ResolverAction>): Effect.Effect<void> =>
      Effect.forEach(actions, (a) => {
        switch (a._tag) {
          case "SendUdp":
            return sendUdp(a).pipe(Effect.forkIn(scope), Effect.asVoid)
          case "SendTcp":
            return sendTcp(a).pipe(Effect.forkIn(scope), Effect.asVoid)
          case "Complete":
            return Effect.suspend(() => {
              const d = waiting.get(a.handle)
              if (d === undefined) return Effect.void
              waiting.delete(a.handle)
              const r = a.result
              if (r._tag === "Resolved") return Deferred.succeed(d, r.addresses)
              const name = names.get(a.handle) ?? "the name"
              names.delete(a.handle)
              return Deferred.fail(d, new DnsError({ reason: r.reason, message: failureMessage(name, r.reason, r.detail) }))
            })
        }
      }, { discard: true }).pipe(Effect.zipRight(Queue.offer(kick, undefined)), Effect.asVoid)

    /** One UDP query: bind its source port, send, and hand answers to the resolver until it times out. */
    const sendUdp = (a: Extract<ResolverAction, { _tag: "SendUdp" }>) =>
      Effect.scoped(
        Effect.gen(function*() {
          const server = parseIp(a.address)
          if (server === undefined) return
          const socket = yield* udp.bind(a.srcPort)
          yield* socket.send({ address: server, port: a.port }, a.bytes)
          for (;;) {
            const d = yield* socket.take
            if (!sameAddress(d.from.address, server) || d.from.port !== a.port) continue
            yield* perform(resolver.onResponse(a.server, "udp", d.data, clock.unsafeCurrentTimeMillis(), a.srcPort))
          }
        })
      ).pipe(Effect.timeout("10 seconds"), Effect.ignore)

    /** One TCP query (RFC 7766): length-prefixed message out, one length-prefixed answer back. */
    const sendTcp = (a: Extract<ResolverAction, { _tag: "SendTcp" }>) =>
      Effect.scoped(
        Effect.gen(function*() {
          const server = parseIp(a.address)
          if (server === undefined) return yield* Effect.fail("bad server address")
          const socket = yield* tcp.connect({ address: server, port: a.port }, { noDelay: true })
          yield* socket.write(tcpFrame(a.bytes))
          let buf = new Uint8Array(0)
          for (;;) {
            if (buf.length >= 2) {
              const len = (buf[0]! << 8) | buf[1]!
              if (buf.length >= 2 + len) {
                return yield* perform(resolver.onResponse(a.server, "tcp", buf.subarray(2, 2 + len), clock.unsafeCurrentTimeMillis()))
              }
            }
            const chunk = yield* socket.read
            if (Option.isNone(chunk)) return yield* Effect.fail("closed")
            const next = new Uint8Array(buf.length + chunk.value.length)
            next.set(buf, 0)
            next.set(chunk.value, buf.length)
            buf = next
          }
        })
      ).pipe(
        Effect.timeout("10 seconds"),
        Effect.catchAll(() => perform(resolver.onTcpFailure(a.server, a.id, clock.unsafeCurrentTimeMillis())))
      )

    // The timer driver: sleeps until the resolver's next deadline or a kick.
    yield* Effect.forkIn(
      Effect.forever(
        Effect.gen(function*() {
          const wait = resolver.pollAt() - clock.unsafeCurrentTimeMillis()
          yield* Queue.take(kick).pipe(Effect.timeoutOption(Number.isFinite(wait) ? Math.max(0, wait) : 3_600_000))
          const now = clock.unsafeCurrentTimeMillis()
          if (resolver.pollAt() <= now) yield* perform(resolver.onTimer(now))
        })
      ),
      scope
    )

    const service: DnsService = {
      resolve: (name, type = "A") =>
        Effect.gen(function*() {
          const servers = yield* currentServers
          const key = servers.map((s) => s.address).join(",")
          if (key !== serverKey) {
            serverKey = key
            resolver.setServers(servers)
          }
          if (servers.length === 0) {
            return yield* new DnsError({
              reason: "NoServers",
              message: "no DNS server configured (use --dns, --dhcp, or a router advertising RDNSS)"
            })
          }
          const d = yield* Deferred.make<ReadonlyArray<ResolvedAddress>, DnsError>()
          const { actions, handle } = resolver.resolve(name, type, clock.unsafeCurrentTimeMillis())
          waiting.set(handle, d)
          names.set(handle, `${name} (${type})`)
          yield* perform(actions)
          return yield* Deferred.await(d).pipe(
            Effect.onInterrupt(() => Effect.sync(() => {
              waiting.delete(handle)
              names.delete(handle)
              resolver.cancel(handle)
            }))
          )
        }),
      counters: () => resolver.counters
    }
    return service
  })

const failureMessage = (name: string, reason: DnsError["reason"], detail: string): string => {
  switch (reason) {
    case "NameNotFound":
      return `${name}: no such name (NXDOMAIN)`
    case "NoData":
      return `${name}: the name exists but has no records of that type`
    case "TimedOut":
      return `${name}: no answer from any DNS server`
    case "ServerFailure":
      return `${name}: the DNS servers failed (${detail})`
    case "Malformed":
      return `${name}: malformed answer (${detail})`
    case "InvalidName":
      return `${name}: not a valid domain name`
    default:
      return `${name}: ${detail}`
  }
}

/** The resolver as a Layer. */
export const layer = (options?: DnsOptions): Layer.Layer<Dns, never, Ipv4Config | Ipv6 | Udp.Udp | Tcp.Tcp> =>
  Layer.scoped(Dns, make(options))

const sameAddress = (a: IpAddress, b: IpAddress): boolean =>
  typeof a === "number" || typeof b === "number" ? a === b : ipv6Equals(a, 0, b, 0)

/**
 * Resolves a host for a client: an IPv4 or IPv6 literal (brackets allowed)
 * as is, else an A lookup, then AAAA when the name has no IPv4 address.
 */
export const lookupHost = (host: string): Effect.Effect<IpAddress, DnsError, Dns> => {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  const literal = parseIpv4(bare) ?? parseIpv6(bare)
  if (literal !== undefined) return Effect.succeed(literal)
  const first = (addrs: ReadonlyArray<ResolvedAddress>) => addrs.length > 0 ? addrs[0]!.address : undefined
  return resolve(host, "A").pipe(
    Effect.map(first),
    Effect.catchIf((e) => e.reason === "NoData", () => Effect.succeed(undefined)),
    Effect.flatMap((a) =>
      a !== undefined ? Effect.succeed(a) : Effect.flatMap(resolve(host, "AAAA"), (addrs) => {
        const b = first(addrs)
        return b !== undefined ?
          Effect.succeed(b) :
          Effect.fail(new DnsError({ reason: "NoData", message: `${host} has no address` }))
      })
    )
  )
}
