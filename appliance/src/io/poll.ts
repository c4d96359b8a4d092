import { loadNative, type NativeAddon, type NativeWatch } from "./native";

/** A readiness subscription; stop() before closing the descriptor. */
export interface Watch {
  stop(): void;
}

/**
 * Calls `onReadable` from the event loop (libuv poll, level-triggered) while `fd` has data. The
 * callback must drain the descriptor or it is called again at once.
 */
export function watchReadable(fd: number, onReadable: () => void, native = loadNative()): Watch {
  return stoppable(native, native.watch(fd, onReadable));
}

/** An addon watch handle (watch, dpWatch) as a Watch whose stop() may be called more than once. */
export function stoppable(native: NativeAddon, handle: NativeWatch): Watch {
  return new PollWatch(native, handle);
}

class PollWatch implements Watch {
  private stopped = false;
  constructor(
    private readonly native: NativeAddon,
    private readonly handle: NativeWatch,
  ) {}
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.native.unwatch(this.handle);
  }
}
