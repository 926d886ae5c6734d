/* A block allocated by the main thread, freed by a second thread, then freed again
 * by a third (both frees are remote). The owner then allocates from the same size
 * class until it collects the other threads' frees. Expected (debug): "double free". */
#include <pthread.h>

#include "fault.h"

static void* free_it(void* p) {
  free(hide(p));
  return NULL;
}

int main(void) {
  void* p = malloc(hide_size(96));
  if (p == NULL) return SETUP_FAILED;
  for (int i = 0; i < 2; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, free_it, p) != 0) return SETUP_FAILED;
    pthread_join(t, NULL);
  }
  allocate_until(p, 96, 100000);
  return survived("double free by two other threads");
}
