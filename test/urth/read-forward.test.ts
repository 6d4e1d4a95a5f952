/**
 * The read worker forwards what it cannot answer from the read view (`du`, `chop`) to the main
 * thread's handler and relays the answer (src/urth/read-server.ts, docs/urth.md "A second shell").
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { PleaError } from "../../src/error.ts";
import { CommitFlight } from "../../src/urth/commit-flight.ts";
import { controlRequest, type ControlHandler, type ControlRequest } from "../../src/urth/control.ts";
import { ReadServer } from "../../src/urth/read-server.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";
import { cleanUp, tempPier, urth } from "./urth-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);
afterEach(cleanUp);

describe("the read worker's forwarded requests", () => {
  test("du and chop reach the main thread's handler; its replies and errors reach the client; the view's reads stay the worker's", async () => {
    const { pier, mount } = tempPier();
    await Bun.write(join(mount, "a.txt"), "hello");
    expect((await urth(["commit", "--pier", pier])).code).toBe(0);
    const seen: ControlRequest[] = [];
    const forward: ControlHandler = async (req, out) => {
      seen.push(req);
      if (req.op === "chop") throw new PleaError("chop_failed", `Refused to keep ${req.keep}`);
      await out.reply({ ok: true, du: { urb: { bytes: 42 } } });
    };
    const socket = join(pier, ".urb", "urth.sock");
    const server = await ReadServer.start(
      { pier, socket, namespace: "plea-test-forward", marsPid: process.pid, shm: null, rels: [] },
      new CommitFlight(),
      () => {},
      () => {},
      forward,
    );
    try {
      expect(await controlRequest(socket, { op: "du" })).toEqual({ ok: true, du: { urb: { bytes: 42 } } });
      const refused = await controlRequest(socket, { op: "chop", keep: 3 });
      expect(refused).toMatchObject({ ok: false, code: "chop_failed", message: "Refused to keep 3" });
      // Answered by the worker from the view: never forwarded.
      const ls = await controlRequest(socket, { op: "ls", prefix: "" });
      expect(ls.ok).toBe(true);
      expect((ls.files as { path: string }[]).map((f) => f.path)).toEqual(["a.txt"]);
      expect(seen).toEqual([{ op: "du" }, { op: "chop", keep: 3 }]);
    } finally {
      await server.close();
    }
  });
});
