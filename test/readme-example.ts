import { Effect, Layer, Stream } from "effect"
import { Icmp, Link, MemoryLink, Stack, Udp, Wire } from "isla"

const mac = (s: string) => Wire.Address.parseMac(s)!
const ip = (s: string) => Wire.Address.parseIpv4(s)!

export const program = Effect.gen(function*() {
  const [a, b] = yield* MemoryLink.pair()
  const stackA = yield* Layer.build(
    Stack.layer({ mac: mac("02:00:00:00:00:01"), ipv4: { address: ip("10.0.0.1"), prefixLength: 24 } })
      .pipe(Layer.provide(Layer.succeed(Link.Link, a)))
  )
  const stackB = yield* Layer.build(
    Stack.layer({ mac: mac("02:00:00:00:00:02"), ipv4: { address: ip("10.0.0.2"), prefixLength: 24 } })
      .pipe(Layer.provide(Layer.succeed(Link.Link, b)))
  )
  // B: a UDP echo server.
  const server = yield* Udp.bind(7).pipe(Effect.provide(stackB))
  yield* server.receive.pipe(Stream.runForEach((d) => server.send(d.from, d.data)), Effect.forkScoped)
  // A: ping B, then a datagram through the echo.
  const reply = yield* Icmp.ping(ip("10.0.0.2")).pipe(Effect.provide(stackA))
  const client = yield* Udp.bind(0).pipe(Effect.provide(stackA))
  yield* client.send({ address: ip("10.0.0.2"), port: 7 }, new TextEncoder().encode("hi"))
  const echoed = yield* client.take
  return { rtt: reply.rttMillis, echoed: new TextDecoder().decode(echoed.data) }
})
