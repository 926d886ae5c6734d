/* free() of a pointer into the guard page that ends a small block's segment (an
 * address shardalloc maps but never hands out). Expected (secure): "invalid pointer". */
#include "fault.h"

#define SEGMENT_SIZE ((uintptr_t)4 << 20)

int main(void) {
  unsigned char* p = malloc(hide_size(64));
  if (p == NULL) return SETUP_FAILED;
  uintptr_t end = ((uintptr_t)p | (SEGMENT_SIZE - 1)) + 1;
  free(hide((void*)(end - 4096 + 64)));
  fault_sink = p;
  return survived("free of a pointer into a guard page");
}
