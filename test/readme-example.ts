import { Effect, Layer, Option, Stream } from "effect"
import { Icmp, Link, MemoryLink, Stack, Tcp, Wire } from "isla"

const mac = (s: string) => Wire.Address.parseMac(s)!
const ip = (s: string) => Wire.Address.parseIpv4(s)!

export const program = Effect.gen(function*() {
  // Two stacks joined by an in-memory link (use Tap.layer({ name }) for a real device).
  const [a, b] = yield* MemoryLink.pair()
  const stackA = yield* Layer.build(
    Stack.layer({ mac: mac("02:00:00:00:00:01"), ipv4: { address: ip("10.0.0.1"), prefixLength: 24 } })
      .pipe(Layer.provide(Layer.succeed(Link.Link, a)))
  )
  const stackB = yield* Layer.build(
    Stack.layer({ mac: mac("02:00:00:00:00:02"), ipv4: { address: ip("10.0.0.2"), prefixLength: 24 } })
      .pipe(Layer.provide(Layer.succeed(Link.Link, b)))
  )
  // B: a TCP echo server: each connection's bytes (a Stream) go back through its Sink.
  const connections = yield* Tcp.listen(7).pipe(Effect.provide(stackB))
  yield* connections.pipe(
    Stream.runForEach((socket) =>
      Effect.fork(Stream.run(socket.stream, socket.sink).pipe(Effect.ensuring(socket.close)))
    ),
    Effect.forkScoped
  )
  // A: ping B, then connect, send, half-close, and read the echo to the end.
  const reply = yield* Icmp.echo(ip("10.0.0.2")).pipe(Effect.provide(stackA))
  const socket = yield* Tcp.connect({ address: ip("10.0.0.2"), port: 7 }).pipe(Effect.provide(stackA))
  yield* socket.write(new TextEncoder().encode("hello, isla"))
  yield* socket.closeWrite
  const chunks = yield* Stream.runCollect(socket.stream)
  const echoed = new TextDecoder().decode(Buffer.concat([...chunks]))
  return { rtt: reply.rttMillis, echoed, state: Option.some(socket.info().state) }
})
