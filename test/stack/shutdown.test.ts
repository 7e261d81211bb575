/**
 * Closing a stack (SPEC §3 shutdown): every open TCP connection gets a FIN,
 * the stack waits up to 2 s for them to finish, and resets what is left.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Scope, Stream } from "effect"
import { Link } from "../../src/layers/Link.js"
import { MemoryLink } from "../../src/layers/link/index.js"
import * as Stack from "../../src/layers/Stack.js"
import * as Tcp from "../../src/layers/Tcp.js"
import { parseIpv4, parseMac } from "../../src/protocols/address.js"

const ipA = parseIpv4("10.2.0.1")!
const ipB = parseIpv4("10.2.0.2")!

describe("stack shutdown", () => {
  it.live("sends FIN on open connections, then RST to a peer that does not close within 2 s", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemoryLink.pair()
      const scopeA = yield* Scope.make()
      const stackA = yield* Layer.buildWithScope(
        Stack.layer({ mac: parseMac("02:00:00:00:00:0a")!, ipv4: { address: ipA, prefixLength: 24 } }).pipe(
          Layer.provide(Layer.succeed(Link, a))
        ),
        scopeA
      )
      const stackB = yield* Layer.build(
        Stack.layer({ mac: parseMac("02:00:00:00:00:0b")!, ipv4: { address: ipB, prefixLength: 24 } }).pipe(
          Layer.provide(Layer.succeed(Link, b))
        )
      )
      // A listens and keeps every connection open without closing it itself.
      const accepted = yield* Tcp.listen(80).pipe(Effect.provide(stackA), Scope.extend(scopeA))
      const serverSide = yield* Effect.fork(Stream.runHead(accepted))
      const socket = yield* Tcp.connect({ address: ipA, port: 80 }).pipe(Effect.provide(stackB))
      const held = yield* serverSide.await
      expect(Exit.isSuccess(held)).toBe(true)
      // Shut A down in the background; B sees the FIN: end of stream.
      const closing = yield* Effect.fork(Scope.close(scopeA, Exit.void))
      const eof = yield* socket.read.pipe(Effect.timeout("1 second"))
      expect(Option.isNone(eof)).toBe(true)
      // B never closes its side: after 2 s A resets it.
      const started = Date.now()
      yield* closing.await
      const waited = Date.now() - started
      expect(waited).toBeGreaterThan(1500)
      expect(waited).toBeLessThan(4000)
      yield* Effect.sleep("50 millis")
      expect(socket.info().state).toBe("Closed")
      const write = yield* socket.write(new Uint8Array([1])).pipe(Effect.flip)
      expect(write.reason).toBe("ConnectionReset")
    }).pipe(Effect.scoped), 15_000)
})
