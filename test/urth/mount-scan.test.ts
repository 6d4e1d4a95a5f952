/**
 * The mount's path mapping (docs/mount.md) as a table: vere's split at the last dot and its `!`
 * escape, and where Plea keeps a name whole that vere would skip; and the way back for `ls`.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { clayPathArg, prefixArg } from "../../src/urth/clay-path.ts";
import { clayPathOf, relOfClayPath } from "../../src/urth/mount-scan.ts";
import { TEST_TIMEOUT_MS } from "../setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const MAPPING: [string, string[]][] = [
  // vere's mapping
  ["app/foo.hoon", ["app", "foo", "hoon"]],
  ["a/b.c", ["a", "b", "c"]],
  ["lib/x.tar.gz", ["lib", "x.tar", "gz"]],
  ["sys.kelvin", ["sys", "kelvin"]],
  ["!bang.txt", ["bang", "txt"]],
  ["!dir/file.txt", ["dir", "file", "txt"]],
  ["under_score.md", ["under_score", "md"]],
  ["tilde~in.txt", ["tilde~in", "txt"]],
  // names vere skips, kept whole by Plea
  ["LICENSE", ["LICENSE"]],
  ["a/b/c", ["a", "b", "c"]],
  ["lib/README.md", ["lib", "README.md"]],
  ["My Notes.txt", ["My Notes.txt"]],
  ["trailing.", ["trailing."]],
  ["Dir/ok.txt", ["Dir", "ok", "txt"]],
  ["!", ["!"]],
];

describe("clayPathOf", () => {
  for (const [rel, path] of MAPPING) {
    test(`maps ${JSON.stringify(rel)} to /${path.join("/")}`, () => {
      expect(clayPathOf(rel)).toEqual(path);
    });
  }
});

describe("relOfClayPath", () => {
  for (const [rel, path] of MAPPING.filter(([rel]) => !rel.includes("!"))) {
    test(`maps /${path.join("/")} (from ${JSON.stringify(rel)}) back to a name that maps to it again`, () => {
      expect(clayPathOf(relOfClayPath(path))).toEqual(path);
      if (!["a/b/c"].includes(rel)) expect(relOfClayPath(path)).toBe(rel);
    });
  }
});

describe("command-line paths", () => {
  test("a leading slash means a Clay path, taken element by element", () => {
    expect(clayPathArg("/lib/README.md")).toEqual(["lib", "README.md"]);
    expect(clayPathArg("/a/b/c")).toEqual(["a", "b", "c"]);
    expect(clayPathArg("./lib/foo.js")).toEqual(["lib", "foo", "js"]);
    expect(clayPathArg("lib/foo.js")).toEqual(["lib", "foo", "js"]);
  });

  test("an ls prefix is directories, never split at a dot", () => {
    expect(prefixArg(undefined)).toEqual([]);
    expect(prefixArg("lib/v1.2")).toEqual(["lib", "v1.2"]);
    expect(prefixArg("./!dir/")).toEqual(["dir"]);
    expect(prefixArg("/!dir")).toEqual(["!dir"]);
  });
});
