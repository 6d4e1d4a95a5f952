/**
 * Child process for test/ipc/pipe.test.ts. Modes (argv[2]):
 * - `echo [wholeBodyBytesMax]`: reads newt frames on stdin and writes each body back as a frame
 *   on stdout (whole frames with sendBody, streamed ones forwarded chunk by chunk with
 *   sendChunks); at EOF ends stdout and exits 0. A decode error goes to stderr, exit 2.
 * - `partial`: writes the header of a 1000-byte frame and 10 body bytes, says "ready" on
 *   stderr, and waits to be killed.
 * - `deaf`: never reads stdin; says "ready" on stderr and waits to be killed.
 */
import { FrameReader } from "../../src/ipc/frame-reader.ts";
import { FrameWriter } from "../../src/ipc/frame-writer.ts";
import { encodeFrameHeader } from "../../src/ipc/newt.ts";

const mode = process.argv[2] ?? "echo";

async function hang(): Promise<never> {
  // Keeps the process alive until the parent kills it (no timer needed to wait, but an
  // interval keeps the event loop busy).
  setInterval(() => {}, 1 << 30);
  return new Promise<never>(() => {});
}

if (mode === "echo") {
  const wholeBodyBytesMax = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  const reader = new FrameReader(Bun.stdin.stream(), { name: "the fixture's stdin", wholeBodyBytesMax });
  const writer = new FrameWriter(Bun.stdout.writer(), { name: "the fixture's stdout" });
  try {
    for (let f = await reader.next(); f !== undefined; f = await reader.next()) {
      if (f.kind === "whole") await writer.sendBody(f.body);
      else await writer.sendChunks(f.length, f.chunks);
    }
    await writer.close();
    process.exit(0);
  } catch (e) {
    process.stderr.write(`echo-fixture: ${(e as Error).name} ${(e as { code?: string }).code}: ${(e as Error).message}\n`);
    process.exit(2);
  }
} else if (mode === "partial") {
  const out = Bun.stdout.writer();
  out.write(encodeFrameHeader(1000));
  out.write(new Uint8Array(10).fill(7));
  await out.flush();
  process.stderr.write("ready\n");
  await hang();
} else if (mode === "deaf") {
  process.stderr.write("ready\n");
  await hang();
} else {
  process.stderr.write(`echo-fixture: unknown mode ${mode}\n`);
  process.exit(64);
}
