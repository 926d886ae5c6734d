/* pool.c: the thread-pool shape (issue 9, item 4). The main thread allocates 64 MiB
 * of 1000-byte blocks (1024 small pages) and 16 blocks of 1 MiB; 16 workers each free
 * a few of the small ones (one in each of FREES_PER_WORKER pages) and one 1 MiB block,
 * all remote frees into main's pages, and then wait on a condition variable, as idle
 * pool workers do. Main frees every other block itself,
 * so that all pages are empty once the workers' frees arrive, and calls
 * sa_collect(true). Checks, while the workers still wait:
 *   - the leak account: main's pages are all freed (pages.current at the baseline);
 *   - held memory (Rss - LazyFree) is back within HELD_BOUND of the start.
 * A worker that keeps its frees in a batch while it waits pins a page per block.
 * A plain program: run with LD_PRELOAD=libshardalloc.so.
 */
#include "leak_account.h"

#define WORKERS 16
#define BLOCK_SIZE 1000
#define TOTAL_BYTES (64 * MiB)
#define FREES_PER_WORKER 20
#define BLOCKS_PER_PAGE 64 /* 1000-byte blocks (1024-byte class) in a 64 KiB page */
#define LARGE_SIZE (1 * MiB) /* a large page: a segment of its own */
#define HELD_BOUND (8 * MiB)

static void* blocks[TOTAL_BYTES / BLOCK_SIZE];
static unsigned char given[TOTAL_BYTES / BLOCK_SIZE]; /* freed by a worker */
static size_t given_index[WORKERS][FREES_PER_WORKER];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int freed_workers;
static bool finish;

static void* large_blocks[WORKERS]; /* one each, a worker's last free */

static void* worker(void* arg) {
  size_t w = (size_t)(uintptr_t)arg;
  for (size_t i = 0; i < FREES_PER_WORKER; i++) free(blocks[given_index[w][i]]);
  free(large_blocks[w]);
  pthread_mutex_lock(&lock);
  freed_workers++;
  pthread_cond_broadcast(&changed);
  while (!finish) pthread_cond_wait(&changed, &lock); /* idle, as a pool worker */
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  tap_require(ot_sa_init(), "the sa_ API is there (run with LD_PRELOAD=libshardalloc.so)");
  tap_diag("%d idle pool workers after remote frees into the main thread's pages", WORKERS);
  leak_account_t account = leak_account_start();
  long long start = ot_resident_bytes();
  for (size_t w = 0; w < WORKERS; w++) {
    large_blocks[w] = malloc(LARGE_SIZE);
    tap_require(large_blocks[w] != NULL, "the large blocks are allocated");
    memset(large_blocks[w], 5, LARGE_SIZE);
  }
  size_t count = TOTAL_BYTES / BLOCK_SIZE;
  for (size_t i = 0; i < count; i++) {
    blocks[i] = malloc(BLOCK_SIZE);
    tap_require(blocks[i] != NULL, "64 MiB of blocks allocated");
    memset(blocks[i], 3, BLOCK_SIZE);
  }
  /* Worker w frees one block in each of FREES_PER_WORKER pages, pages spread out. */
  for (size_t w = 0; w < WORKERS; w++) {
    for (size_t i = 0; i < FREES_PER_WORKER; i++) {
      size_t page = (w * FREES_PER_WORKER + i) * 3 % (count / BLOCKS_PER_PAGE);
      size_t index = page * BLOCKS_PER_PAGE + w % BLOCKS_PER_PAGE;
      while (given[index]) index++;
      given[index] = 1;
      given_index[w][i] = index;
    }
  }
  long long peak = ot_resident_bytes();
  pthread_t tids[WORKERS];
  for (size_t w = 0; w < WORKERS; w++) {
    tap_require(pthread_create(&tids[w], NULL, worker, (void*)(uintptr_t)w) == 0, "the workers started");
  }
  pthread_mutex_lock(&lock);
  while (freed_workers < WORKERS) pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);
  for (size_t i = 0; i < count; i++) {
    if (!given[i]) free(blocks[i]);
  }
  ot_collect(true);
  long long held = ot_resident_bytes();
  tap_diag("held (Rss - LazyFree): %.1f MiB at the start, %.1f MiB with 64 MiB live, %.1f MiB after "
           "the frees and sa_collect(true) while %d workers wait", ot_mib(start), ot_mib(peak), ot_mib(held), WORKERS);
  tap_result(held <= start + (long long)HELD_BOUND,
             "memory freed by idle pool workers goes back once the owner collects");
  leak_account_check(&account, "thread pool, workers idle");
  pthread_mutex_lock(&lock);
  finish = true;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
  for (size_t w = 0; w < WORKERS; w++) pthread_join(tids[w], NULL);
  return tap_exit_status();
}
