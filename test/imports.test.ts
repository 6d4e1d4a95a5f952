/**
 * The parts' import rules, checked on the source so that they cannot quietly regress (README.md,
 * "Layout"): urth and mars are two processes that share only the protocol and the on-disk formats,
 * so neither imports the other, and what they share imports neither; mars's log stores events and
 * never knows the kernel that applies them (start-up, which joins the two, is src/mars/restore.ts).
 *
 * Every import counts: `import`, `import type`, `export ... from`, and `import("...")` in types or
 * code, as TypeScript's own pre-processor finds them (comments and strings are not imports).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { TEST_TIMEOUT_MS } from "./setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const REPO = resolve(import.meta.dir, "..");

interface Rule {
  readonly name: string;
  /** Folders (repo-relative) whose files the rule binds. */
  readonly from: (file: string) => boolean;
  /** Repo-relative prefixes those files must not import. */
  readonly forbidden: readonly string[];
}

const inside = (folder: string) => (file: string) => file.startsWith(`${folder}/`);

const RULES: readonly Rule[] = [
  { name: "urth does not import mars", from: inside("src/urth"), forbidden: ["src/mars/"] },
  { name: "mars does not import urth", from: inside("src/mars"), forbidden: ["src/urth/"] },
  { name: "the log does not import the kernel", from: inside("src/mars/log"), forbidden: ["src/mars/kernel/"] },
  {
    name: "the shared parts import neither process",
    from: (file) => file.startsWith("src/") && !inside("src/urth")(file) && !inside("src/mars")(file),
    forbidden: ["src/urth/", "src/mars/"],
  },
];

/** The repo-relative targets of a source file's relative imports. */
function importsOf(file: string, source: string): string[] {
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => relative(REPO, resolve(REPO, dirname(file), name)));
}

/** "file imports target (rule)" for every import that breaks a rule. */
function violations(sources: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of sources) {
    for (const target of importsOf(file, source)) {
      for (const rule of RULES) {
        if (rule.from(file) && rule.forbidden.some((prefix) => target.startsWith(prefix))) out.push(`${file} imports ${target} (${rule.name})`);
      }
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(dir, name))
    .sort();
}

describe("import rules", () => {
  test("every file under src/ keeps them", () => {
    const files = sourceFiles("src");
    // The scan sees the tree: both processes and the log are there to be checked.
    for (const folder of ["src/urth/", "src/mars/", "src/mars/log/", "src/ipc/"]) expect(files.some((f) => f.startsWith(folder))).toBe(true);
    expect(violations(new Map(files.map((f) => [f, readFileSync(join(REPO, f), "utf8")])))).toEqual([]);
  });

  test("the check catches each kind of import that breaks a rule", () => {
    const sources = new Map([
      ["src/urth/a.ts", 'import { EventLog } from "../mars/log/event-log.ts";'],
      ["src/urth/commands/b.ts", 'export type { X } from "../../mars/kernel/index.ts";'],
      ["src/mars/c.ts", 'let t: import("../urth/session.ts").Session;'],
      ["src/mars/log/d.ts", 'import "../kernel/into.ts";\nimport { f } from "../restore.ts";'],
      ["src/ipc/e.ts", 'const m = await import("../mars/time.ts");'],
      // Not imports: a comment, a string, and what the rules allow.
      ["src/urth/ok.ts", '// import { x } from "../mars/x.ts"\nconst s = \'from "../mars/y.ts"\';\nimport { g } from "../ipc/into.ts";'],
      ["src/mars/log/ok.ts", 'import { h } from "../../noun/da.ts";\nimport { i } from "./record.ts";'],
    ]);
    expect(violations(sources)).toEqual([
      "src/urth/a.ts imports src/mars/log/event-log.ts (urth does not import mars)",
      "src/urth/commands/b.ts imports src/mars/kernel/index.ts (urth does not import mars)",
      "src/mars/c.ts imports src/urth/session.ts (mars does not import urth)",
      "src/mars/log/d.ts imports src/mars/kernel/into.ts (the log does not import the kernel)",
      "src/ipc/e.ts imports src/mars/time.ts (the shared parts import neither process)",
    ]);
  });
});
