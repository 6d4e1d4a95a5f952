/**
 * Child program for the ffi tests: the other process of a shared segment, and the cases that
 * could kill a process (a stale view, a truncated object), run here so the suite survives.
 * Usage: bun shm-fixture.ts <command> ...; prints one line per finding, exits 0 when all held.
 * Segments live in $PLEA_SHM_DIR when the test sets it, else /dev/shm.
 */
import { openSync, closeSync, ftruncateSync, readFileSync } from "node:fs";
import {
  createMemfd,
  createSegment,
  FfiErrorCode,
  memfdPath,
  nextSegmentName,
  openPeerMemfd,
  openSegment,
  segmentPath,
} from "../../src/ffi/index.ts";
import { isPleaError } from "../../src/error.ts";
import { firstMismatch, pattern } from "./shm-test-support.ts";

const CHUNK_BYTES = 1 << 20;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function mapsMention(name: string): boolean {
  return readFileSync("/proc/self/maps", "utf8").includes(name.slice(1));
}

const [command, ...args] = process.argv.slice(2);

switch (command) {
  // fill NAME LENGTH SEED WINDOW_BYTES: the filler side (urth) writes the pattern.
  case "fill": {
    const [name, length, seed, windowBytes] = [args[0], Number(args[1]), Number(args[2]), Number(args[3])];
    using segment = openSegment(name, { mode: "write", length, windowBytes });
    for (let pos = 0; pos < length; pos += CHUNK_BYTES) {
      segment.write(pos, pattern(pos, Math.min(CHUNK_BYTES, length - pos), seed));
    }
    console.log(`filled ${length} in ${segment.windows.length} windows`);
    break;
  }
  // check NAME LENGTH SEED WINDOW_BYTES: the reader side (mars) checks every byte.
  case "check": {
    const [name, length, seed, windowBytes] = [args[0], Number(args[1]), Number(args[2]), Number(args[3])];
    using segment = openSegment(name, { mode: "read", length, windowBytes });
    const chunk = new Uint8Array(CHUNK_BYTES);
    for (let pos = 0; pos < length; pos += CHUNK_BYTES) {
      const part = chunk.subarray(0, Math.min(CHUNK_BYTES, length - pos));
      segment.read(pos, part);
      const bad = firstMismatch(part, pos, seed);
      if (bad >= 0) fail(`byte ${bad} differs from the pattern`);
    }
    // The windows themselves agree with read().
    let pos = 0;
    for (const window of segment.windows) {
      const bad = firstMismatch(window, pos, seed);
      if (bad >= 0) fail(`window byte ${bad} differs from the pattern`);
      pos += window.length;
    }
    console.log(`checked ${length} in ${segment.windows.length} windows`);
    break;
  }
  // stray-write NAME LENGTH: a reader that writes into its mapping (a bug in mars) must neither
  // crash nor reach the writer.
  case "stray-write": {
    const [name, length] = [args[0], Number(args[1])];
    using segment = openSegment(name, { mode: "read", length });
    const window = segment.windows[0];
    for (let i = 0; i < window.length; i += 4096) window[i] = 0xee;
    window.fill(0xab, 100, 200);
    for (let i = 0; i < window.length; i += 4096) if (window[i] !== 0xee) fail(`own write at ${i} was lost`);
    console.log("stray writes stayed in this process");
    break;
  }
  // stale-view NAMESPACE: views taken before close() read as empty afterwards, and nothing is mapped.
  case "stale-view": {
    const name = nextSegmentName(args[0]);
    const segment = createSegment(name, 3 * 4096 + 10, { windowBytes: 4096 });
    segment.unlink();
    const window = segment.windows[1];
    const view = segment.subarray(5000, 100);
    const wide = new Uint8Array(window.buffer, 0, 4096);
    const data = new DataView(window.buffer);
    window.fill(7);
    segment.close();
    segment.close();
    if (window.length !== 0 || window[0] !== undefined) fail(`stale window has length ${window.length}`);
    if (view.length !== 0 || view[3] !== undefined) fail(`stale subarray has length ${view.length}`);
    if (wide.length !== 0 || wide[0] !== undefined) fail(`stale wide view has length ${wide.length}`);
    try {
      data.getUint8(0);
      fail("a DataView of a detached buffer read a byte");
    } catch (e) {
      if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
    }
    view[3] = 1; // a write into a detached view is ignored
    try {
      segment.read(0, new Uint8Array(1));
      fail("read() after close() did not throw");
    } catch (e) {
      if (!isPleaError(e, FfiErrorCode.segment.closed)) throw e;
    }
    if (segment.windows.length !== 0) fail("windows after close() is not empty");
    if (mapsMention(name)) fail("the mapping is still in /proc/self/maps after close()");
    console.log("stale views read nothing and the mapping is gone");
    break;
  }
  // gc-backstop NAMESPACE: a segment dropped without close() is unmapped by the GC.
  case "gc-backstop": {
    const name = nextSegmentName(args[0]);
    (() => {
      const segment = createSegment(name, 2 * 4096, { windowBytes: 4096 });
      segment.subarray(0, 10).fill(1);
      segment.unlink();
    })();
    if (!mapsMention(name)) fail("the mapping was never there");
    for (let attempt = 0; attempt < 100 && mapsMention(name); attempt++) {
      Bun.gc(true);
      await Bun.sleep(1);
    }
    if (mapsMention(name)) fail("the GC never unmapped a dropped segment");
    console.log("the GC unmapped a dropped segment");
    break;
  }
  // truncated-under-mapping NAMESPACE: the documented limit. A peer truncates the object; the
  // next touch of a lost page is SIGBUS, which kills this process.
  case "truncated-under-mapping": {
    const name = nextSegmentName(args[0]);
    const segment = createSegment(name, 16 * 4096);
    const reader = openSegment(name, { mode: "read" });
    const fd = openSync(segmentPath(name), "r+");
    segment.unlink(); // nothing is left behind when this process dies
    ftruncateSync(fd, 0);
    closeSync(fd);
    console.log("truncated; touching a lost page");
    console.log(reader.windows[0][8 * 4096]);
    console.log("survived a touch of a truncated page");
    break;
  }
  // memfd-hold LENGTH SEED: mars's side of a memfd segment. Creates it sealed, fills the pattern,
  // maps it privately as mars does to take it, prints its descriptor, and waits for a line on
  // stdin (a peer meanwhile tries to shrink it); then reads every page of its mapping.
  case "memfd-hold": {
    const [length, seed] = [Number(args[0]), Number(args[1])];
    const memfd = createMemfd("plea-fixture-hold", length);
    using writer = memfd.map("write");
    for (let pos = 0; pos < length; pos += CHUNK_BYTES) writer.write(pos, pattern(pos, Math.min(CHUNK_BYTES, length - pos), seed));
    using reader = memfd.map("read");
    console.log(`fd ${memfd.fd}`);
    for await (const _ of console) break;
    const bad = firstMismatch(reader.windows[0], 0, seed);
    if (bad >= 0) fail(`byte ${bad} differs from the pattern`);
    console.log(`read ${length} bytes after the peer's attempts`);
    memfd.close();
    break;
  }
  // memfd-shrink PID FD LENGTH SEED: a peer of the same user (urth, or anyone) opens the memfd
  // through /proc, tries to truncate it and to grow it (both EPERM: sealed), then maps it for
  // writing as urth does and reads every page.
  case "memfd-shrink": {
    const [pid, fd, length, seed] = [Number(args[0]), Number(args[1]), Number(args[2]), Number(args[3])];
    const raw = openSync(memfdPath(pid, fd), "r+");
    for (const [what, size] of [["shrink", 0], ["shrink", length / 2], ["grow", length * 2]] as const) {
      try {
        ftruncateSync(raw, size);
        fail(`ftruncate to ${size} succeeded on a sealed memfd`);
      } catch (e) {
        console.log(`${what} to ${size}: ${(e as { code?: string }).code}`);
      }
    }
    closeSync(raw);
    using segment = openPeerMemfd(pid, fd, { mode: "write", length });
    const bad = firstMismatch(segment.windows[0], 0, seed);
    if (bad >= 0) fail(`byte ${bad} differs from the pattern`);
    console.log(`read ${length} bytes through a peer mapping`);
    break;
  }
  // create-and-wait NAMESPACE: creates a segment, prints its name, and waits to be killed.
  case "create-and-wait": {
    const name = nextSegmentName(args[0]);
    createSegment(name, 4096);
    console.log(name);
    setInterval(() => {}, 1 << 30);
    break;
  }
  default:
    fail(`unknown command ${command}`);
}
