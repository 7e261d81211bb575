/** The README's library example is this repository's `test/readme-example.ts`, and it works. */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import { program } from "./readme-example.js"

it("the README shows test/readme-example.ts verbatim", () => {
  const readme = fs.readFileSync(new URL("../README.md", import.meta.url), "utf8")
  const example = fs.readFileSync(new URL("./readme-example.ts", import.meta.url), "utf8")
  expect(readme).toContain("```ts\n" + example + "```")
})

it.scoped("the README example pings and echoes over TCP on the in-memory link", () =>
  Effect.gen(function*() {
    const r = yield* program
    expect(r.echoed).toBe("hello, isla")
    expect(r.rtt).toBeGreaterThanOrEqual(0)
  }))
