/**
 * ByteWindows: one byte range over several windows, the layer both segments (src/ffi/shm.ts) and
 * the flat noun format (src/noun/flat/) cross window borders with. Every operation is checked
 * against the same operation on one contiguous buffer.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { ByteWindows } from "../src/byte-windows.ts";
import { int, rng } from "./support/prng.ts";
import { TEST_TIMEOUT_MS } from "./setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Zeroed windows of `lengths` bytes, and a zeroed contiguous buffer of their total to mirror them. */
function split(lengths: readonly number[]): { whole: Uint8Array; windows: Uint8Array[] } {
  const whole = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
  // Each window a buffer of its own (not a view of `whole`): borders are real borders.
  const windows = lengths.map((n) => new Uint8Array(n));
  return { whole, windows };
}

function joined(windows: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(windows.reduce((a, w) => a + w.length, 0));
  let at = 0;
  for (const w of windows) {
    out.set(w, at);
    at += w.length;
  }
  return out;
}

function noise(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 0, 255);
  return b;
}

describe("ByteWindows", () => {
  test("random copies in, copies out and zero fills agree with one contiguous buffer", () => {
    const seed = 0x5eed;
    const r = rng(seed);
    // Unequal windows (multiples of 8, the last one short and odd), with an empty one dropped.
    const { whole, windows } = split([64, 8, 0, 200, 16, 4096, 56, 37]);
    const w = new ByteWindows(windows);
    expect(w.total).toBe(whole.length);
    expect(w.windows.length).toBe(7);
    for (let i = 0; i < 2000; i++) {
      const pos = int(r, 0, whole.length);
      const len = int(r, 0, whole.length - pos);
      const op = int(r, 0, 2);
      if (op === 0) {
        const src = noise(r, len);
        w.copyIn(pos, src);
        whole.set(src, pos);
      } else if (op === 1) {
        w.fillZero(pos, len);
        whole.fill(0, pos, pos + len);
      } else {
        const dst = new Uint8Array(len);
        w.copyOut(pos, dst);
        expect(dst, `seed ${seed}, step ${i}`).toEqual(whole.slice(pos, pos + len));
      }
    }
    expect(joined(windows)).toEqual(whole);
  });

  test("every byte and aligned u32 reads right whichever way the cursor moves", () => {
    const r = rng(7);
    const lengths = Array.from({ length: 40 }, () => 8 * int(r, 1, 20));
    const { windows } = split(lengths);
    for (const win of windows) win.set(noise(r, win.length));
    const whole = joined(windows);
    const dv = new DataView(whole.buffer);
    const w = new ByteWindows(windows);
    // Forward, backward and random jumps: the cursor's next-window step and its binary search.
    const order = [...Array(whole.length).keys()];
    const positions = [...order, ...order.toReversed(), ...order.map(() => int(r, 0, whole.length - 1))];
    for (const pos of positions) {
      expect(w.byte(pos)).toBe(whole[pos]);
      expect(pos >= w.base && pos < w.end).toBe(true);
      const aligned = pos - (pos % 4);
      expect(w.u32(aligned)).toBe(dv.getUint32(aligned, true));
    }
    w.setU32(lengths[0], 0xdeadbeef);
    expect(new DataView(windows[1].buffer).getUint32(0, true)).toBe(0xdeadbeef);
  });

  test("run says how many bytes from a position lie in its window", () => {
    const { windows } = split([16, 16, 5]);
    const w = new ByteWindows(windows);
    expect(w.run(0, 100)).toBe(16);
    expect(w.run(10, 3)).toBe(3);
    expect(w.run(15, 2)).toBe(1);
    expect(w.run(16, 100)).toBe(16);
    expect(w.run(33, 100)).toBe(4);
    expect(w.base).toBe(32);
  });

  test("within is a view inside one window and undefined across a border; viewOf asks the source", () => {
    const { windows } = split([16, 16, 5]);
    const w = new ByteWindows(windows);
    const inside = w.within(17, 10)!;
    inside.fill(9);
    expect(windows[1].subarray(1, 11).every((b) => b === 9)).toBe(true);
    expect(w.within(15, 2)).toBeUndefined();
    expect(w.viewOf(15, 2)).toBeUndefined();
    expect(w.within(32, 5)!.length).toBe(5);
    // An empty range anywhere, the very end included, is an empty view of a window.
    expect(w.within(37, 0)!.buffer).toBe(windows[2].buffer);
    expect(w.within(3, 0)!.length).toBe(0);

    const asked: [number, number][] = [];
    const span = new Uint8Array(2);
    const withView = new ByteWindows({
      windows,
      view(pos: number, length: number) {
        asked.push([pos, length]);
        return span;
      },
    });
    expect(withView.viewOf(15, 2)).toBe(span);
    expect(withView.viewOf(0, 4)!.buffer).toBe(windows[0].buffer);
    expect(asked).toEqual([[15, 2]]);
  });

  test("a window other than the last that is not whole 8-byte words is refused", () => {
    expect(() => new ByteWindows([new Uint8Array(12), new Uint8Array(8)])).toThrow(RangeError);
    expect(new ByteWindows([new Uint8Array(8), new Uint8Array(12)]).total).toBe(20);
    expect(new ByteWindows([]).total).toBe(0);
    expect(new ByteWindows(new Uint8Array(3)).total).toBe(3);
  });
});
