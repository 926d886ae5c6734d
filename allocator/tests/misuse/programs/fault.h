/* fault.h: what every misuse program (one fault each) shares.
 *
 * Each program commits exactly one fault against the allocator through the
 * standard names, and is run by ../misuse.py with libshardalloc.so preloaded.
 * The runner, not the program, judges the outcome (signal, exit status, message);
 * the program only has to make the fault happen for real:
 *   - pointers and sizes pass through volatile variables (hide / hide_size), so the
 *     compiler can neither see the misuse (and warn or fold it) nor drop the call;
 *   - the programs are built with -fno-builtin, so malloc/free stay calls.
 * A program that gets past its fault (the allocator caught it and went on, or did
 * not notice) finishes with survived(), exit status 0. A program that could not
 * set its fault up (say, the block it waits for never comes back) exits with
 * SETUP_FAILED, which the runner reports as such.
 */
#ifndef SA_FAULT_H
#define SA_FAULT_H

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard_fault.h" /* allocator/tests/lib: expect_guard_fault */

#define SETUP_FAILED 77

static inline void* hide(void* p) {
  void* volatile v = p;
  return v;
}

static inline size_t hide_size(size_t n) {
  volatile size_t v = n;
  return v;
}

/* A store the optimiser must keep (the block it writes to is about to be freed). */
static inline void poke(void* p, size_t offset, unsigned char value) {
  volatile unsigned char* b = (volatile unsigned char*)p;
  b[offset] = value;
}

/* Keeps a value alive: results of calls made only for their effect. */
static void* volatile fault_sink;

/* Reached only when the allocator let the program go on past its fault. */
static inline int survived(const char* what) {
  printf("survived: %s\n", what);
  fflush(stdout);
  return 0;
}

/* Memory that shardalloc never handed out: a fresh anonymous mapping. */
static inline unsigned char* foreign_block(size_t size) {
  void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(SETUP_FAILED);
  }
  memset(p, 0x5A, size);
  return p;
}

/* Allocates blocks of `size` (kept live) until one comes back at `target` (a block
 * freed earlier); returns how many it took, or 0 if target never came back within
 * `limit` allocations. The blocks it made stay allocated: only then does the
 * allocator have to walk down its free list to the freed block. */
static inline size_t allocate_until(void* target, size_t size, size_t limit) {
  for (size_t i = 1; i <= limit; i++) {
    void* q = malloc(hide_size(size));
    if (q == NULL) return 0;
    if (q == target) return i;
  }
  return 0;
}

/* A block of `size` filled to its usable size, then one byte more written into its
 * last word (where a canary is kept): a byte that differs from what is there, as a
 * canary byte that happened to equal the written one would be no overwrite at all
 * (1 run in 256). NULL if malloc failed. */
static inline unsigned char* overflow_one_byte(size_t size) {
  unsigned char* p = malloc(hide_size(size));
  if (p == NULL) return NULL;
  size_t usable = malloc_usable_size(p);
  memset(p, 1, usable);
  poke(p, usable, (unsigned char)~((volatile unsigned char*)p)[usable]);
  return p;
}

/* After a detected overflow with abort_on_error=0: the block must be leaked, never
 * handed out again (exit status 1 if it is). */
static inline int expect_leaked(void* p, size_t size, size_t tries, const char* what) {
  if (allocate_until(p, size, tries) != 0) {
    printf("the overflowed block was handed out again\n");
    return 1;
  }
  return survived(what);
}

#endif /* SA_FAULT_H */
