/**
 * A reader process for the read view's isolation test: `bun reader-fixture.ts PIER LAST` reads the
 * view in a loop while mars's log appends, until the view shows event LAST, and prints one JSON
 * line: how many snapshots it read, how many distinct events it saw, and every snapshot that mixed
 * two events (files `a` and `b` must both hold `v<eve>` of the head they were read with).
 */
import { ReadView } from "../../src/view/index.ts";

const [pier, lastText] = process.argv.slice(2);
const last = Number(lastText);
/** The reader gives up after this long, whatever its test does: it must never outlive the run. */
const FIXTURE_MS_MAX = 60_000;
const deadline = Date.now() + FIXTURE_MS_MAX;
const expired = () => {
  if (Date.now() < deadline) return;
  console.error(`reader-fixture: gave up after ${FIXTURE_MS_MAX} ms`);
  process.exit(2);
};
let view: ReadView | undefined;
while (view === undefined) {
  expired();
  view = ReadView.open(pier!);
}
const text = new TextDecoder();
const mixed: string[] = [];
const seen = new Set<number>();
let reads = 0;
let previous = 0;
for (;;) {
  const { eve, a, b } = view.read((v) => {
    const f = (name: string) => {
      const file = v.file("base", [name]);
      return file?.inline === undefined ? "" : text.decode(file.inline);
    };
    return { eve: v.head().eve, a: f("a"), b: f("b") };
  });
  reads++;
  expired();
  seen.add(eve);
  const expected = eve === 0 ? "" : `v${eve}`;
  if (a !== expected || b !== expected || eve < previous) mixed.push(`head ${eve} (after ${previous}): a=${a} b=${b}`);
  previous = eve;
  if (eve >= last) break;
}
view.close();
console.log(JSON.stringify({ reads, events: seen.size, mixed }));
