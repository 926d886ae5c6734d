/* Two blocks freed (the second one's free-list word then points at the first), and
 * one bit of that word flipped so it points 16 bytes into the first block; then
 * blocks of the same size allocated until the allocator walks the list.
 * Expected (debug): "corrupted free list".
 *
 * The secure builds decode links with a multiply by a random key, so the flip
 * changes every bit of the decoded pointer above the flipped one (and the link
 * decodes outside the page). With the rotation they used before, it moved one bit:
 * were the two blocks' addresses one bit apart, it could turn the link into one to
 * the block itself, which is what a block freed twice in a row looks like (reported
 * as a double free). b is still taken at least two bits away from a, so the flip
 * cannot make b's link point at b. The blocks skipped stay allocated. */
#include "fault.h"

int main(void) {
  unsigned char* a = malloc(hide_size(64));
  unsigned char* b = malloc(hide_size(64));
  while (a != NULL && b != NULL && __builtin_popcountl((uintptr_t)a ^ (uintptr_t)b) < 2)
    b = malloc(hide_size(64));
  if (a == NULL || b == NULL) return SETUP_FAILED;
  free(a);
  free(b);
  volatile uintptr_t* word = (volatile uintptr_t*)b;
  uintptr_t before = *word;
  *word = before ^ 16;
  printf("free-list word of %p: %#lx -> %#lx\n", (void*)b, (unsigned long)before,
         (unsigned long)*word);
  allocate_until(NULL, 64, 100000); /* never NULL: runs to the limit */
  return survived("corrupted free list");
}
