/**
 * The small services `isla up` runs on the stack: echo (RFC 862) and discard
 * (RFC 863) over UDP and TCP, and a character source (RFC 864 style) over TCP.
 * Each is a scoped fiber; closing the scope unbinds it.
 */
import { Effect, Stream, type Scope } from "effect"
import * as Tcp from "../layers/Tcp.js"
import * as Udp from "../layers/Udp.js"

/** UDP echo on `port`: every datagram goes back to its sender (not ones sent to a broadcast address). */
export const udpEcho = (port = 7): Effect.Effect<void, Udp.UdpError, Udp.Udp | Scope.Scope> =>
  Effect.gen(function*() {
    const udp = yield* Udp.Udp
    const socket = yield* udp.bind(port)
    yield* socket.receive.pipe(
      Stream.runForEach((d) => d.to === 0xffffffff ? Effect.void : Effect.ignore(socket.send(d.from, d.data))),
      Effect.forkScoped
    )
  })

/** UDP discard on `port`: datagrams are read and dropped. */
export const udpDiscard = (port = 9): Effect.Effect<void, Udp.UdpError, Udp.Udp | Scope.Scope> =>
  Effect.gen(function*() {
    const udp = yield* Udp.Udp
    const socket = yield* udp.bind(port)
    yield* socket.receive.pipe(Stream.runDrain, Effect.forkScoped)
  })

/** TCP echo on `port`: every byte goes back until the peer closes, then we close. */
export const tcpEcho = (port = 7): Effect.Effect<void, Tcp.TcpError, Tcp.Tcp | Scope.Scope> =>
  Tcp.serve(port, (socket) => Stream.run(socket.stream, socket.sink), { noDelay: true })

/** TCP discard on `port`: bytes are read and dropped until the peer closes. */
export const tcpDiscard = (port = 9): Effect.Effect<void, Tcp.TcpError, Tcp.Tcp | Scope.Scope> =>
  Tcp.serve(port, (socket) => Stream.runDrain(socket.stream))

/** The RFC 864 line pattern: 72 printable characters per line, rotating. */
const chargenBlock = (() => {
  const lines: Array<number> = []
  for (let i = 0; i < 95; i++) {
    for (let j = 0; j < 72; j++) lines.push(32 + ((i + j) % 95))
    lines.push(13, 10)
  }
  return new Uint8Array(lines)
})()

/** A byte source on `port` (RFC 864 chargen pattern): sends until the peer closes or resets. */
export const tcpSource = (port = 19): Effect.Effect<void, Tcp.TcpError, Tcp.Tcp | Scope.Scope> =>
  Tcp.serve(port, (socket) =>
    Effect.gen(function*() {
      // Stop when the peer half-closes or resets: a reader watching the input side.
      const done = yield* Effect.fork(Stream.runDrain(socket.stream))
      const big = new Uint8Array(chargenBlock.length * 16)
      for (let i = 0; i < 16; i++) big.set(chargenBlock, i * chargenBlock.length)
      yield* Effect.raceFirst(Effect.forever(socket.write(big)), done.await)
    }).pipe(Effect.ignore))
