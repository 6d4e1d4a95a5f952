import { describe, expect, setDefaultTimeout, test } from "bun:test";
import type { CommitPath } from "../../bench/lib/commit-run.ts";
import { GIB, KIB } from "../../bench/lib/format.ts";
import type { BaselineResult, CaseKind, CaseResult } from "../../bench/lib/results.ts";
import type { Summary } from "../../bench/lib/stats.ts";
import { evaluateTargets } from "../../bench/lib/targets.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const s = (median: number, max = median): Summary => ({ median, min: median, max, n: 3 });

function aCase(kind: CaseKind, path: CommitPath, size: number, f: { commit?: number; delivery?: number; peakMax?: number; error?: string }): CaseResult {
  return {
    id: `${kind}-${size}-${path}`,
    kind,
    label: `${size}`,
    payloadBytes: size,
    files: kind === "many" ? 100_000 : 1,
    path,
    runs: f.error ? [] : [{} as CaseResult["runs"][number]],
    failures: f.error ? [f.error] : [],
    error: f.error,
    summary: {
      phases: {},
      commitMs: f.commit === undefined ? undefined : s(f.commit),
      deliveryMs: f.delivery === undefined ? undefined : s(f.delivery),
      combinedPeak: f.peakMax === undefined ? undefined : s(f.peakMax * 0.9, f.peakMax),
    },
  };
}

const verdictOf = (targets: ReturnType<typeof evaluateTargets>, words: string) => targets.find((t) => t.target.includes(words))?.verdict;

describe("evaluateTargets", () => {
  const baselines: BaselineResult[] = [
    { size: GIB, freshTotalMs: s(800), ddMs: s(1000) },
    { size: 2 * GIB, freshTotalMs: s(1600), ddMs: s(2000) },
  ];

  test("meets every target when the figures are inside their limits", () => {
    const cases = [
      aCase("single", "plea", GIB, { delivery: 1000, peakMax: 1.1 * GIB }),
      aCase("single", "pipe", GIB, { delivery: 2500, peakMax: 3 * GIB }),
      aCase("single", "plea", 2 * GIB, { delivery: 2000, peakMax: 2.4 * GIB }),
      aCase("single", "pipe", 2 * GIB, { delivery: 5000, peakMax: 7 * GIB }),
      aCase("many", "plea", 100_000 * KIB, { commit: 2400 }),
      aCase("many", "pipe", 100_000 * KIB, { commit: 2900 }),
      aCase("single", "stage", GIB, { commit: 1150 }),
      aCase("single", "stage", 2 * GIB, { commit: 2400 }),
    ];
    const targets = evaluateTargets(cases, baselines);
    expect(targets.map((t) => t.verdict)).toEqual(targets.map(() => "met"));
    expect(targets.length).toBe(8);
  });

  test("misses the staged target above 1.2x dd, and says when dd was not measured", () => {
    const slow = evaluateTargets([aCase("single", "stage", GIB, { commit: 1250 })], baselines);
    expect(slow.find((t) => t.target.startsWith("1 GiB by the default path"))).toMatchObject({ verdict: "missed", detail: "1.25 s against 1.00 s = 1.25x" });
    const noDd = evaluateTargets([aCase("single", "stage", GIB, { commit: 1000 })], []);
    expect(noDd.find((t) => t.target.startsWith("1 GiB by the default path"))?.verdict).toBe("not measured");
  });

  test("judges memory by the worst run, not the median", () => {
    const cases = [aCase("single", "plea", 2 * GIB, { delivery: 2000, peakMax: 2.6 * GIB })];
    expect(verdictOf(evaluateTargets(cases, baselines), "2 GiB through plea")).toBe("missed");
  });

  test("misses the pipe target when the 2 GiB pipe commit failed, quoting the failure", () => {
    const targets = evaluateTargets([aCase("single", "pipe", 2 * GIB, { error: "urth exited with status 4\nmars crashed" })], baselines);
    const t = targets.find((x) => x.target.includes("through the pipe"));
    expect(t?.verdict).toBe("missed");
    expect(t?.detail).toBe("1 of 1 runs failed: urth exited with status 4");
  });

  test("misses the many-files target when plea takes over 2.5 s or the pipe over 3 s", () => {
    const slowPlea = [aCase("many", "plea", 1, { commit: 2600 }), aCase("many", "pipe", 1, { commit: 2000 })];
    expect(verdictOf(evaluateTargets(slowPlea, []), "small files")).toBe("missed");
    const slowPipe = [aCase("many", "plea", 1, { commit: 2000 }), aCase("many", "pipe", 1, { commit: 3100 })];
    expect(verdictOf(evaluateTargets(slowPipe, []), "small files")).toBe("missed");
    const both = [aCase("many", "plea", 1, { commit: 2500 }), aCase("many", "pipe", 1, { commit: 3000 })];
    expect(verdictOf(evaluateTargets(both, []), "small files")).toBe("met");
  });

  test("does not judge the many-files target on another number of files", () => {
    const few = [aCase("many", "plea", 1, { commit: 100 }), aCase("many", "pipe", 1, { commit: 100 })].map((c) => ({ ...c, files: 1000 }));
    expect(verdictOf(evaluateTargets(few, []), "small files")).toBe("not measured");
  });

  test("reports targets whose cases were not run as not measured", () => {
    const targets = evaluateTargets([], []);
    expect(targets.every((t) => t.verdict === "not measured")).toBe(true);
  });
});
