/**
 * Worker for hostile.test.ts: a peer that keeps writing into the buffer while it is read.
 * Receives { buffer: SharedArrayBuffer, seed }; word 0 of `buffer` is the stop flag, the rest is
 * the encoded noun. Overwrites random words (keeping the header, so reads get past it) until
 * the flag is set, then posts the number of writes it made.
 */
declare const self: Worker;

self.onmessage = (event: MessageEvent<{ buffer: SharedArrayBuffer; seed: number }>) => {
  const { buffer, seed } = event.data;
  const flag = new Int32Array(buffer, 0, 1);
  const words = new Uint32Array(buffer, 8);
  let a = seed >>> 0;
  const next = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a;
  };
  const original = words.slice();
  let writes = 0;
  while (Atomics.load(flag, 0) === 0) {
    const i = 8 + (next() % (words.length - 8));
    words[i] = next() % 4 === 0 ? next() : original[i] ^ (1 << next() % 32);
    if (writes++ % 64 === 0) words.set(original.subarray(8), 8); // let some reads succeed
  }
  self.postMessage(writes);
};
