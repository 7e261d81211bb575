/**
 * The DHCP client state machine (RFC 2131 §4.4) with time passed by hand:
 * DORA on dnsmasq's captured replies, backoff of lost OFFERs and ACKs within
 * the jitter bounds, NAK, renew at T1 (unicast), rebind at T2 (broadcast),
 * expiry, decline after a conflicting ARP probe (RFC 5227), INIT-REBOOT,
 * release, and transactions of others ignored.
 */
import * as fc from "effect/FastCheck"
import { describe, expect, it } from "vitest"
import { IPV4_BROADCAST } from "../../../src/protocols/address.js"
import {
  type DhcpAction,
  DhcpClient,
  type DhcpClientOptions,
  type DhcpLease
} from "../../../src/protocols/dhcp/client.js"
import * as Message from "../../../src/protocols/dhcp/message.js"
import { ADDRESS_CLIENT, fromHex, MAC_CLIENT, message, ok, SERVER, toHex, XID } from "./frames.js"

const MessageType = Message.MessageType
const DNS2 = 0x0a510002
const OTHER_SERVER = 0x0a510002
const S = 1000

/** Randomness replaying `values`, then 0.5 (zero jitter). */
const scripted = (...values: ReadonlyArray<number>): (() => number) => {
  let i = 0
  return () => (i < values.length ? values[i++]! : 0.5)
}
/** The `random()` value that makes the client draw `xid`. */
const forXid = (xid: number): number => xid / 2 ** 32

/** A small deterministic PRNG (mulberry32) for the jitter tests. */
const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** The options of the hand-built client of the capture. */
const CAPTURED_CLIENT = {
  mac: MAC_CLIENT,
  hostName: "isla-test",
  parameterRequestList: [1, 3, 6, 12, 15, 28, 51, 54, 58, 59],
  maxMessageSize: 1500
} as const

const client = (random: () => number, more: Partial<DhcpClientOptions> = {}): DhcpClient =>
  new DhcpClient({ ...CAPTURED_CLIENT, random, ...more })

type Send = Extract<DhcpAction, { _tag: "Send" }>

/** The single Send among `actions`, its bytes parsed. */
const sent = (actions: ReadonlyArray<DhcpAction>): Send & { readonly parsed: Message.Repr } => {
  const sends = actions.filter((a): a is Send => a._tag === "Send")
  expect(sends).toHaveLength(1)
  const s = sends[0]!
  const parsed = ok(Message.parse(s.bytes))
  return { ...s, parsed }
}
const tags = (actions: ReadonlyArray<DhcpAction>) => actions.map((a) => a._tag)
/** What a parsed message says, less the fields the comparison should not see. */
const except = (r: Message.Repr, ...keys: ReadonlyArray<keyof Message.Repr>) => {
  const out: Record<string, unknown> = { ...r }
  for (const k of keys) delete out[k]
  return out
}

/** A server reply to `c`'s current transaction. */
const reply = (c: DhcpClient, type: number, fields: Partial<Message.Repr> = {}): Message.Repr => ({
  op: Message.Op.BootReply,
  htype: 1,
  hops: 0,
  xid: c.xid,
  secs: 0,
  broadcast: false,
  ciaddr: 0,
  yiaddr: type === MessageType.Nak ? 0 : ADDRESS_CLIENT,
  siaddr: SERVER,
  giaddr: 0,
  chaddr: MAC_CLIENT,
  messageType: type,
  serverIdentifier: SERVER,
  ...(type === MessageType.Offer || type === MessageType.Ack
    ? { leaseTime: 600, subnetMask: 0xffffff00, router: [SERVER], dnsServers: [SERVER, DNS2] }
    : {}),
  ...fields
})

const captured = (name: Parameters<typeof message>[0]) => ok(Message.parse(message(name)))

const LEASE: DhcpLease = {
  address: ADDRESS_CLIENT,
  prefixLength: 24,
  subnetMask: 0xffffff00,
  router: SERVER,
  dns: [SERVER, DNS2],
  leaseSeconds: 600,
  t1: 300,
  t2: 525,
  server: SERVER,
  obtainedAt: 100
}

/** A client BOUND to dnsmasq's captured lease at 10.81.0.70, the REQUEST first sent at 100 ms, probe done at 1.2 s. */
const bound = (random: () => number = scripted(forXid(XID.select)), more: Partial<DhcpClientOptions> = {}) => {
  const c = client(random, more)
  c.start(0)
  c.onMessage(captured("select_offer"), 100)
  c.onMessage(captured("select_ack"), 200)
  expect(tags(c.onProbeResult(false, 1200))).toEqual(["Bound"])
  return c
}

describe("DhcpClient DORA", () => {
  it("DISCOVER → dnsmasq's OFFER → REQUEST → dnsmasq's ACK → probe → Bound", () => {
    const c = client(scripted(forXid(XID.select)))
    expect(c.state).toBe("STOPPED")
    expect(c.pollAt()).toBe(Infinity)

    const discover = sent(c.start(0))
    expect(c.state).toBe("SELECTING")
    expect([discover.source, discover.destination]).toEqual([0, IPV4_BROADCAST])
    // Byte for byte the DISCOVER that dnsmasq answered in the capture.
    expect(toHex(discover.bytes)).toBe(toHex(message("select_discover")))
    expect(c.pollAt()).toBe(4 * S)

    const request = sent(c.onMessage(captured("select_offer"), 100))
    expect(c.state).toBe("REQUESTING")
    expect([request.source, request.destination]).toEqual([0, IPV4_BROADCAST])
    // RFC 2131 §4.3.2 SELECTING: requested address and server id, ciaddr zero, same xid.
    expect(request.parsed).toMatchObject({
      xid: XID.select,
      ciaddr: 0,
      requestedAddress: ADDRESS_CLIENT,
      serverIdentifier: SERVER,
      broadcast: true
    })
    expect(except(request.parsed, "optionOrder", "maxMessageSize")).toEqual(
      except(captured("select_request"), "optionOrder")
    )
    expect(c.pollAt()).toBe(100 + 4 * S)

    expect(c.onMessage(captured("select_ack"), 200)).toEqual([{ _tag: "ProbeAddress", address: ADDRESS_CLIENT }])
    expect(c.state).toBe("PROBING")
    expect(c.lease).toBeUndefined()
    expect(c.pollAt()).toBe(Infinity)

    expect(c.onProbeResult(false, 1200)).toEqual([{ _tag: "Bound", lease: LEASE }])
    expect(c.state).toBe("BOUND")
    expect(c.lease).toEqual(LEASE)
    expect(c.leaseExpiresAt).toBe(100 + 600 * S)
    // T1 runs from the time the REQUEST was sent (RFC 2131 §4.4.1).
    expect(c.pollAt()).toBe(100 + 300 * S)
    expect(c.counters).toMatchObject({ discovers: 1, requests: 1, offers: 1, acks: 1, ignored: 0, retransmissions: 0 })
  })

  it("udhcpc-style options: client identifier defaults to type 1 and the MAC; requested lease time is sent", () => {
    const c = new DhcpClient({ mac: MAC_CLIENT, random: scripted(), requestedLeaseSeconds: 3600 })
    const d = sent(c.start(0)).parsed
    expect(d.clientIdentifier).toEqual(fromHex("01020000510003"))
    expect(d.leaseTime).toBe(3600)
    expect(d.hostName).toBeUndefined()
    expect(d.parameterRequestList).toEqual([1, 3, 6, 12, 28, 51, 54, 58, 59])
    expect(d.maxMessageSize).toBe(1500)
  })

  it("without the broadcast flag option, DISCOVER and REQUEST leave the bit clear", () => {
    const c = client(scripted(), { broadcastFlag: false })
    expect(sent(c.start(0)).parsed.broadcast).toBe(false)
    expect(sent(c.onMessage(reply(c, MessageType.Offer), 10)).parsed.broadcast).toBe(false)
  })

  it("the first acceptable offer wins; later offers and offers without server id or address are ignored", () => {
    const c = client(scripted())
    c.start(0)
    const { serverIdentifier: _, ...noServer } = reply(c, MessageType.Offer)
    expect(c.onMessage(noServer, 6)).toEqual([])
    expect(c.onMessage(reply(c, MessageType.Offer, { yiaddr: 0 }), 7)).toEqual([])
    expect(c.state).toBe("SELECTING")
    expect(sent(c.onMessage(reply(c, MessageType.Offer), 10)).parsed.requestedAddress).toBe(ADDRESS_CLIENT)
    expect(c.onMessage(reply(c, MessageType.Offer, { yiaddr: ADDRESS_CLIENT + 1, serverIdentifier: OTHER_SERVER }), 20))
      .toEqual([])
    expect(c.counters.offers).toBe(1)
    expect(c.counters.ignored).toBe(3)
  })

  it("replies of other transactions or other clients, and requests, are ignored", () => {
    const c = client(scripted())
    c.start(0)
    expect(c.onMessage({ ...reply(c, MessageType.Offer), xid: (c.xid + 1) >>> 0 }, 1)).toEqual([])
    expect(c.onMessage({ ...reply(c, MessageType.Offer), chaddr: fromHex("020000510099") }, 2)).toEqual([])
    expect(c.onMessage({ ...reply(c, MessageType.Offer), op: Message.Op.BootRequest }, 3)).toEqual([])
    // udhcpc's OFFER of the capture: another client and transaction.
    expect(c.onMessage(captured("udhcpc_offer"), 4)).toEqual([])
    expect(c.onMessage(reply(c, MessageType.Ack), 5)).toEqual([]) // an ACK while selecting
    expect(c.state).toBe("SELECTING")
    expect(c.counters.ignored).toBe(5)
  })

  it("an ACK from another server than the selected one, or without a lease time, is ignored", () => {
    const c = client(scripted())
    c.start(0)
    c.onMessage(reply(c, MessageType.Offer), 10)
    expect(c.onMessage(reply(c, MessageType.Ack, { serverIdentifier: OTHER_SERVER }), 20)).toEqual([])
    const { leaseTime: _, ...noLease } = reply(c, MessageType.Ack)
    expect(c.onMessage(noLease, 21)).toEqual([])
    expect(c.state).toBe("REQUESTING")
  })

  it("T1 and T2 default to 0.5 and 0.875 of the lease; no mask means the address class", () => {
    const c = client(scripted())
    c.start(0)
    c.onMessage(reply(c, MessageType.Offer), 0)
    const { subnetMask: _, router: __, ...ack } = reply(c, MessageType.Ack, { leaseTime: 1000, dnsServers: [DNS2] })
    c.onMessage(ack, 50)
    const [bound] = c.onProbeResult(false, 60)
    expect(bound).toEqual({
      _tag: "Bound",
      lease: { address: ADDRESS_CLIENT, prefixLength: 8, subnetMask: 0xff000000, dns: [DNS2], leaseSeconds: 1000, t1: 500, t2: 875, server: SERVER, obtainedAt: 0 }
    })
  })

  it("an infinite lease has no timers", () => {
    const c = client(scripted())
    c.start(0)
    c.onMessage(reply(c, MessageType.Offer), 0)
    c.onMessage(reply(c, MessageType.Ack, { leaseTime: Message.INFINITE_LEASE }), 0)
    c.onProbeResult(false, 0)
    expect(c.state).toBe("BOUND")
    expect(c.pollAt()).toBe(Infinity)
    expect(c.leaseExpiresAt).toBe(Infinity)
    expect(c.onTimer(1e15)).toEqual([])
  })
})

describe("DhcpClient retransmission (RFC 2131 §4.1)", () => {
  const nominal = [4, 8, 16, 32, 64, 64, 64].map((s) => s * S)

  it.each([1, 2, 3, 4, 5])("lost OFFERs: DISCOVER again after 4, 8, 16, 32, 64, 64 s ±1 s (seed %d)", (seed) => {
    const c = client(seeded(seed))
    let now = 0
    const first = sent(c.start(now)).parsed
    const waits: Array<number> = []
    for (const wait of nominal) {
      const at = c.pollAt()
      waits.push(at - now)
      expect(at - now).toBeGreaterThanOrEqual(wait - S)
      expect(at - now).toBeLessThanOrEqual(wait + S)
      expect(c.onTimer(at - 1)).toEqual([])
      now = at
      const again = sent(c.onTimer(now)).parsed
      expect(again.messageType).toBe(MessageType.Discover)
      expect(again.xid).toBe(first.xid)
      expect(again.secs).toBe(Math.floor(now / S))
    }
    expect(c.counters).toMatchObject({ discovers: 8, retransmissions: 7 })
    // Jitter is applied: not every wait is the nominal one.
    expect(waits).not.toEqual(nominal)
    expect(c.state).toBe("SELECTING")
  })

  it("jitter bounds hold at the extremes of random()", () => {
    for (const r of [0, 0.999999]) {
      const c = client(scripted(0.25, r, r, r))
      c.start(0)
      const at = c.pollAt()
      expect(at).toBe(r === 0 ? 3 * S : Math.round(4 * S + (r * 2 - 1) * S))
      c.onTimer(at)
      expect(c.pollAt() - at).toBe(r === 0 ? 7 * S : Math.round(8 * S + (r * 2 - 1) * S))
    }
  })

  it.each([7, 8, 9])("lost ACKs: REQUEST again after 4, 8, 16, 32 s ±1 s, then INIT after the 64 s wait (seed %d)", (seed) => {
    const c = client(seeded(seed))
    c.start(0)
    const offer = reply(c, MessageType.Offer)
    const oldXid = c.xid
    let now = 500
    sent(c.onMessage(offer, now))
    for (const wait of [4, 8, 16, 32].map((s) => s * S)) {
      const at = c.pollAt()
      expect(at - now).toBeGreaterThanOrEqual(wait - S)
      expect(at - now).toBeLessThanOrEqual(wait + S)
      now = at
      const again = sent(c.onTimer(now)).parsed
      expect(again).toMatchObject({
        messageType: MessageType.Request,
        xid: oldXid,
        requestedAddress: ADDRESS_CLIENT,
        serverIdentifier: SERVER
      })
    }
    const giveUp = c.pollAt()
    expect(giveUp - now).toBeGreaterThanOrEqual(63 * S)
    expect(giveUp - now).toBeLessThanOrEqual(65 * S)
    const discover = sent(c.onTimer(giveUp)).parsed
    expect(c.state).toBe("SELECTING")
    expect(discover.messageType).toBe(MessageType.Discover)
    expect(discover.xid).not.toBe(oldXid)
    expect(c.counters).toMatchObject({ requests: 5, retransmissions: 4, discovers: 2 })
    // The ACK that comes too late belongs to the old transaction.
    expect(c.onMessage({ ...reply(c, MessageType.Ack), xid: oldXid }, giveUp + 1)).toEqual([])
  })

  it("a lost ACK retransmitted, then answered: the lease runs from the first REQUEST", () => {
    const c = client(scripted())
    c.start(0)
    c.onMessage(reply(c, MessageType.Offer), 1000)
    sent(c.onTimer(5000))
    c.onMessage(reply(c, MessageType.Ack), 5100)
    const [b] = c.onProbeResult(false, 6000)
    expect(b).toMatchObject({ _tag: "Bound", lease: { obtainedAt: 1000 } })
    expect(c.pollAt()).toBe(1000 + 300 * S)
  })

  it("timings are configurable: 1 s doubling to 4 s, no jitter (as `isla dhcp` may use)", () => {
    const c = client(seeded(3), { timing: { initialRetransmitMillis: S, maxRetransmitMillis: 4 * S, jitterMillis: 0 } })
    let now = 0
    c.start(now)
    const waits: Array<number> = []
    for (let k = 0; k < 5; k++) {
      const at = c.pollAt()
      waits.push(at - now)
      now = at
      c.onTimer(now)
    }
    expect(waits).toEqual([1, 2, 4, 4, 4].map((s) => s * S))
  })

  it("an INIT delay defers the first DISCOVER by a random wait below it", () => {
    const c = client(scripted(0.5), { timing: { initDelayMillis: 10 * S } })
    expect(c.start(0)).toEqual([])
    expect(c.state).toBe("INIT")
    expect(c.pollAt()).toBe(5 * S)
    expect(sent(c.onTimer(5 * S)).parsed.messageType).toBe(MessageType.Discover)
  })
})

describe("DhcpClient NAK", () => {
  it("NAK in REQUESTING → INIT, DISCOVER with a new xid after the NAK delay", () => {
    const c = client(scripted(0.1, 0.5, 0.5, 0.2))
    c.start(0)
    c.onMessage(reply(c, MessageType.Offer), 100)
    const oldXid = c.xid
    // A NAK naming another server is not ours to obey (RFC 2131 §4.4.1).
    expect(c.onMessage(reply(c, MessageType.Nak, { serverIdentifier: OTHER_SERVER }), 150)).toEqual([])
    expect(c.onMessage(reply(c, MessageType.Nak, { message: "wrong network" }), 200)).toEqual([])
    expect(c.state).toBe("INIT")
    expect(c.pollAt()).toBe(1200)
    const d = sent(c.onTimer(1200)).parsed
    expect(d.messageType).toBe(MessageType.Discover)
    expect(d.xid).not.toBe(oldXid)
    expect(d.requestedAddress).toBeUndefined()
    expect(c.counters.naks).toBe(1)
  })

  it("the NAK delay is configurable (zero: DISCOVER at once)", () => {
    const c = client(scripted(), { timing: { nakDelayMillis: 0 } })
    c.start(0)
    c.onMessage(reply(c, MessageType.Offer), 100)
    expect(sent(c.onMessage(reply(c, MessageType.Nak), 200)).parsed.messageType).toBe(MessageType.Discover)
  })
})

describe("DhcpClient renew, rebind, expiry (RFC 2131 §4.4.5)", () => {
  const T1 = 100 + 300 * S
  const T2 = 100 + 525 * S
  const END = 100 + 600 * S

  it("at T1: REQUEST unicast to the server from the leased address, ciaddr only; dnsmasq's ACK → Renewed", () => {
    const c = bound(scripted(forXid(XID.select), 0.5, 0.5, forXid(XID.renew)))
    expect(c.onTimer(T1 - 1)).toEqual([])
    const renew = sent(c.onTimer(T1))
    expect(c.state).toBe("RENEWING")
    expect([renew.source, renew.destination]).toEqual([ADDRESS_CLIENT, SERVER])
    expect(renew.parsed).toMatchObject({ xid: XID.renew, ciaddr: ADDRESS_CLIENT, broadcast: false })
    expect(renew.parsed.requestedAddress).toBeUndefined()
    expect(renew.parsed.serverIdentifier).toBeUndefined()
    expect(except(renew.parsed, "optionOrder", "maxMessageSize")).toEqual(except(captured("renew_request"), "optionOrder"))
    // Half the time left to T2 (112.5 s), at least 60 s.
    expect(c.pollAt()).toBe(T1 + 112_500)

    const renewed = c.onMessage(captured("renew_ack"), T1 + 50)
    expect(renewed).toEqual([
      { _tag: "Renewed", lease: { ...LEASE, t1: 279, t2: 504, obtainedAt: T1 } }
    ])
    expect(c.state).toBe("BOUND")
    expect(c.pollAt()).toBe(T1 + 279 * S)
    expect(c.leaseExpiresAt).toBe(T1 + 600 * S)
    expect(c.counters.renewals).toBe(1)
  })

  it("RENEWING retransmits at half the time to T2 (min 60 s), then REBINDING broadcasts at T2, then Expired at the end", () => {
    const c = bound()
    const first = sent(c.onTimer(T1))
    let now = c.pollAt()
    expect(now).toBe(T1 + 112_500)
    const again = sent(c.onTimer(now))
    expect(again.destination).toBe(SERVER)
    expect(again.parsed.xid).toBe(first.parsed.xid)
    expect(again.parsed.secs).toBe(112)
    // (T2 − now)/2 = 56.25 s < 60 s: wait 60 s.
    now = c.pollAt()
    expect(now).toBe(T1 + 172_500)
    expect(sent(c.onTimer(now)).destination).toBe(SERVER)
    // 60 s more would pass T2: the next step is T2 itself.
    expect(c.pollAt()).toBe(T2)

    const rebind = sent(c.onTimer(T2))
    expect(c.state).toBe("REBINDING")
    expect([rebind.source, rebind.destination]).toEqual([ADDRESS_CLIENT, IPV4_BROADCAST])
    expect(rebind.parsed).toMatchObject({ ciaddr: ADDRESS_CLIENT, broadcast: false })
    expect(rebind.parsed.serverIdentifier).toBeUndefined()
    expect(rebind.parsed.requestedAddress).toBeUndefined()
    // (END − T2)/2 = 37.5 s < 60 s.
    now = c.pollAt()
    expect(now).toBe(T2 + 60 * S)
    expect(sent(c.onTimer(now)).destination).toBe(IPV4_BROADCAST)
    expect(c.pollAt()).toBe(END)

    const lost = c.onTimer(END)
    expect(tags(lost)).toEqual(["Expired", "Send"])
    expect(lost[0]).toEqual({ _tag: "Expired", lease: LEASE })
    const discover = sent(lost).parsed
    expect(discover.messageType).toBe(MessageType.Discover)
    // RFC 2131 §4.4.1: the client may ask for its last address again.
    expect(discover.requestedAddress).toBe(ADDRESS_CLIENT)
    expect(c.state).toBe("SELECTING")
    expect(c.lease).toBeUndefined()
    expect(c.counters.expirations).toBe(1)
  })

  it("a REBINDING ACK from any server renews; the lease follows its server id", () => {
    const c = bound(scripted(forXid(XID.select), 0.5, 0.5, 0.3, forXid(XID.rebind)))
    c.onTimer(T1)
    const rebind = sent(c.onTimer(T2))
    expect(rebind.parsed.xid).toBe(XID.rebind)
    expect(except(rebind.parsed, "optionOrder", "maxMessageSize")).toEqual(except(captured("rebind_request"), "optionOrder"))
    expect(c.onMessage(captured("rebind_ack"), T2 + 10)).toEqual([
      { _tag: "Renewed", lease: { ...LEASE, t1: 266, t2: 491, obtainedAt: T2 } }
    ])
    c.onTimer(T2 + 266 * S)
    expect(c.state).toBe("RENEWING")
    c.onTimer(T2 + 491 * S)
    expect(c.state).toBe("REBINDING")
    const moved = c.onMessage(reply(c, MessageType.Ack, { serverIdentifier: OTHER_SERVER }), T2 + 492 * S)
    expect(moved).toEqual([
      { _tag: "Renewed", lease: { ...LEASE, server: OTHER_SERVER, obtainedAt: T2 + 491 * S } }
    ])
    const renew = sent(c.onTimer(T2 + 491 * S + 300 * S))
    expect(renew.destination).toBe(OTHER_SERVER)
  })

  it("in RENEWING, an ACK from another server is ignored (it was unicast to ours)", () => {
    const c = bound()
    c.onTimer(T1)
    expect(c.onMessage(reply(c, MessageType.Ack, { serverIdentifier: OTHER_SERVER }), T1 + 1)).toEqual([])
    expect(c.state).toBe("RENEWING")
  })

  it("NAK while RENEWING: Expired (remove the address), INIT, DISCOVER after the NAK delay", () => {
    const c = bound()
    c.onTimer(T1)
    const actions = c.onMessage(reply(c, MessageType.Nak), T1 + 10)
    expect(actions).toEqual([{ _tag: "Expired", lease: LEASE }])
    expect(c.state).toBe("INIT")
    expect(c.lease).toBeUndefined()
    const d = sent(c.onTimer(T1 + 10 + S)).parsed
    expect(d.messageType).toBe(MessageType.Discover)
    expect(d.requestedAddress).toBeUndefined()
  })

  it("a timer that fires late goes straight to the furthest step", () => {
    const c = bound()
    expect(sent(c.onTimer(T2 + 5)).destination).toBe(IPV4_BROADCAST)
    expect(c.state).toBe("REBINDING")
    const c2 = bound()
    expect(tags(c2.onTimer(END + 5))).toEqual(["Expired", "Send"])
  })

  it("an ACK renewing to another address: the old lease is Expired and the new one probed", () => {
    const c = bound()
    c.onTimer(T1)
    const other = ADDRESS_CLIENT + 1
    expect(c.onMessage(reply(c, MessageType.Ack, { yiaddr: other }), T1 + 1)).toEqual([
      { _tag: "Expired", lease: LEASE },
      { _tag: "ProbeAddress", address: other }
    ])
    expect(c.onProbeResult(false, T1 + 2)).toEqual([
      { _tag: "Bound", lease: { ...LEASE, address: other, obtainedAt: T1 } }
    ])
  })
})

describe("DhcpClient ARP probe and DECLINE (RFC 5227 §2.1)", () => {
  it("a conflict → DHCPDECLINE broadcast, Declined, INIT; DISCOVER again after 10 s", () => {
    const c = client(scripted(forXid(XID.decline)))
    c.start(0)
    c.onMessage(reply(c, MessageType.Offer), 100)
    expect(c.onMessage(reply(c, MessageType.Ack), 200)).toEqual([{ _tag: "ProbeAddress", address: ADDRESS_CLIENT }])
    const actions = c.onProbeResult(true, 1500)
    expect(tags(actions)).toEqual(["Send", "Declined"])
    expect(actions[1]).toEqual({ _tag: "Declined", address: ADDRESS_CLIENT })
    const decline = sent(actions)
    expect([decline.source, decline.destination]).toEqual([0, IPV4_BROADCAST])
    // Byte for byte the DECLINE that dnsmasq logged in the capture (same xid drawn).
    expect(toHex(decline.bytes)).toBe(toHex(message("decline_decline")))
    expect(c.state).toBe("INIT")
    expect(c.lease).toBeUndefined()
    expect(c.pollAt()).toBe(11_500)
    const d = sent(c.onTimer(11_500)).parsed
    expect(d.messageType).toBe(MessageType.Discover)
    expect(d.requestedAddress).toBeUndefined()
    expect(c.counters.declines).toBe(1)
  })

  it("a probe result outside PROBING is ignored", () => {
    const c = bound()
    expect(c.onProbeResult(true, 5000)).toEqual([])
    expect(c.state).toBe("BOUND")
  })
})

describe("DhcpClient INIT-REBOOT (RFC 2131 §3.2)", () => {
  it("a remembered address: REQUEST with it, no server id, broadcast; dnsmasq's ACK → probe → Bound", () => {
    const c = client(scripted(forXid(XID.reboot)), { rememberedAddress: ADDRESS_CLIENT })
    const request = sent(c.start(0))
    expect(c.state).toBe("REBOOTING")
    expect([request.source, request.destination]).toEqual([0, IPV4_BROADCAST])
    expect(request.parsed).toMatchObject({ ciaddr: 0, requestedAddress: ADDRESS_CLIENT, broadcast: true })
    expect(request.parsed.serverIdentifier).toBeUndefined()
    expect(except(request.parsed, "optionOrder", "maxMessageSize")).toEqual(except(captured("reboot_request"), "optionOrder"))
    expect(c.onMessage(captured("reboot_ack"), 50)).toEqual([{ _tag: "ProbeAddress", address: ADDRESS_CLIENT }])
    expect(c.onProbeResult(false, 1000)).toEqual([{ _tag: "Bound", lease: { ...LEASE, obtainedAt: 0 } }])
  })

  it("dnsmasq's NAK (wrong network) → INIT, then DISCOVER without the refused address", () => {
    const wrong = 0x0a630007 // 10.99.0.7
    const c = client(scripted(forXid(XID.nak)), { rememberedAddress: wrong })
    const request = sent(c.start(0))
    expect(except(request.parsed, "optionOrder", "maxMessageSize")).toEqual(except(captured("nak_request"), "optionOrder"))
    expect(c.onMessage(captured("nak_nak"), 20)).toEqual([])
    expect(c.state).toBe("INIT")
    const d = sent(c.onTimer(1020)).parsed
    expect(d.messageType).toBe(MessageType.Discover)
    expect(d.requestedAddress).toBeUndefined()
  })

  it("no answer: REQUEST retransmitted with backoff, then INIT with a DISCOVER asking for the address", () => {
    const c = client(scripted(), { rememberedAddress: ADDRESS_CLIENT })
    c.start(0)
    const times: Array<number> = []
    for (let k = 0; k < 4; k++) {
      times.push(c.pollAt())
      expect(sent(c.onTimer(c.pollAt())).parsed.requestedAddress).toBe(ADDRESS_CLIENT)
    }
    expect(times).toEqual([4, 12, 28, 60].map((s) => s * S))
    expect(c.pollAt()).toBe(124 * S)
    const d = sent(c.onTimer(124 * S)).parsed
    expect(d.messageType).toBe(MessageType.Discover)
    expect(d.requestedAddress).toBe(ADDRESS_CLIENT)
  })

  it("an ACK without server identifier cannot be renewed and is ignored", () => {
    const c = client(scripted(), { rememberedAddress: ADDRESS_CLIENT })
    c.start(0)
    const { serverIdentifier: _, ...ack } = reply(c, MessageType.Ack)
    expect(c.onMessage(ack, 10)).toEqual([])
    expect(c.state).toBe("REBOOTING")
  })
})

describe("DhcpClient release (RFC 2131 §4.4.6)", () => {
  it("BOUND: DHCPRELEASE unicast to the server from the address, then STOPPED", () => {
    const c = bound(scripted(forXid(XID.select), 0.5, 0.5, forXid(XID.release)))
    const actions = c.release(5000)
    expect(tags(actions)).toEqual(["Send", "Released"])
    expect(actions[1]).toEqual({ _tag: "Released", lease: LEASE })
    const release = sent(actions)
    expect([release.source, release.destination]).toEqual([ADDRESS_CLIENT, SERVER])
    // Byte for byte the RELEASE of the capture.
    expect(toHex(release.bytes)).toBe(toHex(message("release_release")))
    expect(c.state).toBe("STOPPED")
    expect(c.lease).toBeUndefined()
    expect(c.pollAt()).toBe(Infinity)
    expect(c.onTimer(1e12)).toEqual([])
    expect(c.counters.releases).toBe(1)
  })

  it("RENEWING and REBINDING release too; before a lease there is nothing to release", () => {
    const renewing = bound()
    renewing.onTimer(100 + 300 * S)
    expect(tags(renewing.release(100 + 301 * S))).toEqual(["Send", "Released"])
    const selecting = client(scripted())
    selecting.start(0)
    expect(selecting.release(10)).toEqual([])
    expect(selecting.state).toBe("STOPPED")
    expect(selecting.pollAt()).toBe(Infinity)
  })

  it("PROBING: the ACKed lease is given back too", () => {
    const c = client(scripted())
    c.start(0)
    c.onMessage(reply(c, MessageType.Offer), 100)
    c.onMessage(reply(c, MessageType.Ack), 200)
    const actions = c.release(300)
    expect(tags(actions)).toEqual(["Send", "Released"])
    expect(sent(actions).parsed).toMatchObject({ messageType: MessageType.Release, ciaddr: ADDRESS_CLIENT, serverIdentifier: SERVER })
    expect(c.onProbeResult(false, 400)).toEqual([])
  })

  it("start after release acquires again from INIT", () => {
    const c = bound()
    c.release(5000)
    const d = sent(c.start(6000)).parsed
    expect(d.messageType).toBe(MessageType.Discover)
    expect(d.requestedAddress).toBe(ADDRESS_CLIENT)
    expect(c.start(7000)).toEqual([]) // already started
  })
})

describe("DhcpClient properties", () => {
  type Event =
    | { readonly kind: "offer" | "ack" | "nak" | "stale"; readonly dt: number }
    | { readonly kind: "timer"; readonly dt: number }
    | { readonly kind: "probe"; readonly conflict: boolean; readonly dt: number }
    | { readonly kind: "release"; readonly dt: number }
  const event: fc.Arbitrary<Event> = fc.oneof(
    fc.record({ kind: fc.constantFrom("offer" as const, "ack" as const, "nak" as const, "stale" as const), dt: fc.nat(2000) }),
    fc.record({ kind: fc.constant("timer" as const), dt: fc.nat(400_000) }),
    fc.record({ kind: fc.constant("probe" as const), conflict: fc.boolean(), dt: fc.nat(2000) }),
    fc.record({ kind: fc.constant("release" as const), dt: fc.nat(1000) })
  )

  it("any sequence of events: no throw, sane deadlines, lease present exactly while BOUND/RENEWING/REBINDING", () => {
    fc.assert(
      fc.property(fc.integer(), fc.boolean(), fc.array(event, { maxLength: 60 }), (seed, reboot, events) => {
        const c = client(seeded(seed), reboot ? { rememberedAddress: ADDRESS_CLIENT } : {})
        let now = 0
        c.start(now)
        for (const e of events) {
          now += e.dt
          let actions: ReadonlyArray<DhcpAction>
          switch (e.kind) {
            case "offer":
              actions = c.onMessage(reply(c, MessageType.Offer, { leaseTime: 120 }), now)
              break
            case "ack":
              actions = c.onMessage(reply(c, MessageType.Ack, { leaseTime: 120 }), now)
              break
            case "nak":
              actions = c.onMessage(reply(c, MessageType.Nak), now)
              break
            case "stale":
              actions = c.onMessage({ ...reply(c, MessageType.Ack), xid: (c.xid ^ 1) >>> 0 }, now)
              expect(actions).toEqual([])
              break
            case "timer":
              actions = c.onTimer(now)
              // After its timer, the next deadline is in the future (or none).
              expect(c.pollAt()).toBeGreaterThan(now)
              break
            case "probe":
              actions = c.onProbeResult(e.conflict, now)
              break
            case "release":
              actions = c.release(now)
          }
          for (const a of actions) {
            if (a._tag === "Send") expect(isMalformedFree(a.bytes)).toBe(true)
          }
          const holding = c.state === "BOUND" || c.state === "RENEWING" || c.state === "REBINDING"
          expect(c.lease !== undefined).toBe(holding)
          // Every state but these has a timer pending.
          if (c.state !== "STOPPED" && c.state !== "PROBING") expect(Number.isFinite(c.pollAt())).toBe(true)
          if (c.state === "STOPPED") c.start(now)
        }
      }),
      { numRuns: 300 }
    )
  })
})

/** True when `bytes` parse as a DHCP BOOTREQUEST. */
const isMalformedFree = (bytes: Uint8Array): boolean => {
  const r = Message.parse(bytes)
  return !("_tag" in r) && r.op === Message.Op.BootRequest
}
