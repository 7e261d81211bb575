import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import type { Ipv4Address } from "../../src/protocols/address.js"
import { parseIpv4, parseMac } from "../../src/protocols/address.js"
import { type ArpAction, ArpCache } from "../../src/protocols/arp-cache.js"

const ip = (text: string): Ipv4Address => parseIpv4(text)!
const mac = (text: string): Uint8Array => parseMac(text)!
const packet = (n: number): Uint8Array => new Uint8Array([n, n + 1, n + 2])

const A = ip("192.168.1.10")
const B = ip("192.168.1.11")
const C = ip("192.168.1.12")
const D = ip("192.168.1.13")
const MAC_A = mac("02:00:00:00:00:0a")
const MAC_B = mac("02:00:00:00:00:0b")

describe("ArpCache lookup and update", () => {
  it("misses on an empty cache", () => {
    const cache = new ArpCache()
    expect(cache.lookup(A, 0)).toBeUndefined()
    expect(cache.size).toBe(0)
    expect(cache.pollAt()).toBe(Infinity)
  })

  it("creates an entry when we were the target, and copies the MAC", () => {
    const cache = new ArpCache()
    const sender = mac("02:00:00:00:00:0a")
    expect(cache.update(A, sender, 0, true)).toEqual([])
    sender[5] = 0xff
    expect(cache.lookup(A, 10)).toEqual(MAC_A)
    expect(cache.size).toBe(1)
  })

  it("returns the same MAC object on every hit", () => {
    const cache = new ArpCache()
    cache.update(A, MAC_A, 0, true)
    const first = cache.lookup(A, 1)
    expect(cache.lookup(A, 2)).toBe(first)
  })

  it("does not create an entry when create=false (RFC 826 merge only)", () => {
    const cache = new ArpCache()
    cache.update(A, MAC_A, 0, false)
    expect(cache.lookup(A, 0)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it("updates an existing entry even when create=false", () => {
    const cache = new ArpCache()
    cache.update(A, MAC_A, 0, true)
    const old = cache.lookup(A, 0)!
    cache.update(A, MAC_B, 100, false)
    expect(cache.lookup(A, 100)).toEqual(MAC_B)
    // A MAC handed out earlier is never changed underneath its holder.
    expect(old).toEqual(MAC_A)
  })

  it("expires a resolved entry at reachableMillis", () => {
    const cache = new ArpCache({ reachableMillis: 1_000 })
    cache.update(A, MAC_A, 500, true)
    expect(cache.pollAt()).toBe(1_500)
    expect(cache.lookup(A, 1_499)).toEqual(MAC_A)
    expect(cache.lookup(A, 1_500)).toBeUndefined()
    expect(cache.poll(1_499)).toEqual([])
    expect(cache.size).toBe(1)
    expect(cache.poll(1_500)).toEqual([])
    expect(cache.size).toBe(0)
    expect(cache.pollAt()).toBe(Infinity)
  })

  it("refreshes the expiry on every update", () => {
    const cache = new ArpCache({ reachableMillis: 1_000 })
    cache.update(A, MAC_A, 0, true)
    cache.update(A, MAC_A, 800, false)
    expect(cache.pollAt()).toBe(1_800)
    expect(cache.lookup(A, 1_500)).toEqual(MAC_A)
    cache.poll(1_000)
    expect(cache.size).toBe(1)
    cache.poll(1_800)
    expect(cache.size).toBe(0)
  })

  it("returns a shared frozen empty array when there is nothing to do", () => {
    const cache = new ArpCache()
    const a = cache.poll(0)
    const b = cache.update(A, MAC_A, 0, true)
    expect(a).toBe(b)
    expect(Object.isFrozen(a)).toBe(true)
  })
})

describe("ArpCache resolution", () => {
  it("starts one resolution per address and queues behind it", () => {
    const cache = new ArpCache()
    expect(cache.enqueue(A, packet(1), 0)).toBe("QueuedAndRequest")
    expect(cache.enqueue(A, packet(2), 10)).toBe("Queued")
    expect(cache.enqueue(B, packet(3), 20)).toBe("QueuedAndRequest")
    expect(cache.size).toBe(2)
    expect(cache.queuedPackets).toBe(3)
    expect(cache.lookup(A, 30)).toBeUndefined()
  })

  it("flushes a pending entry's packets in order when the reply arrives", () => {
    const cache = new ArpCache()
    const packets = [packet(1), packet(2), packet(3)]
    for (const p of packets) cache.enqueue(A, p, 0)
    const actions = cache.update(A, MAC_A, 300, true)
    expect(actions).toHaveLength(1)
    const flush = actions[0]!
    expect(flush._tag).toBe("Flush")
    if (flush._tag !== "Flush") return
    expect(flush.target).toBe(A)
    expect(flush.mac).toEqual(MAC_A)
    expect(flush.packets).toHaveLength(3)
    flush.packets.forEach((p, i) => expect(p).toBe(packets[i]))
    expect(cache.queuedPackets).toBe(0)
    expect(cache.lookup(A, 300)).toEqual(MAC_A)
    expect(cache.pollAt()).toBe(300 + 60_000)
  })

  it("resolves a pending entry with create=false too (it already exists)", () => {
    const cache = new ArpCache()
    cache.enqueue(A, packet(1), 0)
    const actions = cache.update(A, MAC_A, 1, false)
    expect(actions.map((a) => a._tag)).toEqual(["Flush"])
  })

  it("resends every retryMillis, then gives up with the queued packets", () => {
    const cache = new ArpCache({ retryMillis: 1_000, maxRequests: 3 })
    const p1 = packet(1)
    const p2 = packet(2)
    expect(cache.enqueue(A, p1, 0)).toBe("QueuedAndRequest") // request 1, sent by the caller
    cache.enqueue(A, p2, 100)
    expect(cache.pollAt()).toBe(1_000)
    expect(cache.poll(999)).toEqual([])
    expect(cache.poll(1_000)).toEqual([{ _tag: "SendRequest", target: A }]) // request 2
    expect(cache.pollAt()).toBe(2_000)
    expect(cache.poll(2_000)).toEqual([{ _tag: "SendRequest", target: A }]) // request 3
    expect(cache.poll(2_999)).toEqual([])
    const actions = cache.poll(3_000)
    expect(actions).toHaveLength(1)
    const unresolved = actions[0]!
    expect(unresolved._tag).toBe("Unresolved")
    if (unresolved._tag !== "Unresolved") return
    expect(unresolved.target).toBe(A)
    expect(unresolved.dropped[0]).toBe(p1)
    expect(unresolved.dropped[1]).toBe(p2)
    expect(cache.size).toBe(0)
    expect(cache.queuedPackets).toBe(0)
    expect(cache.pollAt()).toBe(Infinity)
  })

  it("paces each address on its own clock", () => {
    const cache = new ArpCache({ retryMillis: 1_000 })
    cache.enqueue(A, packet(1), 0)
    cache.enqueue(B, packet(2), 400)
    expect(cache.poll(1_000)).toEqual([{ _tag: "SendRequest", target: A }])
    expect(cache.pollAt()).toBe(1_400)
    expect(cache.poll(1_400)).toEqual([{ _tag: "SendRequest", target: B }])
  })

  it("stops retrying once resolved", () => {
    const cache = new ArpCache({ retryMillis: 1_000, reachableMillis: 10_000 })
    cache.enqueue(A, packet(1), 0)
    cache.update(A, MAC_A, 500, true)
    expect(cache.pollAt()).toBe(10_500)
    expect(cache.poll(1_000)).toEqual([])
  })

  it("starts a new resolution for an expired entry", () => {
    const cache = new ArpCache({ reachableMillis: 1_000 })
    cache.update(A, MAC_A, 0, true)
    expect(cache.lookup(A, 2_000)).toBeUndefined()
    expect(cache.enqueue(A, packet(1), 2_000)).toBe("QueuedAndRequest")
    expect(cache.size).toBe(1)
    expect(cache.queuedPackets).toBe(1)
  })

  it("can resolve again after giving up", () => {
    const cache = new ArpCache({ retryMillis: 10, maxRequests: 1 })
    cache.enqueue(A, packet(1), 0)
    expect(cache.poll(10).map((a) => a._tag)).toEqual(["Unresolved"])
    expect(cache.enqueue(A, packet(2), 11)).toBe("QueuedAndRequest")
  })
})

describe("ArpCache limits", () => {
  it("limits the packets queued for one address", () => {
    const cache = new ArpCache({ maxQueuedPerAddress: 2 })
    expect(cache.enqueue(A, packet(1), 0)).toBe("QueuedAndRequest")
    expect(cache.enqueue(A, packet(2), 0)).toBe("Queued")
    expect(cache.enqueue(A, packet(3), 0)).toBe("Dropped")
    expect(cache.queuedPackets).toBe(2)
    // Other addresses are not affected.
    expect(cache.enqueue(B, packet(4), 0)).toBe("QueuedAndRequest")
    const flush = cache.update(A, MAC_A, 0, true)[0]
    expect(flush?._tag === "Flush" && flush.packets.map((p) => p[0])).toEqual([1, 2])
  })

  it("limits the packets queued for all addresses together", () => {
    const cache = new ArpCache({ maxQueuedPerAddress: 8, maxQueuedTotal: 3 })
    expect(cache.enqueue(A, packet(1), 0)).toBe("QueuedAndRequest")
    expect(cache.enqueue(A, packet(2), 0)).toBe("Queued")
    expect(cache.enqueue(B, packet(3), 0)).toBe("QueuedAndRequest")
    expect(cache.enqueue(B, packet(4), 0)).toBe("Dropped")
    expect(cache.enqueue(C, packet(5), 0)).toBe("Dropped")
    expect(cache.size).toBe(2) // no resolution started for C
    expect(cache.queuedPackets).toBe(3)
    cache.update(A, MAC_A, 1, true)
    expect(cache.queuedPackets).toBe(1)
    expect(cache.enqueue(C, packet(6), 1)).toBe("QueuedAndRequest")
  })

  it("evicts the oldest resolved entry when full", () => {
    const cache = new ArpCache({ maxEntries: 3 })
    cache.update(A, MAC_A, 0, true)
    cache.update(B, MAC_A, 1, true)
    cache.update(C, MAC_A, 2, true)
    cache.update(A, MAC_A, 3, false) // A confirmed again: B is now the oldest
    cache.update(D, MAC_B, 4, true)
    expect(cache.size).toBe(3)
    expect(cache.lookup(B, 5)).toBeUndefined()
    expect(cache.lookup(A, 5)).toEqual(MAC_A)
    expect(cache.lookup(C, 5)).toEqual(MAC_A)
    expect(cache.lookup(D, 5)).toEqual(MAC_B)
  })

  it("evicts a resolved entry rather than a pending one", () => {
    const cache = new ArpCache({ maxEntries: 2 })
    cache.enqueue(A, packet(1), 0) // oldest, but pending
    cache.update(B, MAC_B, 1, true)
    expect(cache.enqueue(C, packet(2), 2)).toBe("QueuedAndRequest")
    expect(cache.lookup(B, 2)).toBeUndefined()
    expect(cache.queuedPackets).toBe(2)
    expect(cache.update(A, MAC_A, 3, true).map((a) => a._tag)).toEqual(["Flush"])
  })

  it("drops when every entry is pending", () => {
    const cache = new ArpCache({ maxEntries: 2 })
    cache.enqueue(A, packet(1), 0)
    cache.enqueue(B, packet(2), 0)
    expect(cache.enqueue(C, packet(3), 0)).toBe("Dropped")
    // A reply naming us as target is not learned either; the pending entries stay.
    expect(cache.update(D, MAC_A, 0, true)).toEqual([])
    expect(cache.lookup(D, 0)).toBeUndefined()
    expect(cache.size).toBe(2)
    expect(cache.queuedPackets).toBe(2)
  })

  it("never grows past maxEntries", () => {
    const cache = new ArpCache({ maxEntries: 16 })
    for (let i = 0; i < 100; i++) cache.update(i, MAC_A, i, true)
    expect(cache.size).toBe(16)
    expect(cache.lookup(99, 100)).toEqual(MAC_A)
    expect(cache.lookup(83, 100)).toBeUndefined()
  })
})

describe("ArpCache static entries and removal", () => {
  it("keeps a static entry forever and ignores updates to it", () => {
    const cache = new ArpCache({ reachableMillis: 1_000 })
    expect(cache.insertStatic(A, MAC_A)).toEqual([])
    expect(cache.pollAt()).toBe(Infinity)
    cache.update(A, MAC_B, 10, true)
    expect(cache.lookup(A, 1e12)).toEqual(MAC_A)
    cache.poll(1e12)
    expect(cache.size).toBe(1)
  })

  it("resolves a pending entry", () => {
    const cache = new ArpCache()
    cache.enqueue(A, packet(1), 0)
    const actions = cache.insertStatic(A, MAC_A)
    expect(actions?.map((a) => a._tag)).toEqual(["Flush"])
    expect(cache.queuedPackets).toBe(0)
    expect(cache.pollAt()).toBe(Infinity)
  })

  it("is not evicted, and refuses when every entry is static", () => {
    const cache = new ArpCache({ maxEntries: 2 })
    cache.insertStatic(A, MAC_A)
    cache.update(B, MAC_B, 0, true)
    cache.update(C, MAC_B, 1, true) // evicts B, not A
    expect(cache.lookup(A, 2)).toEqual(MAC_A)
    expect(cache.lookup(B, 2)).toBeUndefined()
    expect(cache.insertStatic(D, MAC_B)).toEqual([]) // evicts C
    expect(cache.insertStatic(B, MAC_B)).toBeUndefined()
    expect(cache.size).toBe(2)
  })

  it("evicts a pending entry for a static one when nothing else can go", () => {
    const cache = new ArpCache({ maxEntries: 1 })
    cache.enqueue(A, packet(1), 0)
    const actions = cache.insertStatic(B, MAC_B)
    expect(actions?.map((a) => a._tag)).toEqual(["Unresolved"])
    expect(cache.queuedPackets).toBe(0)
    expect(cache.lookup(B, 0)).toEqual(MAC_B)
  })

  it("removes entries, handing back queued packets", () => {
    const cache = new ArpCache()
    cache.update(A, MAC_A, 0, true)
    cache.enqueue(B, packet(1), 0)
    expect(cache.remove(A)).toEqual([])
    expect(cache.remove(B).map((a) => a._tag)).toEqual(["Unresolved"])
    expect(cache.size).toBe(0)
    expect(cache.queuedPackets).toBe(0)
    expect(cache.pollAt()).toBe(Infinity)
  })
})

describe("ArpCache properties", () => {
  type Op =
    | { readonly op: "enqueue"; readonly ip: number; readonly dt: number }
    | { readonly op: "update"; readonly ip: number; readonly create: boolean; readonly dt: number }
    | { readonly op: "poll"; readonly dt: number }
    | { readonly op: "remove"; readonly ip: number }

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant("enqueue" as const), ip: fc.integer({ min: 0, max: 11 }), dt: fc.integer({ min: 0, max: 700 }) }),
    fc.record({
      op: fc.constant("update" as const),
      ip: fc.integer({ min: 0, max: 11 }),
      create: fc.boolean(),
      dt: fc.integer({ min: 0, max: 700 })
    }),
    fc.record({ op: fc.constant("poll" as const), dt: fc.integer({ min: 0, max: 3_000 }) }),
    fc.record({ op: fc.constant("remove" as const), ip: fc.integer({ min: 0, max: 11 }) })
  )

  it("accounts for every accepted packet exactly once and stays bounded", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const options = { maxEntries: 6, maxQueuedPerAddress: 3, maxQueuedTotal: 10, retryMillis: 500, reachableMillis: 2_000 }
        const cache = new ArpCache(options)
        const accepted = new Set<Uint8Array>()
        const seen = new Set<Uint8Array>()
        const collect = (actions: ReadonlyArray<ArpAction>) => {
          for (const a of actions) {
            const packets = a._tag === "Flush" ? a.packets : a._tag === "Unresolved" ? a.dropped : []
            for (const p of packets) {
              expect(accepted.has(p)).toBe(true)
              expect(seen.has(p)).toBe(false)
              seen.add(p)
            }
          }
        }
        let now = 0
        for (const op of ops) {
          if (op.op === "enqueue") {
            now += op.dt
            const p = new Uint8Array(1)
            if (cache.enqueue(op.ip, p, now) !== "Dropped") accepted.add(p)
          } else if (op.op === "update") {
            now += op.dt
            collect(cache.update(op.ip, MAC_A, now, op.create))
            expect(cache.lookup(op.ip, now) !== undefined || !op.create || cache.size === options.maxEntries).toBe(true)
          } else if (op.op === "poll") {
            now += op.dt
            // Work is never due before pollAt.
            if (now < cache.pollAt()) expect(cache.poll(now)).toHaveLength(0)
            else collect(cache.poll(now))
          } else {
            collect(cache.remove(op.ip))
          }
          expect(cache.size).toBeLessThanOrEqual(options.maxEntries)
          expect(cache.queuedPackets).toBeLessThanOrEqual(options.maxQueuedTotal)
          expect(cache.queuedPackets).toBe(accepted.size - seen.size)
          if (cache.queuedPackets > 0) expect(cache.pollAt()).toBeLessThan(Infinity)
        }
        // Drive the timers: every pending resolution gives up, every entry expires.
        for (let i = 0; i < 100 && cache.pollAt() < Infinity; i++) {
          const at = cache.pollAt()
          expect(at).toBeGreaterThanOrEqual(0)
          now = Math.max(now, at)
          collect(cache.poll(now))
          expect(cache.pollAt()).toBeGreaterThan(now)
        }
        expect(cache.pollAt()).toBe(Infinity)
        expect(cache.size).toBe(0)
        expect(cache.queuedPackets).toBe(0)
        expect(seen.size).toBe(accepted.size)
      })
    )
  })
})
