/**
 * The small services `isla up` runs on the stack: echo (RFC 862) and discard
 * (RFC 863) over UDP. Each is a scoped fiber; closing the scope unbinds it.
 */
import { Effect, Stream, type Scope } from "effect"
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
