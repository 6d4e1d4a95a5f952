/**
 * docs/plea.md's two transition tables, walked row by row against the machines: for each state
 * and input of a row, the machine in that state moves to the row's next state and returns the
 * row's actions in order. The tables must also cover every state with every input from outside
 * the machine, exactly once; an action's result anywhere but the state that asked for it is an
 * invariant error. Editing either the page or a machine without the other fails here.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NEWT_BODY_BYTES_MAX } from "../../src/ipc/newt.ts";
import { taskToNoun, type Task } from "../../src/ipc/task.ts";
import { cell, cord, list } from "../../src/noun/index.ts";
import { MarsPlea, type MarsPleaInput, type MarsPleaState } from "../../src/plea/mars.ts";
import { UrthPlea, type UrthPleaInput, type UrthPleaState } from "../../src/plea/urth.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const PAGE = readFileSync(join(import.meta.dir, "../../docs/plea.md"), "utf8");

interface Row {
  line: number;
  states: string[];
  inputs: string[];
  next: string;
  actions: string[];
}

/** The code spans of a cell, in order. */
function spans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/** The rows of the first table after `heading`: state, input, next state, actions (code spans). */
function table(heading: string): Row[] {
  const lines = PAGE.split("\n");
  const at = lines.findIndex((l) => l.trim() === heading);
  if (at < 0) throw new Error(`docs/plea.md has no heading "${heading}"`);
  let i = at + 1;
  while (i < lines.length && !lines[i].startsWith("|")) {
    if (lines[i].startsWith("## ")) throw new Error(`no table under "${heading}"`);
    i++;
  }
  const header = lines[i].split("|").map((c) => c.trim());
  expect(header.slice(1, 5)).toEqual(["state", "on", "next", "actions"]);
  const rows: Row[] = [];
  for (i += 2; i < lines.length && lines[i].startsWith("|"); i++) {
    const cells = lines[i].split("|").slice(1, -1);
    expect(cells.length).toBe(5);
    const [states, inputs, next, actions] = cells.slice(0, 4).map(spans);
    expect(states.length).toBeGreaterThan(0);
    expect(inputs.length).toBeGreaterThan(0);
    expect(next.length).toBe(1);
    // An empty actions cell must say so in words.
    if (actions.length === 0) expect(cells[3].trim()).toBe("none");
    rows.push({ line: i + 1, states, inputs, next: next[0], actions });
  }
  expect(rows.length).toBeGreaterThan(0);
  return rows;
}

/** What a machine did in one step, in the table's terms. */
interface Outcome {
  next: string;
  actions: string[];
  /** How many inputs it holds, before and after. */
  heldBefore: number;
  heldAfter: number;
}

/** Walks `rows` against a machine, and checks the table covers `outside` × `states` exactly once. */
function walk(
  rows: Row[],
  states: readonly string[],
  inputs: readonly string[],
  outside: readonly string[],
  stepIn: (state: string, input: string) => Outcome,
): void {
  const seen = new Map<string, number>();
  for (const row of rows) {
    for (const state of row.states) {
      expect(states).toContain(state);
      for (const input of row.inputs) {
        expect(inputs).toContain(input);
        const key = `${state} × ${input}`;
        if (seen.has(key)) throw new Error(`docs/plea.md line ${row.line}: ${key} is already on line ${seen.get(key)}`);
        seen.set(key, row.line);
        const got = stepIn(state, input);
        const holds = row.actions.includes("hold");
        const want = { next: row.next === "same" ? state : row.next, actions: row.actions.filter((a) => a !== "hold"), held: holds ? got.heldBefore + 1 : undefined };
        const have = { next: got.next, actions: got.actions, held: holds ? got.heldAfter : undefined };
        if (JSON.stringify(have) !== JSON.stringify(want)) {
          throw new Error(`docs/plea.md line ${row.line} (${key}): the table says ${JSON.stringify(want)}, the machine does ${JSON.stringify(have)}`);
        }
      }
    }
  }
  for (const state of states) {
    for (const input of inputs) {
      const key = `${state} × ${input}`;
      if (seen.has(key)) continue;
      // Not in the table: only an action's result in a state that did not ask for it, refused.
      if (outside.includes(input)) throw new Error(`docs/plea.md has no row for ${key}`);
      expect(() => stepIn(state, input)).toThrow(/Plea invariant broken/);
    }
  }
}

// -- urth's side ----------------------------------------------------------------------------

const ASKED = 1000;

/** The machine in `state`, asking or filling or measuring for plea poke "p1", one task held. */
function urthIn(state: string): UrthPlea<string, string> {
  const held = () => [{ type: "task" as const, item: "t0" }];
  const states: Record<string, UrthPleaState<string, string>> = {
    idle: { kind: "idle" },
    asking: { kind: "asking", item: "p1", asked: ASKED, segment: "named", held: held() },
    filling: { kind: "filling", item: "p1", asked: ASKED, segment: "named", held: held() },
    measuring: { kind: "measuring", item: "p1", mote: "plea-create", held: held() },
    dead: { kind: "dead" },
  };
  return new UrthPlea(states[state]);
}

const URTH_INPUTS: Record<string, UrthPleaInput<string, string>> = {
  task: { type: "task", item: "t1" },
  plea: { type: "plea", item: "p2", asked: ASKED, kind: "named" },
  grant: { type: "granted", segment: { kind: "named", name: "/plea-0123abcd-1-2" }, length: ASKED },
  "grant-small": { type: "granted", segment: { kind: "named", name: "/plea-0123abcd-1-2" }, length: ASKED - 1 },
  // The machine in `asking` asked for a named segment: a memfd grant is as foreign as a bad name.
  "grant-foreign": { type: "granted", segment: { kind: "named", name: "/etc-passwd" }, length: ASKED },
  refusal: { type: "refused", mote: "plea-create" },
  filled: { type: "filled", bytes: ASKED },
  "fill-failed": { type: "fill-failed", error: new Error("a file changed") },
  "jam-fits": { type: "measured", jam: { bytes: NEWT_BODY_BYTES_MAX, plan: undefined } },
  "jam-too-big": { type: "measured", jam: { bytes: NEWT_BODY_BYTES_MAX + 1, plan: undefined } },
  "jam-failed": { type: "measure-failed", error: new Error("a file vanished") },
  exit: { type: "exited" },
};

const URTH_OUTSIDE = ["task", "plea", "grant", "grant-small", "grant-foreign", "refusal", "exit"];

function urthHeld(m: UrthPlea<string, string>): number {
  const s = m.state;
  return "held" in s ? s.held.length : 0;
}

function urthStep(state: string, input: string): Outcome {
  const m = urthIn(state);
  const heldBefore = urthHeld(m);
  const actions = m.step(URTH_INPUTS[input]).map((a) => a.do);
  return { next: m.state.kind, actions, heldBefore, heldAfter: urthHeld(m) };
}

// -- mars's side ----------------------------------------------------------------------------

const peekTask: Task = { type: "peek", mil: 0, gang: null, request: { kind: "path", path: list([cord("x")]) } };
const pokeTask: Task = { type: "poke", mil: 0, ovum: cell(list([cord("sync")]), cell(cord("into"), 0)) };

/** The machine in `state`, holding segment "s1" while waiting, one task held where it can hold. */
function marsIn(state: string): MarsPlea<string> {
  const held = () => [peekTask];
  const states: Record<string, MarsPleaState<string>> = {
    idle: { kind: "idle" },
    creating: { kind: "creating", length: ASKED, segment: "named", held: held() },
    waiting: { kind: "waiting", segment: "s1", held: held() },
    taking: { kind: "taking", held: held() },
    resolving: { kind: "resolving", held: held() },
    closed: { kind: "closed" },
  };
  return new MarsPlea(states[state]);
}

const MARS_INPUTS: Record<string, MarsPleaInput<string>> = {
  plea: { type: "task", task: { type: "plea", length: ASKED } },
  done: { type: "task", task: { type: "done" } },
  drop: { type: "task", task: { type: "drop" } },
  bref: { type: "task", task: { type: "bref", refs: [{ bitOffset: 0, name: "ab".repeat(32), byteLength: 1 << 20 }], jam: 2 } },
  task: { type: "task", task: { type: "live", kind: "pack" } },
  created: { type: "created", segment: "s2", granted: { kind: "named", name: "/plea-0123abcd-1-2" }, length: ASKED },
  "create-failed": { type: "create-failed", message: "ENOSPC" },
  taken: { type: "taken", noun: taskToNoun(pokeTask) },
  "taken-other": { type: "taken", noun: taskToNoun(peekTask) },
  "take-failed": { type: "take-failed", message: "The segment's header is damaged" },
  resolved: { type: "resolved", noun: taskToNoun(pokeTask) },
  "resolved-other": { type: "resolved", noun: taskToNoun(peekTask) },
  unresolved: { type: "unresolved", message: "Blob abab... is missing" },
  "resolve-bad": { type: "resolve-bad", message: "bit 0 holds a cell, not atom 0" },
  end: { type: "end" },
};

const MARS_OUTSIDE = ["plea", "done", "drop", "bref", "task", "end"];

const MARS_STATES = ["idle", "creating", "waiting", "taking", "resolving", "closed"];

function marsHeld(m: MarsPlea<string>): number {
  const s = m.state;
  return "held" in s ? s.held.length : 0;
}

function marsStep(state: string, input: string): Outcome {
  const m = marsIn(state);
  const heldBefore = marsHeld(m);
  const actions = m.step(MARS_INPUTS[input]).map((a) => a.do);
  return { next: m.state.kind, actions, heldBefore, heldAfter: marsHeld(m) };
}

// -- the walk -------------------------------------------------------------------------------

describe("docs/plea.md's transition tables are the machines", () => {
  test("urth's side: every row holds, and every state meets every outside input in exactly one row", () => {
    walk(table("## urth's side"), ["idle", "asking", "filling", "measuring", "dead"], Object.keys(URTH_INPUTS), URTH_OUTSIDE, urthStep);
  });

  test("mars's side: every row holds, and every state meets every outside input in exactly one row", () => {
    walk(table("## mars's side"), MARS_STATES, Object.keys(MARS_INPUTS), MARS_OUTSIDE, marsStep);
  });

  test("an action that asks for a result, and release, always come last in their list", () => {
    const last = new Set(["fill", "measure", "create", "take", "resolve", "release"]);
    for (const row of [...table("## urth's side"), ...table("## mars's side")]) {
      row.actions.forEach((a, i) => {
        if (last.has(a) && i !== row.actions.length - 1) throw new Error(`docs/plea.md line ${row.line}: ${a} is not last`);
      });
    }
  });

  test("the walk catches a row that drifts from the machine", () => {
    const rows = table("## mars's side").map((r) => ({ ...r }));
    const done = rows.find((r) => r.states.includes("idle") && r.inputs.includes("done"))!;
    done.actions = ["reject"]; // what mars did before the out-of-state rule: a goof for a stray %done
    expect(() => walk(rows, MARS_STATES, Object.keys(MARS_INPUTS), MARS_OUTSIDE, marsStep)).toThrow(/idle × done/);
    const fewer = table("## urth's side").filter((r) => !r.inputs.includes("exit"));
    expect(() => walk(fewer, ["idle", "asking", "filling", "measuring", "dead"], Object.keys(URTH_INPUTS), URTH_OUTSIDE, urthStep)).toThrow(/no row for/);
  });
});
