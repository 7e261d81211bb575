/**
 * The TCP connection state machine, two instances wired back to back by a
 * tiny in-test "wire" that turns each sent segment into the peer's input
 * (payload copied from the sender's buffer), with time advanced by hand to
 * the next timer. Loss, reordering and silence are the wire's choice.
 */
import { describe, expect, it } from "vitest"
import {
  defaultConfig,
  makeSegmentIn,
  TcpConnection,
  type ConnectionConfig,
  type SegmentIn,
  type SegmentOut
} from "../../../src/protocols/tcp/connection.js"
import { Flags } from "../../../src/protocols/tcp/segment.js"

interface Sent {
  readonly seq: number
  readonly ack: number
  readonly flags: number
  readonly window: number
  readonly data: Uint8Array
  readonly options: SegmentIn["options"]
}

const copyOut = (from: TcpConnection, s: SegmentOut): Sent => {
  const data = new Uint8Array(s.dataLength)
  from.sendBuffer.peek(s.dataOffset, data, 0, s.dataLength)
  const o = s.options
  return {
    seq: s.seq,
    ack: s.ack,
    flags: s.flags,
    window: s.window,
    data,
    options: {
      mss: o.mss,
      windowScale: o.windowScale,
      sackPermitted: o.sackPermitted,
      timestamp: o.timestamp,
      tsVal: o.tsVal,
      tsEcr: o.tsEcr,
      sackCount: o.sackCount,
      sackBlocks: o.sackBlocks.map((b) => ({ ...b }))
    }
  }
}

const toIn = (s: Sent): SegmentIn => {
  const seg = makeSegmentIn()
  seg.seq = s.seq
  seg.ack = s.ack
  seg.flags = s.flags
  seg.window = s.window
  seg.payload = s.data
  seg.payloadOffset = 0
  seg.payloadLength = s.data.length
  const { sackBlocks: _blocks, ...scalars } = s.options
  Object.assign(seg.options, scalars)
  for (let i = 0; i < 4; i++) Object.assign(seg.options.sackBlocks[i]!, s.options.sackBlocks[i])
  return seg
}

/** Two connections and a clock; `drop(seg, dir)` decides losses. */
class Pair {
  now = 1000
  readonly log: Array<{ dir: "ab" | "ba"; seg: Sent }> = []
  drop: (seg: Sent, dir: "ab" | "ba") => boolean = () => false
  constructor(readonly a: TcpConnection, readonly b: TcpConnection) {}

  /**
   * Moves segments both ways until neither side has anything to send. Each
   * segment is handed over alone and the receiver answers at once, as the
   * stack does per segment (so duplicate ACKs are not coalesced).
   */
  exchange(maxSteps = 1_000_000): void {
    const queue: Array<{ dir: "ab" | "ba"; seg: Sent }> = []
    const pull = () => {
      for (const s of this.collect(this.a)) queue.push({ dir: "ab", seg: s })
      for (const s of this.collect(this.b)) queue.push({ dir: "ba", seg: s })
    }
    pull()
    for (let step = 0; step < maxSteps; step++) {
      const next = queue.shift()
      if (next === undefined) {
        pull()
        if (queue.length === 0) return
        continue
      }
      this.log.push(next)
      if (this.drop(next.seg, next.dir)) continue
      const to = next.dir === "ab" ? this.b : this.a
      to.input(toIn(next.seg), this.now)
      for (const s of this.collect(to)) queue.push({ dir: next.dir === "ab" ? "ba" : "ab", seg: s })
    }
    throw new Error("the connections never went quiet")
  }

  private collect(c: TcpConnection): Array<Sent> {
    const out: Array<Sent> = []
    c.dispatch(this.now, (s) => out.push(copyOut(c, s)))
    return out
  }

  /** Advances to the next timer of either side and runs it; false when none. */
  tick(limitMillis = 10 * 60_000): boolean {
    const next = Math.min(this.a.pollAt(), this.b.pollAt())
    if (!Number.isFinite(next) || next - this.now > limitMillis) return false
    this.now = Math.max(this.now, next)
    this.a.onTimer(this.now)
    this.b.onTimer(this.now)
    this.exchange()
    return true
  }
}

const config = (over: Partial<ConnectionConfig> = {}): ConnectionConfig => ({ ...defaultConfig, ...over })

const open = (ca: Partial<ConnectionConfig> = {}, cb: Partial<ConnectionConfig> = {}, issA = 1_000_000, issB = 0xfffffff0) => {
  const a = new TcpConnection(config(ca), issA, 1000, 5)
  const b = new TcpConnection(config(cb), issB, 1000, 77)
  const p = new Pair(a, b)
  a.connect(p.now)
  // The listener side: b takes a's SYN.
  const syn = (() => {
    const out: Array<Sent> = []
    a.dispatch(p.now, (s) => out.push(copyOut(a, s)))
    return out
  })()
  expect(syn).toHaveLength(1)
  expect(syn[0]!.flags).toBe(Flags.SYN)
  p.log.push({ dir: "ab", seg: syn[0]! })
  b.passive = true
  b.acceptSyn(toIn(syn[0]!), p.now)
  p.exchange()
  return p
}

/** Byte-identical check without vitest's slow deep equality on large arrays. */
const expectSameBytes = (got: Uint8Array, want: Uint8Array) => {
  expect(got.length).toBe(want.length)
  const at = got.findIndex((b, i) => b !== want[i])
  expect(at, `first difference at byte ${at}`).toBe(-1)
}

const pattern = (n: number, seed = 1) => {
  const d = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    d[i] = x >>> 24
  }
  return d
}

/** Sends `data` from `from` to `to` (which reads everything), ticking timers as needed. */
const transfer = (p: Pair, from: TcpConnection, to: TcpConnection, data: Uint8Array, maxTicks = 10_000) => {
  const got = new Uint8Array(data.length)
  let sent = 0
  let received = 0
  for (let i = 0; i < maxTicks && received < data.length; i++) {
    sent += from.send(data, sent, data.length - sent)
    p.exchange()
    received += to.recv(got, received, got.length - received)
    p.exchange()
    if (received < data.length && sent === data.length || from.writable === 0) {
      const before = received
      p.exchange()
      received += to.recv(got, received, got.length - received)
      if (received === before) p.tick()
    }
  }
  return got.subarray(0, received)
}

describe("TCP connection: handshake", () => {
  it("three-way handshake negotiates MSS, window scale, SACK and timestamps", () => {
    const p = open()
    expect(p.a.state).toBe("Established")
    expect(p.b.state).toBe("Established")
    const [syn, synAck] = [p.log[0]!.seg, p.log[1]!.seg]
    expect(syn.options).toMatchObject({ mss: 1460, sackPermitted: true, timestamp: true, windowScale: 3, tsEcr: 0 })
    expect(synAck.flags).toBe(Flags.SYN | Flags.ACK)
    expect(synAck.ack).toBe(1_000_001)
    expect(synAck.options).toMatchObject({ mss: 1460, sackPermitted: true, timestamp: true, windowScale: 3 })
    expect(synAck.options.tsEcr).toBe(syn.options.tsVal)
    expect(p.a.tsEnabled && p.a.sackEnabled && p.a.wsNegotiated).toBe(true)
    // 1460 − 12 bytes of timestamp option.
    expect(p.a.sndMss).toBe(1448)
    expect(p.b.sndUna).toBe((0xfffffff0 + 1) >>> 0)
  })

  it("without options on the peer: MSS 536, no scaling, no SACK, no timestamps", () => {
    const p = open({}, { timestamps: false, sack: false, windowScaling: false })
    expect(p.a.state).toBe("Established")
    const synAck = p.log[1]!.seg
    expect(synAck.options).toMatchObject({ windowScale: -1, sackPermitted: false, timestamp: false })
    expect(p.a.tsEnabled || p.a.sackEnabled || p.a.wsNegotiated).toBe(false)
    expect(p.a.rcvWndShift).toBe(0)
  })

  it("a lost SYN-ACK is retransmitted after the RTO and the handshake completes", () => {
    const a = new TcpConnection(config(), 5, 1000)
    const b = new TcpConnection(config(), 9, 1000)
    const p = new Pair(a, b)
    let dropped = 0
    p.drop = (s, dir) => dir === "ba" && (s.flags & Flags.SYN) !== 0 && dropped++ === 0
    a.connect(p.now)
    const syn: Array<Sent> = []
    a.dispatch(p.now, (s) => syn.push(copyOut(a, s)))
    b.passive = true
    b.acceptSyn(toIn(syn[0]!), p.now)
    p.exchange()
    expect(a.state).toBe("SynSent")
    expect(p.tick()).toBe(true)
    expect(a.state).toBe("Established")
    expect(b.state).toBe("Established")
  })

  it("an RST answering our SYN is ConnectionRefused", () => {
    const a = new TcpConnection(config(), 5, 1000)
    a.connect(1000)
    a.dispatch(1000, () => {})
    const rst = makeSegmentIn()
    rst.flags = Flags.RST | Flags.ACK
    rst.ack = 6
    a.input(rst, 1001)
    expect(a.state).toBe("Closed")
    expect(a.error).toBe("Refused")
  })

  it("a SYN never answered times out after the SYN retries", () => {
    const a = new TcpConnection(config({ maxSynRetransmits: 3 }), 5, 1000)
    a.connect(1000)
    let now = 1000
    let syns = 0
    for (let i = 0; i < 10 && a.state !== "Closed"; i++) {
      a.dispatch(now, (s) => {
        if (s.flags & Flags.SYN) syns++
      })
      now = a.pollAt()
      a.onTimer(now)
    }
    expect(a.error).toBe("TimedOut")
    expect(syns).toBe(4)
    // Backoff: 1 + 2 + 4 + 8 s.
    expect(now - 1000).toBe(15_000)
  })

  it("simultaneous open ends established on both sides", () => {
    const a = new TcpConnection(config(), 100, 1000)
    const b = new TcpConnection(config(), 200, 1000)
    const p = new Pair(a, b)
    a.connect(p.now)
    b.connect(p.now)
    p.exchange()
    expect(a.state).toBe("Established")
    expect(b.state).toBe("Established")
  })
})

describe("TCP connection: receive window", () => {
  it.each([0x00000001, 0x7ffffff0, 0x80000010, 0xc0000000, 0xfffffff0])(
    "never advertises more than the buffer holds, whatever the peer's ISN (%i)",
    (issB) => {
      const p = open({ recvBufferSize: 64 * 1024 }, {}, 1_000_000, issB)
      const acks = p.log.filter((l) => l.dir === "ab" && !(l.seg.flags & Flags.SYN))
      expect(acks.length).toBeGreaterThan(0)
      for (const l of acks) expect(l.seg.window << p.a.rcvWndShift).toBeLessThanOrEqual(64 * 1024)
      // And data still flows into that buffer.
      const data = pattern(200_000, issB)
      expectSameBytes(transfer(p, p.b, p.a, data), data)
    }
  )
})

describe("TCP connection: data", () => {
  it("moves 1 MB each way byte-identical", () => {
    const p = open()
    const ab = pattern(1 << 20, 3)
    expectSameBytes(transfer(p, p.a, p.b, ab), ab)
    const ba = pattern(1 << 20, 4)
    expectSameBytes(transfer(p, p.b, p.a, ba), ba)
    expect(p.a.stats.retransmits + p.b.stats.retransmits).toBe(0)
  })

  it("recovers from 5% loss with fast retransmit and SACK, bytes intact", () => {
    const p = open()
    let n = 0
    p.drop = (s) => s.data.length > 0 && ++n % 20 === 0
    const data = pattern(512 * 1024, 5)
    expectSameBytes(transfer(p, p.a, p.b, data), data)
    expect(p.a.stats.retransmits).toBeGreaterThan(0)
    expect(p.a.stats.fastRetransmits).toBeGreaterThan(0)
    expect(p.b.stats.outOfOrderBytes).toBeGreaterThan(0)
  })

  it("recovers without SACK (NewReno) too", () => {
    const p = open({ sack: false, congestion: "newreno" }, { sack: false, congestion: "newreno" })
    let n = 0
    p.drop = (s) => s.data.length > 0 && ++n % 25 === 0
    const data = pattern(256 * 1024, 6)
    expectSameBytes(transfer(p, p.a, p.b, data), data)
    expect(p.a.stats.fastRetransmits).toBeGreaterThan(0)
  })

  it("sends SACK blocks for out-of-order data", () => {
    const p = open()
    let n = 0
    p.drop = (s, dir) => dir === "ab" && s.data.length > 0 && ++n === 2
    const data = pattern(20 * 1448, 7)
    p.a.send(data, 0, data.length)
    p.exchange()
    const sacks = p.log.filter((l) => l.dir === "ba" && l.seg.options.sackCount > 0)
    expect(sacks.length).toBeGreaterThan(0)
    const first = sacks[0]!.seg
    expect(first.options.sackBlocks[0]!.start).toBe((first.ack + 1448) >>> 0)
  })

  it("a slow reader closes the window; zero-window probes run; reading reopens it", () => {
    const p = open({}, { recvBufferSize: 16 * 1024 })
    const data = pattern(64 * 1024, 8)
    let sent = p.a.send(data, 0, data.length)
    p.exchange()
    // Sender SWS avoidance holds the last small piece until the override timer.
    expect(p.b.readable).toBeGreaterThan(16 * 1024 - 1448)
    // Nobody reads for a while: the rest goes out, then probes with backoff, nothing is lost.
    for (let i = 0; i < 4; i++) p.tick()
    expect(p.b.readable).toBe(16 * 1024)
    expect(p.a.sndWnd).toBe(0)
    expect(p.a.stats.zeroWindowProbes).toBeGreaterThan(0)
    const got = new Uint8Array(data.length)
    let received = 0
    for (let i = 0; i < 1000 && received < data.length; i++) {
      received += p.b.recv(got, received, 4096)
      p.exchange()
      sent += p.a.send(data, sent, data.length - sent)
      p.exchange()
      if (p.b.readable === 0 && received < data.length) p.tick()
    }
    expectSameBytes(got, data)
  })

  it("gives up with TimedOut when the peer vanishes, after backing off", () => {
    const p = open({ maxRetransmits: 5 })
    p.drop = () => true
    const start = p.now
    p.a.send(pattern(1000), 0, 1000)
    p.exchange()
    let ticks = 0
    while (p.a.state !== "Closed" && ticks++ < 50) p.tick()
    expect(p.a.error).toBe("TimedOut")
    expect(p.a.stats.rtoExpiries).toBe(6)
    // 0.2 s min RTO doubling: the total is well above the sum of 6 minimal RTOs.
    expect(p.now - start).toBeGreaterThan(6 * 200)
  })
})

describe("TCP connection: closing", () => {
  it("FIN both ways: TIME-WAIT on the active closer, then CLOSED after 2·MSL", () => {
    const p = open({ timeWaitMillis: 60_000 })
    p.a.close(p.now)
    p.exchange()
    expect(p.a.state).toBe("FinWait2")
    expect(p.b.state).toBe("CloseWait")
    expect(p.b.atEof).toBe(true)
    p.b.close(p.now)
    p.exchange()
    expect(p.b.state).toBe("Closed")
    expect(p.b.error).toBeUndefined()
    expect(p.a.state).toBe("TimeWait")
    // A connection in TIME-WAIT holds no buffer memory.
    expect(p.a.sendBuffer.allocated + p.a.recvBuffer.allocated).toBe(0)
    const at = p.now
    p.tick()
    expect(p.a.state).toBe("Closed")
    expect(p.now - at).toBe(60_000)
  })

  it("half-close: data still flows towards the side that closed", () => {
    const p = open()
    p.a.close(p.now)
    p.exchange()
    const data = pattern(100_000, 9)
    expectSameBytes(transfer(p, p.b, p.a, data), data)
    expect(p.a.state).toBe("FinWait2")
  })

  it("simultaneous close goes through CLOSING to TIME-WAIT on both sides", () => {
    const p = open()
    p.a.close(p.now)
    p.b.close(p.now)
    p.exchange()
    expect(p.a.state).toBe("TimeWait")
    expect(p.b.state).toBe("TimeWait")
  })

  it("queued data goes out before the FIN", () => {
    const p = open()
    const data = pattern(50_000, 10)
    p.a.send(data, 0, data.length)
    p.a.close(p.now)
    p.exchange()
    const got = new Uint8Array(data.length)
    let n = 0
    for (let i = 0; i < 100 && n < data.length; i++) {
      n += p.b.recv(got, n, data.length - n)
      p.exchange()
    }
    expectSameBytes(got, data)
    expect(p.b.atEof).toBe(true)
  })
})

describe("TCP connection: RST handling (RFC 5961)", () => {
  const rstAt = (_p: Pair, seq: number) => {
    const r = makeSegmentIn()
    r.flags = Flags.RST
    r.seq = seq
    return r
  }

  it("an RST at exactly rcv.nxt resets the connection", () => {
    const p = open()
    p.a.input(rstAt(p, p.a.rcvNxt), p.now)
    expect(p.a.state).toBe("Closed")
    expect(p.a.error).toBe("Reset")
  })

  it("an in-window RST that is not exact gets a challenge ACK and changes nothing", () => {
    const p = open()
    p.a.input(rstAt(p, (p.a.rcvNxt + 100) >>> 0), p.now)
    expect(p.a.state).toBe("Established")
    expect(p.a.stats.challengeAcks).toBe(1)
    const out: Array<number> = []
    p.a.dispatch(p.now, (s) => out.push(s.flags))
    expect(out).toEqual([Flags.ACK])
  })

  it("an out-of-window RST is dropped silently", () => {
    const p = open()
    p.a.input(rstAt(p, (p.a.rcvNxt + 10_000_000) >>> 0), p.now)
    expect(p.a.state).toBe("Established")
    expect(p.a.stats.challengeAcks).toBe(0)
  })

  it("a SYN on an established connection gets a challenge ACK", () => {
    const p = open()
    const syn = makeSegmentIn()
    syn.flags = Flags.SYN
    syn.seq = p.a.rcvNxt
    p.a.input(syn, p.now)
    expect(p.a.state).toBe("Established")
    expect(p.a.stats.challengeAcks).toBe(1)
  })

  it("abort sends an RST and closes with Aborted", () => {
    const p = open()
    p.a.abort()
    const out: Array<number> = []
    p.a.dispatch(p.now, (s) => out.push(s.flags))
    expect(out).toEqual([Flags.RST])
    expect(p.a.error).toBe("Aborted")
  })
})

describe("TCP connection: ICMP errors", () => {
  it("fragmentation needed shrinks the segment size and resends in flight data smaller (RFC 1191)", () => {
    const p = open()
    p.drop = () => true
    const data = pattern(20_000, 11)
    p.a.send(data, 0, data.length)
    p.exchange()
    p.drop = () => false
    expect(p.a.onPathMtu(1200, (p.a.sndUna + 5) >>> 0)).toBe(true)
    expect(p.a.sndMss).toBe(1200 - 40 - 12)
    const before = p.log.length
    p.exchange()
    const resent = p.log.slice(before).filter((l) => l.dir === "ab" && l.seg.data.length > 0)
    expect(resent.length).toBeGreaterThan(0)
    expect(Math.max(...resent.map((l) => l.seg.data.length))).toBe(1148)
    const got = new Uint8Array(data.length)
    let n = 0
    for (let i = 0; i < 100 && n < data.length; i++) {
      n += p.b.recv(got, n, data.length - n)
      p.exchange()
      if (n < data.length) p.tick()
    }
    expectSameBytes(got, data)
  })

  it("ignores a fragmentation-needed quoting a sequence number not in flight (RFC 5927)", () => {
    const p = open()
    expect(p.a.onPathMtu(600, (p.a.sndUna + 100_000) >>> 0)).toBe(false)
    expect(p.a.sndMss).toBe(1448)
  })

  it("port unreachable for our SYN fails the connection attempt as refused", () => {
    const a = new TcpConnection(config(), 42, 1000)
    a.connect(1000)
    a.dispatch(1000, () => {})
    a.onUnreachable(42)
    expect(a.state).toBe("Closed")
    expect(a.error).toBe("Refused")
  })
})

describe("TCP connection: keepalive (RFC 9293 §3.8.4)", () => {
  const keepalive = { idleMillis: 10_000, intervalMillis: 1_000, probes: 3 }

  it("probes an idle connection and keeps it while the peer answers", () => {
    const p = open({ keepalive })
    const start = p.now
    const before = p.log.length
    for (let i = 0; i < 20 && p.now - start < 35_000; i++) p.tick()
    const probes = p.log.slice(before).filter((l) =>
      l.dir === "ab" && l.seg.flags === Flags.ACK && l.seg.data.length === 0 && l.seg.seq === ((p.a.sndUna - 1) >>> 0)
    )
    // One probe after each 10 s of idleness, each answered, so never more than one per idle period.
    expect(probes.length).toBeGreaterThanOrEqual(3)
    expect(p.a.state).toBe("Established")
  })

  it("gives up with TimedOut after the probes go unanswered", () => {
    const p = open({ keepalive })
    p.drop = () => true
    for (let i = 0; i < 10 && p.a.state !== "Closed"; i++) p.tick()
    expect(p.a.state).toBe("Closed")
    expect(p.a.error).toBe("TimedOut")
  })
})
