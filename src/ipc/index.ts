/** Newt framing, protocol-2 and plea messages, and frame I/O over pipes (docs/ipc.md). */
export { encodeFrameHeader, frame, NewtDecoder, NEWT_BODY_BYTES_MAX, NEWT_HEADER_BYTES, NEWT_VERSION, NEWT_WHOLE_BODY_BYTES_MAX_DEFAULT } from "./newt.ts";
export type { NewtDecoderOptions, NewtItem } from "./newt.ts";
export { IpcErrorCode } from "./errors.ts";
export { parseTask, taskToNoun, TASK_MIL_MAX, PLEA_LENGTH_MAX } from "./task.ts";
export type { PeekRequest, Task, TaskType } from "./task.ts";
export { blobNameToAtom, BREF_ATOM_BYTES_MAX, BREF_ATOM_BYTES_MIN, BREF_REFS_MAX, brefRefsToNoun, readBlobName, readBrefRefs } from "./bref.ts";
export type { BrefRef } from "./bref.ts";
export { EVENT_NUMBER_MAX, giftToNoun, MUG_MAX, parseGift, PLEA_NAME_BYTES_MAX, PROTOCOL_VERSION, SHIP_BYTES_MAX } from "./gift.ts";
export type { Cask, Gift, GiftType } from "./gift.ts";
export { goof, goofToNoun, goofToText, readGoof, tangToLines, tankToText, TANK_TEXT_CHARS_MAX } from "./goof.ts";
export type { Goof } from "./goof.ts";
export { loobean, mote, MOTE_BYTES_MAX, pathFromNoun, pathToNoun, unit } from "./shape.ts";
export { FrameWriter, FRAME_WRITE_CHUNK_BYTES } from "./frame-writer.ts";
export type { ByteSink, FrameWriterOptions } from "./frame-writer.ts";
export { cueFrame, FrameReader } from "./frame-reader.ts";
export type { Frame, FrameReaderOptions } from "./frame-reader.ts";
