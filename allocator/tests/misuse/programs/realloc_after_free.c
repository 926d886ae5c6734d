/* realloc() of a block that was already freed. Expected (debug): "double free" or
 * "invalid pointer". */
#include "fault.h"

int main(void) {
  void* p = malloc(hide_size(64));
  if (p == NULL) return SETUP_FAILED;
  free(p);
  fault_sink = realloc(hide(p), hide_size(200));
  return survived("realloc of a freed pointer");
}
