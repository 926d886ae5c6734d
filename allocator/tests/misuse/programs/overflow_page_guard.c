/* A linear overflow off the last block of a small page (64 KiB) into the page that
 * follows it in the segment: 1000-byte blocks are allocated until a page is full,
 * and bytes are written from its last block's requested end on, 64 apart, to 4 KiB
 * into the next page. Expected: killed by SIGSEGV at the page's end guard where
 * every page has one (secure-full: SA_SECURE_PAGE_GUARDS; the fault is checked to be
 * in a guard); not detected where only segments have guards (secure: the page is not
 * its segment's last). */
#include "fault.h"

#define PAGE_SIZE ((uintptr_t)64 << 10)
#define PAGES_PER_SEGMENT 64
#define BLOCK 1000
#define BLOCKS 300
#define STEP 64
#define INTO_NEXT_PAGE 4096

static uintptr_t page_of(const void* p) { return (uintptr_t)p & ~(PAGE_SIZE - 1); }

int main(void) {
  static unsigned char* blocks[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    blocks[i] = malloc(hide_size(BLOCK));
    if (blocks[i] == NULL) return SETUP_FAILED;
  }
  /* Pages fill one after the other: every page of these blocks but the last one's is
   * full. The first such page that is not its segment's last (which ends at the
   * segment's own guard in every secure build), and its block at the highest address. */
  uintptr_t last_page = page_of(blocks[BLOCKS - 1]);
  unsigned char* last_block = NULL;
  for (int i = 0; i < BLOCKS && last_block == NULL; i++) {
    uintptr_t page = page_of(blocks[i]);
    if (page == last_page || (page / PAGE_SIZE) % PAGES_PER_SEGMENT == PAGES_PER_SEGMENT - 1) continue;
    last_block = blocks[i];
    for (int j = 0; j < BLOCKS; j++) {
      if (page_of(blocks[j]) == page && blocks[j] > last_block) last_block = blocks[j];
    }
  }
  if (last_block == NULL) return SETUP_FAILED;
  uintptr_t end = page_of(last_block) + PAGE_SIZE + INTO_NEXT_PAGE;
  expect_guard_fault();
  for (uintptr_t q = (uintptr_t)last_block + BLOCK; q < end; q += STEP) poke((void*)q, 0, 0x46);
  fault_sink = blocks;
  return survived("overflow off a page's last block into the next page");
}
