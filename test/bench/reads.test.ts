import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { latencySummary, percentile } from "../../bench/lib/latency.ts";
import { issuedInFlight, opIntervalMs, pairedRounds, type ReadsCaseResult, type RoundResult, summarizeCommits, summarizeOps } from "../../bench/lib/reads-results.ts";
import { evaluateReadsTargets } from "../../bench/lib/reads-targets.ts";
import { parseRunLine } from "../../bench/lib/run-line.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

describe("percentile", () => {
  test("is a value one request had: nearest rank, no interpolation", () => {
    const v = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(100);
    expect(percentile(v, 99)).toBe(198);
    expect(percentile([1, 10], 50)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
  });

  test("is undefined for no values and refuses a percentile out of range", () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });

  test("latencySummary sorts a copy and drops values that are not finite", () => {
    const values = [30, 10, NaN, 20];
    expect(latencySummary(values)).toEqual({ n: 3, p50: 20, p99: 30, max: 30 });
    expect(values).toEqual([30, 10, NaN, 20]);
    expect(latencySummary([])).toBeUndefined();
  });
});

describe("parseRunLine", () => {
  test("reads urth's figure in seconds or milliseconds", () => {
    expect(parseRunLine("event 4: 2 added, 1 changed, 0 deleted, 2.00 GiB via plea in 3.21 s")).toEqual({ kind: "commit", eve: 4, added: 2, changed: 1, deleted: 0, path: "plea", ms: 3210 });
    expect(parseRunLine("event 12: 100000 added, 0 changed, 0 deleted, 97.7 MiB via pipe in 812 ms\n")).toMatchObject({ eve: 12, path: "pipe", ms: 812 });
  });

  test("knows `nothing to commit` and nothing else", () => {
    expect(parseRunLine("nothing to commit")).toEqual({ kind: "nothing" });
    expect(parseRunLine("urth: pier /tmp/p at event 1; watching")).toBeUndefined();
    expect(parseRunLine("skipped lib/.git (dot-file)")).toBeUndefined();
  });
});

describe("pacing and rounds", () => {
  test("a request is in flight from the change up to, not at, the acknowledgement", () => {
    const w = { changeAt: 0, ackAt: 100 };
    expect(issuedInFlight(-0.1, w)).toBe(false);
    expect(issuedInFlight(0, w)).toBe(true);
    expect(issuedInFlight(99.9, w)).toBe(true);
    expect(issuedInFlight(100, w)).toBe(false);
  });

  test("the interval puts the wanted count into one commit, never below the floor", () => {
    expect(opIntervalMs(15_000, 200, 6)).toBe(75);
    expect(opIntervalMs(100, 200, 6)).toBe(6);
    expect(() => opIntervalMs(100, 0, 6)).toThrow(RangeError);
  });

  test("pairs alternate which comes first, and hold as many with readers as without", () => {
    const r = pairedRounds(5);
    expect(r).toEqual([false, true, true, false, false, true, true, false, false, true]);
    expect(r.filter((x) => x).length).toBe(5);
  });
});

function round(over: Partial<RoundResult>): RoundResult {
  return { index: 0, readers: true, extra: false, idle: [], during: [], windowMs: 100, commitMs: 90, ...over };
}

describe("summaries", () => {
  test("count only requests issued in flight, and failures apart from latencies", () => {
    const rounds = [
      round({
        idle: [{ op: "status", at: -50, ms: 1 }],
        during: [
          { op: "status", at: 10, ms: 3 },
          { op: "status", at: 99, ms: 5 },
          { op: "status", at: 100, ms: 0.5 },
          { op: "status", at: 20, error: "reset" },
          { op: "ls", at: 20, ms: 2 },
        ],
      }),
      // A round without readers or one that failed adds nothing.
      round({ readers: false, during: [{ op: "status", at: 10, ms: 1000 }] }),
      round({ error: "boom", during: [{ op: "status", at: 10, ms: 1000 }] }),
    ];
    const [status, ls, cat] = summarizeOps(rounds);
    expect(status.inFlight).toEqual({ n: 2, p50: 3, p99: 5, max: 5 });
    expect(status.idle).toEqual({ n: 1, p50: 1, p99: 1, max: 1 });
    expect(status.failures).toBe(1);
    expect(ls.inFlight?.n).toBe(1);
    expect(cat.inFlight).toBeUndefined();
  });

  test("the commit's figures come from paired rounds only", () => {
    const rounds = [round({ readers: false, commitMs: 100 }), round({ commitMs: 110 }), round({ extra: true, commitMs: 500 }), round({ readers: false, commitMs: 120, error: "x" })];
    const s = summarizeCommits(rounds);
    expect(s.without).toEqual({ median: 100, min: 100, max: 100, n: 1 });
    expect(s.with).toEqual({ median: 110, min: 110, max: 110, n: 1 });
  });
});

function caseResult(over: Partial<ReadsCaseResult>): ReadsCaseResult {
  return { id: "big-plea", label: "2 GiB", kind: "big", path: "plea", payloadBytes: 2 ** 31, files: 1, rounds: [], ops: [], ...over };
}

describe("evaluateReadsTargets", () => {
  const lat = (p50: number, p99: number, n = 200) => ({ n, p50, p99, max: p99 });

  test("a read must meet the absolute limits and stay within 2x of idle", () => {
    const [fast, slowVsIdle, tooSlow] = evaluateReadsTargets(
      [
        caseResult({
          ops: [
            { op: "status", idle: lat(1, 10), inFlight: lat(1.5, 15), failures: 0 },
            { op: "ls", idle: lat(0.5, 4), inFlight: lat(1.5, 15), failures: 0 },
            { op: "cat", idle: lat(1, 10), inFlight: lat(3, 15), failures: 0 },
          ],
        }),
      ],
      undefined,
    );
    expect(fast.verdict).toBe("met");
    expect(slowVsIdle.verdict).toBe("missed");
    expect(tooSlow.verdict).toBe("missed");
  });

  test("a failed request misses, and fewer than 200 in flight is said", () => {
    const [t] = evaluateReadsTargets([caseResult({ ops: [{ op: "status", idle: lat(1, 10), inFlight: lat(1, 10, 120), failures: 1 }] })], undefined);
    expect(t.verdict).toBe("missed");
    expect(t.detail).toContain("only 120 of the 200");
  });

  test("the slow-down is judged on medians, and fewer than 5 rounds is not a verdict", () => {
    const s = (median: number, n = 5) => ({ median, min: median, max: median, n });
    const slow = evaluateReadsTargets([caseResult({ commitWithout: s(100), commitWith: s(116) })], undefined).at(-1)!;
    const ok = evaluateReadsTargets([caseResult({ commitWithout: s(100), commitWith: s(114) })], undefined).at(-1)!;
    const few = evaluateReadsTargets([caseResult({ commitWithout: s(100, 3), commitWith: s(101, 3) })], undefined).at(-1)!;
    expect(slow.verdict).toBe("missed");
    expect(ok.verdict).toBe("met");
    expect(few.verdict).toBe("not measured");
  });

  test("the large cat compares throughput with the reference read", () => {
    const run = (referenceMs: number, socketDuringMs: number) => ({ referenceMs, socketIdleMs: 0, socketDuringMs, endedInFlight: true });
    const met = evaluateReadsTargets([], { fileBytes: 2 ** 30, path: "plea", reference: "blob", runs: [run(700, 1000)], failures: [] })[0];
    const missed = evaluateReadsTargets([], { fileBytes: 2 ** 30, path: "plea", reference: "blob", runs: [run(700, 1001)], failures: [] })[0];
    expect(met.verdict).toBe("met");
    expect(missed.verdict).toBe("missed");
    expect(met.target).toContain("blob file");
  });
});
