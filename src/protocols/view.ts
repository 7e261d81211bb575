/**
 * The common part of every wire view: a window `buffer[offset, offset+length)`
 * that can be re-pointed at the next packet without allocating. Each
 * protocol's `Packet` adds its field getters and a `check()` that validates
 * lengths once, so that no getter reads out of range.
 */
import type { Malformed } from "./malformed.js"

/** A zero-copy window over bytes. */
export class WireView {
  constructor(
    public buffer: Uint8Array,
    public offset = 0,
    public length = buffer.length - offset
  ) {}

  /** Re-points this view at other bytes (no allocation). */
  wrap(buffer: Uint8Array, offset: number, length: number): this {
    this.buffer = buffer
    this.offset = offset
    this.length = length
    return this
  }
}

/** `view` when its `check()` passes, else the `Malformed` it returned. */
export const checkedView = <V extends { check(): Malformed | undefined }>(view: V): V | Malformed => view.check() ?? view
