/*
 * vere-ur-driver: vere's ur_cue_test and ur_cue over a file of (possibly hostile) inputs, in a
 * process of its own, for the differential fuzz in test/noun/vere-peer.test.ts.
 *
 * vere's C is not safe on hostile input (docs/nouns.md, "Against vere's C"): it reads zeros past
 * the end of a jam that ends early and aborts when an allocation fails, so its side of the fuzz
 * runs here, where a crash ends this process and not the test; test/support/vere-ur-driver.ts
 * counts it and starts a new driver after the input that crashed.
 *
 *   vere-ur-driver INPUTS FIRST ADDRESS_SPACE_MIB
 *
 * INPUTS holds records of a u32 little-endian length and that many bytes. Inputs from number
 * FIRST on are decoded in order. The address space is capped first (RLIMIT_AS), so that a
 * claimed length of many GiB read as zeros fails vere's allocation, an abort, instead of taking
 * the machine's memory.
 *
 * Output on stdout, little-endian, flushed after each part so that the input that crashed is
 * known: u32 number, u8 ur_cue_test's answer; then u8 ur_cue's result code; then, when it is
 * ur_cue_good, u32 mug, u64 reference, u64 atom count, u64 cell count, each indirect atom as u64
 * length and its bytes, each cell as u64 head and u64 tail reference. The root is fresh for each
 * input, and vere adds a cell only after its head and tail, so the cells come in an order in
 * which every reference is to an earlier one; no noun is walked, so sharing costs nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ur.h"

/*  Bytes after each input, filled with ones: vere's ur_bsr_log reads the byte after the end
**  before checking it has reached the end (it discards it), and any other read past the end
**  would show as a difference instead of hiding as zeros.
*/
#define DRIVER_PADDING_BYTES 16

static void
fail(const char *what)
{
  fprintf(stderr, "vere-ur-driver: %s\n", what);
  exit(2);
}

static void
put(const void *p, size_t n)
{
  if ( n && 1 != fwrite(p, n, 1, stdout) ) fail("write to stdout failed");
}

static void
put8(uint8_t x) { put(&x, 1); }

static void
put32(uint32_t x)
{
  uint8_t b[4] = { x, x >> 8, x >> 16, x >> 24 };
  put(b, 4);
}

static void
put64(uint64_t x)
{
  uint8_t b[8];
  for ( int i = 0; i < 8; i++ ) b[i] = x >> (8 * i);
  put(b, 8);
}

static void
flush(void)
{
  if ( fflush(stdout) ) fail("flush of stdout failed");
}

int
main(int argc, char **argv)
{
  if ( 4 != argc ) fail("usage: vere-ur-driver INPUTS FIRST ADDRESS_SPACE_MIB");

  uint32_t first = (uint32_t)strtoul(argv[2], 0, 10);
  struct rlimit lim;
  lim.rlim_cur = lim.rlim_max = (rlim_t)strtoull(argv[3], 0, 10) << 20;
  if ( setrlimit(RLIMIT_AS, &lim) ) fail("setrlimit(RLIMIT_AS) failed");

  FILE *in = fopen(argv[1], "rb");
  if ( !in ) fail("cannot open the inputs file");

  uint8_t *buf = 0;
  size_t   cap = 0;

  for ( uint32_t i = 0; ; i++ ) {
    uint8_t hdr[4];
    size_t got = fread(hdr, 1, 4, in);
    if ( 0 == got ) break;
    if ( 4 != got ) fail("inputs file ends inside a length");

    uint32_t len = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    if ( cap < len + DRIVER_PADDING_BYTES ) {
      cap = len + DRIVER_PADDING_BYTES;
      if ( !(buf = realloc(buf, cap)) ) fail("out of memory for an input");
    }
    if ( len && 1 != fread(buf, len, 1, in) ) fail("inputs file ends inside an input");
    if ( i < first ) continue;
    memset(buf + len, 0xff, DRIVER_PADDING_BYTES);

    put32(i);
    put8(ur_cue_test(len, buf));
    flush();

    ur_root_t *r = ur_root_init();
    ur_nref  ref = 0;
    ur_cue_res_e res = ur_cue(r, len, buf, &ref);
    put8((uint8_t)res);

    if ( ur_cue_good == res ) {
      put32(ur_nref_mug(r, ref));
      put64(ref);
      put64(r->atoms.fill);
      put64(r->cells.fill);
      for ( uint64_t a = 0; a < r->atoms.fill; a++ ) {
        put64(r->atoms.lens[a]);
        put(r->atoms.bytes[a], r->atoms.lens[a]);
      }
      for ( uint64_t c = 0; c < r->cells.fill; c++ ) {
        put64(r->cells.heads[c]);
        put64(r->cells.tails[c]);
      }
    }
    flush();
    ur_root_free(r);
  }

  free(buf);
  fclose(in);
  return 0;
}
