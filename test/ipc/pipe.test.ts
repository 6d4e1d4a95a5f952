import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Subprocess } from "bun";
import { cueFrame, FrameReader } from "../../src/ipc/frame-reader.ts";
import { FrameWriter } from "../../src/ipc/frame-writer.ts";
import { atomFromBytes, cell, equals, list } from "../../src/noun/index.ts";
import { int, randomBytes, rng } from "./random.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { isPleaError, PleaError } from "../../src/error.ts";
import { IpcErrorCode } from "../../src/ipc/errors.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const FIXTURE = new URL("./echo-fixture.ts", import.meta.url).pathname;
const MIB = 1024 * 1024;

type Child = Subprocess<"pipe", "pipe", "pipe">;
const children: Child[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await c.exited;
  }
});

/** Drains a child's stderr (an unread pipe deadlocks the child) and lets a test wait for a line. */
function watchStderr(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const waiters: { needle: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const settle = (ended: boolean) => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (text.includes(w.needle)) w.resolve();
      else if (ended) w.reject(new Error(`stderr ended without "${w.needle}": ${text}`));
      else continue;
      waiters.splice(i, 1);
    }
  };
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      settle(false);
    }
    settle(true);
  })();
  return {
    text: () => text,
    done,
    waitFor: (needle: string) => new Promise<void>((resolve, reject) => {
      waiters.push({ needle, resolve, reject });
      settle(false);
    }),
  };
}

function spawnFixture(...args: string[]) {
  const proc = Bun.spawn([process.execPath, FIXTURE, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" }) as Child;
  children.push(proc);
  return { proc, stderr: watchStderr(proc.stderr) };
}

function bigBody(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let pos = 0; pos < n; pos += 65536) crypto.getRandomValues(out.subarray(pos, Math.min(n, pos + 65536)));
  return out;
}

async function collect(chunks: AsyncIterable<Uint8Array>, length: number): Promise<{ body: Uint8Array; pieces: number }> {
  const body = new Uint8Array(length);
  let pos = 0;
  let pieces = 0;
  for await (const c of chunks) {
    body.set(c, pos);
    pos += c.length;
    pieces++;
  }
  expect(pos).toBe(length);
  return { body, pieces };
}

describe("frames through a real child process (Bun.spawn pipes)", () => {
  test("thousands of small frames go to the child and come back intact and in order", async () => {
    const { proc, stderr } = spawnFixture("echo");
    const writer = new FrameWriter(proc.stdin, { name: "the fixture's stdin" });
    const reader = new FrameReader(proc.stdout, { name: "the fixture's stdout" });
    const r = rng(11);
    const bodies = Array.from({ length: 3000 }, () => randomBytes(r, int(r, 1, 400)));
    const sent = Promise.all(bodies.map((b) => writer.sendBody(b))).then(() => writer.close());
    for (let i = 0; i < bodies.length; i++) {
      const f = await reader.next();
      expect(f?.kind).toBe("whole");
      if (f?.kind === "whole" && Buffer.compare(f.body, bodies[i]) !== 0) throw new Error(`frame ${i} differs`);
    }
    await sent;
    expect(await reader.next()).toBeUndefined();
    expect(await proc.exited).toBe(0);
    await stderr.done;
    expect(stderr.text()).toBe("");
  });

  test("a 64 MiB frame between small ones goes to the child and back whole", async () => {
    const { proc, stderr } = spawnFixture("echo");
    const writer = new FrameWriter(proc.stdin);
    const reader = new FrameReader(proc.stdout);
    const big = bigBody(64 * MIB);
    const bodies = [new Uint8Array([1]), big, new Uint8Array([2, 3])];
    const sent = Promise.all(bodies.map((b) => writer.sendBody(b))).then(() => writer.close());
    for (const expected of bodies) {
      const f = await reader.next();
      expect(f?.kind).toBe("whole");
      if (f?.kind === "whole") expect(Buffer.compare(f.body, expected)).toBe(0);
    }
    await sent;
    expect(await reader.next()).toBeUndefined();
    expect(await proc.exited).toBe(0);
    await stderr.done;
    expect(stderr.text()).toBe("");
  });

  test("a 64 MiB frame streams both ways in pieces when it is above the whole-body limit", async () => {
    const { proc, stderr } = spawnFixture("echo", String(MIB));
    const writer = new FrameWriter(proc.stdin);
    const reader = new FrameReader(proc.stdout, { wholeBodyBytesMax: MIB });
    const big = bigBody(64 * MIB);
    const sent = (async () => {
      await writer.sendBody(new Uint8Array([9]));
      // Streamed from chunks on this side too, as a forwarder would.
      const pieces = function* () {
        for (let pos = 0; pos < big.length; pos += 3 * MIB + 7) yield big.subarray(pos, Math.min(big.length, pos + 3 * MIB + 7));
      };
      await writer.sendChunks(big.length, pieces());
      await writer.sendBody(new Uint8Array([10]));
      await writer.close();
    })();
    const first = await reader.next();
    expect(first).toEqual({ kind: "whole", body: new Uint8Array([9]) });
    const f = await reader.next();
    expect(f?.kind).toBe("stream");
    if (f?.kind !== "stream") return;
    expect(f.length).toBe(big.length);
    const { body, pieces } = await collect(f.chunks, f.length);
    expect(pieces).toBeGreaterThan(1);
    expect(Buffer.compare(body, big)).toBe(0);
    expect(await reader.next()).toEqual({ kind: "whole", body: new Uint8Array([10]) });
    await sent;
    expect(await reader.next()).toBeUndefined();
    expect(await proc.exited).toBe(0);
    await stderr.done;
    expect(stderr.text()).toBe("");
  });

  test("a noun with a 16 MiB atom jammed straight into the pipe by sendStream comes back equal", async () => {
    const { proc, stderr } = spawnFixture("echo", String(MIB));
    const writer = new FrameWriter(proc.stdin);
    const reader = new FrameReader(proc.stdout, { wholeBodyBytesMax: MIB });
    const bytes = bigBody(16 * MIB);
    bytes[bytes.length - 1] = 1;
    const noun = cell(list([1, 2, 3]), atomFromBytes(bytes));
    const sent = writer.sendStream(noun).then(() => writer.close());
    const f = await reader.next();
    expect(f?.kind).toBe("stream");
    expect(equals(await cueFrame(f!), noun)).toBe(true);
    await sent;
    expect(await reader.next()).toBeUndefined();
    expect(await proc.exited).toBe(0);
    await stderr.done;
    expect(stderr.text()).toBe("");
  });

  test("a child killed in the middle of writing a frame gives the reader a newt_truncated error", async () => {
    const { proc, stderr } = spawnFixture("partial");
    const reader = new FrameReader(proc.stdout, { name: "the fixture's stdout" });
    await stderr.waitFor("ready");
    proc.kill("SIGKILL");
    let error: unknown;
    try {
      await reader.next();
    } catch (e) {
      error = e;
    }
    expect(isPleaError(error, IpcErrorCode.newt)).toBe(true);
    expect((error as PleaError).code).toBe(IpcErrorCode.newt.truncated);
    expect((error as Error).message).toContain("after 10 of its 1000 body bytes");
    expect(await proc.exited).toBe(137);
    expect(proc.signalCode).toBe("SIGKILL");
  });

  test("a child killed while a 64 MiB frame is being written to it gives the writer a pipe_peer_closed error, not a crash", async () => {
    const { proc, stderr } = spawnFixture("deaf");
    const writer = new FrameWriter(proc.stdin, { name: "the fixture's stdin" });
    await stderr.waitFor("ready");
    const big = writer.sendBody(bigBody(64 * MIB));
    // Nobody awaits this one: it must not become an unhandled rejection.
    void writer.sendBody(new Uint8Array([1]));
    proc.kill("SIGKILL");
    let error: unknown;
    try {
      await big;
    } catch (e) {
      error = e;
    }
    expect(isPleaError(error, IpcErrorCode.pipe)).toBe(true);
    expect((error as PleaError).code).toBe(IpcErrorCode.pipe.peerClosed);
    let later: unknown;
    try {
      await writer.sendBody(new Uint8Array([2]));
    } catch (e) {
      later = e;
    }
    expect(isPleaError(later, IpcErrorCode.pipe)).toBe(true);
    expect((later as PleaError).code).toBe(IpcErrorCode.pipe.broken);
    expect(writer.closed).toBe(true);
    await writer.close();
    expect(await proc.exited).toBe(137);
  });
});
