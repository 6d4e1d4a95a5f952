/**
 * The repository explains itself: nothing in src/, docs/, test/, bench/ or README.md cites a file
 * outside the repository, which a reader who cloned Plea could not open (docs/contributing.md,
 * "Comments say why, and cite only what a reader can open"). Public links are fine.
 *
 * One exception: test and bench code may name the shared folder's `peers/` directory as the
 * default location of a peer program (the vere C peer used at test time, overridable by an
 * environment variable), inside a string literal. A comment that cites it is still refused.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TEST_TIMEOUT_MS } from "./setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const ROOT = join(import.meta.dir, "..");
const SCANNED = ["src", "docs", "test", "bench", "README.md"];
/** Larger files are recorded data (results, vectors), not code or prose that cites anything. */
const SCANNED_FILE_BYTES_MAX = 1024 * 1024;

// The patterns are built from pieces so that this file does not match them itself.
const SHARED = "shared/";
/** A path into the shared folder beside the repository, relative or absolute. */
const OUTSIDE_PATH = new RegExp(`(?:\\.\\./|/work/)${SHARED}\\S*`, "g");
/** The reference notes that once lived outside the repository, cited by bare name. */
const OUTSIDE_NAMES = ["design", "bun-platform", "vere-ipc", "style"].map((n) => `${n}\\.md`);
const OUTSIDE_NAME = new RegExp(`(?<![\\w./-])(?:${OUTSIDE_NAMES.join("|")})\\b`, "g");
/** The one allowed default location, only in test/ and bench/ code. */
const PEERS_DEFAULT = `../${SHARED}peers/`;
/** A cited docs page: `docs/<name>.md`. */
const DOCS_PAGE = /(?<![\w./-])docs\/([a-z0-9-]+\.md)/g;

interface TextFile {
  file: string;
  lines: string[];
}

interface Hit {
  file: string;
  line: number;
  text: string;
}

function* walk(path: string): Generator<string> {
  const full = join(ROOT, path);
  if (!existsSync(full)) return;
  if (statSync(full).isFile()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(full, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) yield* walk(child);
    else if (entry.isFile()) yield child;
  }
}

function textFiles(): TextFile[] {
  const out: TextFile[] = [];
  for (const top of SCANNED) {
    for (const file of walk(top)) {
      const full = join(ROOT, file);
      if (statSync(full).size > SCANNED_FILE_BYTES_MAX) continue;
      const bytes = readFileSync(full);
      if (bytes.includes(0)) continue; // binary
      out.push({ file, lines: bytes.toString("utf8").split("\n") });
    }
  }
  return out;
}

/** True when the text at `at` is inside a comment: a comment line, or after a `//` outside quotes. */
function inComment(line: string, at: number): boolean {
  const trimmed = line.trimStart();
  if (trimmed.startsWith("//") || trimmed.startsWith("*") || trimmed.startsWith("/*")) return true;
  const slashes = line.lastIndexOf("//", at);
  return slashes >= 0 && !/["'`]/.test(line.slice(slashes, at));
}

/** True where the peers folder is a default location in test or bench code, in a string literal. */
function isPeersDefault(file: string, line: string, at: number, match: string): boolean {
  if (!file.startsWith("test/") && !file.startsWith("bench/")) return false;
  if (!/\.[cm]?[jt]s$/.test(file) || !match.startsWith(PEERS_DEFAULT) || inComment(line, at)) return false;
  const open = line.slice(0, at).match(/["'`][^"'`]*$/);
  return open !== null && line.indexOf(open[0][0]!, at) > at;
}

/** How many citations of something outside the repository `line` of `file` holds. */
function outsideCitations(file: string, line: string): number {
  let n = 0;
  for (const m of line.matchAll(OUTSIDE_PATH)) if (!isPeersDefault(file, line, m.index, m[0])) n++;
  for (const _ of line.matchAll(OUTSIDE_NAME)) n++;
  return n;
}

function report(hits: Hit[]): string {
  return hits.map((h) => `${h.file}:${h.line}: ${h.text}`).join("\n");
}

describe("the repository explains itself", () => {
  test("nothing in src, docs, test, bench or README.md cites a file outside the repository", () => {
    const hits: Hit[] = [];
    for (const { file, lines } of textFiles()) {
      lines.forEach((text, i) => {
        if (outsideCitations(file, text) > 0) hits.push({ file, line: i + 1, text: text.trim() });
      });
    }
    // Lists every offending line: cite a docs/ page (docs/decisions.md, docs/platform.md, ...) or
    // a public link instead, and write into docs/ what the reader needs.
    expect(report(hits)).toBe("");
  });

  test("every docs/ page that is cited exists", () => {
    const missing: Hit[] = [];
    for (const { file, lines } of textFiles()) {
      lines.forEach((text, i) => {
        for (const m of text.matchAll(DOCS_PAGE)) {
          if (!existsSync(join(ROOT, "docs", m[1]!))) missing.push({ file, line: i + 1, text: m[0] });
        }
      });
    }
    expect(report(missing)).toBe("");
  });

  test("the check flags each kind of outside citation and allows only the peers default in code", () => {
    const cases: [file: string, line: string, citations: number][] = [
      ["src/a.ts", ` * see ../${SHARED}reference/x.md`, 1],
      ["docs/nouns.md", `(../../${SHARED}seeds/x.txt)`, 1],
      ["docs/nouns.md", `(${"design"}.md, "The log")`, 1],
      ["src/a.ts", ` * (${"style"}.md item 3; ${"bun-platform"}.md)`, 2],
      ["test/a.ts", `/** ${"vere-ipc"}.md section 9 */`, 1],
      ["src/a.ts", ` * /work/${SHARED}vectors/x.json`, 1],
      ["test/a.ts", `const PEER = process.env.PEER ?? "../${SHARED}peers/vere-ur";`, 0],
      ["bench/a.ts", `const p = join(root, '../../${SHARED}peers/vere-ur');`, 0],
      ["test/a.ts", ` * the peer lives in ../${SHARED}peers/vere-ur`, 1],
      ["test/a.ts", `const P = "x"; // ../${SHARED}peers/vere-ur`, 1],
      ["src/a.ts", `const PEER = "../${SHARED}peers/vere-ur";`, 1],
      ["docs/nouns.md", `"../${SHARED}peers/vere-ur"`, 1],
      ["test/a.ts", `const V = "../${SHARED}vectors/noun-vectors.json";`, 1],
      ["docs/nouns.md", "see docs/decisions.md, docs/platform.md and https://github.com/urbit/vere/pull/972", 0],
      ["docs/nouns.md", `a page named docs/${"style"}.md would be the repository's own`, 0],
    ];
    for (const [file, line, citations] of cases) {
      expect({ file, line, citations: outsideCitations(file, line) }).toEqual({ file, line, citations });
    }
  });
});

describe("the suite's own set-up", () => {
  test("every test file raises its own timeout (a preload's reaches only the first file)", () => {
    const missing: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith(".test.ts") && !/^setDefaultTimeout\(TEST_TIMEOUT_MS\);$/m.test(readFileSync(path, "utf8"))) {
          missing.push(path.slice(ROOT.length + 1));
        }
      }
    };
    walk(join(ROOT, "test"));
    expect(missing).toEqual([]);
  });
});
