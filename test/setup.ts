/**
 * Preloaded before every test file (bunfig.toml). Bun 1.4.5 ignores `[test] timeout` in
 * bunfig.toml, so the default per-test timeout is raised here: tests that spawn processes and
 * fill real segments need more than 5 s on a loaded 2-core machine. No test asserts on time.
 */
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);
