/* free() of a wild pointer: well aligned, in no mapping at all (high in the
 * address space, far from the heap). Expected (debug): "invalid pointer". */
#include "fault.h"

int main(void) {
  free(hide((void*)(uintptr_t)0x7e0000400000ull));
  return survived("free of a wild pointer");
}
