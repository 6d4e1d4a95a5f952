/**
 * The worker thread of small-reads.ts: reads the files of each job it is sent into their slots of
 * the shared buffer and answers with their lengths.
 */
import { readIntoSlots, type ReadJob } from "./read-slots.ts";

declare const self: Worker;

self.onmessage = (e: MessageEvent<ReadJob>) => {
  self.postMessage(readIntoSlots(e.data));
};
