import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { encodeFrameHeader, frame, NEWT_BODY_BYTES_MAX, NEWT_HEADER_BYTES, NewtDecoder, type NewtItem } from "../../src/ipc/newt.ts";
import { FRAME_VECTORS } from "./frame-vectors.ts";
import { concat, fromHex, hex, int, randomBytes, randomSplit, rng } from "./random.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { isPleaError, PleaError } from "../../src/error.ts";
import { IpcErrorCode } from "../../src/ipc/errors.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** Collects what a decoder yields: whole bodies, and streamed bodies reassembled. */
class Collector {
  bodies: Uint8Array[] = [];
  pending: Uint8Array[] | undefined = undefined;
  error: unknown = undefined;

  /** Takes every item available; records the error if next() throws. */
  drain(d: NewtDecoder): this {
    try {
      for (let item: NewtItem | undefined; (item = d.next()); ) {
        if (item.kind === "body") this.bodies.push(item.body);
        else if (item.kind === "bodyStart") this.pending = [];
        else if (item.kind === "bodyChunk") this.pending!.push(item.bytes);
        else {
          this.bodies.push(concat(this.pending!));
          this.pending = undefined;
        }
      }
    } catch (error) {
      this.error = error;
    }
    return this;
  }
}

function decodeAll(pieces: readonly Uint8Array[], options?: ConstructorParameters<typeof NewtDecoder>[0]): Collector {
  const d = new NewtDecoder(options);
  const c = new Collector();
  for (const p of pieces) {
    d.push(p);
    if (c.drain(d).error !== undefined) return c;
  }
  d.end();
  return c.drain(d);
}

function newtCode(e: unknown): string {
  if (!isPleaError(e, IpcErrorCode.newt)) throw new Error(`expected a newt error, got ${String(e)}`);
  return e.code;
}


/** The error `f` throws; fails the test if it throws none. */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

describe("newt frame headers", () => {
  test("a header is 0x00 then the body length as u32 little-endian", () => {
    expect(hex(encodeFrameHeader(6))).toBe("0006000000");
    expect(hex(encodeFrameHeader(0x3b))).toBe("003b000000");
    expect(hex(encodeFrameHeader(0x01020304))).toBe("0004030201");
    expect(hex(encodeFrameHeader(NEWT_BODY_BYTES_MAX))).toBe("00ffffffff");
  });

  test("a body of 0 bytes, above 2^32-1 bytes or of a fractional length cannot be framed", () => {
    for (const n of [0, -1, 1.5, NEWT_BODY_BYTES_MAX + 1, 2 ** 40, Number.NaN]) {
      expect(isPleaError(thrown(() => encodeFrameHeader(n)), IpcErrorCode.newt)).toBe(true);
      try {
        encodeFrameHeader(n);
      } catch (e) {
        expect(newtCode(e)).toBe(IpcErrorCode.newt.unframeable);
        expect((e as Error).message).toContain("plea");
      }
    }
    expect(isPleaError(thrown(() => frame(new Uint8Array(0))), IpcErrorCode.newt)).toBe(true);
  });

  test("frame() of each section-9 body gives the section-9 frame byte for byte", () => {
    for (const v of FRAME_VECTORS) {
      const whole = fromHex(v.frame);
      expect(hex(frame(whole.subarray(NEWT_HEADER_BYTES)))).toBe(v.frame);
    }
  });
});

describe("NewtDecoder", () => {
  const vectorStream = concat(FRAME_VECTORS.map((v) => fromHex(v.frame)));
  const vectorBodies = FRAME_VECTORS.map((v) => hex(fromHex(v.frame).subarray(NEWT_HEADER_BYTES)));

  test("decodes every section-9 frame from one chunk, in order", () => {
    const r = decodeAll([vectorStream]);
    expect(r.error).toBeUndefined();
    expect(r.bodies.map(hex)).toEqual(vectorBodies);
  });

  test("decodes the same bodies when fed one byte at a time", () => {
    const pieces = Array.from(vectorStream, (_, i) => vectorStream.subarray(i, i + 1));
    const r = decodeAll(pieces);
    expect(r.error).toBeUndefined();
    expect(r.bodies.map(hex)).toEqual(vectorBodies);
  });

  test("needing more bytes is not an error: next() returns undefined until the frame is complete", () => {
    const d = new NewtDecoder();
    const f = fromHex(FRAME_VECTORS[0].frame);
    for (let i = 0; i < f.length - 1; i++) {
      d.push(f.subarray(i, i + 1));
      expect(d.next()).toBeUndefined();
    }
    d.push(f.subarray(f.length - 1));
    const item = d.next();
    expect(item?.kind).toBe("body");
    expect(d.atFrameBoundary).toBe(true);
  });

  test("a whole body gets its own buffer of exactly its length, so the pushed chunk may be reused", () => {
    const d = new NewtDecoder();
    const chunk = frame(fromHex("01bf0c2f8d2e"));
    d.push(chunk);
    chunk.fill(0xaa);
    const item = d.next()!;
    expect(item.kind).toBe("body");
    if (item.kind !== "body") return;
    expect(hex(item.body)).toBe("01bf0c2f8d2e");
    expect(item.body.buffer.byteLength).toBe(6);
  });

  test("random chunk splits of valid frame streams give the same bodies (fuzz, 500 streams)", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const r = rng(seed);
      const bodies = Array.from({ length: int(r, 1, 12) }, () => randomBytes(r, int(r, 1, r() < 0.2 ? 3000 : 40)));
      const stream = concat(bodies.map((b) => frame(b)));
      const streamed = r() < 0.5;
      const got = decodeAll(randomSplit(r, stream, int(r, 1, 700)), streamed ? { wholeBodyBytesMax: int(r, 0, 100) } : {});
      if (got.error !== undefined || got.bodies.length !== bodies.length) throw new Error(`seed ${seed}: ${String(got.error)}`);
      expect(got.bodies.map(hex)).toEqual(bodies.map(hex));
    }
  });

  test("a bad version byte is refused at once, after the frames before it", () => {
    const good = frame(fromHex("29"));
    const r = decodeAll([concat([good, fromHex("01"), good])]);
    expect(r.bodies.map(hex)).toEqual(["29"]);
    expect(newtCode(r.error)).toBe(IpcErrorCode.newt.badVersion);
    expect((r.error as Error).message).toContain("frame 2");
  });

  test("a zero length is refused when the header completes", () => {
    const r = decodeAll([fromHex("0000000000"), fromHex("29")]);
    expect(r.bodies).toEqual([]);
    expect(newtCode(r.error)).toBe(IpcErrorCode.newt.zeroLength);
  });

  test("a length above the configured limit is refused before any body byte arrives", () => {
    const d = new NewtDecoder({ bodyBytesMax: 1000 });
    d.push(encodeFrameHeader(1001));
    expect(isPleaError(thrown(() => d.next()), IpcErrorCode.newt)).toBe(true);
    try {
      d.next();
    } catch (e) {
      expect(newtCode(e)).toBe(IpcErrorCode.newt.bodyTooLarge);
      expect((e as Error).message).toContain("1001");
      expect((e as Error).message).toContain("1000");
    }
    const ok = decodeAll([encodeFrameHeader(1000), new Uint8Array(1000).fill(7)], { bodyBytesMax: 1000 });
    expect(ok.error).toBeUndefined();
    expect(ok.bodies[0].length).toBe(1000);
  });

  test("a lying 4 GiB length is streamed, not allocated, and ends as a truncated frame", () => {
    const d = new NewtDecoder();
    d.push(concat([encodeFrameHeader(NEWT_BODY_BYTES_MAX), fromHex("0102")]));
    expect(d.next()).toEqual({ kind: "bodyStart", length: NEWT_BODY_BYTES_MAX });
    expect(hex((d.next() as { bytes: Uint8Array }).bytes)).toBe("0102");
    expect(d.next()).toBeUndefined();
    d.end();
    expect(isPleaError(thrown(() => d.next()), IpcErrorCode.newt)).toBe(true);
  });

  test("the stream ending inside a header or a body is a truncated-frame error; between frames it is not", () => {
    const f = frame(fromHex("0102030405"));
    for (let cut = 1; cut < f.length; cut++) {
      const r = decodeAll([f, f.subarray(0, cut)]);
      expect(r.bodies.map(hex)).toEqual(["0102030405"]);
      expect(newtCode(r.error)).toBe(IpcErrorCode.newt.truncated);
    }
    const clean = decodeAll([f]);
    expect(clean.error).toBeUndefined();
  });

  test("a failed decoder stays failed: next() throws the same error and push() is ignored", () => {
    const d = new NewtDecoder();
    d.push(fromHex("07"));
    let first: unknown;
    try {
      d.next();
    } catch (e) {
      first = e;
    }
    expect(isPleaError(first, IpcErrorCode.newt)).toBe(true);
    d.push(frame(fromHex("29")));
    expect(d.failed).toBe(true);
    expect(() => d.next()).toThrow(first as Error);
  });

  test("streamed bodies arrive as views of the pushed chunks that add up to the announced length", () => {
    const body = randomBytes(rng(7), 10_000);
    const d = new NewtDecoder({ wholeBodyBytesMax: 100 });
    const f = frame(body);
    d.push(f.subarray(0, 3));
    expect(d.next()).toBeUndefined();
    d.push(f.subarray(3, 5000));
    const start = d.next()!;
    expect(start).toEqual({ kind: "bodyStart", length: 10_000 });
    const chunk = d.next()!;
    expect(chunk.kind).toBe("bodyChunk");
    if (chunk.kind === "bodyChunk") expect(chunk.bytes.buffer).toBe(f.buffer);
    d.push(f.subarray(5000));
    const c = new Collector();
    c.pending = [(chunk as { bytes: Uint8Array }).bytes];
    c.drain(d);
    expect(c.error).toBeUndefined();
    expect(hex(c.bodies[0])).toBe(hex(body));
  });

  test("random bytes only ever give bodies, need-more or a newt error, never a hang (fuzz, 2000 inputs)", () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const r = rng(seed * 7919);
      const input = randomBytes(r, int(r, 0, 300));
      // Make some inputs start like frames so the body path is exercised too.
      if (input.length > 5 && r() < 0.5) {
        input[0] = 0;
        input[3] = 0;
        input[4] = 0;
      }
      const got = decodeAll(randomSplit(r, input, 50), { bodyBytesMax: int(r, 1, 1 << 20), wholeBodyBytesMax: int(r, 0, 200) });
      if (got.error !== undefined && !isPleaError(got.error, IpcErrorCode.newt)) throw new Error(`seed ${seed}: ${String(got.error)}`);
    }
  });

  test("bit flips and truncations of valid streams only ever give bodies or a newt error (fuzz, 1000 streams)", () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const r = rng(seed * 104729);
      const bodies = Array.from({ length: int(r, 1, 6) }, () => randomBytes(r, int(r, 1, 60)));
      const stream = concat(bodies.map((b) => frame(b)));
      const flips = int(r, 0, 3);
      for (let i = 0; i < flips; i++) stream[int(r, 0, stream.length - 1)] ^= 1 << int(r, 0, 7);
      const cut = r() < 0.5 ? stream.subarray(0, int(r, 0, stream.length)) : stream;
      const got = decodeAll(randomSplit(r, cut, 40), { bodyBytesMax: 4096 });
      if (got.error !== undefined && !isPleaError(got.error, IpcErrorCode.newt)) throw new Error(`seed ${seed}: ${String(got.error)}`);
      if (flips === 0 && cut === stream) expect(got.bodies.map(hex)).toEqual(bodies.map(hex));
    }
  });
});
