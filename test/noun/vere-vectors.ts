/**
 * vere's test vectors (docs/nouns.md, "Vectors"), as data. The jam vectors come
 * from vere's pkg/noun/serial_tests.c (= pkg/ur/tests.c), the mug vectors from
 * pkg/noun/retrieve_tests.c; "extra" ones were computed with the same algorithm. The newt frame
 * vectors are listed by their jam payload (the 5-byte header is the ipc helper's).
 */
export interface JamVector {
  name: string;
  /** Noun in the notation of noun-text.ts. */
  noun: string;
  /** Little-endian jam bytes, hex. */
  jam: string;
}

export interface MugVector {
  name: string;
  noun: string;
  mug: number;
}

const DEEP = "[[[1 [[2 [[3 [[4 [[5 6 [7 [[8 0] 0]]] 0]] 0]] 0]] 0]] 0] 0]";
const ALPHA = "'abcdefjhijklmnopqrstuvwxyz'";

export const JAM_VECTORS: JamVector[] = [
  { name: "0", noun: "0", jam: "02" },
  { name: "1", noun: "1", jam: "0c" },
  { name: "2", noun: "2", jam: "48" },
  { name: "%fast", noun: "%fast", jam: "c0370b9ba303" },
  { name: "%full", noun: "%full", jam: "c037ab636303" },
  { name: "[0 0]", noun: "[0 0]", jam: "29" },
  { name: "[1 1]", noun: "[1 1]", jam: "3103" },
  { name: "[1 2]", noun: "[1 2]", jam: "3112" },
  { name: "[2 3]", noun: "[2 3]", jam: "21d1" },
  { name: "[%fast %full]", noun: "[%fast %full]", jam: "01df2c6c8e0e7cb33a3636" },
  { name: "[1 1 1]", noun: "[1 1 1]", jam: "71cc" },
  { name: "[1 2 3]", noun: "[1 2 3]", jam: "714834" },
  { name: "[%fast %full %fast] (second %fast is a backref)", noun: "[%fast %full %fast]", jam: "01df2c6c8e1ef0cdead8d893" },
  { name: "[[1 2] 3]", noun: "[[1 2] 3]", jam: "c54834" },
  { name: "[[1 2] [1 2] 1 2] (cell backrefs)", noun: "[[1 2] [1 2] 1 2]", jam: "c5c8262701" },
  { name: "[[0 0] [[0 0] 1 1] 1 1]", noun: "[[0 0] [[0 0] 1 1] 1 1]", jam: "a53519f31805" },
  { name: "deep", noun: DEEP, jam: "1517b2d08559b861875f10545505" },
  { name: "wide (2^256)", noun: "0x1" + "0".repeat(64), jam: "000c" + "00".repeat(32) + "08" },
  {
    name: "alpha [a 2 3 a]",
    noun: `[${ALPHA} 2 3 ${ALPHA}]`,
    jam: "01f80c131b232b3353434b535b636b737b838b939ba3abb3bbc3cbd3870c3d09",
  },
  { name: "extra [0 1]", noun: "[0 1]", jam: "c9" },
  { name: "extra [1 0]", noun: "[1 0]", jam: "b1" },
  { name: "extra [0 0 0]", noun: "[0 0 0]", jam: "9902" },
  { name: "extra %poke", noun: "%poke", jam: "c0877b5b2b03" },
  // Payloads of the full newt frames of docs/ipc.md, "Vectors".
  { name: "frame [%exit ~]", noun: "[%exit ~]", jam: "01bf0c2f8d2e" },
  { name: "frame [%sync %save ~]", noun: "[%sync %save ~]", jam: "017f2ecf6d1cf0e7c2ecca02" },
  { name: "frame [%live %pack ~]", noun: "[%live %pack ~]", jam: "019f2dcdae1cf0e1c2c6d602" },
  { name: "frame [%quiz %quic ~]", noun: "[%quiz %quic ~]", jam: "013fae2e4d1ff0e3ead2c602" },
  { name: "frame [%live ~]", noun: "[%live ~]", jam: "019f2dcdae2c" },
  { name: "frame [%ripe [2 ~] [0 %.y] 42 0x1234]", noun: "[%ripe [2 ~] [0 %.y] 42 0x1234]", jam: "015f2e0dae5c484b83aa606924" },
  {
    name: "frame [%poke 0 [/c/sync/0v1 %into %base %.n ~[[/foo/txt ~ [/text/plain 3 'abc']]]]]",
    noun: "[%poke 0 [/c/sync/0v1 %into %base %.n ~[[/foo/txt ~ [/text/plain 3 'abc']]]]]",
    jam:
      "011fee6dad9c051f07fcb93cb7714083b18b0df8696e74ef802f1636578e2be0" +
      "99bdbd031e1d1edd2ce0d395e1d1033c706c61696e43032f4c6c2c",
  },
];

export const MUG_VECTORS: MugVector[] = [
  { name: "0", noun: "0", mug: 0x79ff04e8 },
  { name: "1", noun: "1", mug: 0x715c2a60 },
  { name: "2", noun: "2", mug: 0x718b9468 },
  { name: "'Hello, world!'", noun: "'Hello, world!'", mug: 0x4d441035 },
  { name: "28 x", noun: "'xxxxxxxxxxxxxxxxxxxxxxxxxxxx'", mug: 0x64dfda5c },
  { name: "[0 0]", noun: "[0 0]", mug: 0x192f5588 },
  { name: "[1 1]", noun: "[1 1]", mug: 0x6b32ec46 },
  { name: "[2 2]", noun: "[2 2]", mug: 0x2effe10 },
  { name: "[1 2 3]", noun: "[1 2 3]", mug: 0x3a811aec },
  { name: "[0 2^32]", noun: "[0 4294967296]", mug: 0x7cefb7f },
  { name: "[(dec 2^128) 1]", noun: "[0xffffffffffffffffffffffffffffffff 1]", mug: 0x2aa06bfc },
  { name: "words 0,0,0,1", noun: "0x1000000000000000000000000", mug: 0x519bd45c },
  { name: "words 0,1,0,1", noun: "0x1000000000000000100000000", mug: 0x540eb8a9 },
  { name: "words 1,1,0,1", noun: "0x1000000000000000100000001", mug: 0x319d28f9 },
  { name: "words 0,0,0,0xffff", noun: "0xffff000000000000000000000000", mug: 0x5230a260 },
  { name: "extra [0 1]", noun: "[0 1]", mug: 0x16a1233b },
  { name: "extra [1 0]", noun: "[1 0]", mug: 0x44e4ce97 },
  { name: "extra %poke", noun: "%poke", mug: 0x48e04718 },
];
