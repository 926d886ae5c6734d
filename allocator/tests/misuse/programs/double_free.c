/* The same block freed twice in a row. Expected (debug): "double free". */
#include "fault.h"

int main(void) {
  void* p = malloc(hide_size(64));
  if (p == NULL) return SETUP_FAILED;
  free(p);
  free(hide(p));
  return survived("immediate double free");
}
