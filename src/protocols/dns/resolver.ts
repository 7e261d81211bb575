/**
 * A stub resolver as a pure state machine: `resolve`, `onResponse` and
 * `onTimer` take the time (`now`, ms) and return what to send and which
 * lookups completed. Random ids and source ports (RFC 5452) come from the
 * injected `random`; answers are matched on id, question and server; CNAME
 * chains are followed; answers and negative answers (RFC 2308) are cached;
 * a truncated answer is asked again over TCP (RFC 7766).
 */
import type { Ipv4Address } from "../address.js"
import { isMalformed } from "../malformed.js"
import { type AddressType, type CacheEntry, type CacheLookup, DnsCache } from "./cache.js"
import {
  Class,
  emit,
  makeQuery,
  Packet,
  parse,
  PORT,
  Rcode,
  type Repr,
  type ResourceRecord,
  Type
} from "./message.js"
import { nameEquals, nameKey, normalizeName } from "./name.js"


/** A DNS server the resolver asks; `port` defaults to 53. */
export interface DnsServer {
  readonly address: string
  readonly port?: number
}

/** Settings of a `Resolver`; only `servers` and `random` are required. */
export interface ResolverOptions {
  /** Asked in this order, round after round. */
  readonly servers: ReadonlyArray<DnsServer>
  /** Uniform in [0, 1): query ids, source ports, 0x20 case mixing. A CSPRNG in production (RFC 5452 §9.2). */
  readonly random: () => number
  /** Wait for a UDP answer before asking the next server (default 2000 ms). */
  readonly timeoutMillis?: number
  /** Wait for an answer over TCP (default 5000 ms, a connection is opened first). */
  readonly tcpTimeoutMillis?: number
  /** Passes over the server list before giving up (default 2). */
  readonly rounds?: number
  /** Cache entries (default 1024). */
  readonly maxCacheEntries?: number
  /** Longest a positive answer is cached (default 86400 s). */
  readonly maxTtlSeconds?: number
  /** Longest a negative answer is cached (default 3600 s, RFC 2308 §5 suggests 1–3 hours). */
  readonly maxNegativeTtlSeconds?: number
  /** CNAMEs followed from the asked name (default 8). */
  readonly maxCnameSteps?: number
  /** Lookups in flight; more fail at once with ServerFailure "too_many_pending" (default 256). */
  readonly maxPending?: number
  /** Send an OPT record advertising 1232 bytes (default true); dropped for a server that answers FORMERR. */
  readonly edns?: boolean
  /** Mix the case of query names and require it back exactly (draft-vixie-dnsext-dns0x20; default false). */
  readonly caseRandomization?: boolean
}

/** An address of a completed lookup with its remaining TTL in seconds. */
export type ResolvedAddress =
  | { readonly _tag: "A"; readonly address: Ipv4Address; readonly ttl: number }
  /** `address` is 16 bytes. */
  | { readonly _tag: "AAAA"; readonly address: Uint8Array; readonly ttl: number }

/**
 * Why a lookup failed: `NameNotFound` (NXDOMAIN), `NoData` (the name exists
 * without records of the type), `TimedOut` (no server answered), `ServerFailure`
 * (SERVFAIL, REFUSED or another error from the servers asked, a CNAME chain
 * past the limit, no servers), `Malformed` (answers could not be parsed),
 * `InvalidName` (the name given is not a domain name).
 */
export type FailureReason = "NameNotFound" | "NoData" | "TimedOut" | "ServerFailure" | "Malformed" | "InvalidName"

/** The outcome of a lookup. */
export type ResolveResult =
  | {
    readonly _tag: "Resolved"
    /** The name asked, canonical text. */
    readonly name: string
    /** The name the addresses belong to, after CNAMEs. */
    readonly canonicalName: string
    readonly addresses: ReadonlyArray<ResolvedAddress>
    readonly fromCache: boolean
  }
  | {
    readonly _tag: "Failed"
    readonly reason: FailureReason
    /** A short machine-readable detail: "nxdomain", "servfail", "refused", "cname_chain_too_long", a malformed reason ... */
    readonly detail: string
    readonly fromCache: boolean
  }

/** Something the caller must do for the resolver. */
export type ResolverAction =
  /** Send `bytes` as one UDP datagram from local port `srcPort` to the server; deliver answers to `onResponse(server, "udp", …, srcPort)`. */
  | {
    readonly _tag: "SendUdp"
    readonly server: number
    readonly address: string
    readonly port: number
    readonly srcPort: number
    readonly id: number
    readonly bytes: Uint8Array
  }
  /**
   * Send `bytes` over a TCP connection to the server. The caller frames it
   * (2-byte length prefix, `tcpFrame`), reads one framed answer and passes
   * the message without its prefix to `onResponse(server, "tcp", …)`; on a
   * refused or reset connection it calls `onTcpFailure(server, id, now)`.
   */
  | {
    readonly _tag: "SendTcp"
    readonly server: number
    readonly address: string
    readonly port: number
    readonly id: number
    readonly bytes: Uint8Array
  }
  /** The lookup `handle` is over. */
  | { readonly _tag: "Complete"; readonly handle: number; readonly result: ResolveResult }

/** What the resolver counted since it was made. */
export interface ResolverCounters {
  /** Queries sent, UDP and TCP. */
  readonly queries: number
  /** Answers matched to a query. */
  readonly answers: number
  /** Lookups answered from the cache without sending. */
  readonly cacheHits: number
  /** Tries that ran out of time. */
  readonly timeouts: number
  /** Truncated UDP answers asked again over TCP. */
  readonly tcpFallbacks: number
  /** Datagrams ignored: unknown id, wrong server, port or question, not a response. */
  readonly mismatches: number
  /** Datagrams too broken to match, and matched answers that failed to parse. */
  readonly malformed: number
}

type Transport = "udp" | "tcp"

/** Where a query goes: the server's index when it was sent, and its address. */
interface Target {
  readonly serverIndex: number
  readonly address: string
  readonly port: number
}

interface Try extends Target {
  readonly id: number
  readonly transport: Transport
  /** 0 over TCP. */
  readonly srcPort: number
  /** The question name as sent (case mixed when asked to). */
  readonly sentName: string
  readonly edns: boolean
  /** An answer was taken: a copy of it (a duplicated datagram) is a mismatch. */
  answered: boolean
}

interface Lookup {
  readonly key: string
  readonly name: string
  readonly type: AddressType
  readonly handles: Array<number>
  /** The name asked now: `name`, or the end of the CNAME chain so far. */
  current: string
  /** CNAMEs followed. */
  steps: number
  /** Earliest expiry of the CNAMEs followed (ms, Infinity without). */
  chainExpires: number
  tries: Array<Try>
  /** Position in the schedule: server `attempt % servers.length`, in round `attempt / servers.length`. */
  attempt: number
  /** Servers that answered this question with an error. */
  readonly failed: Set<number>
  lastFailure: { readonly reason: FailureReason; readonly detail: string } | undefined
  edns: boolean
  deadline: number
}

const NO_ACTIONS: ReadonlyArray<ResolverAction> = Object.freeze([])

/** RFC 6335 §6: the dynamic port range source ports are drawn from. */
const EPHEMERAL_LOW = 49152
const EPHEMERAL_COUNT = 65536 - EPHEMERAL_LOW

const option = (value: number | undefined, fallback: number, min: number): number =>
  value === undefined || Number.isNaN(value) ? fallback : Math.max(min, Math.floor(value))

/** RFC 2181 §8: a TTL with the top bit set is read as zero. */
const ttlOf = (rr: ResourceRecord): number => (rr.ttl > 0x7fffffff ? 0 : rr.ttl)

const typeCode = (type: AddressType): number => (type === "A" ? Type.A : Type.AAAA)

/**
 * The resolver. Use: `resolve` for each lookup and perform its actions; pass
 * every datagram from a server's port to `onResponse`; call `onTimer` at
 * `pollAt()`. Each `Complete` action ends one handle.
 */
export class Resolver {
  private servers: ReadonlyArray<DnsServer>
  private readonly random: () => number
  private readonly timeoutMillis: number
  private readonly tcpTimeoutMillis: number
  private readonly rounds: number
  private readonly maxTtl: number
  private readonly maxNegativeTtl: number
  private readonly maxSteps: number
  private readonly maxPending: number
  private readonly edns: boolean
  private readonly caseRandomization: boolean
  private readonly cache: DnsCache

  /** Lookups in flight by coalescing key (name, type). */
  private readonly lookups = new Map<string, Lookup>()
  /** Outstanding query ids. */
  private readonly byId = new Map<number, Lookup>()
  private readonly byHandle = new Map<number, Lookup>()
  private nextHandle = 1

  private nQueries = 0
  private nAnswers = 0
  private nCacheHits = 0
  private nTimeouts = 0
  private nTcpFallbacks = 0
  private nMismatches = 0
  private nMalformed = 0

  constructor(options: ResolverOptions) {
    this.servers = options.servers
    this.random = options.random
    this.timeoutMillis = option(options.timeoutMillis, 2_000, 1)
    this.tcpTimeoutMillis = option(options.tcpTimeoutMillis, 5_000, 1)
    this.rounds = option(options.rounds, 2, 1)
    this.maxTtl = option(options.maxTtlSeconds, 86_400, 0)
    this.maxNegativeTtl = option(options.maxNegativeTtlSeconds, 3_600, 0)
    this.maxSteps = option(options.maxCnameSteps, 8, 0)
    this.maxPending = option(options.maxPending, 256, 1)
    this.edns = options.edns ?? true
    this.caseRandomization = options.caseRandomization ?? false
    this.cache = new DnsCache(option(options.maxCacheEntries, 1024, 1))
  }

  /** The counters so far. */
  get counters(): ResolverCounters {
    return {
      queries: this.nQueries,
      answers: this.nAnswers,
      cacheHits: this.nCacheHits,
      timeouts: this.nTimeouts,
      tcpFallbacks: this.nTcpFallbacks,
      mismatches: this.nMismatches,
      malformed: this.nMalformed
    }
  }

  /** Lookups in flight (coalesced ones count once). */
  get pending(): number {
    return this.lookups.size
  }

  /** Entries in the cache. */
  get cacheSize(): number {
    return this.cache.size
  }

  /**
   * Replaces the server list (e.g. from a new DHCP lease). Lookups in flight
   * go on with the new list; answers are matched on the address and port a
   * query went to, so one from a server no longer listed is ignored.
   */
  setServers(servers: ReadonlyArray<DnsServer>): void {
    this.servers = servers
  }

  /** Forgets every cached answer. */
  flushCache(): void {
    this.cache.clear()
  }

  /**
   * Starts a lookup of `name`'s addresses of `type`. From the cache, or for a
   * bad name, the returned actions already hold its `Complete`; a lookup of
   * the same name and type already in flight is joined, not sent again.
   */
  resolve(name: string, type: AddressType, now: number): { readonly handle: number; readonly actions: ReadonlyArray<ResolverAction> } {
    const handle = this.nextHandle++
    const canonical = normalizeName(name)
    if (isMalformed(canonical)) {
      return { handle, actions: [complete(handle, failed("InvalidName", canonical.reason, false))] }
    }
    const walk = this.cache.lookup(canonical, type, now, this.maxSteps)
    if (walk._tag === "Hit") {
      this.nCacheHits++
      return { handle, actions: [complete(handle, fromCache(canonical, type, walk, now))] }
    }
    const key = nameKey(canonical) + "\u0000" + type
    const joined = this.lookups.get(key)
    if (joined !== undefined) {
      joined.handles.push(handle)
      this.byHandle.set(handle, joined)
      return { handle, actions: NO_ACTIONS }
    }
    if (this.servers.length === 0) return { handle, actions: [complete(handle, failed("ServerFailure", "no_servers", false))] }
    if (this.lookups.size >= this.maxPending) {
      return { handle, actions: [complete(handle, failed("ServerFailure", "too_many_pending", false))] }
    }
    // Start where the cache's knowledge of the chain ends.
    const lookup: Lookup = {
      key,
      name: canonical,
      type,
      handles: [handle],
      current: walk.name,
      steps: walk.steps,
      chainExpires: walk.expires,
      tries: [],
      attempt: -1,
      failed: new Set(),
      lastFailure: undefined,
      edns: this.edns,
      deadline: Infinity
    }
    this.lookups.set(key, lookup)
    this.byHandle.set(handle, lookup)
    const actions: Array<ResolverAction> = []
    this.nextTry(lookup, now, actions)
    return { handle, actions }
  }

  /** Drops interest in `handle` (no `Complete` will come); the query goes on while other handles wait for it. */
  cancel(handle: number): void {
    const lookup = this.byHandle.get(handle)
    if (lookup === undefined) return
    this.byHandle.delete(handle)
    const i = lookup.handles.indexOf(handle)
    if (i >= 0) lookup.handles.splice(i, 1)
    if (lookup.handles.length === 0) this.drop(lookup)
  }

  /**
   * A message from server `server` (its index in the list) over `transport`.
   * `localPort` is the UDP port it arrived on, checked when given. Anything
   * that does not match an outstanding query exactly is ignored and counted.
   */
  onResponse(
    server: number,
    transport: Transport,
    bytes: Uint8Array,
    now: number,
    localPort?: number
  ): ReadonlyArray<ResolverAction> {
    const p = Packet.checked(bytes)
    if (isMalformed(p)) {
      this.nMalformed++
      return NO_ACTIONS
    }
    const lookup = this.byId.get(p.id)
    const t = lookup?.tries.find((x) => x.id === p.id)
    const from = this.servers[server]
    if (
      lookup === undefined || t === undefined || from === undefined || !p.response ||
      t.answered || t.transport !== transport || t.address !== from.address || t.port !== (from.port ?? PORT) ||
      (transport === "udp" && localPort !== undefined && localPort !== t.srcPort) ||
      p.questionCount !== 1
    ) {
      this.nMismatches++
      return NO_ACTIONS
    }
    const q = p.question()
    if (isMalformed(q)) {
      this.nMalformed++
      return NO_ACTIONS
    }
    const sameName = this.caseRandomization ? q.name === t.sentName : nameEquals(q.name, t.sentName)
    if (!sameName || q.type !== typeCode(lookup.type) || q.class !== Class.IN) {
      this.nMismatches++
      return NO_ACTIONS
    }
    this.nAnswers++
    t.answered = true
    const actions: Array<ResolverAction> = []
    if (p.truncated) {
      if (transport === "udp") {
        // RFC 7766 §5: a truncated UDP answer is asked again over TCP, same server.
        this.nTcpFallbacks++
        this.send(lookup, t, "tcp", now, actions)
      } else {
        this.serverFailed(lookup, t, "Malformed", "truncated_over_tcp", now, actions)
      }
      return actions
    }
    const repr = parse(bytes)
    if (isMalformed(repr)) {
      this.nMalformed++
      this.serverFailed(lookup, t, "Malformed", repr.reason, now, actions)
      return actions
    }
    this.answer(lookup, t, repr, now, actions)
    return actions
  }

  /** The TCP connection for query `id` to `server` failed: move on to the next server now. */
  onTcpFailure(server: number, id: number, now: number): ReadonlyArray<ResolverAction> {
    const lookup = this.byId.get(id)
    const last = lookup?.tries[lookup.tries.length - 1]
    if (lookup === undefined || last === undefined || last.id !== id || last.transport !== "tcp" || last.serverIndex !== server) {
      return NO_ACTIONS
    }
    const actions: Array<ResolverAction> = []
    this.nextTry(lookup, now, actions)
    return actions
  }

  /** Timers: a try whose time is up moves to the next server, or the lookup ends. */
  onTimer(now: number): ReadonlyArray<ResolverAction> {
    let actions: Array<ResolverAction> | undefined
    for (const lookup of [...this.lookups.values()]) {
      if (now < lookup.deadline) continue
      this.nTimeouts++
      actions ??= []
      this.nextTry(lookup, now, actions)
    }
    return actions ?? NO_ACTIONS
  }

  /** The earliest time `onTimer` has work; Infinity when none. */
  pollAt(): number {
    let next = Infinity
    for (const lookup of this.lookups.values()) if (lookup.deadline < next) next = lookup.deadline
    return next
  }

  // --- answers ----------------------------------------------------------------

  private answer(lookup: Lookup, t: Try, repr: Repr, now: number, actions: Array<ResolverAction>): void {
    if (repr.opcode !== 0) return this.serverFailed(lookup, t, "ServerFailure", "bad_opcode", now, actions)
    switch (repr.rcode) {
      case Rcode.NoError:
      case Rcode.NXDomain:
        break
      case Rcode.FormErr:
      case Rcode.NotImp:
        // RFC 6891 §7: a server that does not know EDNS may answer FORMERR
        // (without an OPT record); ask it again without one.
        if (t.edns && repr.edns === undefined) {
          lookup.edns = false
          this.send(lookup, t, t.transport, now, actions)
          return
        }
        return this.serverFailed(lookup, t, "ServerFailure", rcodeDetail(repr.rcode), now, actions)
      default:
        return this.serverFailed(lookup, t, "ServerFailure", rcodeDetail(repr.rcode), now, actions)
    }
    const type = typeCode(lookup.type)
    // RFC 1034 §5.3.3: follow CNAMEs from the name asked through the answer section.
    let cur = lookup.current
    let followed = 0
    for (;;) {
      const alias = repr.answers.find((rr) => rr.data._tag === "CNAME" && rr.class === Class.IN && nameEquals(rr.name, cur))
      if (alias === undefined || alias.data._tag !== "CNAME") break
      if (lookup.steps >= this.maxSteps) return this.finish(lookup, failed("ServerFailure", "cname_chain_too_long", false), actions)
      lookup.steps++
      followed++
      const expires = now + Math.min(ttlOf(alias), this.maxTtl) * 1000
      if (expires > now) this.cache.putCname(cur, alias.data.target, expires)
      lookup.chainExpires = Math.min(lookup.chainExpires, expires)
      cur = alias.data.target
    }
    const records = repr.answers.filter((rr) => rr.type === type && rr.class === Class.IN && nameEquals(rr.name, cur))
    if (records.length > 0) {
      let ttl = this.maxTtl
      for (const rr of records) ttl = Math.min(ttl, ttlOf(rr))
      const addresses = records.map((rr) => (rr.data._tag === "A" || rr.data._tag === "AAAA" ? rr.data.address : 0))
      const expires = now + ttl * 1000
      if (ttl > 0) this.cache.putAddresses(cur, lookup.type, addresses, expires)
      const until = Math.min(expires, lookup.chainExpires)
      return this.finish(lookup, resolved(lookup.name, cur, lookup.type, addresses, until, now, false), actions)
    }
    const soa = repr.authorities.find((rr) => rr.data._tag === "SOA")
    // RFC 2308 §5: negative answers live min(SOA TTL, SOA MINIMUM); without an SOA, not at all.
    const negativeExpires = soa !== undefined && soa.data._tag === "SOA"
      ? now + Math.min(ttlOf(soa), soa.data.minimum, this.maxNegativeTtl) * 1000
      : now
    if (repr.rcode === Rcode.NXDomain) {
      // RFC 6604 §3: with CNAMEs, NXDOMAIN is about the end of the chain.
      if (negativeExpires > now) this.cache.putNameNotFound(cur, negativeExpires)
      return this.finish(lookup, failed("NameNotFound", "nxdomain", false), actions)
    }
    if (followed > 0 && soa === undefined) {
      // The server gave the CNAME alone: ask for its target (RFC 1034 §5.3.3 step 3).
      this.restart(lookup, cur, now, actions)
      return
    }
    if (negativeExpires > now) this.cache.putNoData(cur, lookup.type, negativeExpires)
    return this.finish(lookup, failed("NoData", "nodata", false), actions)
  }

  // --- tries --------------------------------------------------------------------

  /**
   * A server answered try `t` with an error: remember it and skip the server
   * from now on. When `t` is the latest try, ask the next server now; a late
   * error to an earlier try leaves the latest one running.
   */
  private serverFailed(
    lookup: Lookup,
    t: Try,
    reason: FailureReason,
    detail: string,
    now: number,
    actions: Array<ResolverAction>
  ): void {
    lookup.failed.add(t.serverIndex)
    lookup.lastFailure = { reason, detail }
    if (lookup.tries[lookup.tries.length - 1] === t) this.nextTry(lookup, now, actions)
  }

  /** Asks the next server of the schedule that has not failed, or ends the lookup. */
  private nextTry(lookup: Lookup, now: number, actions: Array<ResolverAction>): void {
    const n = this.servers.length
    while (++lookup.attempt < this.rounds * n) {
      const index = lookup.attempt % n
      const server = this.servers[index]!
      if (!lookup.failed.has(index)) {
        this.send(lookup, { serverIndex: index, address: server.address, port: server.port ?? PORT }, "udp", now, actions)
        return
      }
    }
    const f = lookup.lastFailure
    this.finish(lookup, failed(f?.reason ?? "TimedOut", f?.detail ?? "timeout", false), actions)
  }

  /** Asks for `name` from the first server on, forgetting the tries for the previous name. */
  private restart(lookup: Lookup, name: string, now: number, actions: Array<ResolverAction>): void {
    this.forgetTries(lookup)
    lookup.current = name
    lookup.attempt = -1
    lookup.failed.clear()
    lookup.lastFailure = undefined
    this.nextTry(lookup, now, actions)
  }

  /** Sends the lookup's question to `to` (a server of the list, or the one an earlier try went to). */
  private send(lookup: Lookup, to: Target, transport: Transport, now: number, actions: Array<ResolverAction>): void {
    const { address, port } = to
    // The list may have changed since `to` was chosen: name the server by its index now.
    const current = this.servers.findIndex((x) => x.address === address && (x.port ?? PORT) === port)
    const serverIndex = current >= 0 ? current : to.serverIndex
    const id = this.freshId()
    const srcPort = transport === "udp" ? EPHEMERAL_LOW + this.draw(EPHEMERAL_COUNT) : 0
    const sentName = this.caseRandomization ? this.mixCase(lookup.current) : lookup.current
    const bytes = emit(makeQuery(id, sentName, typeCode(lookup.type), { edns: lookup.edns }))
    lookup.tries.push({ id, serverIndex, address, port, transport, srcPort, sentName, edns: lookup.edns, answered: false })
    this.byId.set(id, lookup)
    lookup.deadline = now + (transport === "udp" ? this.timeoutMillis : this.tcpTimeoutMillis)
    this.nQueries++
    actions.push(
      transport === "udp"
        ? { _tag: "SendUdp", server: serverIndex, address, port, srcPort, id, bytes }
        : { _tag: "SendTcp", server: serverIndex, address, port, id, bytes }
    )
  }

  private finish(lookup: Lookup, result: ResolveResult, actions: Array<ResolverAction>): void {
    for (const handle of lookup.handles) {
      actions.push(complete(handle, result))
      this.byHandle.delete(handle)
    }
    this.drop(lookup)
  }

  private drop(lookup: Lookup): void {
    this.forgetTries(lookup)
    this.lookups.delete(lookup.key)
    for (const handle of lookup.handles) this.byHandle.delete(handle)
    lookup.handles.length = 0
    lookup.deadline = Infinity
  }

  private forgetTries(lookup: Lookup): void {
    for (const t of lookup.tries) if (this.byId.get(t.id) === lookup) this.byId.delete(t.id)
    lookup.tries = []
  }

  /** An integer in [0, n) from the injected source. */
  private draw(n: number): number {
    const r = Math.floor(this.random() * n)
    return r >= 0 && r < n ? r : 0
  }

  /** A query id not outstanding (RFC 5452 §4.3: unpredictable). */
  private freshId(): number {
    let id = this.draw(0x10000)
    for (let i = 0; i < 16 && this.byId.has(id); i++) id = this.draw(0x10000)
    while (this.byId.has(id)) id = (id + 1) & 0xffff // a poor random source must not loop forever
    return id
  }

  private mixCase(name: string): string {
    let out = ""
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i)
      const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
      out += letter ? String.fromCharCode(this.draw(2) === 1 ? c & ~0x20 : c | 0x20) : name[i]
    }
    return out
  }
}

/** The result a cache walk that ended on an answer gives. */
const fromCache = (name: string, type: AddressType, walk: CacheLookup & { _tag: "Hit" }, now: number): ResolveResult => {
  const e: CacheEntry = walk.entry
  switch (e._tag) {
    case "Addresses":
      return resolved(name, walk.name, type, e.addresses, walk.expires, now, true)
    case "NoData":
      return failed("NoData", "nodata", true)
    default:
      return failed("NameNotFound", "nxdomain", true)
  }
}

const complete = (handle: number, result: ResolveResult): ResolverAction => ({ _tag: "Complete", handle, result })

const failed = (reason: FailureReason, detail: string, fromCache: boolean): ResolveResult => ({
  _tag: "Failed",
  reason,
  detail,
  fromCache
})

const resolved = (
  name: string,
  canonicalName: string,
  type: AddressType,
  addresses: ReadonlyArray<Ipv4Address | Uint8Array>,
  expires: number,
  now: number,
  fromCache: boolean
): ResolveResult => {
  const ttl = Math.max(0, Math.floor((expires - now) / 1000))
  return {
    _tag: "Resolved",
    name,
    canonicalName,
    addresses: addresses.map((a): ResolvedAddress =>
      type === "A" ? { _tag: "A", address: a as Ipv4Address, ttl } : { _tag: "AAAA", address: (a as Uint8Array).slice(), ttl }
    ),
    fromCache
  }
}

const rcodeDetail = (rcode: number): string => {
  switch (rcode) {
    case Rcode.FormErr:
      return "formerr"
    case Rcode.ServFail:
      return "servfail"
    case Rcode.NotImp:
      return "notimp"
    case Rcode.Refused:
      return "refused"
    default:
      return `rcode_${rcode}`
  }
}
