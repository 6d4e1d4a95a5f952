/**
 * Errors keep one design (docs/contributing.md, "Errors"), checked on the source so that it cannot
 * quietly regress:
 *
 * - every part has one `as const` code table, each code documented, and no two codes anywhere in
 *   Plea are the same string, so a code names one condition wherever it is caught or logged;
 * - a code comes from a table, never a string literal (as a constructor's `code`, a `super` call's,
 *   a reply's `code:` property, or what a `.code` is compared with; Node's own codes such as
 *   `ENOENT` and `ERR_PARSE_ARGS_...` are compared as they are);
 * - a message has one voice: no trailing period or space (messages are composed: "urth: <message>",
 *   "<subject>: <finding>. <advice>"), and sentence case where the literal starts the message.
 *
 * The scan is syntactic (TypeScript's parser, no type checker): the error classes are those whose
 * `extends` chain reaches `Error`; a constructor's parameters are found by name (`code`, `message`,
 * `subject`). What it checks of a message is the literal text at the call: a message built
 * elsewhere is checked where its literal is, if that is a module constant or a helper's argument
 * in a `throw`.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { codesOf, isPleaError, PleaError } from "../src/error.ts";
import { IpcErrorCode } from "../src/ipc/errors.ts";
import { TEST_TIMEOUT_MS } from "./setup.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

const REPO = resolve(import.meta.dir, "..");

/** The parts, most specific folder first: each has exactly one code table. */
const PARTS = ["src/mars/log/", "src/mars/kernel/", "src/mars/", "src/urth/", "src/noun/", "src/ipc/", "src/ffi/", "src/pier/", "src/plea/", "src/blob/", "src/view/"] as const;

const partOf = (file: string): string | undefined => PARTS.find((p) => file.startsWith(p))?.slice(4, -1);

/** The built-in roots of the error classes. */
const BUILT_IN_ERRORS = ["Error", "RangeError", "TypeError", "SyntaxError"];

/** Node's and the kernel's own codes, which callers compare as they are. */
const FOREIGN_CODE = /^(E[A-Z0-9]+|ERR_[A-Z0-9_]+)$/;

/**
 * Words a message may start with in lower case: names that are spelled so (the two programs, a
 * command, an option). Anything else starts with a capital, a quote, a `%` or a `-`.
 */
const LOWER_CASE_NAMES = new Set(["mars", "urth", "cat", "chunkBytes"]);

/**
 * Files whose messages may start in lower case: the `/plea` peek path's errors are the lines of a
 * `%bad-peek` goof, read after its mote (`%bad-peek: the EVE of a /plea peek is ...`), and
 * test/mars/log-peek.test.ts pins them as they are.
 */
const LOWER_CASE_FILES = new Set(["src/ipc/peek-path.ts"]);

/** A trailing period (an ellipsis "..." is not one) or trailing white space. */
const TRAILING = /(?<!\.\.)\.$|\s$/;

interface CodeEntry {
  readonly code: string;
  readonly table: string;
  readonly file: string;
  readonly documented: boolean;
}

interface ClassInfo {
  readonly parent: string;
  /** Constructor parameter names; undefined when the class has no constructor of its own. */
  readonly params: readonly string[] | undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(dir, name))
    .sort();
}

function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.ESNext, true);
}

function* nodes(root: ts.Node): Generator<ts.Node> {
  const stack: ts.Node[] = [root];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    yield n;
    const children: ts.Node[] = [];
    n.forEachChild((c) => void children.push(c));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
}

const isExported = (n: ts.VariableStatement) => n.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;

/** Every code of every `export const <Name>ErrorCode = { ... } as const`, and `Errno`'s names. */
function codeTables(sources: ReadonlyMap<string, ts.SourceFile>): CodeEntry[] {
  const out: CodeEntry[] = [];
  for (const [file, sf] of sources) {
    for (const st of sf.statements) {
      if (!ts.isVariableStatement(st) || !isExported(st)) continue;
      for (const d of st.declarationList.declarations) {
        if (!ts.isIdentifier(d.name) || !d.initializer) continue;
        const table = d.name.text;
        let init = d.initializer;
        if (!ts.isAsExpression(init) || !ts.isObjectLiteralExpression(init.expression)) continue;
        init = init.expression;
        if (table === "Errno") {
          // SysError's code is the errno's name (sys-error.ts): kernel names, listed so that no table repeats one.
          for (const p of (init as ts.ObjectLiteralExpression).properties) out.push({ code: p.name!.getText(sf), table, file, documented: true });
          continue;
        }
        if (!table.endsWith("ErrorCode")) continue;
        const stack = [init as ts.ObjectLiteralExpression];
        for (let o = stack.pop(); o !== undefined; o = stack.pop()) {
          for (const p of o.properties) {
            if (!ts.isPropertyAssignment(p)) continue;
            const documented = ts.getJSDocCommentsAndTags(p).length > 0;
            if (ts.isObjectLiteralExpression(p.initializer)) stack.push(p.initializer);
            else if (ts.isStringLiteral(p.initializer)) out.push({ code: p.initializer.text, table, file, documented });
          }
        }
      }
    }
  }
  return out;
}

/** The classes declared under src/, by name. */
function classes(sources: ReadonlyMap<string, ts.SourceFile>): Map<string, ClassInfo> {
  const out = new Map<string, ClassInfo>();
  for (const sf of sources.values()) {
    for (const n of nodes(sf)) {
      if (!ts.isClassDeclaration(n) || !n.name) continue;
      const ext = n.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
      if (!ext || !ts.isIdentifier(ext)) continue;
      const ctor = n.members.find(ts.isConstructorDeclaration);
      out.set(n.name.text, { parent: ext.text, params: ctor?.parameters.map((p) => p.name.getText(sf)) });
    }
  }
  return out;
}

/** Whether `name` is an error class; `params` are its constructor's, found up its chain. */
function errorClass(all: ReadonlyMap<string, ClassInfo>, name: string): { builtIn: boolean; params: readonly string[] } | undefined {
  if (BUILT_IN_ERRORS.includes(name)) return { builtIn: true, params: ["message"] };
  const seen = new Set<string>();
  let params: readonly string[] | undefined;
  for (let c = name; !seen.has(c); ) {
    seen.add(c);
    if (BUILT_IN_ERRORS.includes(c)) return { builtIn: false, params: params ?? ["message"] };
    const info = all.get(c);
    if (!info) return undefined;
    params ??= info.params;
    c = info.parent;
  }
  return undefined;
}

/** The literal text a string argument ends with, and the one it starts with (undefined: not a literal). */
function literalEnds(e: ts.Expression): { head: string; tail: string } | undefined {
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return { head: e.text, tail: e.text };
  if (ts.isTemplateExpression(e)) return { head: e.head.text, tail: e.templateSpans[e.templateSpans.length - 1].literal.text };
  if (ts.isParenthesizedExpression(e)) return literalEnds(e.expression);
  if (ts.isConditionalExpression(e)) {
    const a = literalEnds(e.whenTrue);
    const b = literalEnds(e.whenFalse);
    if (a && b) return { head: TRAILING.test(a.tail) ? a.head : b.head, tail: TRAILING.test(a.tail) ? a.tail : b.tail };
    return a ?? b;
  }
  return undefined;
}

const isStringy = (e: ts.Expression) => literalEnds(e) !== undefined && !ts.isConditionalExpression(e);

/** "file:line: what" for each place that breaks the design. */
export function violations(files: ReadonlyMap<string, string>): string[] {
  const sources = new Map([...files].map(([f, text]) => [f, parse(f, text)]));
  const all = classes(sources);
  const out: string[] = [];
  for (const [file, sf] of sources) {
    const at = (n: ts.Node) => `${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
    // Module-level string constants, so that `{ advice: ADVICE }` is checked like a literal.
    const constants = new Map<string, ts.Expression>();
    for (const st of sf.statements) {
      if (!ts.isVariableStatement(st)) continue;
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name) && d.initializer && literalEnds(d.initializer)) constants.set(d.name.text, d.initializer);
    }
    const message = (e: ts.Expression, startsMessage: boolean, what: string) => {
      const lit = literalEnds(e) ?? (ts.isIdentifier(e) && constants.has(e.text) ? literalEnds(constants.get(e.text)!) : undefined);
      if (!lit) {
        if (ts.isObjectLiteralExpression(e)) {
          for (const p of e.properties) if (ts.isPropertyAssignment(p) && p.name.getText(sf) !== "cause") message(p.initializer, false, `${what} ${p.name.getText(sf)}`);
        }
        return;
      }
      if (TRAILING.test(lit.tail)) out.push(`${at(e)}: ${what} ends with "${lit.tail.slice(-12)}"`);
      const first = /^[A-Za-z]+/.exec(lit.head)?.[0];
      if (startsMessage && first !== undefined && /^[a-z]/.test(first) && !LOWER_CASE_NAMES.has(first) && !LOWER_CASE_FILES.has(file)) out.push(`${at(e)}: ${what} starts in lower case ("${lit.head.slice(0, 24)}")`);
    };
    const construction = (args: readonly ts.Expression[], params: readonly string[], builtIn: boolean, what: string) => {
      args.forEach((arg, i) => {
        const param = params[i];
        if (param === "code") {
          if (isStringy(arg)) out.push(`${at(arg)}: ${what} takes its code as a string literal; use its part's code table`);
          return;
        }
        if (param === "call" || param === "errno" || param === "usage") return;
        message(arg, builtIn ? i === 0 : param === "message" || param === "subject", `${what}'s ${param ?? "argument"}`);
      });
    };
    for (const n of nodes(sf)) {
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression)) {
        const c = errorClass(all, n.expression.text);
        if (c) construction(n.arguments ?? [], c.params, c.builtIn, `new ${n.expression.text}`);
      } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.SuperKeyword) {
        let cls: ts.Node | undefined = n.parent;
        while (cls && !ts.isClassDeclaration(cls)) cls = cls.parent;
        if (cls && ts.isClassDeclaration(cls) && cls.name) {
          const parent = all.get(cls.name.text)?.parent;
          const c = parent === undefined ? undefined : errorClass(all, parent);
          if (c) construction(n.arguments, c.params, c.builtIn, `super (${cls.name.text})`);
        }
      } else if (ts.isThrowStatement(n) && n.expression && ts.isCallExpression(n.expression) && ts.isIdentifier(n.expression.expression)) {
        // A helper that builds the error (`throw damaged("its jam is empty")`): its text ends the message.
        for (const arg of n.expression.arguments) message(arg, false, `${n.expression.expression.text}(...)'s argument`);
      } else if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && /goof$/i.test(n.expression.text)) {
        // A goof's lines are mars's error messages to urth (`goof`'s first argument is the mote).
        const name = n.expression.text;
        n.arguments.forEach((arg, i) => (i > 0 || name !== "goof") && message(arg, false, `${name}(...)'s argument`));
      } else if (ts.isPropertyAssignment(n) && n.name.getText(sf) === "code" && isStringy(n.initializer)) {
        out.push(`${at(n)}: a code property is a string literal; use its part's code table`);
      } else if (ts.isBinaryExpression(n)) {
        const op = n.operatorToken.kind;
        const isCode = (e: ts.Expression) => ts.isPropertyAccessExpression(e) && e.name.text === "code";
        const ours = (e: ts.Expression) => (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) && !FOREIGN_CODE.test(e.text);
        const compares = [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken].includes(op);
        const defaults = op === ts.SyntaxKind.QuestionQuestionToken || op === ts.SyntaxKind.BarBarToken;
        if ((compares && ((isCode(n.left) && ours(n.right)) || (isCode(n.right) && ours(n.left)))) || (defaults && isCode(n.left) && ours(n.right))) {
          out.push(`${at(n)}: a code is compared with or defaults to a string literal; use its part's code table`);
        }
      }
    }
  }
  return out;
}

function srcSources(): Map<string, string> {
  return new Map(sourceFiles("src").map((f) => [f, readFileSync(join(REPO, f), "utf8")]));
}

describe("error codes", () => {
  const sources = new Map([...srcSources()].map(([f, text]) => [f, parse(f, text)]));
  const entries = codeTables(sources);

  test("every part has exactly one code table", () => {
    const tables = new Map<string, Set<string>>();
    for (const e of entries) {
      if (e.table === "Errno") continue;
      const part = partOf(e.file) ?? `(no part: ${e.file})`;
      if (!tables.has(part)) tables.set(part, new Set());
      tables.get(part)!.add(`${e.table} in ${e.file}`);
    }
    const expected = PARTS.map((p) => p.slice(4, -1)).sort();
    expect([...tables.keys()].sort()).toEqual(expected);
    for (const [part, names] of tables) expect({ part, tables: [...names] }).toEqual({ part, tables: [[...names][0]] });
  });

  test("no two codes in Plea are the same string, and each is documented", () => {
    const seen = new Map<string, string>();
    const clashes: string[] = [];
    for (const e of entries) {
      const where = `${e.table} (${e.file})`;
      const other = seen.get(e.code);
      if (other !== undefined) clashes.push(`"${e.code}" is in ${other} and ${where}`);
      seen.set(e.code, where);
    }
    expect(clashes).toEqual([]);
    expect(entries.filter((e) => !e.documented).map((e) => `${e.table}: "${e.code}" has no doc comment`)).toEqual([]);
    expect(entries.filter((e) => e.table !== "Errno" && !/^[a-z][a-z0-9_]*$/.test(e.code)).map((e) => e.code)).toEqual([]);
    // The scan found the tables it is meant to: codes of several parts are among them.
    for (const code of ["cue_truncated", "pipe_peer_closed", "log_gap", "pier_locked", "segment_closed"]) expect(seen.has(code)).toBe(true);
  });

  test("a group of codes is caught as a whole, and one code alone", () => {
    const e = new PleaError(IpcErrorCode.pipe.peerClosed, "Cannot write to mars's stdin");
    expect(isPleaError(e)).toBe(true);
    expect(isPleaError(e, IpcErrorCode.pipe)).toBe(true);
    expect(isPleaError(e, IpcErrorCode)).toBe(true);
    expect(isPleaError(e, IpcErrorCode.pipe.peerClosed)).toBe(true);
    expect(isPleaError(e, IpcErrorCode.pipe.closed)).toBe(false);
    expect(isPleaError(e, IpcErrorCode.newt)).toBe(false);
    expect(isPleaError(new Error("x"))).toBe(false);
    expect(codesOf(IpcErrorCode.pipe).size).toBe(Object.keys(IpcErrorCode.pipe).length);
  });
});

describe("error constructions", () => {
  test("every code under src/ comes from a table and every message keeps the one voice", () => {
    const files = srcSources();
    expect(files.size).toBeGreaterThan(50);
    expect(violations(files)).toEqual([]);
  });

  test("the scan catches each kind of break", () => {
    const files = new Map([
      ["src/error.ts", "export class PleaError<C extends string = string> extends Error { constructor(code: C, message: string, options?: object) { super(message, options); } }"],
      [
        "src/x/errors.ts",
        [
          'import { PleaError } from "../error.ts";',
          "export class PleaError2 extends PleaError {}",
          "export class Sub extends PleaError { constructor(code: string, readonly n: number, message: string) { super(code, message); } }",
          'export class Bare extends PleaError { constructor() { super("bare", "A bare code"); } }',
          'export class Said extends PleaError { constructor() { super(XErrorCode.said, "It ended."); } }',
        ].join("\n"),
      ],
      [
        "src/x/a.ts",
        [
          'const ADVICE = "Free some space.";',
          'throw new PleaError("x_code", "A literal code");',
          "throw new Sub(XErrorCode.a, 3, `Event ${n} is gone.`);",
          "throw new PleaError2(XErrorCode.b, `the ${what} is lower case`);",
          'throw new RangeError("Trailing space ");',
          'throw new SysError("close", 9, "Cannot close", { advice: ADVICE });',
          'throw damaged("its jam is empty.");',
          'out.reply({ ok: false, code: "not_found", message: "No file" });',
          'if (reply.code === "starting") wait();',
          'const c = err.code ?? "error";',
          'const g = goof("bad-peek", "A bad peek.");',
          // Allowed: codes from tables, Node's own codes, composed messages, an ellipsis, a name.
          'throw new PleaError(XErrorCode.c, `${subject}: ${finding}`);',
          'if (e.code === "ENOENT" || e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") skip();',
          'throw new PleaError(XErrorCode.d, "Events are numbered 1, 2, 3, ...");',
          'throw new PleaError(XErrorCode.e, "mars exited");',
          'throw new Error("Plea needs Linux; this is " + os);',
        ].join("\n"),
      ],
      ["src/ffi/sys-error.ts", "export class SysError extends PleaError { constructor(call: string, errno: number, subject: string, options?: object) { super(errnoName(errno), subject); } }"],
    ]);
    expect(violations(files)).toEqual([
      'src/x/errors.ts:4: super (Bare) takes its code as a string literal; use its part\'s code table',
      'src/x/errors.ts:5: super (Said)\'s message ends with "It ended."',
      "src/x/a.ts:2: new PleaError takes its code as a string literal; use its part's code table",
      'src/x/a.ts:3: new Sub\'s message ends with " is gone."',
      'src/x/a.ts:4: new PleaError2\'s message starts in lower case ("the ")',
      'src/x/a.ts:5: new RangeError\'s message ends with "iling space "',
      'src/x/a.ts:6: new SysError\'s options advice ends with " some space."',
      'src/x/a.ts:7: damaged(...)\'s argument ends with "am is empty."',
      "src/x/a.ts:8: a code property is a string literal; use its part's code table",
      "src/x/a.ts:9: a code is compared with or defaults to a string literal; use its part's code table",
      "src/x/a.ts:10: a code is compared with or defaults to a string literal; use its part's code table",
      'src/x/a.ts:11: goof(...)\'s argument ends with "A bad peek."',
    ]);
  });
});
