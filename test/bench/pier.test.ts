import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { GIB, KIB, MIB } from "../../bench/lib/format.ts";
import { parseChildren } from "../../bench/lib/mars-memory.ts";
import { newestSnapshot, parseBigCounts, roomNeeded } from "../../bench/lib/pier-layout.ts";
import type { IdleResult, ReadCommand, RecommitResult, UrthResults } from "../../bench/lib/pier-results.ts";
import { evaluatePierTargets, ISSUE_MAIN_TWO_GIB, MARS_ANON_PEAK_MAX_BYTES } from "../../bench/lib/pier-targets.ts";
import { summarize } from "../../bench/lib/stats.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

/** An idle pier whose three commands took `wall` ms each (median) with mars at `anon` bytes. */
function pier(id: string, bigFiles: number, wall: Partial<Record<ReadCommand, number>>, anon: number, failures: Partial<Record<ReadCommand, string>> = {}): IdleResult {
  return {
    pier: id,
    label: id,
    bigFiles,
    commands: (["status", "ls", "cat"] as const).map((command) => {
      const ms = wall[command];
      const failed = failures[command];
      return {
        command,
        args: [],
        wallMs: ms === undefined ? [] : [ms, ms],
        wall: ms === undefined ? undefined : summarize([ms, ms]),
        pssAnonPeak: ms === undefined ? 0 : anon,
        rssAnonPeak: anon,
        hwm: anon,
        pollsMin: ms === undefined ? 0 : 10,
        pollGapMaxMs: 10,
        failures: failed === undefined ? [] : [failed],
      };
    }),
  };
}

function recommit(kind: RecommitResult["kind"], ms: number, growth: number, bigFiles = 8): RecommitResult {
  return { kind, file: "big/part0.bin", fileBytes: GIB, pierBigFiles: bigFiles, firstMs: 2000, firstWallMs: 3000, json: { eve: 12, path: "plea", added: 0, changed: 1, deleted: 0, bytes: GIB, ms }, wallMs: ms + 500, growthBytes: growth };
}

function urth(role: UrthResults["role"], fill: Partial<UrthResults>): UrthResults {
  return { role, urthMain: "src/urth/main.ts", verifyAvailable: false, commits: [], idle: [], recommits: [], errors: [], ...fill };
}

const find = (targets: ReturnType<typeof evaluatePierTargets>, id: string) => targets.find((t) => t.id === id);

describe("evaluatePierTargets", () => {
  const small = pier("small", 0, { status: 300, ls: 300, cat: 300 }, 15 * MIB);

  test("a command on a big pier is held to 1.5x the small pier's, and mars under 96 MiB", () => {
    const big = pier("big-2", 2, { status: 450, ls: 451, cat: 200 }, MARS_ANON_PEAK_MAX_BYTES - 1);
    const big8 = pier("big-8", 8, { status: 300, ls: 300, cat: 300 }, MARS_ANON_PEAK_MAX_BYTES);
    const targets = evaluatePierTargets(urth("candidate", { idle: [small, big, big8] }), undefined, GIB);
    expect(find(targets, "big-2-status-wall")).toMatchObject({ verdict: "met", figure: 450, limit: 450 });
    expect(find(targets, "big-2-ls-wall")?.verdict).toBe("missed");
    expect(find(targets, "big-2-cat-wall")?.verdict).toBe("met");
    expect(find(targets, "big-2-status-anon")?.verdict).toBe("met");
    // "under 96 MiB": exactly 96 MiB misses.
    expect(find(targets, "big-8-status-anon")?.verdict).toBe("missed");
    // The small pier is the reference, not a target of its own.
    expect(targets.some((t) => t.id.startsWith("small-"))).toBe(false);
  });

  test("a failed run misses its target; a figure never taken is not measured", () => {
    const big = pier("big-2", 2, { status: 300, ls: 300 }, 10 * MIB, { cat: "run 1: `urth cat` exited with status 4" });
    const quiet = pier("big-8", 8, { status: 300, ls: 300, cat: 300 }, 10 * MIB);
    quiet.commands[0].pollsMin = 0;
    const targets = evaluatePierTargets(urth("candidate", { idle: [small, big, quiet] }), undefined, GIB);
    expect(find(targets, "big-2-cat-wall")).toMatchObject({ verdict: "missed" });
    expect(find(targets, "big-2-cat-wall")?.detail).toContain("exited with status 4");
    expect(find(targets, "big-8-status-anon")?.verdict).toBe("not measured");
    const noSmall = evaluatePierTargets(urth("candidate", { idle: [big] }), undefined, GIB);
    expect(find(noSmall, "big-2-status-wall")?.verdict).toBe("not measured");
  });

  test("figures stand beside the same run's baseline, with their ratio", () => {
    const candidate = urth("candidate", { idle: [small, pier("big-2", 2, { status: 400, ls: 400, cat: 400 }, 40 * MIB)] });
    const baseline = urth("baseline", { idle: [pier("small", 0, { status: 300, ls: 300, cat: 300 }, 15 * MIB), pier("big-2", 2, { status: 4000, ls: 4000, cat: 8000 }, 2 * GIB)] });
    const targets = evaluatePierTargets(candidate, baseline, GIB);
    expect(find(targets, "big-2-cat-wall")).toMatchObject({ baseline: 8000, baselineSource: "same run", ratioToBaseline: 0.05 });
    expect(find(targets, "big-2-status-anon")).toMatchObject({ baseline: 2 * GIB, baselineSource: "same run" });
  });

  test("without a baseline, issue 13's figures for main stand in only where they measured the same pier", () => {
    const candidate = urth("candidate", { idle: [small, pier("big-2", 2, { status: 400, ls: 400, cat: 400 }, 40 * MIB), pier("big-8", 8, { status: 400, ls: 400, cat: 400 }, 40 * MIB)] });
    const targets = evaluatePierTargets(candidate, undefined, GIB);
    expect(find(targets, "big-2-status-wall")).toMatchObject({ baseline: ISSUE_MAIN_TWO_GIB.status.wallMs, baselineSource: "issue 13's table" });
    expect(find(targets, "big-2-cat-anon")?.baseline).toBe(ISSUE_MAIN_TWO_GIB.cat.pssAnonPeak);
    // The issue measured no `ls`, nothing at 8 GiB, and nothing with other file sizes.
    expect(find(targets, "big-2-ls-wall")?.baseline).toBeUndefined();
    expect(find(targets, "big-8-status-wall")?.baseline).toBeUndefined();
    expect(find(evaluatePierTargets(candidate, undefined, 64 * MIB), "big-2-status-wall")?.baseline).toBeUndefined();
  });

  test("a re-commit: .urb growth at most 1 MiB and at most half the first commit's time", () => {
    const candidate = urth("candidate", { idle: [small], recommits: [recommit("touch", 1000, MIB), recommit("copy", 1001, MIB + 1)] });
    const targets = evaluatePierTargets(candidate, undefined, GIB);
    expect(find(targets, "recommit-touch-growth")?.verdict).toBe("met");
    expect(find(targets, "recommit-touch-ms")).toMatchObject({ verdict: "met", limit: 1000 });
    expect(find(targets, "recommit-copy-growth")?.verdict).toBe("missed");
    expect(find(targets, "recommit-copy-ms")?.verdict).toBe("missed");
    expect(find(targets, "recommit-copy-wall")?.verdict).toBe("reported");
    const failed = evaluatePierTargets(urth("candidate", { recommits: [{ kind: "touch", file: "big/part0.bin", fileBytes: GIB, pierBigFiles: 8, error: "`urth commit` exited with status 1" }] }), undefined, GIB);
    expect(find(failed, "recommit-touch-growth")).toMatchObject({ verdict: "missed", detail: "failed: `urth commit` exited with status 1" });
  });

  test("the issue's re-commit figure for main stands in only for a copy on a two-file pier", () => {
    const at2 = evaluatePierTargets(urth("candidate", { recommits: [recommit("copy", 100, 0, 2), recommit("touch", 100, 0, 2)] }), undefined, GIB);
    expect(find(at2, "recommit-copy-growth")?.baseline).toBe(GIB);
    expect(find(at2, "recommit-copy-wall")?.baseline).toBe(ISSUE_MAIN_TWO_GIB.copy.wallMs);
    expect(find(at2, "recommit-touch-growth")?.baseline).toBeUndefined();
    const at8 = evaluatePierTargets(urth("candidate", { recommits: [recommit("copy", 100, 0, 8)] }), undefined, GIB);
    expect(find(at8, "recommit-copy-growth")?.baseline).toBeUndefined();
  });

  test("a snapshot: at most 1 MiB plus 1 KiB per committed file", () => {
    const at = (bytes: number) => find(evaluatePierTargets(urth("candidate", { snapshot: { bigFiles: 8, files: 14, bytes, via: "save" } }), undefined, GIB), "snapshot");
    expect(at(MIB + 14 * KIB)).toMatchObject({ verdict: "met", limit: MIB + 14 * KIB });
    expect(at(MIB + 14 * KIB + 1)?.verdict).toBe("missed");
    expect(find(evaluatePierTargets(urth("candidate", { snapshot: { bigFiles: 8, error: "no snapshot" } }), undefined, GIB), "snapshot")?.verdict).toBe("missed");
  });

  test("the many-files pier is reported without a target", () => {
    const targets = evaluatePierTargets(urth("candidate", { idle: [small], many: pier("many-100000", 0, { status: 900 }, 300 * MIB) }), undefined, GIB);
    expect(find(targets, "many-status-wall")).toMatchObject({ verdict: "reported", figure: 900 });
    expect(find(targets, "many-status-anon")).toMatchObject({ verdict: "reported", figure: 300 * MIB });
  });
});

describe("pier layout", () => {
  test("--big-gib: distinct counts, ascending; nothing else", () => {
    expect(parseBigCounts("8,2, 2")).toEqual([2, 8]);
    for (const bad of ["", "0", "2,x", "1.5", "-1"]) expect(() => parseBigCounts(bad)).toThrow(RangeError);
  });

  test("the newest snapshot is the highest event, not the last name in order", () => {
    expect(newestSnapshot(["snapshot-9.plea", "snapshot-10.plea", "snapshot-11.tmp", "other"])).toEqual({ name: "snapshot-10.plea", eve: 10 });
    expect(newestSnapshot(["snapshot-3.tmp"])).toBeUndefined();
  });

  test("the room a run needs grows with the big pier", () => {
    const small = roomNeeded(2, GIB, undefined);
    const big = roomNeeded(8, GIB, 100_000);
    expect(big.diskBytes).toBeGreaterThan(small.diskBytes);
    // main's big pier: every file in the log and in a snapshot, and a mars that holds them all.
    expect(big.diskBytes).toBeGreaterThan(2 * 8 * GIB);
    expect(big.memoryBytes).toBeGreaterThan(8 * GIB);
  });
});

describe("parseChildren", () => {
  test("reads a task's children file", () => {
    expect(parseChildren("4711 4712 \n")).toEqual([4711, 4712]);
    expect(parseChildren("")).toEqual([]);
  });
});
