/**
 * urth's writ FIFO on its own (no process): its states (starting, ready, exiting, dead), the
 * pairing of each reply with the head writ, and what a protocol fault or mars's death does to
 * the writs still pending.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Gift } from "../../src/ipc/gift.ts";
import { MarsExited } from "../../src/urth/mars-exited.ts";
import { UrthErrorCode } from "../../src/urth/errors.ts";
import { WritQueue, type PeekResult, type PokeResult, type PokeWrit } from "../../src/urth/writ-queue.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const ripe: Gift = { type: "ripe", kel: 0, who: 0, fake: true, eve: 7, mug: 42 };
const pokeOk: Gift = { type: "poke", ok: true, effects: [] };

function exited(code: MarsExited["code"], message: string): MarsExited {
  return new MarsExited(code, message, { exitCode: null, signal: null, stderrTail: [] });
}

/** A writ that records how it was settled. */
function poke(reply: "plea" | "poke" = "poke") {
  const settled: Array<PokeResult | { error: unknown }> = [];
  const writ: PokeWrit = { kind: "poke", reply, path: reply === "plea" ? "plea" : "pipe", task: 0, size: 1, resolve: (r) => settled.push(r), reject: (e) => settled.push({ error: e }) };
  return { writ, settled };
}

function peek() {
  const settled: Array<PeekResult | { error: unknown }> = [];
  return { writ: { kind: "peek" as const, reply: "peek" as const, resolve: (r: PeekResult) => settled.push(r), reject: (e: unknown) => settled.push({ error: e }) }, settled };
}

function readyQueue(): WritQueue {
  const q = new WritQueue();
  expect(q.answer(ripe)).toEqual({ kind: "settled" });
  return q;
}

describe("the writ queue's states", () => {
  test("starting until %ripe, which sets the event number and mug; a gift before it or a second %ripe is a protocol error", async () => {
    const q = new WritQueue();
    expect(q.state.kind).toBe("starting");
    expect(q.answer(pokeOk)).toMatchObject({ kind: "protocol" });
    expect(q.answer(ripe)).toEqual({ kind: "settled" });
    expect(q.state.kind).toBe("ready");
    expect(await q.ripe).toMatchObject({ eve: 7, mug: 42 });
    expect([q.eve, q.mug]).toEqual([7, 42]);
    expect(q.answer(ripe)).toMatchObject({ kind: "protocol", message: expect.stringContaining("%ripe a second time") });
  });

  test("ready: replies settle the head writ in order and count events; a reply of another type or with nothing pending is a protocol error", () => {
    const q = readyQueue();
    const a = poke();
    const b = peek();
    q.push(a.writ);
    q.push(b.writ);
    expect(q.answer({ type: "peek", ok: true, result: null })).toMatchObject({ kind: "protocol", message: expect.stringContaining("answered a %poke task with a %peek reply") });
    expect(q.answer(pokeOk)).toEqual({ kind: "settled" });
    expect(a.settled).toEqual([{ ok: true, effects: [], path: "pipe", eve: 8 }]);
    expect(q.answer({ type: "peek", ok: true, result: null })).toEqual({ kind: "settled" });
    expect(b.settled).toEqual([{ ok: true, result: null }]);
    expect(q.answer(pokeOk)).toMatchObject({ kind: "protocol", message: expect.stringContaining("with no task waiting") });
  });

  test("a %chop reply is paired apart from the writs: it may come after the replies of pokes sent later", () => {
    const q = readyQueue();
    const chops: unknown[] = [];
    q.pushChop({ resolve: (g) => chops.push(g), reject: (e) => chops.push({ error: e }) });
    const a = poke();
    q.push(a.writ);
    // The poke sent after the chop is answered first: its event went on while the chop ran.
    expect(q.answer(pokeOk)).toEqual({ kind: "settled" });
    expect(a.settled).toEqual([{ ok: true, effects: [], path: "pipe", eve: 8 }]);
    expect(chops).toEqual([]);
    const report: Gift = { type: "chop", ok: true, report: "{}" };
    expect(q.answer(report)).toEqual({ kind: "settled" });
    expect(chops).toEqual([report]);
    expect(q.answer(report)).toMatchObject({ kind: "protocol", message: expect.stringContaining("no %chop waiting") });
  });

  test("a plea poke's %plea reply goes to the plea machine, and once it waits for %poke it settles like any poke", () => {
    const q = readyQueue();
    const p = poke("plea");
    q.push(p.writ);
    const grant: Gift = { type: "plea", ok: true, name: "/plea-00000000-1-1", length: 10 };
    expect(q.answer(grant)).toEqual({ kind: "plea", writ: p.writ, gift: grant });
    expect(q.pending).toBe(1);
    p.writ.reply = "poke";
    expect(q.answer(pokeOk)).toEqual({ kind: "settled" });
    expect(p.settled).toEqual([{ ok: true, effects: [], path: "plea", eve: 8 }]);
  });

  test("exiting: new writs are refused, pending ones are still answered; then dead rejects what is left with the death", () => {
    const q = readyQueue();
    const a = poke();
    const b = poke();
    q.push(a.writ);
    q.push(b.writ);
    q.beginExit();
    expect(q.state.kind).toBe("exiting");
    expect(q.refusal()?.message).toContain("mars is exiting");
    expect(q.dead).toBe(false);
    expect(q.answer(pokeOk)).toEqual({ kind: "settled" });
    const death = exited(UrthErrorCode.mars.exited, "mars exited with status 1.");
    q.die(death, exited(UrthErrorCode.mars.start, "not ready"));
    expect(q.state).toEqual({ kind: "dead", death });
    expect(a.settled).toHaveLength(1);
    expect(b.settled).toEqual([{ error: death }]);
    expect(q.refusal()).toBe(death);
    expect(q.pending).toBe(0);
  });

  test("a protocol fault: replies are ignored from then on, and mars's death rejects every writ with the fault, not the exit", async () => {
    const q = readyQueue();
    const a = poke();
    q.push(a.writ);
    let synced: unknown;
    q.pushSync({ resolve: (g) => (synced = g), reject: (e) => (synced = e) });
    const fault = exited(UrthErrorCode.mars.protocol, "mars sent nonsense");
    q.fault(fault);
    expect(q.dead).toBe(true);
    expect(q.refusal()).toBe(fault);
    expect(q.answer(pokeOk)).toEqual({ kind: "settled" });
    expect(a.settled).toEqual([]);
    q.die(exited(UrthErrorCode.mars.exited, "mars was killed by SIGKILL."), exited(UrthErrorCode.mars.start, "not ready"));
    expect(a.settled).toEqual([{ error: fault }]);
    expect(synced).toBe(fault);
  });

  test("death before %ripe rejects the start with its own error", async () => {
    const q = new WritQueue();
    const notReady = exited(UrthErrorCode.mars.start, "mars exited with status 7 before it was ready.");
    q.die(exited(UrthErrorCode.mars.exited, "mars exited with status 7."), notReady);
    expect(await q.ripe.then(() => undefined, (e) => e)).toBe(notReady);
  });
});
