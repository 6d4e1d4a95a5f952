/**
 * The control socket's server with a real socket: a client that stops reading a `cat` and then
 * goes away must not leave the server's handler waiting for ever (with the file it was reading
 * open), as it did before the server listened for the close.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isPleaError } from "../../src/error.ts";
import { ControlServer } from "../../src/urth/control.ts";
import { UrthErrorCode } from "../../src/urth/errors.ts";
import { waitFor } from "./urth-support.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const dirs: string[] = [];
const servers: ControlServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("a client that stops reading a cat and goes away ends the handler with control_unreachable", async () => {
  const dir = mkdtempSync(join(tmpdir(), "plea-control-"));
  dirs.push(dir);
  const path = join(dir, "urth.sock");
  const piece = new Uint8Array(4 * 1024 * 1024);
  let sent = 0;
  let ended: unknown;
  let finished = false;
  servers.push(
    ControlServer.listen(path, async (_req, out) => {
      try {
        await out.reply({ ok: true, size: 1024 * piece.length });
        for (let i = 0; i < 1024; i++) {
          await out.bytes(piece);
          sent += piece.length;
        }
      } catch (e) {
        ended = e;
        throw e;
      } finally {
        finished = true;
      }
    }),
  );
  const sock = createConnection({ path });
  await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
  sock.write(JSON.stringify({ op: "cat", path: "big.bin" }) + "\n");
  // Read a little, then stop: the socket's buffers fill and the server waits for a drain.
  await new Promise<void>((resolve) => sock.once("data", () => resolve()));
  sock.pause();
  await Bun.sleep(300);
  expect(finished).toBe(false);
  sock.destroy();
  await waitFor(() => finished, "the handler to end after the client went away", 10_000);
  expect(sent).toBeLessThan(1024 * piece.length);
  expect(isPleaError(ended, UrthErrorCode.control.unreachable)).toBe(true);
});
