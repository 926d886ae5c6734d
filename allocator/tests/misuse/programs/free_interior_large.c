/* free() of a page-aligned pointer 64 KiB into a live 3 MiB block (a block of its
 * own segment). Expected (debug): "invalid pointer". */
#include "fault.h"

int main(void) {
  size_t size = hide_size(3u << 20);
  unsigned char* p = malloc(size);
  if (p == NULL) return SETUP_FAILED;
  memset(p, 7, size);
  free(hide(p + 65536));
  fault_sink = p;
  return survived("free of an interior pointer (huge block)");
}
