import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { cueFrame, FrameReader } from "../../src/ipc/frame-reader.ts";
import { FrameWriter, type ByteSink } from "../../src/ipc/frame-writer.ts";
import { frame, NEWT_HEADER_BYTES } from "../../src/ipc/newt.ts";
import { parseTask, taskToNoun } from "../../src/ipc/task.ts";
import { cue } from "../../src/noun/cue.ts";
import { jam } from "../../src/noun/jam.ts";
import { atomFromBytes, cell, equals, list, measureJam, type Noun } from "../../src/noun/index.ts";
import { TASK_SAMPLES } from "./message-samples.ts";
import { concat, hex, int, randomBytes, randomSplit, rng } from "./random.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { isPleaError, PleaError } from "../../src/error.ts";
import { IpcErrorCode } from "../../src/ipc/errors.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** An in-memory FileSink: records every write, optionally async, optionally failing. */
class MemorySink implements ByteSink {
  writes: Uint8Array[] = [];
  flushes = 0;
  ended = false;
  /** Fail every write from this (0-based) write on. */
  failFrom = Infinity;
  failAsync = false;
  asyncWrites = false;
  private r = rng(5);

  write(chunk: Uint8Array): number | Promise<number> {
    if (this.writes.length >= this.failFrom) {
      const e = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
      if (this.failAsync) return Promise.reject(e);
      throw e;
    }
    // Copy, as FileSink does when it buffers: the writer may reuse its chunk afterwards.
    this.writes.push(chunk.slice());
    if (!this.asyncWrites) return chunk.length;
    return new Promise((resolve) => setTimeout(() => resolve(chunk.length), int(this.r, 0, 2)));
  }

  flush(): number | Promise<number> {
    this.flushes++;
    return this.asyncWrites ? Promise.resolve(0) : 0;
  }

  end(): number {
    this.ended = true;
    return 0;
  }

  bytes(): Uint8Array {
    return concat(this.writes);
  }
}

async function* fromPieces(pieces: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of pieces) yield p;
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("FrameWriter", () => {
  test("concurrent sends are queued: frames leave whole and in call order", async () => {
    const sink = new MemorySink();
    sink.asyncWrites = true;
    const w = new FrameWriter(sink, { chunkBytes: 16 });
    const r = rng(3);
    const bodies = Array.from({ length: 200 }, () => randomBytes(r, int(r, 1, 100)));
    await Promise.all(bodies.map((b) => w.sendBody(b)));
    expect(hex(sink.bytes())).toBe(hex(concat(bodies.map((b) => frame(b)))));
  });

  test("a small frame is one write and one flush; a large body goes out in chunkBytes pieces, each flushed", async () => {
    const sink = new MemorySink();
    const w = new FrameWriter(sink, { chunkBytes: 1000 });
    await w.sendBody(new Uint8Array(10).fill(1));
    expect(sink.writes.map((x) => x.length)).toEqual([NEWT_HEADER_BYTES + 10]);
    expect(sink.flushes).toBe(1);
    sink.writes = [];
    sink.flushes = 0;
    await w.sendBody(new Uint8Array(2500).fill(2));
    expect(sink.writes.map((x) => x.length)).toEqual([NEWT_HEADER_BYTES, 1000, 1000, 500]);
    expect(sink.flushes).toBe(4);
  });

  test("send() jams the noun into one frame", async () => {
    const sink = new MemorySink();
    const w = new FrameWriter(sink);
    await w.send(taskToNoun({ type: "exit" }));
    expect(hex(sink.bytes())).toBe("000600000001bf0c2f8d2e");
  });

  test("a body that cannot be framed is refused before anything is written, and the writer stays usable", async () => {
    const sink = new MemorySink();
    const w = new FrameWriter(sink);
    const e = await errorOf(w.sendBody(new Uint8Array(0)));
    expect(isPleaError(e, IpcErrorCode.newt)).toBe(true);
    expect((e as PleaError).code).toBe(IpcErrorCode.newt.unframeable);
    expect(sink.writes).toEqual([]);
    await w.sendBody(new Uint8Array([41]));
    expect(hex(sink.bytes())).toBe("000100000029");
  });

  test("a write that throws or rejects becomes a pipe_peer_closed error, and later sends fail as broken", async () => {
    for (const failAsync of [false, true]) {
      const sink = new MemorySink();
      sink.failFrom = 2;
      sink.failAsync = failAsync;
      const w = new FrameWriter(sink, { chunkBytes: 4 });
      const e = await errorOf(w.sendBody(new Uint8Array(20).fill(3)));
      expect(isPleaError(e, IpcErrorCode.pipe)).toBe(true);
      expect((e as PleaError).code).toBe(IpcErrorCode.pipe.peerClosed);
      expect((e as Error).message).toContain("EPIPE");
      const later = await errorOf(w.sendBody(new Uint8Array([1])));
      expect((later as PleaError).code).toBe(IpcErrorCode.pipe.broken);
      expect(w.failure).toBe(e as PleaError);
    }
  });

  test("sends after close() are refused as closed, and close() ends the sink after queued sends", async () => {
    const sink = new MemorySink();
    const w = new FrameWriter(sink);
    const first = w.sendBody(new Uint8Array([1]));
    const closed = w.close();
    const after = w.sendBody(new Uint8Array([2]));
    await first;
    await closed;
    expect(sink.ended).toBe(true);
    const e = await errorOf(after);
    expect((e as PleaError).code).toBe(IpcErrorCode.pipe.closed);
    expect(hex(sink.bytes())).toBe("000100000001");
  });

  test("chunks that do not add up to the announced length break the writer and end the pipe", async () => {
    for (const [announced, pieces] of [
      [10, [new Uint8Array(4), new Uint8Array(4)]],
      [6, [new Uint8Array(4), new Uint8Array(4)]],
    ] as const) {
      const sink = new MemorySink();
      const w = new FrameWriter(sink);
      const e = await errorOf(w.sendChunks(announced, pieces));
      expect(isPleaError(e, IpcErrorCode.newt)).toBe(true);
      expect((e as PleaError).code).toBe(IpcErrorCode.newt.lengthMismatch);
      expect(sink.ended).toBe(true);
      expect(((await errorOf(w.sendBody(new Uint8Array([1])))) as PleaError).code).toBe(IpcErrorCode.pipe.broken);
    }
  });

  test("sendStream jams a noun straight into the pipe in pieces, measuring it first", async () => {
    const r = rng(9);
    const big = randomBytes(r, 300_000);
    big[big.length - 1] = 1;
    const noun: Noun = cell(list(Array.from({ length: 5000 }, (_, i) => i)), atomFromBytes(big));
    const sink = new MemorySink();
    const w = new FrameWriter(sink, { chunkBytes: 4096 });
    await w.sendStream(noun);
    expect(sink.writes.length).toBeGreaterThan(2);
    expect(hex(sink.bytes())).toBe(hex(frame(jam(noun))));
    const sink2 = new MemorySink();
    await new FrameWriter(sink2, { chunkBytes: 4096 }).sendStream(noun, jam(noun).length);
    expect(hex(sink2.bytes())).toBe(hex(frame(jam(noun))));
  });

  test("sendStream given a measureJam result sends the same frame without walking the noun to measure it again", async () => {
    // A root cell that counts how often a walk reads its head: once per pass over the noun.
    const head = list(Array.from({ length: 2000 }, (_, i) => i));
    const root = cell(head, atomFromBytes(randomBytes(rng(3), 50_000)));
    let reads = 0;
    Object.defineProperty(root, "head", { get: () => (reads++, head) });
    measureJam(root); // the first pass also caches the cells' hashes, which later passes reuse
    reads = 0;
    const measured = measureJam(root);
    const measuring = reads;
    expect(measuring).toBeGreaterThan(0);
    const want = hex(frame(jam(root)));

    reads = 0;
    const given = new MemorySink();
    await new FrameWriter(given, { chunkBytes: 4096 }).sendStream(root, measured);
    const readsGiven = reads;
    reads = 0;
    const own = new MemorySink();
    await new FrameWriter(own, { chunkBytes: 4096 }).sendStream(root);
    const readsOwn = reads;

    expect(hex(given.bytes())).toBe(want);
    expect(hex(own.bytes())).toBe(want);
    // Measuring itself costs `measuring` reads: given the result, the writer saves exactly those.
    expect(readsOwn - readsGiven).toBe(measuring);
  });

  test("sendStream with a wrong bodyLength fails with newt_length_mismatch and ends the pipe", async () => {
    const noun = taskToNoun(TASK_SAMPLES[0]);
    const n = jam(noun).length;
    for (const wrong of [n - 1, n + 1]) {
      const sink = new MemorySink();
      const w = new FrameWriter(sink, { chunkBytes: 1 });
      const e = await errorOf(w.sendStream(noun, wrong));
      expect((e as PleaError).code).toBe(IpcErrorCode.newt.lengthMismatch);
      expect(sink.ended).toBe(true);
      expect(w.closed).toBe(true);
    }
  });
});

describe("FrameReader", () => {
  test("reads every task sample from randomly split chunks, then undefined at EOF", async () => {
    const bytes = concat(TASK_SAMPLES.map((t) => frame(jam(taskToNoun(t)))));
    for (let seed = 1; seed <= 50; seed++) {
      const reader = new FrameReader(fromPieces(randomSplit(rng(seed), bytes, 30)));
      for (const t of TASK_SAMPLES) {
        const f = await reader.next();
        if (f?.kind !== "whole") throw new Error(`seed ${seed}: expected a whole frame`);
        expect(hex(jam(taskToNoun(parseTask(cue(f.body)))))).toBe(hex(jam(taskToNoun(t))));
      }
      expect(await reader.next()).toBeUndefined();
      expect(await reader.next()).toBeUndefined();
    }
  });

  test("reads from a ReadableStream and is async-iterable", async () => {
    const bodies = [new Uint8Array([1]), new Uint8Array([2, 2])];
    const bytes = concat(bodies.map((b) => frame(b)));
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.subarray(0, 3));
        c.enqueue(bytes.subarray(3));
        c.close();
      },
    });
    const got: string[] = [];
    for await (const f of new FrameReader(stream)) if (f.kind === "whole") got.push(hex(f.body));
    expect(got).toEqual(["01", "0202"]);
  });

  test("a frame cut short by EOF is a newt_truncated error after the frames before it", async () => {
    const bytes = concat([frame(new Uint8Array([1])), frame(new Uint8Array(100)).subarray(0, 50)]);
    const reader = new FrameReader(fromPieces([bytes]));
    expect((await reader.next())?.kind).toBe("whole");
    const e = await errorOf(reader.next());
    expect((e as PleaError).code).toBe(IpcErrorCode.newt.truncated);
  });

  test("a source that errors becomes a pipe_read_failed error", async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield frame(new Uint8Array([7]));
      throw new Error("EIO");
    }
    const reader = new FrameReader(failing(), { name: "mars's stdout" });
    expect((await reader.next())?.kind).toBe("whole");
    const e = await errorOf(reader.next());
    expect(isPleaError(e, IpcErrorCode.pipe)).toBe(true);
    expect((e as PleaError).code).toBe(IpcErrorCode.pipe.readFailed);
    expect((e as Error).message).toContain("mars's stdout");
  });

  test("a long body streams in pieces; abandoning its chunks part-way skips the rest of it", async () => {
    const big = randomBytes(rng(4), 50_000);
    const bytes = concat([frame(big), frame(new Uint8Array([5])), frame(big)]);
    const reader = new FrameReader(fromPieces(randomSplit(rng(8), bytes, 7000)), { wholeBodyBytesMax: 1000 });
    const a = await reader.next();
    expect(a?.kind).toBe("stream");
    if (a?.kind === "stream") {
      for await (const _ of a.chunks) break;
    }
    expect(await reader.next()).toEqual({ kind: "whole", body: new Uint8Array([5]) });
    const b = await reader.next();
    if (b?.kind !== "stream") throw new Error("expected a stream frame");
    const parts: Uint8Array[] = [];
    for await (const c of b.chunks) parts.push(c);
    expect(hex(concat(parts))).toBe(hex(big));
    expect(await reader.next()).toBeUndefined();
  });

  test("a stream body cut short by EOF throws a newt_truncated error from its chunks", async () => {
    const bytes = frame(new Uint8Array(5000)).subarray(0, 3000);
    const reader = new FrameReader(fromPieces([bytes]), { wholeBodyBytesMax: 100 });
    const f = await reader.next();
    if (f?.kind !== "stream") throw new Error("expected a stream frame");
    const e = await errorOf((async () => {
      for await (const _ of f.chunks);
    })());
    expect((e as PleaError).code).toBe(IpcErrorCode.newt.truncated);
  });

  test("cueFrame decodes a whole frame with cue and a streamed one with cueFromChunks", async () => {
    const big = randomBytes(rng(12), 20_000);
    big[big.length - 1] = 9;
    const noun: Noun = cell(atomFromBytes(big), list([1, 2, 3]));
    const small = taskToNoun({ type: "exit" });
    const bytes = concat([frame(jam(small)), frame(jam(noun))]);
    const reader = new FrameReader(fromPieces(randomSplit(rng(13), bytes, 3000)), { wholeBodyBytesMax: 1000 });
    const a = await reader.next();
    expect(a?.kind).toBe("whole");
    expect(equals(await cueFrame(a!), small)).toBe(true);
    const b = await reader.next();
    expect(b?.kind).toBe("stream");
    expect(equals(await cueFrame(b!), noun)).toBe(true);
    expect(await reader.next()).toBeUndefined();
  });
});
