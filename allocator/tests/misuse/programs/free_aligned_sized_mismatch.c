/* free_aligned_sized() (C23) of a 64-byte-aligned block with the right alignment
 * but a size larger than the block. Expected (debug): "does not match". */
#include "fault.h"

extern void free_aligned_sized(void* p, size_t alignment, size_t size) __attribute__((weak));

int main(void) {
  if (free_aligned_sized == NULL) {
    fprintf(stderr, "setup: no free_aligned_sized in this process\n");
    return SETUP_FAILED;
  }
  void* p = aligned_alloc(hide_size(64), hide_size(100));
  if (p == NULL) return SETUP_FAILED;
  free_aligned_sized(hide(p), 64, hide_size(5000));
  return survived("free_aligned_sized with a wrong size");
}
