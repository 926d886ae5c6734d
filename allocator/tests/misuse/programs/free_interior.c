/* free() of a pointer 16 bytes into a live 64-byte block: aligned like a block,
 * so only knowing the block boundaries catches it. Expected (debug): "invalid pointer". */
#include "fault.h"

int main(void) {
  unsigned char* p = malloc(hide_size(64));
  if (p == NULL) return SETUP_FAILED;
  memset(p, 7, 64);
  free(hide(p + 16));
  fault_sink = p;
  return survived("free of an interior pointer (small block)");
}
