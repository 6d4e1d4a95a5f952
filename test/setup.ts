/**
 * The per-test timeout, raised from Bun's 5 s: tests that spawn processes and fill real segments
 * need more on a loaded 2-core machine. No test asserts on time.
 *
 * Bun 1.4.5 ignores `[test] timeout` in bunfig.toml, and a `setDefaultTimeout` call in a preload
 * (or in a module that test files import) reaches only the first test file of a run: every later
 * file ran with 5 s again, which is how tests timed out in full-suite runs at load 20-30. So every
 * test file calls it itself, at its top; test/repo.test.ts checks that each one does.
 */
export const TEST_TIMEOUT_MS = 60_000;
