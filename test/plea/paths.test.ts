/**
 * The two paths into mars, with real processes and real segments: the pipe and the plea protocol
 * give the same events, the same state and the same answers; ordering holds when they interleave;
 * the default threshold sends 300 MiB through shared memory and 1 MiB through the pipe.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { atomFromBytes, equals, FileAtom, type Noun } from "../../src/noun/index.ts";
import { PLEA_THRESHOLD_BYTES_DEFAULT } from "../../src/plea/urth.ts";
import type { MarsProcess, PokeProgress, PokeResult } from "../../src/urth/mars-process.ts";
import { deskTotals, listFiles, readFile } from "../../src/urth/peeks.ts";
import {
  cleanUp,
  ExpectedDesk,
  leftoverSegments,
  MIB,
  ovum,
  phaseSequence,
  pseudoRandomBytes,
  startMars,
  tempDir,
  tempPier,
  TEST_TIMEOUT_MS,
  type Change,
} from "./plea-test-support.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

afterEach(cleanUp);
afterAll(() => expect(leftoverSegments().map((s) => s.name)).toEqual([]));

/** The events of the equivalence test: adds, a change, a delete, an empty file, trailing zeros. */
function equivalenceEvents(): Change[][] {
  const zeros = new Uint8Array(MIB);
  zeros[0] = 7; // an atom of one byte, a file of 1 MiB
  return [
    [
      { path: "/a/txt", bytes: new TextEncoder().encode("hello, mars") },
      { path: "/b/bin", bytes: pseudoRandomBytes(200 * 1024, 1) },
    ],
    [
      { path: "/big/one/bin", bytes: pseudoRandomBytes(3 * MIB, 2) },
      { path: "/c/txt", bytes: new TextEncoder().encode("c") },
    ],
    [
      { path: "/a/txt", delete: true },
      { path: "/b/bin", bytes: pseudoRandomBytes(50 * 1024, 3) },
    ],
    [
      { path: "/d/empty", bytes: new Uint8Array(0) },
      { path: "/big/two/bin", bytes: zeros },
    ],
  ];
}

/** Everything urth can learn about the desk through peeks, as plain data plus the file atoms. */
async function observe(mars: MarsProcess) {
  const files = await listFiles(mars);
  const totals = await deskTotals(mars);
  const contents: Array<{ type: string[]; len: number; data: Noun } | undefined> = [];
  for (const f of files) contents.push(await readFile(mars, f.path));
  return { files, totals, contents };
}

describe("pipe and plea give the same results", () => {
  test(
    "a fresh pier is %ripe at event 0, and the same pokes through the pipe and through plea give identical peeks and state mugs",
    async () => {
      const viaPipe = tempPier();
      const viaPlea = tempPier();
      const [p, q] = await Promise.all([
        startMars({ pier: viaPipe.pier, pleaThresholdBytes: Number.MAX_SAFE_INTEGER }),
        startMars({ pier: viaPlea.pier, pleaThresholdBytes: 0 }),
      ]);
      expect(p.mars.eve).toBe(0);
      expect(q.mars.eve).toBe(0);
      expect(p.mars.mug).toBe(q.mars.mug);

      const events = equivalenceEvents();
      const expected = new ExpectedDesk();
      const answers: Record<"pipe" | "plea", unknown[]> = { pipe: [], plea: [] };
      for (const [path, t] of [["pipe", p], ["plea", q]] as const) {
        // Fired without awaiting, a peek after each poke: each reply must pair with its writ.
        const pending: Promise<unknown>[] = [];
        for (const changes of events) {
          pending.push(t.mars.poke(ovum(changes)));
          pending.push(deskTotals(t.mars));
        }
        answers[path] = await Promise.all(pending);
      }
      for (let i = 0; i < events.length; i++) {
        expected.apply(events[i]);
        for (const path of ["pipe", "plea"] as const) {
          const poke = answers[path][2 * i] as PokeResult;
          expect(poke).toEqual({ ok: true, effects: [], path, eve: i + 1 });
          expect(answers[path][2 * i + 1]).toEqual(expected.totals());
        }
      }

      const [a, b] = [await observe(p.mars), await observe(q.mars)];
      expect(a.files).toEqual(expected.listing());
      expect(b.files).toEqual(a.files);
      expect(b.totals).toEqual(a.totals);
      expect(a.contents.length).toBe(a.files.length);
      const last = new Map<string, Uint8Array>();
      for (const changes of events) for (const c of changes) if ("bytes" in c) last.set(c.path, c.bytes);
      for (let i = 0; i < a.files.length; i++) {
        const want = last.get("/" + a.files[i].path.join("/"))!;
        for (const got of [a.contents[i], b.contents[i]]) {
          expect(got?.type).toEqual(["text", "plain"]);
          expect(got?.len).toBe(want.length);
          expect(equals(got!.data, atomFromBytes(want))).toBe(true);
        }
      }

      const [sa, sb] = await Promise.all([p.mars.save(), q.mars.save()]);
      expect(sa.eve).toBe(events.length);
      expect(sb).toEqual(sa);
    },
    TEST_TIMEOUT_MS,
  );
});

describe("ordering", () => {
  test(
    "small pipe pokes, large plea pokes and peeks fired without awaiting resolve in order, and each peek sees exactly the events before it",
    async () => {
      const { pier } = tempPier();
      const { mars } = await startMars({ pier, pleaThresholdBytes: MIB });
      const script = "s L p s L p s s L p L p s L L p".split(" ");
      const expected = new ExpectedDesk();
      const order: number[] = [];
      const pending: Array<Promise<unknown>> = [];
      const wants: Array<(value: unknown) => void> = [];
      let eve = 0;
      script.forEach((kind, i) => {
        const track = <T>(p: Promise<T>) => p.then((v) => (order.push(i), v));
        if (kind === "p") {
          const totals = expected.totals();
          const listing = expected.listing();
          pending.push(track(Promise.all([deskTotals(mars), listFiles(mars)])));
          wants.push((v) => expect(v).toEqual([totals, listing]));
          return;
        }
        // Large files replace one another, so mappings are also released along the way.
        const changes: Change[] =
          kind === "s"
            ? [{ path: `/small/s${i}/txt`, bytes: new TextEncoder().encode(`small ${i}`) }]
            : [{ path: `/large/l${i % 3}/bin`, bytes: pseudoRandomBytes(2 * MIB + i, 100 + i) }];
        expected.apply(changes);
        const progress: PokeProgress[] = [];
        const n = ++eve;
        const path = kind === "s" ? "pipe" : "plea";
        pending.push(track(mars.poke(ovum(changes), { onProgress: (pr) => progress.push(pr) })));
        wants.push((v) => {
          expect(v).toEqual({ ok: true, effects: [], path, eve: n });
          expect(progress.at(-1)).toMatchObject({ phase: "sent", path });
        });
      });
      const results = await Promise.all(pending);
      expect(order).toEqual(script.map((_, i) => i));
      results.forEach((v, i) => wants[i](v));
      expect(mars.eve).toBe(eve);
      expect(mars.pending).toBe(0);
      // The last large file written reads back whole.
      const last = script.lastIndexOf("L");
      const file = await readFile(mars, ["large", `l${last % 3}`, "bin"]);
      expect(equals(file!.data, atomFromBytes(pseudoRandomBytes(2 * MIB + last, 100 + last)))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "exit() right behind plea and pipe pokes lets every one of them commit first, and the restart holds them all",
    async () => {
      const { pier } = tempPier();
      const first = await startMars({ pier, pleaThresholdBytes: MIB });
      const pokes = [
        first.mars.poke(ovum([{ path: "/a/bin", bytes: pseudoRandomBytes(2 * MIB, 1) }])),
        first.mars.poke(ovum([{ path: "/b/txt", bytes: new TextEncoder().encode("b") }])),
        first.mars.poke(ovum([{ path: "/c/bin", bytes: pseudoRandomBytes(2 * MIB, 2) }])),
      ];
      const exited = first.mars.exit();
      expect((await Promise.all(pokes)).map((r) => (r.ok ? [r.path, r.eve] : r))).toEqual([
        ["plea", 1],
        ["pipe", 2],
        ["plea", 3],
      ]);
      expect(await exited).toBe(0);
      const second = await startMars({ pier, pleaThresholdBytes: MIB });
      expect(second.mars.eve).toBe(3);
      expect((await deskTotals(second.mars)).files).toBe(3);
    },
    TEST_TIMEOUT_MS,
  );
});

describe("the default threshold", () => {
  test(
    "with the default threshold (1 MiB, docs/plea.md) a 2 MiB file-backed event takes the plea path and a 512 KiB one the pipe",
    async () => {
      expect(PLEA_THRESHOLD_BYTES_DEFAULT).toBe(MIB);
      const path = join(tempDir(), "two.bin");
      writeFileSync(path, pseudoRandomBytes(2 * MIB, 300));
      const two = new FileAtom(path);
      expect(two.byteLengthMax).toBe(2 * MIB);

      const { pier } = tempPier();
      const { mars } = await startMars({ pier });
      expect(mars.pleaThresholdBytes).toBe(PLEA_THRESHOLD_BYTES_DEFAULT);
      const half = pseudoRandomBytes(MIB / 2, 1);
      const phases: PokeProgress[] = [];
      const big = await mars.poke(ovum([{ path: "/two/bin", atom: two, length: two.byteLengthMax }]), { onProgress: (p) => phases.push(p) });
      expect(big).toEqual({ ok: true, effects: [], path: "plea", eve: 1 });
      expect(phaseSequence(phases)).toEqual(["asking/plea", "filling/plea", "sent/plea"]);
      const small = await mars.poke(ovum([{ path: "/half/bin", bytes: half }]));
      expect(small).toEqual({ ok: true, effects: [], path: "pipe", eve: 2 });
      expect(await listFiles(mars)).toEqual([
        { path: ["half", "bin"], size: MIB / 2 },
        { path: ["two", "bin"], size: 2 * MIB },
      ]);
      expect(equals((await readFile(mars, ["half", "bin"]))!.data, atomFromBytes(half))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
