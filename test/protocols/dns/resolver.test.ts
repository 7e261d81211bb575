/**
 * The stub resolver state machine against fake servers: the tests read the
 * queries it sends and feed it answers, some built here and some captured
 * from dnsmasq (with the id of the query put in). Time is a number passed in.
 */
import { describe, expect, it } from "vitest"
import { parseIpv4 } from "../../../src/protocols/address.js"
import * as Dns from "../../../src/protocols/dns/index.js"
import { isMalformed } from "../../../src/protocols/malformed.js"
import { dnsFrame, ipv6, withId } from "./frames.js"

type Send = Extract<Dns.ResolverAction, { _tag: "SendUdp" | "SendTcp" }>
type Udp = Extract<Dns.ResolverAction, { _tag: "SendUdp" }>
type Tcp = Extract<Dns.ResolverAction, { _tag: "SendTcp" }>

const ip = (text: string): number => parseIpv4(text)!
const S0: Dns.DnsServer = { address: "10.80.0.1" }
const S1: Dns.DnsServer = { address: "10.80.0.3" }

/** A small deterministic PRNG (mulberry32) standing in for the injected random source. */
const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const make = (options: Partial<Dns.ResolverOptions> = {}): Dns.Resolver =>
  new Dns.Resolver({ servers: [S0, S1], random: seeded(5452), ...options })

const sends = (actions: ReadonlyArray<Dns.ResolverAction>): Array<Send> =>
  actions.filter((a): a is Send => a._tag === "SendUdp" || a._tag === "SendTcp")

/** The one action, which must be a UDP send. */
const udp = (actions: ReadonlyArray<Dns.ResolverAction>): Udp => {
  expect(actions).toHaveLength(1)
  const a = actions[0]!
  if (a._tag !== "SendUdp") throw new Error(`expected SendUdp, got ${a._tag}`)
  return a
}
const tcp = (actions: ReadonlyArray<Dns.ResolverAction>): Tcp => {
  expect(actions).toHaveLength(1)
  const a = actions[0]!
  if (a._tag !== "SendTcp") throw new Error(`expected SendTcp, got ${a._tag}`)
  return a
}

const completions = (actions: ReadonlyArray<Dns.ResolverAction>) =>
  actions.flatMap((a) => (a._tag === "Complete" ? [{ handle: a.handle, result: a.result }] : []))

/** The one action, which must complete `handle`; its result. */
const completed = (actions: ReadonlyArray<Dns.ResolverAction>, handle: number): Dns.ResolveResult => {
  expect(actions).toHaveLength(1)
  const a = actions[0]!
  if (a._tag !== "Complete") throw new Error(`expected Complete, got ${a._tag}`)
  expect(a.handle).toBe(handle)
  return a.result
}

const query = (send: Send): Dns.Repr => {
  const r = Dns.parse(send.bytes)
  if (isMalformed(r)) throw new Error(r.reason)
  return r
}

const A = (name: string, address: string, ttl = 300): Dns.ResourceRecord => ({
  name,
  type: Dns.Type.A,
  class: Dns.Class.IN,
  ttl,
  data: { _tag: "A", address: ip(address) }
})
const CNAME = (name: string, target: string, ttl = 300): Dns.ResourceRecord => ({
  name,
  type: Dns.Type.CNAME,
  class: Dns.Class.IN,
  ttl,
  data: { _tag: "CNAME", target }
})
const SOA = (zone: string, minimum: number, ttl: number): Dns.ResourceRecord => ({
  name: zone,
  type: Dns.Type.SOA,
  class: Dns.Class.IN,
  ttl,
  data: { _tag: "SOA", mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 1, retry: 1, expire: 1, minimum }
})

const withoutEdns = (r: Dns.Repr): Dns.Repr => {
  const copy: { -readonly [K in keyof Dns.Repr]?: Dns.Repr[K] } = { ...r }
  delete copy.edns
  return copy as Dns.Repr
}

/** The answer a server would send to `send`'s query. */
const reply = (
  send: Send,
  answer: {
    readonly rcode?: number
    readonly answers?: ReadonlyArray<Dns.ResourceRecord>
    readonly authorities?: ReadonlyArray<Dns.ResourceRecord>
    readonly truncated?: boolean
  } = {},
  change: (r: Dns.Repr) => Dns.Repr = (r) => r
): Uint8Array => {
  const q = query(send)
  return Dns.emit(
    change({
      ...q,
      response: true,
      recursionAvailable: true,
      rcode: answer.rcode ?? Dns.Rcode.NoError,
      truncated: answer.truncated ?? false,
      answers: answer.answers ?? [],
      authorities: answer.authorities ?? []
    })
  )
}

/** Delivers `bytes` as the answer to `send` from its server, on its port. */
const deliver = (r: Dns.Resolver, send: Send, bytes: Uint8Array, now: number): ReadonlyArray<Dns.ResolverAction> =>
  send._tag === "SendUdp" ? r.onResponse(send.server, "udp", bytes, now, send.srcPort) : r.onResponse(send.server, "tcp", bytes, now)

const resolvedA = (
  name: string,
  canonicalName: string,
  addresses: ReadonlyArray<readonly [string, number]>,
  fromCache = false
): Dns.ResolveResult => ({
  _tag: "Resolved",
  name,
  canonicalName,
  addresses: addresses.map(([a, ttl]) => ({ _tag: "A", address: ip(a), ttl })),
  fromCache
})

const failure = (reason: Dns.FailureReason, detail: string, fromCache = false): Dns.ResolveResult => ({
  _tag: "Failed",
  reason,
  detail,
  fromCache
})

describe("a lookup", () => {
  it("sends one query to the first server and completes on dnsmasq's answer", () => {
    const r = make()
    const { handle, actions } = r.resolve("host.isla.test", "A", 1_000)
    const send = udp(actions)
    expect(send).toMatchObject({ server: 0, address: "10.80.0.1", port: 53 })
    expect(send.srcPort).toBeGreaterThanOrEqual(49152)
    expect(send.srcPort).toBeLessThanOrEqual(65535)
    const q = query(send)
    expect(q).toMatchObject({ id: send.id, response: false, recursionDesired: true })
    expect(q.questions).toEqual([{ name: "host.isla.test", type: Dns.Type.A, class: Dns.Class.IN }])
    expect(q.edns?.udpPayloadSize).toBe(1232)
    expect(r.pollAt()).toBe(3_000)

    const done = deliver(r, send, withId(dnsFrame("a_edns_response"), send.id), 1_050)
    expect(completed(done, handle)).toEqual(resolvedA("host.isla.test", "host.isla.test", [["10.80.0.10", 600]]))
    expect(r.pending).toBe(0)
    expect(r.pollAt()).toBe(Infinity)
    expect(r.counters).toEqual({ queries: 1, answers: 1, cacheHits: 0, timeouts: 0, tcpFallbacks: 0, mismatches: 0, malformed: 0 })
  })

  it("AAAA: the 16-byte address with its TTL", () => {
    const r = make()
    const { handle, actions } = r.resolve("host.isla.test", "AAAA", 0)
    const send = udp(actions)
    expect(query(send).questions[0]!.type).toBe(Dns.Type.AAAA)
    expect(completed(deliver(r, send, withId(dnsFrame("aaaa_cookie_response"), send.id), 10), handle)).toEqual({
      _tag: "Resolved",
      name: "host.isla.test",
      canonicalName: "host.isla.test",
      addresses: [{ _tag: "AAAA", address: ipv6(0xfd00, 0x80, 0, 0, 0, 0, 0, 0x10), ttl: 600 }],
      fromCache: false
    })
  })

  it("draws ids and source ports from the injected random source (RFC 5452), never two equal ids in flight", () => {
    const r = make({ random: () => 0.5 })
    const first = udp(r.resolve("a.test", "A", 0).actions)
    expect([first.id, first.srcPort]).toEqual([32768, 49152 + 8192])
    const second = udp(r.resolve("b.test", "A", 0).actions)
    expect(second.id).not.toBe(first.id)

    const ids = new Set<number>()
    const ports = new Set<number>()
    const varied = make()
    for (let i = 0; i < 50; i++) {
      const s = udp(varied.resolve(`n${i}.test`, "A", 0).actions)
      ids.add(s.id)
      ports.add(s.srcPort)
      expect(s.srcPort).toBeGreaterThanOrEqual(49152)
    }
    expect(ids.size).toBe(50)
    expect(ports.size).toBeGreaterThan(45)
  })

  it("fails at once on a name that is not a domain name, or without servers", () => {
    const r = make()
    const bad = r.resolve("a..b", "A", 0)
    expect(completed(bad.actions, bad.handle)).toEqual(failure("InvalidName", "name_empty_label"))
    const none = make({ servers: [] }).resolve("host.isla.test", "A", 0)
    expect(completed(none.actions, none.handle)).toEqual(failure("ServerFailure", "no_servers"))
  })
})

describe("timeouts and retries", () => {
  it("asks every server in turn, two rounds, 2 s each, then TimedOut", () => {
    const r = make()
    const { handle, actions } = r.resolve("host.isla.test", "A", 0)
    const tries = [udp(actions)]
    expect(r.onTimer(1_999)).toEqual([])
    for (let t = 2_000; t <= 6_000; t += 2_000) {
      expect(r.pollAt()).toBe(t)
      tries.push(udp(r.onTimer(t)))
    }
    expect(tries.map((s) => s.server)).toEqual([0, 1, 0, 1])
    expect(new Set(tries.map((s) => s.id)).size).toBe(4) // a fresh id and port per try
    expect(new Set(tries.map((s) => s.srcPort)).size).toBe(4)
    expect(completed(r.onTimer(8_000), handle)).toEqual(failure("TimedOut", "timeout"))
    expect(r.counters).toMatchObject({ queries: 4, timeouts: 4, answers: 0 })
    expect(r.pollAt()).toBe(Infinity)
  })

  it("takes a late answer to an earlier try", () => {
    const r = make()
    const { handle, actions } = r.resolve("host.isla.test", "A", 0)
    const first = udp(actions)
    udp(r.onTimer(2_000))
    const done = deliver(r, first, reply(first, { answers: [A("host.isla.test", "10.80.0.10", 60)] }), 2_500)
    expect(completed(done, handle)).toEqual(resolvedA("host.isla.test", "host.isla.test", [["10.80.0.10", 60]]))
  })

  it("SERVFAIL or REFUSED: the next server at once; from every server, ServerFailure", () => {
    const r = make()
    const { handle, actions } = r.resolve("host.isla.test", "A", 0)
    const first = udp(actions)
    const second = udp(deliver(r, first, reply(first, { rcode: Dns.Rcode.ServFail }), 100))
    expect(second.server).toBe(1)
    // Both servers failed: the second round has nobody left to ask.
    const done = deliver(r, second, reply(second, { rcode: Dns.Rcode.Refused }), 200)
    expect(completed(done, handle)).toEqual(failure("ServerFailure", "refused"))
  })

  it("a server that fails is skipped in the next round; one that times out is asked again", () => {
    const r = make()
    const { handle, actions } = r.resolve("host.isla.test", "A", 0)
    const first = udp(actions)
    const second = udp(deliver(r, first, reply(first, { rcode: Dns.Rcode.ServFail }), 10))
    const third = udp(r.onTimer(2_010)) // round 2: server 0 failed, so server 1 again
    expect([second.server, third.server]).toEqual([1, 1])
    expect(completed(r.onTimer(4_010), handle)).toEqual(failure("ServerFailure", "servfail"))
  })

  it("FORMERR without OPT: asks the same server again without EDNS (RFC 6891 §7)", () => {
    const r = make()
    const { handle, actions } = r.resolve("host.isla.test", "A", 0)
    const first = udp(actions)
    const again = udp(deliver(r, first, reply(first, { rcode: Dns.Rcode.FormErr }, withoutEdns), 5))
    expect(again.server).toBe(0)
    expect(query(again).edns).toBeUndefined()
    const done = deliver(r, again, reply(again, { answers: [A("host.isla.test", "10.80.0.10")] }), 6)
    expect(completed(done, handle)._tag).toBe("Resolved")
  })

  it("an answer that does not parse moves on; from every server, Malformed", () => {
    const r = make()
    const { handle, actions } = r.resolve("host.isla.test", "A", 0)
    const first = udp(actions)
    // An A record of 5 bytes after a good question: matched, then refused.
    const bad = (send: Send): Uint8Array => {
      const msg = Dns.emit(withoutEdns({ ...query(send), response: true, answers: [A("host.isla.test", "10.80.0.10")] }))
      const out = new Uint8Array(msg.length + 1)
      out.set(msg)
      out[msg.length - 5] = 5 // RDLENGTH 4 → 5, with one more byte at the end
      return out
    }
    const second = udp(deliver(r, first, bad(first), 10))
    expect(second.server).toBe(1)
    const done = deliver(r, second, bad(second), 20)
    expect(completed(done, handle)).toEqual(failure("Malformed", "bad_rdata"))
    expect(r.counters.malformed).toBe(2)
  })
})

describe("matching answers (RFC 5452)", () => {
  it("ignores and counts whatever does not match the query exactly", () => {
    const r = make()
    const { handle, actions } = r.resolve("host.isla.test", "A", 0)
    const send = udp(actions)
    const good = reply(send, { answers: [A("host.isla.test", "10.80.0.10")] })
    const other = (change: (x: Dns.Repr) => Dns.Repr) => reply(send, { answers: [A("host.isla.test", "6.6.6.6")] }, change)
    const ignored: Array<ReadonlyArray<Dns.ResolverAction>> = [
      r.onResponse(0, "udp", withId(good, send.id ^ 1), 1, send.srcPort), // wrong id
      r.onResponse(1, "udp", good, 1, send.srcPort), // wrong server
      r.onResponse(7, "udp", good, 1, send.srcPort), // no such server
      r.onResponse(0, "udp", good, 1, send.srcPort ^ 1), // wrong port
      r.onResponse(0, "tcp", good, 1), // wrong transport
      r.onResponse(0, "udp", other((x) => ({ ...x, questions: [{ name: "evil.test", type: 1, class: 1 }] })), 1, send.srcPort),
      r.onResponse(0, "udp", other((x) => ({ ...x, questions: [{ name: "host.isla.test", type: 28, class: 1 }] })), 1, send.srcPort),
      r.onResponse(0, "udp", other((x) => ({ ...x, questions: [{ name: "host.isla.test", type: 1, class: 3 }] })), 1, send.srcPort),
      r.onResponse(0, "udp", other((x) => ({ ...x, questions: [] })), 1, send.srcPort),
      r.onResponse(0, "udp", other((x) => ({ ...x, response: false })), 1, send.srcPort)
    ]
    for (const a of ignored) expect(a).toEqual([])
    expect(r.onResponse(0, "udp", new Uint8Array(5), 1, send.srcPort)).toEqual([])
    expect(r.counters).toMatchObject({ mismatches: 10, malformed: 1, answers: 0 })
    // The question's case does not matter without 0x20 mixing.
    const upper = reply(send, { answers: [A("HOST.ISLA.TEST", "10.80.0.10")] }, (x) => ({
      ...x,
      questions: [{ name: "HOST.ISLA.TEST", type: 1, class: 1 }]
    }))
    expect(completed(deliver(r, send, upper, 2), handle)).toEqual(resolvedA("host.isla.test", "host.isla.test", [["10.80.0.10", 300]]))
  })

  it("with 0x20 mixing, the question must come back in the case sent", () => {
    const r = make({ caseRandomization: true })
    const { handle, actions } = r.resolve("host.isla.test", "A", 0)
    const send = udp(actions)
    const sent = query(send).questions[0]!.name
    expect(sent.toLowerCase()).toBe("host.isla.test")
    expect(sent).not.toBe("host.isla.test") // with this seed some letters came out upper case
    const lowered = reply(send, { answers: [A("host.isla.test", "10.80.0.10")] }, (x) => ({
      ...x,
      questions: [{ name: "host.isla.test", type: 1, class: 1 }]
    }))
    expect(deliver(r, send, lowered, 1)).toEqual([])
    expect(r.counters.mismatches).toBe(1)
    const echoed = reply(send, { answers: [A(sent, "10.80.0.10")] })
    expect(completed(deliver(r, send, echoed, 2), handle)._tag).toBe("Resolved")
  })

  it("a duplicated TC answer asks over TCP once", () => {
    const r = make()
    const s = udp(r.resolve("lots.isla.test", "A", 0).actions)
    const tc = withId(dnsFrame("truncated_noedns_response"), s.id)
    tcp(deliver(r, s, tc, 1))
    expect(deliver(r, s, tc, 2)).toEqual([])
    expect(r.counters).toMatchObject({ tcpFallbacks: 1, mismatches: 1 })
  })

  it("an answer after completion is a mismatch", () => {
    const r = make()
    const { actions } = r.resolve("host.isla.test", "A", 0)
    const send = udp(actions)
    const good = reply(send, { answers: [A("host.isla.test", "10.80.0.10")] })
    expect(deliver(r, send, good, 1)).toHaveLength(1)
    expect(deliver(r, send, good, 2)).toEqual([])
    expect(r.counters).toMatchObject({ answers: 1, mismatches: 1 })
  })
})

describe("cache", () => {
  it("answers a repeated question without sending, with the TTL left, until it expires", () => {
    const r = make()
    const first = r.resolve("host.isla.test", "A", 0)
    const send = udp(first.actions)
    deliver(r, send, withId(dnsFrame("a_edns_response"), send.id), 0)

    const again = r.resolve("HOST.isla.test.", "A", 250_500)
    expect(completed(again.actions, again.handle)).toEqual(
      resolvedA("HOST.isla.test", "HOST.isla.test", [["10.80.0.10", 349]], true) // no CNAME: the name as asked
    )
    expect(r.counters).toMatchObject({ queries: 1, cacheHits: 1 })

    const expired = r.resolve("host.isla.test", "A", 600_000)
    expect(udp(expired.actions).server).toBe(0)
    expect(r.counters).toMatchObject({ queries: 2, cacheHits: 1 })
  })

  it("keeps A and AAAA apart", () => {
    const r = make()
    const send = udp(r.resolve("host.isla.test", "A", 0).actions)
    deliver(r, send, withId(dnsFrame("a_edns_response"), send.id), 0)
    expect(udp(r.resolve("host.isla.test", "AAAA", 1).actions).server).toBe(0)
  })

  it("does not cache TTL 0, and caps TTLs (maxTtlSeconds)", () => {
    const r = make({ maxTtlSeconds: 60 })
    const s1 = udp(r.resolve("zero.test", "A", 0).actions)
    deliver(r, s1, reply(s1, { answers: [A("zero.test", "10.0.0.1", 0)] }), 0)
    expect(udp(r.resolve("zero.test", "A", 1).actions)).toBeDefined()
    const long = r.resolve("long.test", "A", 0)
    const s2 = udp(long.actions)
    const done = completed(deliver(r, s2, reply(s2, { answers: [A("long.test", "10.0.0.2", 0x7fffffff)] }), 0), long.handle)
    expect(done).toEqual(resolvedA("long.test", "long.test", [["10.0.0.2", 60]]))
    expect(udp(r.resolve("long.test", "A", 60_000).actions)).toBeDefined()
  })

  it("reads TTLs with the top bit set as 0 (RFC 2181 §8)", () => {
    const r = make()
    const { handle, actions } = r.resolve("odd.test", "A", 0)
    const s = udp(actions)
    expect(completed(deliver(r, s, reply(s, { answers: [A("odd.test", "10.0.0.1", 0x80000000)] }), 0), handle)).toEqual(
      resolvedA("odd.test", "odd.test", [["10.0.0.1", 0]])
    )
  })

  it("is bounded: the least recently used entry goes first", () => {
    const r = make({ maxCacheEntries: 2 })
    const learn = (name: string, now: number) => {
      const s = udp(r.resolve(name, "A", now).actions)
      deliver(r, s, reply(s, { answers: [A(name, "10.0.0.1")] }), now)
    }
    learn("one.test", 0)
    learn("two.test", 1)
    expect(completions(r.resolve("one.test", "A", 2).actions)).toHaveLength(1) // one.test used: two.test is now oldest
    learn("three.test", 3)
    expect(r.cacheSize).toBe(2)
    expect(completions(r.resolve("one.test", "A", 4).actions)).toHaveLength(1)
    expect(sends(r.resolve("two.test", "A", 5).actions)).toHaveLength(1)
  })

  it("flushCache forgets everything", () => {
    const r = make()
    const s = udp(r.resolve("host.isla.test", "A", 0).actions)
    deliver(r, s, withId(dnsFrame("a_edns_response"), s.id), 0)
    r.flushCache()
    expect(sends(r.resolve("host.isla.test", "A", 1).actions)).toHaveLength(1)
  })
})

describe("negative answers (RFC 2308)", () => {
  it("NXDOMAIN with an SOA is cached for min(SOA TTL, MINIMUM), for every type of the name", () => {
    const r = make()
    const { handle, actions } = r.resolve("missing.isla.test", "A", 0)
    const s = udp(actions)
    expect(completed(deliver(r, s, withId(dnsFrame("nxdomain_soa_response"), s.id), 0), handle)).toEqual(
      failure("NameNotFound", "nxdomain")
    )
    const a = r.resolve("missing.isla.test", "A", 599_000)
    expect(completed(a.actions, a.handle)).toEqual(failure("NameNotFound", "nxdomain", true))
    const aaaa = r.resolve("Missing.Isla.Test", "AAAA", 599_000)
    expect(completed(aaaa.actions, aaaa.handle)).toEqual(failure("NameNotFound", "nxdomain", true))
    expect(sends(r.resolve("missing.isla.test", "A", 600_000).actions)).toHaveLength(1)
  })

  it("the negative TTL is the smaller of the SOA's TTL and MINIMUM, capped at an hour", () => {
    const r = make()
    const s1 = udp(r.resolve("a.example", "A", 0).actions)
    deliver(r, s1, reply(s1, { rcode: Dns.Rcode.NXDomain, authorities: [SOA("example", 30, 900)] }), 0)
    expect(completions(r.resolve("a.example", "A", 29_999).actions)).toHaveLength(1)
    expect(sends(r.resolve("a.example", "A", 30_000).actions)).toHaveLength(1)

    const s2 = udp(r.resolve("b.example", "A", 0).actions)
    deliver(r, s2, reply(s2, { rcode: Dns.Rcode.NXDomain, authorities: [SOA("example", 86_400, 86_400)] }), 0)
    expect(completions(r.resolve("b.example", "A", 3_599_999).actions)).toHaveLength(1)
    expect(sends(r.resolve("b.example", "A", 3_600_000).actions)).toHaveLength(1)
  })

  it("NODATA with an SOA is cached for that type only", () => {
    const r = make()
    const { handle, actions } = r.resolve("v4only.isla.test", "AAAA", 0)
    const s = udp(actions)
    expect(completed(deliver(r, s, withId(dnsFrame("nodata_soa_response"), s.id), 0), handle)).toEqual(failure("NoData", "nodata"))
    const again = r.resolve("v4only.isla.test", "AAAA", 10_000)
    expect(completed(again.actions, again.handle)).toEqual(failure("NoData", "nodata", true))
    expect(sends(r.resolve("v4only.isla.test", "A", 10_000).actions)).toHaveLength(1)
  })

  it("without an SOA, NXDOMAIN and NODATA are not cached (RFC 2308 §5)", () => {
    const r = make()
    const s1 = udp(r.resolve("missing.isla.test", "A", 0).actions)
    expect(completions(deliver(r, s1, withId(dnsFrame("nxdomain_response"), s1.id), 0))[0]!.result).toEqual(
      failure("NameNotFound", "nxdomain")
    )
    const s2 = udp(r.resolve("v4only.isla.test", "AAAA", 0).actions)
    expect(completions(deliver(r, s2, withId(dnsFrame("nodata_response"), s2.id), 0))[0]!.result).toEqual(
      failure("NoData", "nodata")
    )
    expect(sends(r.resolve("missing.isla.test", "A", 1).actions)).toHaveLength(1)
    expect(sends(r.resolve("v4only.isla.test", "AAAA", 1).actions)).toHaveLength(1)
  })
})

describe("CNAME chains", () => {
  it("follows a chain inside one answer, and caches each link", () => {
    const r = make()
    const { handle, actions } = r.resolve("alias.isla.test", "A", 0)
    const s = udp(actions)
    expect(completed(deliver(r, s, withId(dnsFrame("cname_with_target_response"), s.id), 0), handle)).toEqual(
      resolvedA("alias.isla.test", "host.isla.test", [["10.80.0.10", 600]])
    )
    const again = r.resolve("alias.isla.test", "A", 1_000)
    expect(completed(again.actions, again.handle)).toEqual(resolvedA("alias.isla.test", "host.isla.test", [["10.80.0.10", 599]], true))
    const target = r.resolve("host.isla.test", "A", 1_000)
    expect(completed(target.actions, target.handle)).toEqual(resolvedA("host.isla.test", "host.isla.test", [["10.80.0.10", 599]], true))
  })

  it("a CNAME alone: asks again for its target (dnsmasq's www → web, then web → host)", () => {
    const r = make()
    const { handle, actions } = r.resolve("www.isla.test", "A", 0)
    const s1 = udp(actions)
    const s2 = udp(deliver(r, s1, withId(dnsFrame("cname_alone_response"), s1.id), 10))
    expect(s2.server).toBe(0)
    expect(query(s2).questions).toEqual([{ name: "web.isla.test", type: Dns.Type.A, class: Dns.Class.IN }])
    expect(s2.id).not.toBe(s1.id)
    // An answer to the first query is no longer wanted.
    expect(deliver(r, s1, withId(dnsFrame("cname_alone_response"), s1.id), 11)).toEqual([])
    const done = deliver(r, s2, withId(dnsFrame("cname_next_response"), s2.id), 20)
    // The first link, learned 10 ms earlier, has 599.99 s left: TTLs round down.
    expect(completed(done, handle)).toEqual(resolvedA("www.isla.test", "host.isla.test", [["10.80.0.10", 599]]))
    // The whole chain is in the cache now.
    const again = r.resolve("www.isla.test", "A", 30)
    expect(completions(again.actions)[0]!.result).toMatchObject({ _tag: "Resolved", canonicalName: "host.isla.test", fromCache: true })
  })

  it("a lookup starts where the cached chain ends", () => {
    const r = make()
    const first = r.resolve("www.isla.test", "A", 0)
    const s1 = udp(first.actions)
    udp(deliver(r, s1, withId(dnsFrame("cname_alone_response"), s1.id), 0)) // asks for web.isla.test
    r.cancel(first.handle) // nobody else waits: dropped; the CNAME stays cached
    const s3 = udp(r.resolve("www.isla.test", "A", 1).actions)
    expect(query(s3).questions[0]!.name).toBe("web.isla.test")
  })

  it("the TTL of the result is the smallest along the chain", () => {
    const r = make()
    const { handle, actions } = r.resolve("a.test", "A", 0)
    const s = udp(actions)
    const done = deliver(r, s, reply(s, { answers: [CNAME("a.test", "b.test", 30), A("b.test", "10.0.0.1", 300)] }), 0)
    expect(completed(done, handle)).toEqual(resolvedA("a.test", "b.test", [["10.0.0.1", 30]]))
  })

  it("a CNAME whose target does not exist: NXDOMAIN names the target (RFC 6604)", () => {
    const r = make()
    const { handle, actions } = r.resolve("a.test", "A", 0)
    const s = udp(actions)
    const done = deliver(r, s, reply(s, { rcode: Dns.Rcode.NXDomain, answers: [CNAME("a.test", "gone.test")], authorities: [SOA("test", 60, 60)] }), 0)
    expect(completed(done, handle)).toEqual(failure("NameNotFound", "nxdomain"))
    expect(sends(r.resolve("a.test", "AAAA", 1).actions)).toHaveLength(0) // a.test → gone.test (cached) → NXDOMAIN (cached)
  })

  it("a CNAME with an SOA and no data: NoData for the target, no new query", () => {
    const r = make()
    const { handle, actions } = r.resolve("a.test", "AAAA", 0)
    const s = udp(actions)
    const done = deliver(r, s, reply(s, { answers: [CNAME("a.test", "b.test")], authorities: [SOA("test", 60, 60)] }), 0)
    expect(completed(done, handle)).toEqual(failure("NoData", "nodata"))
  })

  /** Serves n0 → n1 → … one CNAME per answer, then an A record at n`length`. */
  const chain = (length: number): { result: Dns.ResolveResult; queries: number } => {
    const r = make()
    const { handle, actions } = r.resolve("n0.test", "A", 0)
    let send = udp(actions)
    for (let i = 0; ; i++) {
      const name = query(send).questions[0]!.name
      expect(name).toBe(`n${i}.test`)
      const answer = i === length ? [A(name, "10.0.0.1")] : [CNAME(name, `n${i + 1}.test`)]
      const out = deliver(r, send, reply(send, { answers: answer }), i)
      const done = completions(out)
      if (done.length > 0) {
        expect(done[0]!.handle).toBe(handle)
        return { result: done[0]!.result, queries: r.counters.queries }
      }
      send = udp(out)
    }
  }

  it("follows 8 CNAMEs", () => {
    // The first link was learned 8 ms before the end: 299.992 s left.
    expect(chain(8)).toEqual({ result: resolvedA("n0.test", "n8.test", [["10.0.0.1", 299]]), queries: 9 })
  })

  it("refuses a 9th (ServerFailure, cname_chain_too_long)", () => {
    expect(chain(9)).toEqual({ result: failure("ServerFailure", "cname_chain_too_long"), queries: 9 })
  })

  it("refuses a loop inside one answer", () => {
    const r = make()
    const { handle, actions } = r.resolve("a.test", "A", 0)
    const s = udp(actions)
    const done = deliver(r, s, reply(s, { answers: [CNAME("a.test", "b.test"), CNAME("b.test", "a.test")] }), 0)
    expect(completed(done, handle)).toEqual(failure("ServerFailure", "cname_chain_too_long"))
  })
})

describe("truncated answers → TCP (RFC 7766)", () => {
  it("asks the same server over TCP and takes the whole answer", () => {
    const r = make()
    const { handle, actions } = r.resolve("lots.isla.test", "A", 0)
    const s = udp(actions)
    const t = tcp(deliver(r, s, withId(dnsFrame("truncated_edns_response"), s.id), 10))
    expect(t).toMatchObject({ server: 0, address: "10.80.0.1", port: 53 })
    expect(query(t).questions).toEqual([{ name: "lots.isla.test", type: Dns.Type.A, class: Dns.Class.IN }])
    expect(r.counters.tcpFallbacks).toBe(1)
    expect(r.pollAt()).toBe(10 + 5_000)
    // The same bytes over UDP do not answer a TCP query.
    const full = withId(dnsFrame("tcp_lots_response"), t.id)
    expect(r.onResponse(0, "udp", full, 20, s.srcPort)).toEqual([])
    const result = completed(deliver(r, t, full, 20), handle)
    if (result._tag !== "Resolved") throw new Error(result._tag)
    expect(result.addresses).toHaveLength(90)
    expect(result.addresses.every((a) => a.ttl === 600)).toBe(true)
    expect(r.counters).toMatchObject({ queries: 2, answers: 2, tcpFallbacks: 1 })
  })

  it("a TC answer without records (dnsmasq's big TXT) falls back too", () => {
    const r = make()
    const { actions } = r.resolve("host.isla.test", "A", 0)
    const s = udp(actions)
    const tc = reply(s, { truncated: true })
    expect(tcp(deliver(r, s, tc, 0)).server).toBe(0)
  })

  it("a TCP try that times out or whose connection fails moves to the next server over UDP", () => {
    const r = make()
    const { actions } = r.resolve("lots.isla.test", "A", 0)
    const s = udp(actions)
    const t = tcp(deliver(r, s, withId(dnsFrame("truncated_noedns_response"), s.id), 0))
    const next = udp(r.onTimer(5_000))
    expect(next.server).toBe(1)
    const t2 = tcp(deliver(r, next, withId(dnsFrame("truncated_noedns_response"), next.id), 5_001))
    expect(r.onTcpFailure(0, t2.id, 5_002)).toEqual([]) // not that server's
    expect(r.onTcpFailure(1, t.id, 5_002)).toEqual([]) // not the current try
    expect(udp(r.onTcpFailure(1, t2.id, 5_002)).server).toBe(0)
  })

  it("TC over TCP is refused as Malformed once no server is left", () => {
    const r = make({ servers: [S0], rounds: 1 })
    const { handle, actions } = r.resolve("host.isla.test", "A", 0)
    const s = udp(actions)
    const t = tcp(deliver(r, s, reply(s, { truncated: true }), 0))
    expect(completed(deliver(r, t, reply(t, { truncated: true }), 1), handle)).toEqual(failure("Malformed", "truncated_over_tcp"))
  })
})

describe("concurrent lookups", () => {
  it("identical questions share one query; every handle completes", () => {
    const r = make()
    const a = r.resolve("host.isla.test", "A", 0)
    const b = r.resolve("HOST.ISLA.TEST", "A", 100)
    const c = r.resolve("host.isla.test", "AAAA", 100)
    const s = udp(a.actions)
    expect(b.actions).toEqual([])
    expect(udp(c.actions).id).not.toBe(s.id) // another type, another query
    expect(r.pending).toBe(2)
    const done = completions(deliver(r, s, withId(dnsFrame("a_edns_response"), s.id), 200))
    expect(done.map((d) => d.handle)).toEqual([a.handle, b.handle])
    expect(done[0]!.result).toEqual(done[1]!.result)
    expect(r.counters.queries).toBe(2)
  })

  it("cancel: the other handles still complete; cancelling the last drops the query", () => {
    const r = make()
    const a = r.resolve("host.isla.test", "A", 0)
    const b = r.resolve("host.isla.test", "A", 0)
    const s = udp(a.actions)
    r.cancel(a.handle)
    r.cancel(a.handle) // twice is fine
    const done = completions(deliver(r, s, withId(dnsFrame("a_edns_response"), s.id), 1))
    expect(done.map((d) => d.handle)).toEqual([b.handle])

    const c = r.resolve("other.test", "A", 2)
    const s2 = udp(c.actions)
    r.cancel(c.handle)
    expect(r.pending).toBe(0)
    expect(r.pollAt()).toBe(Infinity)
    expect(deliver(r, s2, reply(s2, { answers: [A("other.test", "10.0.0.1")] }), 3)).toEqual([])
  })

  it("at most maxPending lookups in flight", () => {
    const r = make({ maxPending: 2 })
    udp(r.resolve("a.test", "A", 0).actions)
    udp(r.resolve("b.test", "A", 0).actions)
    const c = r.resolve("c.test", "A", 0)
    expect(completed(c.actions, c.handle)).toEqual(failure("ServerFailure", "too_many_pending"))
    expect(r.resolve("a.test", "A", 0).actions).toEqual([]) // joining is still fine
  })

  it("setServers: later tries use the new list", () => {
    const r = make()
    const { actions } = r.resolve("host.isla.test", "A", 0)
    udp(actions)
    r.setServers([{ address: "10.80.0.9", port: 5353 }])
    expect(udp(r.onTimer(2_000))).toMatchObject({ server: 0, address: "10.80.0.9", port: 5353 })
  })

  it("setServers: the TCP retry of a truncated answer goes to the server that truncated it", () => {
    const r = make()
    const s = udp(r.resolve("lots.isla.test", "A", 0).actions)
    const tc = withId(dnsFrame("truncated_noedns_response"), s.id)
    r.setServers([S1, S0])
    expect(r.onResponse(0, "udp", tc, 1, s.srcPort)).toEqual([]) // index 0 is 10.80.0.3 now
    expect(tcp(r.onResponse(1, "udp", tc, 1, s.srcPort))).toMatchObject({ server: 1, address: "10.80.0.1" })
  })
})
