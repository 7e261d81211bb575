/**
 * The DHCPv4 client as a service (RFC 2131): runs the pure `DhcpClient` over
 * UDP port 68 in a scoped fiber, probes an offered address with ARP before
 * using it (RFC 5227), and publishes the lease into `Ipv4Config` (address,
 * gateway, DNS servers), which IPv4, routing and DNS follow. Renewals keep the
 * address (and so the connections); a lost lease removes it; closing the
 * scope releases the lease.
 */
import { Context, Data, Deferred, Effect, Layer, Option, Schedule, type Scope } from "effect"
import { formatIpv4 } from "../protocols/address.js"
import { DhcpClient, type DhcpAction, type DhcpLease, type DhcpTiming } from "../protocols/dhcp/client.js"
import * as Message from "../protocols/dhcp/message.js"
import { isMalformed } from "../protocols/malformed.js"
import { fromEffectRandom } from "../runtime/SeededRandom.js"
import { Arp } from "./Arp.js"
import { Ethernet } from "./Ethernet.js"
import { Ipv4Config } from "./Ipv4Config.js"
import * as Udp from "./Udp.js"

/** Why getting a lease failed. */
export class DhcpError extends Data.TaggedError("DhcpError")<{
  readonly reason: "NoServer" | "PortInUse"
  readonly message: string
}> {}

export type { DhcpLease } from "../protocols/dhcp/client.js"

/** Options of the client. */
export interface DhcpOptions {
  readonly hostName?: string
  /** Retransmission timing (tests shorten it). */
  readonly timing?: DhcpTiming
  /** ARP probes of an offered address before use (default 2, 1 s apart). */
  readonly probes?: number
  readonly probeIntervalMillis?: number
}

/** A running DHCP client. */
export interface DhcpService {
  /** Waits until a lease is bound (the first, or the current one). */
  readonly awaitLease: Effect.Effect<DhcpLease>
  /** The current lease, if any. */
  readonly lease: () => DhcpLease | undefined
  /** The client's state, for logs and metrics. */
  readonly state: () => string
}

/** The DHCP client service. */
export class Dhcp extends Context.Tag("isla/Dhcp")<Dhcp, DhcpService>() {}


/** Starts the client for the life of the scope (the lease is released when it closes). */
export const make = (options: DhcpOptions = {}) =>
  Effect.gen(function*() {
    const eth = yield* Ethernet
    const arp = yield* Arp
    const config = yield* Ipv4Config
    const udp = yield* Udp.Udp
    const clock = yield* Effect.clock
    const socket = yield* udp.bind(Message.CLIENT_PORT).pipe(
      Effect.mapError((e) => new DhcpError({ reason: "PortInUse", message: e.message }))
    )
    const client = new DhcpClient({
      mac: eth.mac,
      random: yield* fromEffectRandom,
      ...(options.hostName !== undefined ? { hostName: options.hostName } : {}),
      ...(options.timing !== undefined ? { timing: options.timing } : {})
    })
    let bound = yield* Deferred.make<DhcpLease>()

    const perform = (actions: ReadonlyArray<DhcpAction>): Effect.Effect<void, never, Scope.Scope> =>
      Effect.forEach(actions, (a) => {
        switch (a._tag) {
          case "Send":
            return Effect.sync(() => {
              udp.unsafeSend(Message.CLIENT_PORT, { address: a.destination, port: Message.SERVER_PORT }, a.bytes)
            })
          case "ProbeAddress":
            // Inline, so the loop's next wait sees the deadline the result sets (PROBING has no timer).
            return arp.probe(a.address, options.probes ?? 2, options.probeIntervalMillis ?? 1000).pipe(
              Effect.flatMap((conflict) => perform(client.onProbeResult(conflict, clock.unsafeCurrentTimeMillis())))
            )
          case "Bound":
          case "Renewed": {
            const l = a.lease
            return config.set({
              address: { address: l.address, prefixLength: l.prefixLength },
              gateway: l.router,
              dns: l.dns
            }).pipe(
              // RFC 5227 §2.3: announce the address we now use.
              Effect.zipRight(Effect.sync(() => arp.unsafeAnnounce())),
              Effect.zipRight(
                a._tag === "Bound" ?
                  Effect.logInfo(
                    `dhcp: bound ${formatIpv4(l.address)}/${l.prefixLength} from ${formatIpv4(l.server)} for ${l.leaseSeconds} s`
                  ) :
                  Effect.logDebug(`dhcp: renewed ${formatIpv4(l.address)} for ${l.leaseSeconds} s`)
              ),
              Effect.zipRight(Deferred.succeed(bound, l))
            )
          }
          case "Expired":
          case "Released":
            return Effect.gen(function*() {
              yield* config.set({})
              if (a._tag === "Expired") yield* Effect.logWarning(`dhcp: lease of ${formatIpv4(a.lease.address)} lost`)
              bound = yield* Deferred.make<DhcpLease>()
            })
          case "Declined":
            return Effect.logWarning(`dhcp: ${formatIpv4(a.address)} is in use by another host; declined it`)
        }
      }, { discard: true })

    // The client's loop: a datagram, or the next timer.
    const loop = Effect.gen(function*() {
      yield* perform(client.start(clock.unsafeCurrentTimeMillis()))
      for (;;) {
        const wait = Math.max(0, client.pollAt() - clock.unsafeCurrentTimeMillis())
        const d = yield* socket.take.pipe(Effect.timeoutOption(Number.isFinite(wait) ? wait : 3_600_000))
        const now = clock.unsafeCurrentTimeMillis()
        if (Option.isSome(d)) {
          if (d.value.from.port !== Message.SERVER_PORT) continue
          const repr = Message.parse(d.value.data)
          if (!isMalformed(repr)) yield* perform(client.onMessage(repr, now))
        } else {
          yield* perform(client.onTimer(now))
        }
      }
    })
    yield* Effect.forkScoped(Effect.scoped(loop))
    // Release on the way out (RFC 2131 §4.4.6), while the socket and address are still there.
    // The release is unicast: when the server's MAC is not cached it waits behind
    // an ARP request, so give that a moment before the link goes away.
    const flushed = Effect.suspend(() => arp.cache.queuedPackets === 0 ? Effect.void : Effect.fail("pending")).pipe(
      Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 100 }),
      Effect.ignore
    )
    yield* Effect.addFinalizer(() =>
      Effect.scoped(perform(client.release(clock.unsafeCurrentTimeMillis()))).pipe(
        Effect.zipRight(flushed),
        Effect.zipRight(config.set({}))
      )
    )

    const service: DhcpService = {
      awaitLease: Effect.suspend(() => Deferred.await(bound)),
      lease: () => client.lease,
      state: () => client.state
    }
    return service
  })

/** The DHCP client as a Layer (started with the layer, released when it closes). */
export const layer = (options?: DhcpOptions) => Layer.scoped(Dhcp, make(options))

/** Waits for a lease, failing with `NoServer` after `timeout`. */
export const awaitLease = (timeout: number) =>
  Effect.flatMap(Dhcp, (d) =>
    d.awaitLease.pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new DhcpError({ reason: "NoServer", message: `no DHCP server answered within ${timeout / 1000} s` })
      })
    ))
