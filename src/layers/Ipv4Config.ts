/**
 * The interface's IPv4 configuration (address with prefix, default gateway),
 * shared by ARP, IPv4 and the layers above. The data plane reads plain fields;
 * changes (static at start, DHCP later) go through `set`, which publishes them.
 */
import { Context, Effect, Layer, SubscriptionRef } from "effect"
import { ipv4Netmask, ipv4SubnetBroadcast, type Ipv4Address, type Ipv4Cidr } from "../protocols/address.js"

/** An IPv4 configuration. */
export interface Ipv4Settings {
  /** Our address and prefix; undefined while unconfigured (e.g. before a DHCP lease). */
  readonly address?: Ipv4Cidr | undefined
  /** The default gateway, if any. */
  readonly gateway?: Ipv4Address | undefined
  /** DNS servers learned with the address (DHCP option 6). */
  readonly dns?: ReadonlyArray<Ipv4Address> | undefined
}

/** The current configuration as hot-path fields, and its changes. */
export interface Ipv4ConfigService {
  /** Our address, or 0 while unconfigured. */
  readonly address: Ipv4Address
  readonly prefixLength: number
  readonly netmask: Ipv4Address
  /** The directed broadcast address of our subnet, or 0. */
  readonly broadcast: Ipv4Address
  /** The default gateway, or 0. */
  readonly gateway: Ipv4Address
  readonly settings: Ipv4Settings
  /** Replaces the configuration. */
  readonly set: (settings: Ipv4Settings) => Effect.Effect<void>
  /** The configuration, then every change. */
  readonly changes: SubscriptionRef.SubscriptionRef<Ipv4Settings>
}

/** The interface's IPv4 configuration. */
export class Ipv4Config extends Context.Tag("isla/Ipv4Config")<Ipv4Config, Ipv4ConfigService>() {}

/** Builds the configuration holder with `initial`. */
export const make = (initial: Ipv4Settings) =>
  Effect.gen(function*() {
    const changes = yield* SubscriptionRef.make(initial)
    const state = {
      address: 0,
      prefixLength: 0,
      netmask: 0,
      broadcast: 0,
      gateway: 0,
      settings: initial
    }
    const apply = (s: Ipv4Settings) => {
      state.settings = s
      state.address = s.address?.address ?? 0
      state.prefixLength = s.address?.prefixLength ?? 0
      state.netmask = s.address ? ipv4Netmask(s.address.prefixLength) : 0
      state.broadcast = s.address && s.address.prefixLength < 31 ? ipv4SubnetBroadcast(s.address) : 0
      state.gateway = s.gateway ?? 0
    }
    apply(initial)
    const service: Ipv4ConfigService = Object.assign(state, {
      set: (s: Ipv4Settings) => Effect.zipRight(Effect.sync(() => apply(s)), SubscriptionRef.set(changes, s)),
      changes
    })
    return service
  })

/** A layer with a static configuration. */
export const layer = (initial: Ipv4Settings): Layer.Layer<Ipv4Config> => Layer.effect(Ipv4Config, make(initial))
