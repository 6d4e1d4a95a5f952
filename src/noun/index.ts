/**
 * The noun library: representation, mug, jam/cue, and the flat format (src/noun/flat/, the raw
 * noun the plea protocol puts in shared memory; the `Shm` names say where it is used).
 */
export { atom, atomFromBytes, BigAtom, cord, cordToString, toBigInt, toBytes, metBits, DIRECT_ATOM_MAX, ATOM_BYTES_MAX } from "./atom.ts";
export type { Atom, AtomBytesSource } from "./atom.ts";
export { Cell, cell } from "./cell.ts";
export { FileAtom } from "./file-atom.ts";
export { isAtom, isBigAtom, isCell, isFileAtom, list, tuple } from "./noun.ts";
export type { Noun } from "./noun.ts";
export { shmSize } from "./flat/size.ts";
export { writeShm } from "./flat/write.ts";
export { readShm } from "./flat/read.ts";
export type { ReadShmOptions } from "./flat/read.ts";
export type { ByteWindowsSource as ShmBytes } from "../byte-windows.ts";
export { SHM_FORMAT_VERSION, SHM_HEADER_BYTES } from "./flat/layout.ts";
export type { ShmRef } from "./flat/layout.ts";
export { mug } from "./mug.ts";
export { equals } from "./equals.ts";
export { jam, JAM_BYTES_MAX } from "./jam.ts";
export { jamLength, measureJam, measureJamInSteps } from "./jam-length.ts";
export type { JamMeasure } from "./jam-length.ts";
export { JamPlan } from "./jam-encoder.ts";
export type { JamRef, JamRefs } from "./jam-encoder.ts";
export { jamToSink, JAM_CHUNK_BYTES_DEFAULT } from "./jam-stream.ts";
export type { JamSink } from "./jam-stream.ts";
export { cue } from "./cue.ts";
export { cueFromChunks } from "./cue-stream.ts";
export { CueDecoder } from "./cue-decoder.ts";
export type { CueDecoderOptions } from "./cue-decoder.ts";
export { CueError, FileAtomError, NounErrorCode, ShmFormatError } from "./errors.ts";
