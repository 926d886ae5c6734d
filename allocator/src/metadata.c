/* metadata.c: memory for heaps and thread data (floor 3, see README.md), taken from
 * the OS in chunks and never returned to it. Freed pieces are kept on a free list
 * per size (in SA_METADATA_UNIT units) for reuse; a thread's data is the common
 * case, so churning threads reuse the same memory. */
#include "internal.h"

#define SA_METADATA_CLASSES (SA_METADATA_MAX / SA_METADATA_UNIT + 1)

sa_lock_t sa_metadata_lock = SA_LOCK_INIT;
static uint8_t* metadata_bump;
static size_t metadata_left;
static void* metadata_free[SA_METADATA_CLASSES];

void* sa_metadata_alloc(size_t size) {
  size = sa_align_up(size, SA_METADATA_UNIT);
  size_t cls = size / SA_METADATA_UNIT;
  if (cls >= SA_METADATA_CLASSES) return NULL;
  void* p = NULL;
  sa_lock_acquire(&sa_metadata_lock);
  if (metadata_free[cls] != NULL) {
    p = metadata_free[cls];
    metadata_free[cls] = *(void**)p;
  } else {
    if (metadata_left < size) {
      uint8_t* chunk = sa_mem_alloc_aligned(SA_METADATA_CHUNK, sa_os_page_size(), 0, true);
      if (chunk != NULL) {
        metadata_bump = chunk;
        metadata_left = SA_METADATA_CHUNK;
      }
    }
    if (metadata_left >= size) {
      p = metadata_bump;
      metadata_bump += size;
      metadata_left -= size;
    }
  }
  sa_lock_release(&sa_metadata_lock);
  if (p != NULL) memset(p, 0, size);
  return p;
}

void sa_metadata_free(void* p, size_t size) {
  size_t cls = sa_align_up(size, SA_METADATA_UNIT) / SA_METADATA_UNIT;
  sa_lock_acquire(&sa_metadata_lock);
  *(void**)p = metadata_free[cls];
  metadata_free[cls] = p;
  sa_lock_release(&sa_metadata_lock);
}
