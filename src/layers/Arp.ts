/**
 * The ARP layer (RFC 826): answers requests for our address, learns senders,
 * resolves next hops for IPv4 with a bounded queue of packets waiting for an
 * answer, retries and expires entries on the poll loop's timers, and announces
 * our address with a gratuitous ARP at start (RFC 5227 §2.3).
 */
import { Context, Effect, Layer } from "effect"
import {
  MAC_BROADCAST,
  MAC_ZERO,
  macIsMulticast,
  type Ipv4Address,
  type MacAddress
} from "../protocols/address.js"
import * as ArpWire from "../protocols/arp.js"
import { ArpCache, type ArpAction, type ArpCacheOptions } from "../protocols/arp-cache.js"
import * as Eth from "../protocols/ethernet.js"
import { PollLoop } from "../runtime/PollLoop.js"
import type { LayerCounters } from "../runtime/Counters.js"
import { Ethernet } from "./Ethernet.js"
import { Ipv4Config } from "./Ipv4Config.js"

/** The ARP layer's service. */
export interface ArpService {
  /** The MAC for `ip` when known and fresh; no allocation. */
  readonly unsafeLookup: (ip: Ipv4Address) => MacAddress | undefined
  /**
   * Queues an IPv4 packet (taken as is: pass a copy) until `ip` resolves,
   * asking for it if needed. Returns false when the queue is full (dropped).
   */
  readonly unsafeQueue: (ip: Ipv4Address, packet: Uint8Array) => boolean
  /** Sends a gratuitous ARP announcing our address. */
  readonly unsafeAnnounce: () => void
  /**
   * RFC 5227 §2.1 address probe: sends `probes` ARP probes for `address`
   * (sender address 0) `intervalMillis` apart and listens one more interval;
   * true when another host answered or claimed it.
   */
  readonly probe: (address: Ipv4Address, probes?: number, intervalMillis?: number) => Effect.Effect<boolean>
  readonly cache: ArpCache
  readonly counters: LayerCounters
}

/** The ARP layer. */
export class Arp extends Context.Tag("isla/Arp")<Arp, ArpService>() {}

/** How long before expiry an entry in use is refreshed. */
const REFRESH_BEFORE_MILLIS = 5_000

/** Limits of the ARP cache used by the stack. */
export const defaultCacheOptions: ArpCacheOptions = {
  maxEntries: 512,
  reachableMillis: 60_000,
  retryMillis: 1_000,
  maxRequests: 3,
  // A fragmented 64 KiB datagram is 45 frames: let it wait whole.
  maxQueuedPerAddress: 64,
  maxQueuedTotal: 256
}

/** Builds the ARP layer and wires it under Ethernet. */
export const make = (cacheOptions: ArpCacheOptions = defaultCacheOptions) =>
  Effect.gen(function*() {
    const loop = yield* PollLoop
    const eth = yield* Ethernet
    const config = yield* Ipv4Config
    const counters = loop.counters.layer("arp")
    const cache = new ArpCache(cacheOptions)
    const view = new ArpWire.Packet(new Uint8Array(0), 0, 0)
    const tx = eth.txBuffer

    const macEqualsOurs = (buffer: Uint8Array, offset: number) =>
      buffer[offset] === eth.mac[0] && buffer[offset + 1] === eth.mac[1] && buffer[offset + 2] === eth.mac[2] &&
      buffer[offset + 3] === eth.mac[3] && buffer[offset + 4] === eth.mac[4] && buffer[offset + 5] === eth.mac[5]

    const send = (op: number, dstMac: MacAddress, tha: MacAddress, tpa: Ipv4Address, spa: Ipv4Address) => {
      ArpWire.emitParts(tx, Eth.HEADER_LEN, op, eth.mac, spa, tha, tpa)
      if (eth.unsafeSend(dstMac, Eth.EtherType.Arp, ArpWire.PACKET_LEN)) counters.tx++
    }

    const run = (actions: ReadonlyArray<ArpAction>) => {
      for (const a of actions) {
        switch (a._tag) {
          case "SendRequest":
            if (config.address !== 0) send(ArpWire.Operation.Request, MAC_BROADCAST, MAC_ZERO, a.target, config.address)
            break
          case "Flush":
            for (const p of a.packets) eth.unsafeSendPayload(a.mac, Eth.EtherType.Ipv4, p)
            break
          case "Unresolved":
            for (let i = 0; i < a.dropped.length; i++) counters.drop("unresolved")
            break
        }
      }
    }

    // Addresses being probed (RFC 5227): any ARP from them, or another probe for them, is a conflict.
    const probing = new Map<Ipv4Address, { conflict: boolean }>()

    const input = (buffer: Uint8Array, offset: number, length: number): void => {
      counters.rx++
      const p = view.wrap(buffer, offset, length)
      const bad = p.check()
      if (bad !== undefined) return counters.drop(bad.reason)
      const ours = config.address
      const spa = p.spa
      const tpa = p.tpa
      const sha = p.sha
      if (probing.size > 0) {
        const w = probing.get(spa) ?? (spa === 0 && !macEqualsOurs(buffer, offset + ArpWire.field.SHA) ? probing.get(tpa) : undefined)
        if (w !== undefined) w.conflict = true
      }
      if (macIsMulticast(buffer, offset + ArpWire.field.SHA)) return counters.drop("bad_sender")
      if (ours !== 0 && spa === ours) {
        // RFC 5227 §2.4: someone else claims our address.
        counters.drop("address_conflict")
        return
      }
      const now = loop.time()
      // RFC 826 "merge": update the sender if known; add it when we are the target.
      if (spa !== 0) run(cache.update(spa, sha, now, ours !== 0 && tpa === ours))
      if (ours === 0 || tpa !== ours) return counters.drop("not_for_us")
      if (p.operation === ArpWire.Operation.Request) {
        const requester = sha.slice()
        send(ArpWire.Operation.Reply, requester, requester, spa, ours)
      }
    }

    yield* eth.register(Eth.EtherType.Arp, input)
    yield* loop.addTimer({
      pollAt: () => cache.pollAt(),
      poll: (now) => run(cache.poll(now))
    })

    // Refresh an entry in use shortly before it expires, while still sending to
    // the cached MAC, so a busy flow never stalls on re-resolution (in the
    // spirit of RFC 4861's DELAY/PROBE states, which ARP lacks).
    const refreshSent = new Map<Ipv4Address, number>()
    const lookup = (ip: Ipv4Address): MacAddress | undefined => {
      const now = loop.time()
      const mac = cache.lookup(ip, now)
      if (mac === undefined) return undefined
      const expires = cache.expiresAt(ip)!
      if (expires - now < REFRESH_BEFORE_MILLIS && config.address !== 0) {
        const last = refreshSent.get(ip)
        if (last === undefined || now - last >= 1000) {
          if (refreshSent.size >= 1024) refreshSent.clear()
          refreshSent.set(ip, now)
          send(ArpWire.Operation.Request, MAC_BROADCAST, MAC_ZERO, ip, config.address)
        }
      }
      return mac
    }

    const service: ArpService = {
      unsafeLookup: lookup,
      unsafeQueue: (ip, packet) => {
        const r = cache.enqueue(ip, packet, loop.time())
        if (r === "Dropped") {
          counters.drop("queue_full")
          return false
        }
        if (r === "QueuedAndRequest" && config.address !== 0) {
          send(ArpWire.Operation.Request, MAC_BROADCAST, MAC_ZERO, ip, config.address)
        }
        loop.unsafeWake()
        return true
      },
      unsafeAnnounce: () => {
        const ours = config.address
        if (ours !== 0) send(ArpWire.Operation.Request, MAC_BROADCAST, MAC_ZERO, ours, ours)
      },
      probe: (address, probes = 2, intervalMillis = 1000) =>
        Effect.gen(function*() {
          const watch = { conflict: false }
          probing.set(address, watch)
          yield* Effect.addFinalizer(() => Effect.sync(() => probing.delete(address)))
          for (let i = 0; i < probes && !watch.conflict; i++) {
            send(ArpWire.Operation.Request, MAC_BROADCAST, MAC_ZERO, address, 0)
            yield* Effect.sleep(intervalMillis)
          }
          return watch.conflict
        }).pipe(Effect.scoped),
      cache,
      counters
    }
    service.unsafeAnnounce()
    return service
  })

/** The ARP layer as a Layer. */
export const layer = (
  cacheOptions?: ArpCacheOptions
): Layer.Layer<Arp, never, PollLoop | Ethernet | Ipv4Config> => Layer.scoped(Arp, make(cacheOptions))
