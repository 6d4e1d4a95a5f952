/**
 * The control socket's two state machines without a socket: the server's reading of a request
 * line (control-request.ts) and the client's reading of an answer (control-stream.ts), fed the
 * same bytes cut at every possible place.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { isPleaError, type PleaError } from "../../src/error.ts";
import { UrthErrorCode } from "../../src/urth/errors.ts";
import { CONTROL_REQUEST_BYTES_MAX, parseControlRequest, RequestLineReader } from "../../src/urth/control-request.ts";
import { pieceHead, ReplyReader, type ReplyEvent } from "../../src/urth/control-stream.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { concat } from "../ipc/random.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const enc = (s: string) => new TextEncoder().encode(s);

/** Feeds `bytes` to a new reader in two reads cut at `cut`; returns the events and the file bytes. */
function read(bytes: Uint8Array, cut: number): { events: ReplyEvent[]; file: Uint8Array; reader: ReplyReader } {
  const reader = new ReplyReader();
  const events = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
  const file = concat(events.flatMap((e) => (e.kind === "bytes" ? [e.bytes] : [])));
  return { events, file, reader };
}

function thrown(f: () => unknown): PleaError {
  try {
    f();
  } catch (e) {
    if (isPleaError(e, UrthErrorCode.control)) return e;
    throw e;
  }
  throw new Error("expected a control error");
}

describe("ReplyReader", () => {
  const file = enc("hello, \n{\"ok\":false}\n world");
  const stream = concat([enc(`{"ok":true,"size":${file.length}}\n`), pieceHead(10), file.subarray(0, 10), pieceHead(file.length - 10), file.subarray(10), enc('{"ok":true}\n')]);

  test("a cat stream reads back byte-exact wherever the reads are cut, JSON-looking file bytes included", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { events, file: got, reader } = read(stream, cut);
      expect(got).toEqual(file);
      expect(events[0]).toEqual({ kind: "reply", reply: { ok: true, size: file.length } });
      expect(events.at(-1)).toEqual({ kind: "end", last: { ok: true } });
      expect(reader.done).toBe(true);
      reader.close();
    }
  });

  test("a stream cut off before its last line is interrupted, saying how many bytes came", () => {
    for (const end of [stream.length - 1, stream.length - 13, 40]) {
      const reader = new ReplyReader();
      reader.push(stream.subarray(0, end));
      const e = thrown(() => reader.close());
      expect(e.code).toBe(UrthErrorCode.control.interrupted);
      expect(e.message).toMatch(new RegExp(`went away after sending \\d+ of ${file.length} bytes`));
    }
  });

  test("no reply at all is unreachable (safe to retry); a reply without a stream is complete", () => {
    expect(thrown(() => new ReplyReader().close()).code).toBe(UrthErrorCode.control.unreachable);
    const half = new ReplyReader();
    half.push(enc('{"ok":tr'));
    expect(thrown(() => half.close()).code).toBe(UrthErrorCode.control.unreachable);
    const ls = new ReplyReader();
    expect(ls.push(enc('{"ok":true,"files":[]}\n'))).toEqual([{ kind: "reply", reply: { ok: true, files: [] } }]);
    ls.close();
  });

  test("the server's reason for stopping arrives as the last line, not as file bytes", () => {
    const cut = concat([enc('{"ok":true,"size":20}\n'), pieceHead(4), enc("abcd"), enc('{"ok":false,"code":"peek_changed","message":"changed"}\n')]);
    const { events, file: got } = read(cut, 30);
    expect(new TextDecoder().decode(got)).toBe("abcd");
    expect(events.at(-1)).toEqual({ kind: "end", last: { ok: false, code: "peek_changed", message: "changed" } });
  });

  test("pieces beyond the announced size, or an early ok, break the protocol", () => {
    const over = concat([enc('{"ok":true,"size":3}\n'), pieceHead(4), enc("abcd")]);
    expect(thrown(() => new ReplyReader().push(over)).code).toBe(UrthErrorCode.control.protocol);
    const early = concat([enc('{"ok":true,"size":3}\n'), pieceHead(2), enc("ab"), enc('{"ok":true}\n')]);
    expect(thrown(() => new ReplyReader().push(early)).code).toBe(UrthErrorCode.control.protocol);
    expect(thrown(() => new ReplyReader().push(enc("not json\n"))).code).toBe(UrthErrorCode.control.protocol);
    expect(thrown(() => new ReplyReader().push(enc('{"ok":true,"size":-1}\n'))).code).toBe(UrthErrorCode.control.protocol);
  });
});

describe("RequestLineReader and parseControlRequest", () => {
  test("the limit counts bytes, with or without the newline in the same read", () => {
    const long = enc(`{"op":"status","pad":"${"x".repeat(CONTROL_REQUEST_BYTES_MAX)}"}\n`);
    expect(thrown(() => new RequestLineReader().push(long)).code).toBe(UrthErrorCode.control.protocol);
    const r = new RequestLineReader();
    expect(r.push(long.subarray(0, CONTROL_REQUEST_BYTES_MAX))).toBeUndefined();
    expect(thrown(() => r.push(long.subarray(CONTROL_REQUEST_BYTES_MAX))).code).toBe(UrthErrorCode.control.protocol);
    // Two-byte characters: fewer characters than the limit, more bytes.
    const wide = enc(`{"op":"cat","path":"${"é".repeat(CONTROL_REQUEST_BYTES_MAX / 2)}"}\n`);
    expect(thrown(() => new RequestLineReader().push(wide)).code).toBe(UrthErrorCode.control.protocol);
  });

  test("a character split across reads is one character", () => {
    const line = enc('{"op":"cat","path":"café.txt"}\n');
    for (let cut = 1; cut < line.length; cut++) {
      const r = new RequestLineReader();
      expect(r.push(line.subarray(0, cut))).toBeUndefined();
      expect(parseControlRequest(r.push(line.subarray(cut))!)).toEqual({ op: "cat", path: "café.txt" });
    }
  });

  test("each op with its fields is accepted; anything else gets a typed error", () => {
    const parse = (s: string) => parseControlRequest(enc(s));
    expect(parse('{"op":"status"}')).toEqual({ op: "status" });
    expect(parse('{"op":"stop","extra":1}')).toEqual({ op: "stop" });
    expect(parse('{"op":"ls"}')).toEqual({ op: "ls", prefix: "" });
    expect(parse('{"op":"ls","prefix":"lib"}')).toEqual({ op: "ls", prefix: "lib" });
    expect(parse('{"op":"ls","prefix":"lib","at":7}')).toEqual({ op: "ls", prefix: "lib", at: 7 });
    expect(parse('{"op":"cat","path":"a.txt","at":1}')).toEqual({ op: "cat", path: "a.txt", at: 1 });
    expect(parse('{"op":"cat","path":"a.txt","at":null}')).toEqual({ op: "cat", path: "a.txt" });
    expect(parse('{"op":"du"}')).toEqual({ op: "du" });
    expect(parse('{"op":"chop","keep":0}')).toEqual({ op: "chop", keep: 0 });
    const bads = ['{"op":"chop"}', '{"op":"chop","keep":-1}', '{"op":"chop","keep":1.5}', '{"op":"chop","keep":"1"}', '{"op":"chop","keep":1001}', '{"op":"cat","path":5}', '{"op":"cat","path":null}', '{"op":"ls","prefix":{}}', '{"op":["cat"]}', "{}", "[]", "1", '"x"', "{"];
    for (const at of ['"3"', "0", "-1", "1.5", "1e300", "true"]) bads.push(`{"op":"cat","path":"a.txt","at":${at}}`, `{"op":"ls","at":${at}}`);
    for (const bad of bads) {
      const e = thrown(() => parse(bad));
      expect(e.code).toBe(UrthErrorCode.control.protocol);
      expect(e.message).not.toMatch(/TypeError|is not a function/);
    }
    expect(thrown(() => parseControlRequest(Uint8Array.of(0x7b, 0xff, 0x7d))).message).toBe("The request is not UTF-8");
  });
});
