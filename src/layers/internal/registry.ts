/**
 * Handler tables of the frame path (IP protocol numbers, next headers):
 * plain arrays indexed by a small number, read per packet with no Effect;
 * a handler is installed for the life of a scope.
 */
import { Effect, type Scope } from "effect"

/** Installs `handler` at `table[key]` until the scope closes. */
export const registerIn = <H>(
  table: Array<H | undefined>,
  key: number,
  handler: H
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      table[key] = handler
    }),
    () =>
      Effect.sync(() => {
        if (table[key] === handler) table[key] = undefined
      })
  )
