/**
 * `bun run urth`: the operator's entry point. Until the command line lands (issue 7) it prints
 * its usage and exits 0 so the README's command works on a fresh machine.
 */
if (process.platform !== "linux") {
  console.error(`urth runs on Linux only (shared memory through /dev/shm); this is ${process.platform}.`);
  process.exit(2);
}
console.log("usage: bun run urth [run|commit|cat|ls|status|log|stop] [--pier DIR] [options]");
