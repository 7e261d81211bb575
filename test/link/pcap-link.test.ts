import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import { LinkError } from "../../src/layers/Link.js"
import { MemoryLink, PcapLink } from "../../src/layers/link/index.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "isla-pcap-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const TCPDUMP = "/usr/bin/tcpdump"

/** An Ethernet frame from `src` to `dst` (last MAC byte) carrying `payload` bytes of IPv4-ish filler. */
const frame = (dst: number, src: number, payloadLength: number, fill: number): Uint8Array => {
  const bytes = new Uint8Array(14 + payloadLength)
  bytes.set([0x02, 0, 0, 0, 0, dst, 0x02, 0, 0, 0, 0, src, 0x88, 0xb5], 0) // local experimental EtherType
  for (let i = 14; i < bytes.length; i++) bytes[i] = (fill + i) & 0xff
  return bytes
}

describe("PcapLink", () => {
  it.effect("writes a pcap file of frames sent and received, in order, with Clock timestamps", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "basic.pcap")
      const [a, b] = yield* MemoryLink.pair()
      const sentA = frame(2, 1, 46, 1)
      const sentB = frame(1, 2, 100, 2)
      const sentA2 = frame(2, 1, 1500, 3)
      const order: Array<string> = []

      yield* Effect.scoped(
        Effect.gen(function*() {
          const pcap = yield* PcapLink.wrap(a, file)
          expect(pcap.name).toBe(a.name)
          expect(pcap.mtu).toBe(a.mtu)
          yield* TestClock.adjust("1500 millis")
          expect(pcap.unsafeTransmit(sentA, 0, sentA.length)).toBe(true)
          yield* TestClock.adjust("2000 millis")
          b.unsafeTransmit(sentB, 0, sentB.length)
          const received = pcap.unsafeReceive((buffer, offset, length) => {
            // The record is taken before the handler runs.
            order.push(`handler after ${pcap.counters.frames} records`)
            expect(buffer.slice(offset, offset + length)).toEqual(sentB)
          }, 16)
          expect(received).toBe(1)
          yield* TestClock.adjust("1 millis")
          pcap.unsafeTransmit(sentA2, 0, sentA2.length)
          // Dropped by the wrapped link (over its MTU): not on the wire, not recorded.
          expect(pcap.unsafeTransmit(new Uint8Array(2000), 0, 2000)).toBe(false)
          expect(pcap.counters.frames).toBe(3)
          // Still buffered until the scope closes.
          expect(fs.statSync(file).size).toBe(24)
        })
      )
      expect(order).toEqual(["handler after 2 records"])

      const bytes = new Uint8Array(fs.readFileSync(file))
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      const le = view.getUint32(0, true) === 0xa1b2c3d4
      expect(le).toBe(os.endianness() === "LE")
      expect(view.getUint32(0, le)).toBe(0xa1b2c3d4)
      expect(view.getUint16(4, le)).toBe(2)
      expect(view.getUint16(6, le)).toBe(4)
      expect(view.getInt32(8, le)).toBe(0)
      expect(view.getUint32(12, le)).toBe(0)
      expect(view.getUint32(16, le)).toBe(65535)
      expect(view.getUint32(20, le)).toBe(1)

      const expected: Array<[number, number, Uint8Array]> = [
        [1, 500_000, sentA],
        [3, 500_000, sentB],
        [3, 501_000, sentA2]
      ]
      let at = 24
      for (const [sec, usec, f] of expected) {
        expect(view.getUint32(at, le)).toBe(sec)
        expect(view.getUint32(at + 4, le)).toBe(usec)
        expect(view.getUint32(at + 8, le)).toBe(f.length)
        expect(view.getUint32(at + 12, le)).toBe(f.length)
        expect(bytes.subarray(at + 16, at + 16 + f.length)).toEqual(f)
        at += 16 + f.length
      }
      expect(at).toBe(bytes.length)
    }))

  it.effect("flushes when the buffer fills, and tcpdump reads the file", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "many.pcap")
      const [a, b] = yield* MemoryLink.pair({ queueLimit: 4096 })
      const count = 300 // 300 × (16 + 1514) bytes: several 64 KiB buffers
      const scope = yield* Scope.make()
      const pcap = yield* PcapLink.wrap(b, file).pipe(Scope.extend(scope))
      for (let i = 0; i < count; i++) {
        const f = frame(2, 1, 1500, i)
        a.unsafeTransmit(f, 0, f.length)
        yield* TestClock.adjust("1 millis")
      }
      expect(pcap.unsafeReceive(() => {}, Infinity)).toBe(count)
      const before = fs.statSync(file).size
      expect(before).toBeGreaterThan(24)
      expect(before).toBeLessThan(24 + count * 1530)
      yield* Scope.close(scope, Exit.void)
      expect(fs.statSync(file).size).toBe(24 + count * 1530)
      expect(pcap.counters).toEqual({ frames: count, bytesWritten: 24 + count * 1530, writeErrors: 0 })
      // After close the wrapper still forwards frames but records nothing.
      a.unsafeTransmit(frame(2, 1, 46, 0), 0, 60)
      expect(pcap.unsafeReceive(() => {}, Infinity)).toBe(1)
      expect(fs.statSync(file).size).toBe(24 + count * 1530)

      if (!fs.existsSync(TCPDUMP)) {
        console.log(`skipping the tcpdump check: ${TCPDUMP} is not installed`)
        return
      }
      const out = execFileSync(TCPDUMP, ["-r", file, "-nn", "-e"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 64 * 1024 * 1024
      })
      // tcpdump hex-dumps an unknown EtherType under each packet line.
      const lines = out.split("\n").filter((line) => /^\d\d:\d\d:\d\d\.\d{6} /.test(line))
      expect(lines.length).toBe(count)
      expect(lines[0]).toContain("02:00:00:00:00:01 > 02:00:00:00:00:02")
      expect(lines[0]).toContain("length 1514")
    }))

  it.effect("fails with LinkError Io when the file cannot be opened", () =>
    Effect.gen(function*() {
      const [a] = yield* MemoryLink.pair()
      const error = yield* Effect.scoped(PcapLink.wrap(a, path.join(dir, "no-such-dir", "x.pcap"))).pipe(Effect.flip)
      expect(error).toBeInstanceOf(LinkError)
      expect(error.reason).toBe("Io")
    }))
})
