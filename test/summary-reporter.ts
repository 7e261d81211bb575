/**
 * Prints one plain closing line, `Tests: N passed, N failed, N skipped`, after
 * vitest's own report, so CI can read the outcome in any runner-agnostic way.
 */
import * as fs from "node:fs"
import type { Reporter, TestModule } from "vitest/node"

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state
        if (state === "passed") passed++
        else if (state === "failed") failed++
        else skipped++
      }
      if (m.state() === "failed" && [...m.children.allTests()].length === 0) failed++
    }
    // After every other reporter has printed: the very last line of the run.
    const line = `\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`
    process.once("exit", () => fs.writeSync(1, line))
  }
}
