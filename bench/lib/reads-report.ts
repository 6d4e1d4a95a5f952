/** bench/reads.ts's tables (markdown), from its results. */
import { readFileSync } from "node:fs";
import { formatBytes, formatMs, formatRatio, gbPerS } from "./format.ts";
import type { LatencySummary } from "./latency.ts";
import type { ReadsBenchResults } from "./reads-results.ts";
import { formatSummary, summarize } from "./stats.ts";
import { markdownTable } from "./table.ts";

const dash = "-";

function latencies(s: LatencySummary | undefined): string {
  return s === undefined ? dash : `${formatMs(s.p50)} / ${formatMs(s.p99)} / ${formatMs(s.max)}`;
}

export function renderReadsMarkdown(r: ReadsBenchResults): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`# Reads beside a commit (issue 16), ${r.date.slice(0, 10)}`, "");
  out.push(`\`${r.command}\`; ${m.cores} cores (${m.cpu}), ${formatBytes(m.memTotalBytes)}, Linux ${m.kernel}, Bun ${m.bun}; load ${m.loadAtStart.join(" ")} at start, ${m.loadAtEnd.join(" ")} at the end.`, "");

  const latencyRows = r.cases.flatMap((c) =>
    c.ops.map((o) => [c.label, c.path, o.op, latencies(o.idle), latencies(o.inFlight), o.inFlight === undefined ? "0" : String(o.inFlight.n), String(o.failures)]),
  );
  out.push("Requests on the control socket, from the benchmark's own client (no process start): p50 / p99 / max.", "");
  out.push(markdownTable(["commit", "path", "request", "idle run", "in flight", "in flight (n)", "failed"], latencyRows, ["left", "left", "left"]), "");

  const commitRows = r.cases.map((c) => {
    const ratio = c.commitWith && c.commitWithout ? formatRatio(c.commitWith.median / c.commitWithout.median) : dash;
    const pace = c.opIntervalMs === undefined ? dash : `every ${formatMs(c.opIntervalMs)} each (expected commit ${c.expectedMs === undefined ? dash : formatMs(c.expectedMs)})`;
    return [c.label, c.path, formatSummary(c.commitWithout, formatMs), formatSummary(c.commitWith, formatMs), ratio, pace, c.error ? `failed: ${c.error.split("\n")[0]}` : dash];
  });
  out.push("The commit (urth's figure: scan to durable), in interleaved rounds without and with readers: median (min-max).", "");
  out.push(markdownTable(["commit", "path", "without readers", "with readers", "with / without", "readers' pace", "error"], commitRows, ["left", "left"]), "");

  const statusRows = r.cases.map((c) => {
    const rounds = c.rounds.filter((x) => x.statusProcessDuringMs !== undefined);
    const inFlight = rounds.filter((x) => x.statusProcessStartedInFlight).length;
    return [c.label, c.path, formatSummary(c.statusProcessIdle, formatMs), formatSummary(c.statusProcessDuring, formatMs), `${inFlight} of ${rounds.length}`];
  });
  out.push("Wall time of the `urth status` process (spawn to exit), on the idle `run` and started just after the change.", "");
  out.push(markdownTable(["commit", "path", "idle", "during the commit", "started in flight"], statusRows, ["left", "left"]), "");

  if (r.catBig !== undefined) {
    const c = r.catBig;
    const of = (f: (x: (typeof c.runs)[number]) => number) => summarize(c.runs.map(f));
    const timed = (f: (x: (typeof c.runs)[number]) => number) => {
      const s = of(f);
      return [formatSummary(s, formatMs), s === undefined ? dash : `${gbPerS(c.fileBytes, s.median).toFixed(2)} GB/s`];
    };
    const rows = [
      [`\`cat\` of the ${c.reference} file to /dev/null (process)`, ...timed((x) => x.referenceMs)],
      ...(c.runs.every((x) => x.referencePipeMs !== undefined) ? [[`\`cat\` of the ${c.reference} file \| \`cat\` to /dev/null (processes)`, ...timed((x) => x.referencePipeMs!)]] : []),
      ["socket `cat`, idle `run`", ...timed((x) => x.socketIdleMs)],
      ["socket `cat`, during the commit", ...timed((x) => x.socketDuringMs)],
      ["the commit beside it (urth's figure)", formatSummary(summarize(c.runs.filter((x) => x.commitMs !== undefined).map((x) => x.commitMs!)), formatMs), dash],
      ["socket `cat` ended before the commit's acknowledgement", `${c.runs.filter((x) => x.endedInFlight).length} of ${c.runs.length} runs`, dash],
    ];
    out.push(`\`cat\` of a committed ${formatBytes(c.fileBytes)} file while another ${formatBytes(c.fileBytes)} commit (${c.path}) is in flight: median (min-max) of ${c.runs.length} runs${c.failures.length ? `, ${c.failures.length} failed (${c.failures[0].split("\n")[0]})` : ""}.`, "");
    out.push(markdownTable(["read", "time", "median throughput"], rows), "");
  }

  out.push("Targets:", "");
  for (const t of r.targets) out.push(`- **${t.verdict}**: ${t.target} (${t.detail})`);
  out.push("", "Notes:", "");
  for (const n of r.notes) out.push(`- ${n}`);
  return out.join("\n");
}

export function loadReadsResults(file: string): ReadsBenchResults {
  return JSON.parse(readFileSync(file, "utf8")) as ReadsBenchResults;
}
