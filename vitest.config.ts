import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
    // Builds dist/ once (the TAP tests run dist/isla.mjs) and sweeps orphaned test namespaces.
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // TAP tests share the machine's network namespaces and CPU: run files one at a time.
    fileParallelism: false
  }
})
