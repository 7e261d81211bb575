import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { type NeighborAction, NeighborCache, type NeighborCacheOptions } from "../../../src/protocols/ipv6/neighbor-cache.js"

const addr = (last: number): Uint8Array => {
  const a = new Uint8Array(16)
  a[0] = 0xfe
  a[1] = 0x80
  a[15] = last
  return a
}
const mac = (last: number): Uint8Array => new Uint8Array([2, 0, 0, 0, 0, last])
const packet = (n: number): Uint8Array => new Uint8Array([n])

const A = addr(1)
const B = addr(2)
const MAC_A = mac(0x0a)
const MAC_B = mac(0x0b)

const SOLICITED = { solicited: true, override: true, router: false }
const UNSOLICITED_OVERRIDE = { solicited: false, override: true, router: false }
const UNSOLICITED = { solicited: false, override: false, router: false }

const tags = (actions: ReadonlyArray<NeighborAction>): Array<string> => actions.map((a) => a._tag)

const make = (options: NeighborCacheOptions = {}): NeighborCache => new NeighborCache({ random: () => 0.5, ...options })

/** A cache with A resolved REACHABLE at time 0 (reachable time 30 s). */
const reachableA = (): NeighborCache => {
  const cache = make()
  cache.enqueue(A, packet(1), 0)
  cache.onAdvertisement(A, MAC_A, SOLICITED, 0)
  expect(cache.stateOf(A)).toBe("REACHABLE")
  return cache
}

describe("NeighborCache resolution (INCOMPLETE)", () => {
  it("creates INCOMPLETE on the first packet and asks for a solicitation", () => {
    const cache = make()
    expect(cache.lookup(A, 0)).toBeUndefined()
    expect(cache.enqueue(A, packet(1), 0)).toBe("QueuedAndSolicit")
    expect(cache.stateOf(A)).toBe("INCOMPLETE")
    expect(cache.pollAt()).toBe(1000)
    expect(cache.enqueue(A, packet(2), 10)).toBe("Queued")
    expect(cache.queuedPackets).toBe(2)
  })

  it("retransmits every RetransTimer, then gives up after MAX_MULTICAST_SOLICIT with the packets", () => {
    const cache = make()
    cache.enqueue(A, packet(1), 0)
    cache.enqueue(A, packet(2), 0)
    expect(cache.poll(999)).toEqual([])
    expect(cache.poll(1000)).toEqual([{ _tag: "SendMulticastSolicitation", target: A }])
    expect(cache.pollAt()).toBe(2000)
    expect(tags(cache.poll(2000))).toEqual(["SendMulticastSolicitation"])
    const last = cache.poll(3000)
    expect(last).toEqual([{ _tag: "Unresolved", target: A, dropped: [packet(1), packet(2)] }])
    expect(cache.size).toBe(0)
    expect(cache.queuedPackets).toBe(0)
    expect(cache.pollAt()).toBe(Infinity)
  })

  it("solicited NA → REACHABLE and flushes queued packets in order", () => {
    const cache = make()
    cache.enqueue(A, packet(1), 0)
    cache.enqueue(A, packet(2), 0)
    cache.enqueue(A, packet(3), 0)
    const actions = cache.onAdvertisement(A, MAC_A, SOLICITED, 500)
    expect(actions).toEqual([{ _tag: "Flush", target: A, mac: MAC_A, packets: [packet(1), packet(2), packet(3)] }])
    expect(cache.stateOf(A)).toBe("REACHABLE")
    expect(cache.lookup(A, 600)).toEqual(MAC_A)
    expect(cache.queuedPackets).toBe(0)
    expect(cache.pollAt()).toBe(500 + 30_000)
  })

  it("unsolicited NA → STALE and flushes", () => {
    const cache = make()
    cache.enqueue(A, packet(1), 0)
    expect(tags(cache.onAdvertisement(A, MAC_A, UNSOLICITED, 10))).toEqual(["Flush"])
    expect(cache.stateOf(A)).toBe("STALE")
  })

  it("an NA without a target link-layer address leaves INCOMPLETE alone", () => {
    const cache = make()
    cache.enqueue(A, packet(1), 0)
    expect(cache.onAdvertisement(A, undefined, SOLICITED, 10)).toEqual([])
    expect(cache.stateOf(A)).toBe("INCOMPLETE")
  })

  it("an NA for an unknown address creates nothing", () => {
    const cache = make()
    expect(cache.onAdvertisement(A, MAC_A, SOLICITED, 0)).toEqual([])
    expect(cache.size).toBe(0)
  })

  it("an NS with a source link-layer address resolves INCOMPLETE to STALE", () => {
    const cache = make()
    cache.enqueue(A, packet(1), 0)
    expect(cache.onSolicitation(A, MAC_A, 5)).toEqual([
      { _tag: "Flush", target: A, mac: MAC_A, packets: [packet(1)] }
    ])
    expect(cache.stateOf(A)).toBe("STALE")
  })
})

describe("NeighborCache queue limits", () => {
  it("replaces the oldest packet when the per-address queue is full", () => {
    const cache = make({ maxQueuedPerAddress: 2 })
    cache.enqueue(A, packet(1), 0)
    cache.enqueue(A, packet(2), 0)
    expect(cache.enqueue(A, packet(3), 0)).toBe("ReplacedOldest")
    expect(cache.queuedPackets).toBe(2)
    const [flush] = cache.onAdvertisement(A, MAC_A, SOLICITED, 1)
    expect(flush).toEqual({ _tag: "Flush", target: A, mac: MAC_A, packets: [packet(2), packet(3)] })
  })

  it("drops when the total limit is reached", () => {
    const cache = make({ maxQueuedTotal: 2 })
    expect(cache.enqueue(A, packet(1), 0)).toBe("QueuedAndSolicit")
    expect(cache.enqueue(A, packet(2), 0)).toBe("Queued")
    expect(cache.enqueue(B, packet(3), 0)).toBe("Dropped")
    expect(cache.enqueue(A, packet(4), 0)).toBe("Dropped")
    expect(cache.size).toBe(1)
  })

  it("enqueue on an entry with a MAC answers Dropped (lookup hits)", () => {
    const cache = reachableA()
    expect(cache.enqueue(A, packet(9), 1)).toBe("Dropped")
  })

  it("evicts STALE before refusing when the table is full", () => {
    const cache = make({ maxEntries: 1 })
    cache.onSolicitation(A, MAC_A, 0)
    expect(cache.enqueue(B, packet(1), 0)).toBe("QueuedAndSolicit")
    expect(cache.stateOf(A)).toBeUndefined()
    expect(cache.enqueue(addr(3), packet(1), 0)).toBe("Dropped")
  })
})

describe("NeighborCache advertisements on entries with a MAC (§7.2.5)", () => {
  it("unsolicited NA without override and a different MAC: REACHABLE → STALE, MAC kept", () => {
    const cache = reachableA()
    expect(cache.onAdvertisement(A, MAC_B, UNSOLICITED, 10)).toEqual([])
    expect(cache.stateOf(A)).toBe("STALE")
    expect(cache.lookup(A, 11)).toEqual(MAC_A)
  })

  it("unsolicited NA without override and a different MAC leaves STALE alone", () => {
    const cache = make()
    cache.onSolicitation(A, MAC_A, 0)
    cache.onAdvertisement(A, MAC_B, UNSOLICITED, 10)
    expect(cache.stateOf(A)).toBe("STALE")
  })

  it("unsolicited NA with override and a different MAC: new MAC, STALE", () => {
    const cache = reachableA()
    cache.onAdvertisement(A, MAC_B, UNSOLICITED_OVERRIDE, 10)
    expect(cache.stateOf(A)).toBe("STALE")
    expect(cache.lookup(A, 11)).toEqual(MAC_B)
  })

  it("unsolicited NA with override and the same MAC changes nothing", () => {
    const cache = reachableA()
    cache.onAdvertisement(A, MAC_A, UNSOLICITED_OVERRIDE, 10)
    expect(cache.stateOf(A)).toBe("REACHABLE")
  })

  it("solicited NA without override and the same MAC: REACHABLE", () => {
    const cache = make()
    cache.onSolicitation(A, MAC_A, 0)
    cache.onAdvertisement(A, MAC_A, { solicited: true, override: false, router: false }, 10)
    expect(cache.stateOf(A)).toBe("REACHABLE")
  })

  it("solicited NA with override and a different MAC: new MAC, REACHABLE", () => {
    const cache = make()
    cache.onSolicitation(A, MAC_A, 0)
    cache.onAdvertisement(A, MAC_B, SOLICITED, 10)
    expect(cache.stateOf(A)).toBe("REACHABLE")
    expect(cache.lookup(A, 11)).toEqual(MAC_B)
  })

  it("router flag cleared is reported", () => {
    const cache = make()
    cache.enqueue(A, packet(1), 0)
    cache.onAdvertisement(A, MAC_A, { solicited: true, override: true, router: true }, 0)
    expect(cache.isRouter(A)).toBe(true)
    expect(cache.onAdvertisement(A, MAC_A, SOLICITED, 1)).toEqual([{ _tag: "NoLongerRouter", target: A }])
    expect(cache.isRouter(A)).toBe(false)
  })

  it("an NS with a new MAC moves the entry to STALE with that MAC", () => {
    const cache = reachableA()
    cache.onSolicitation(A, MAC_B, 1)
    expect(cache.stateOf(A)).toBe("STALE")
    expect(cache.lookup(A, 2)).toEqual(MAC_B)
  })
})

describe("NeighborCache reachability (§7.3.3)", () => {
  it("REACHABLE → STALE after ReachableTime", () => {
    const cache = reachableA()
    expect(cache.poll(29_999)).toEqual([])
    expect(cache.poll(30_000)).toEqual([])
    expect(cache.stateOf(A)).toBe("STALE")
    expect(cache.pollAt()).toBe(Infinity)
  })

  it("randomizes ReachableTime in [0.5, 1.5) × BaseReachableTime and follows RA updates", () => {
    expect(make({ random: () => 0 }).reachableTime).toBe(15_000)
    expect(make({ random: () => 0.999 }).reachableTime).toBe(44_970)
    const cache = make({ random: () => 0.5 })
    cache.setBaseReachableTime(10_000)
    expect(cache.reachableTime).toBe(10_000)
  })

  it("STALE + use → DELAY → PROBE with unicast probes → deleted", () => {
    const cache = reachableA()
    cache.poll(30_000)
    expect(cache.lookup(A, 40_000)).toEqual(MAC_A)
    expect(cache.stateOf(A)).toBe("DELAY")
    expect(cache.pollAt()).toBe(45_000)
    expect(cache.poll(45_000)).toEqual([{ _tag: "SendUnicastSolicitation", target: A, mac: MAC_A }])
    expect(cache.stateOf(A)).toBe("PROBE")
    expect(tags(cache.poll(46_000))).toEqual(["SendUnicastSolicitation"])
    expect(tags(cache.poll(47_000))).toEqual(["SendUnicastSolicitation"])
    expect(cache.lookup(A, 47_500)).toEqual(MAC_A) // still usable while probing
    expect(cache.poll(48_000)).toEqual([])
    expect(cache.stateOf(A)).toBeUndefined()
    expect(cache.pollAt()).toBe(Infinity)
  })

  it("PROBE + solicited NA → REACHABLE", () => {
    const cache = reachableA()
    cache.poll(30_000)
    cache.lookup(A, 30_000)
    cache.poll(35_000)
    expect(cache.stateOf(A)).toBe("PROBE")
    cache.onAdvertisement(A, MAC_A, { solicited: true, override: false, router: false }, 35_100)
    expect(cache.stateOf(A)).toBe("REACHABLE")
    expect(cache.pollAt()).toBe(65_100)
  })

  it("DELAY + upper-layer confirmation → REACHABLE without a probe", () => {
    const cache = reachableA()
    cache.poll(30_000)
    cache.lookup(A, 31_000)
    cache.confirmReachability(A, 32_000)
    expect(cache.stateOf(A)).toBe("REACHABLE")
    expect(cache.poll(36_000)).toEqual([])
  })

  it("a REACHABLE entry used past its time goes to DELAY even before poll", () => {
    const cache = reachableA()
    cache.lookup(A, 31_000)
    expect(cache.stateOf(A)).toBe("DELAY")
    expect(cache.pollAt()).toBe(36_000)
  })

  it("an NS from an unknown node creates STALE", () => {
    const cache = make()
    expect(cache.onSolicitation(B, MAC_B, 0)).toEqual([])
    expect(cache.stateOf(B)).toBe("STALE")
    expect(cache.pollAt()).toBe(Infinity)
  })

  it("copies the MAC and address it stores", () => {
    const cache = make()
    const m = mac(7)
    cache.onSolicitation(B, m, 0)
    m[5] = 99
    expect(cache.lookup(B, 1)).toEqual(mac(7))
  })
})

describe("NeighborCache properties", () => {
  type Event =
    | { kind: "enqueue"; n: number; dt: number }
    | { kind: "na"; n: number; solicited: boolean; override: boolean; m: number; dt: number }
    | { kind: "ns"; n: number; m: number; dt: number }
    | { kind: "lookup"; n: number; dt: number }
    | { kind: "confirm"; n: number; dt: number }
    | { kind: "poll"; dt: number }
  const n = fc.integer({ min: 0, max: 9 })
  const dt = fc.integer({ min: 0, max: 8000 })
  const event: fc.Arbitrary<Event> = fc.oneof(
    fc.record({ kind: fc.constant("enqueue" as const), n, dt }),
    fc.record({
      kind: fc.constant("na" as const),
      n,
      solicited: fc.boolean(),
      override: fc.boolean(),
      m: fc.integer({ min: 0, max: 2 }),
      dt
    }),
    fc.record({ kind: fc.constant("ns" as const), n, m: fc.integer({ min: 0, max: 2 }), dt }),
    fc.record({ kind: fc.constant("lookup" as const), n, dt }),
    fc.record({ kind: fc.constant("confirm" as const), n, dt }),
    fc.record({ kind: fc.constant("poll" as const), dt })
  )

  it("keeps tables bounded, packets accounted for and pollAt consistent", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 120 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (events, r) => {
        const cache = new NeighborCache({ maxEntries: 4, maxQueuedPerAddress: 3, maxQueuedTotal: 5, random: () => r })
        let now = 0
        let inFlight = 0
        const account = (actions: ReadonlyArray<NeighborAction>): void => {
          for (const a of actions) {
            if (a._tag === "Flush") inFlight -= a.packets.length
            if (a._tag === "Unresolved") inFlight -= a.dropped.length
          }
        }
        for (const e of events) {
          now += e.dt
          switch (e.kind) {
            case "enqueue": {
              const result = cache.enqueue(addr(e.n), packet(e.n), now)
              if (result === "Queued" || result === "QueuedAndSolicit") inFlight++
              break
            }
            case "na":
              account(cache.onAdvertisement(addr(e.n), mac(e.m), { solicited: e.solicited, override: e.override, router: false }, now))
              break
            case "ns":
              account(cache.onSolicitation(addr(e.n), mac(e.m), now))
              break
            case "lookup":
              cache.lookup(addr(e.n), now)
              break
            case "confirm":
              cache.confirmReachability(addr(e.n), now)
              break
            case "poll": {
              const before = cache.pollAt()
              const actions = cache.poll(now)
              if (now < before) expect(actions).toEqual([])
              account(actions)
              break
            }
          }
          expect(cache.size).toBeLessThanOrEqual(4)
          expect(cache.queuedPackets).toBeLessThanOrEqual(5)
          expect(cache.queuedPackets).toBe(inFlight)
          // pollAt is never later than a deadline that is due: polling at it either acts or changes state.
          const at = cache.pollAt()
          expect(at === Infinity || at >= 0).toBe(true)
        }
        // Draining: with enough polls every unresolved entry ends and no packet is left.
        for (let i = 0; i < 20 && cache.pollAt() !== Infinity; i++) {
          now = Math.max(now, cache.pollAt())
          account(cache.poll(now))
        }
        expect(cache.queuedPackets).toBe(0)
        expect(inFlight).toBe(0)
      })
    )
  })

  it("pollAt equals the earliest deadline: nothing happens before it", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const cache = new NeighborCache({ maxEntries: 4, random: () => 0.3 })
        let now = 0
        for (const e of events) {
          now += e.dt
          if (e.kind === "enqueue") cache.enqueue(addr(e.n), packet(1), now)
          else if (e.kind === "na") cache.onAdvertisement(addr(e.n), mac(e.m), { solicited: e.solicited, override: e.override, router: false }, now)
          else if (e.kind === "ns") cache.onSolicitation(addr(e.n), mac(e.m), now)
          else if (e.kind === "lookup") cache.lookup(addr(e.n), now)
          else if (e.kind === "confirm") cache.confirmReachability(addr(e.n), now)
          else cache.poll(now)
          const at = cache.pollAt()
          if (at !== Infinity && at > now) {
            const states = Array.from({ length: 10 }, (_, i) => cache.stateOf(addr(i)))
            expect(cache.poll(at - 1)).toEqual([])
            expect(Array.from({ length: 10 }, (_, i) => cache.stateOf(addr(i)))).toEqual(states)
          }
        }
      })
    )
  })
})
