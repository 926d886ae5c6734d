/* Eight bytes written past the requested size of a small block, then free.
 * Expected (debug): "buffer overflow". */
#include "fault.h"

int main(void) {
  size_t size = hide_size(20);
  unsigned char* p = malloc(size);
  if (p == NULL) return SETUP_FAILED;
  memset(p, 1, size);
  for (size_t i = 0; i < 8; i++) poke(p, size + i, (unsigned char)(0x41 + i));
  free(hide(p));
  return survived("8-byte overflow");
}
