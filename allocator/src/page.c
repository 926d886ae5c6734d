/* page.c: pages and the heap's page queues (floor 5, see README.md). A heap keeps
 * one queue per bin of pages that may have free blocks, plus a `full` queue of
 * pages that had none the last time we looked; the direct table points at the
 * front page of each small bin. */
#include "internal.h"

/* The empty page: no free block, so that a fast path that finds it takes the
 * generic path. Every direct entry of the empty heap points at it, set up by a
 * constant initializer: a thread's heap pointer starts at the empty heap, so its
 * first malloc needs no initialisation check. */
const sa_page_t sa_page_empty;
const sa_heap_t sa_heap_empty = {.pages_direct = {[0 ... SA_DIRECT_MAX] = (sa_page_t*)&sa_page_empty}};

/* ---- queues ----------------------------------------------------------------------- */

void sa_page_queue_remove(sa_page_queue_t* queue, sa_page_t* page) { SA_LIST_REMOVE(queue, page, link); }

void sa_page_queue_push_front(sa_page_queue_t* queue, sa_page_t* page) { SA_LIST_PUSH_FRONT(queue, page, link); }

static void page_queue_push_back(sa_page_queue_t* queue, sa_page_t* page) { SA_LIST_PUSH_BACK(queue, page, link); }

void sa_direct_clear(sa_heap_t* heap) {
  for (size_t size = 0; size < SA_DIRECT_ENTRIES; size++) sa_direct_set(heap, size, (sa_page_t*)&sa_page_empty);
}

/* The direct table maps every size of a small bin to that bin's front page (or the
 * static empty page), so that malloc needs no test beyond `free != NULL`. */
void sa_heap_direct_update(sa_heap_t* heap, size_t bin) {
  size_t block_size = sa_bin_block_size(bin);
  if (block_size > SA_DIRECT_MAX) return;
  sa_page_t* page = heap->queues[bin].first;
  if (page == NULL) page = (sa_page_t*)&sa_page_empty;
  size_t first = bin == SA_BIN_MIN ? 0 : sa_bin_block_size(bin - 1) + 1;
  /* Mostly the front page has not changed: the entries are rewritten only when it
   * did (or a poke pointed them all at the empty page, the last one among them). */
  if (sa_direct_page(heap, block_size) == page) return;
  /* Up to 128 entries (the largest small bins), rewritten each time a front page
   * runs out: unrolled, the loop's own instructions are a fraction of the stores'. */
#pragma GCC unroll 8
  for (size_t size = first; size <= block_size; size++) sa_direct_set(heap, size, page);
}

/* ---- notify state ------------------------------------------------------------- */

void sa_page_set_notify(sa_page_t* page, sa_notify_t state, bool only_if_none) {
  uintptr_t tf = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  unsigned spins = 0;
  for (;;) {
    sa_notify_t now = sa_tf_notify(tf);
    if (now == SA_NOTIFY_BUSY) { /* a remote free is linking the page: a few instructions */
      sa_spin_wait(&spins);
      tf = atomic_load_explicit(&page->thread_free, memory_order_acquire);
      continue;
    }
    if (only_if_none && now != SA_NOTIFY_NONE) return;
    if (now == state) return;
    if (atomic_compare_exchange_weak_explicit(&page->thread_free, &tf, sa_tf_with_notify(tf, state),
                                              memory_order_acq_rel, memory_order_relaxed)) {
      return;
    }
  }
}

void sa_heap_drain_notified(sa_heap_t* heap) {
  sa_page_t* page = atomic_exchange_explicit(&heap->notified, NULL, memory_order_acquire);
  while (page != NULL) {
    sa_page_t* next = page->notified_next;
    /* Wait out BUSY: the notifying thread still has to mark the page DONE. */
    sa_page_set_notify(page, SA_NOTIFY_NONE, false);
    if (page->flags & SA_PAGE_IN_FULL) sa_page_unfull(heap, page);
    page = next;
  }
}

/* ---- collecting frees ------------------------------------------------------------- */

/* The tail of a free list (force: joining lists), checking each link on the way. */
static sa_block_t* list_tail(sa_page_t* page, sa_block_t* head) {
  sa_block_t* tail = head;
  for (sa_block_t* next; (next = sa_link_get(page, tail)) != NULL; tail = next) {
#if SA_SECURE_ENCODED_LISTS
    if (sa_unlikely(!sa_link_in_page(page, next))) {
      sa_secure_bad_link(page, tail, "collect");
      sa_link_set(page, tail, NULL);
      break;
    }
#endif
  }
  return tail;
}

/* Takes the page's thread-free list (its count is in the word: no walk) onto the
 * local list, or, when that is in use and the free list is empty, moves the local
 * list on and puts it in the local list's place; only when both are in use (a
 * forced or routine collect of a page still handing out blocks) is it walked. Its
 * links are checked as malloc pops them (secure build). */
static void collect_thread_free(sa_page_t* page) {
  uintptr_t tf = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&page->thread_free, &tf, sa_tf_make(NULL, sa_tf_notify(tf), 0),
                                                memory_order_acquire, memory_order_relaxed)) {
  }
  sa_block_t* head = sa_tf_block(tf);
  uint32_t count = sa_tf_count(tf);
  if (sa_unlikely(count > page->used)) {
    /* More frees than blocks in use: a block freed twice by other threads. The list
     * cannot be trusted (it may be a cycle): dropped, its blocks leaked. */
    sa_error(EFAULT, "free: %u blocks freed by other threads into a page of %zu-byte blocks with %u in use (a block freed twice?)",
             count, page->block_size, page->used);
    return;
  }
  page->used -= count;
  if (page->local_free == NULL) {
    page->local_free = head;
  } else if (page->free == NULL) {
    page->free = page->local_free;
    page->local_free = head;
  } else {
    sa_link_set(page, list_tail(page, head), page->local_free);
    page->local_free = head;
  }
}

void sa_page_collect(sa_page_t* page, bool force) {
  /* Free of fast-path cost, so in every build: a block freed twice in a row by its
   * owner links to itself at the head of local_free (and was counted twice). */
  if (page->local_free != NULL && sa_unlikely(sa_link_get(page, page->local_free) == page->local_free)) {
    sa_error(EFAULT, "free: double free of block %p (size class %u: %zu-byte blocks)", (void*)page->local_free,
             (unsigned)page->bin, page->block_size);
    sa_link_set(page, page->local_free, NULL);
    page->used++;
  }
  if (sa_tf_block(atomic_load_explicit(&page->thread_free, memory_order_relaxed)) != NULL) collect_thread_free(page);
  if (page->local_free == NULL) return;
  if (page->free == NULL) {
    page->free = page->local_free;
    page->local_free = NULL;
  } else if (force) {
    sa_link_set(page, list_tail(page, page->local_free), page->free);
    page->free = page->local_free;
    page->local_free = NULL;
  }
}

/* ---- page life cycle -------------------------------------------------------------- */

/* Links the `count` neighbouring blocks from `first` upwards, each marked free, the
 * last to `next`: the inner loop of every extension, with the page's keys in
 * registers. */
static void link_run(const sa_page_t* page, uint8_t* first, size_t count, sa_block_t* next) {
  const size_t size = page->block_size;
  const uintptr_t key = sa_link_key(page), mark = sa_free_mark(page);
  uint8_t* last = first + (count - 1) * size;
  for (uint8_t* p = first; p < last; p += size) {
    sa_block_set_mark(mark, (sa_block_t*)p);
    ((sa_block_t*)p)->next = sa_link_encode(key, (sa_block_t*)p, (sa_block_t*)(p + size));
  }
  sa_block_set_mark(mark, (sa_block_t*)last);
  ((sa_block_t*)last)->next = sa_link_encode(key, (sa_block_t*)last, next);
}

#if SA_SECURE_RANDOM_ORDER
/* Every run but a stream's last holds SA_RANDOM_RUN_BYTES or more (one block, if it
 * is bigger), and an extension holds SA_RANDOM_EXTEND_BYTES or one block. */
#define RANDOM_RUNS_MAX (SA_RANDOM_EXTEND_BYTES / SA_RANDOM_RUN_BYTES + SA_RANDOM_STREAMS)

/* The secure build's order of fresh blocks: the extension split into SA_RANDOM_STREAMS
 * streams of neighbouring blocks, each walked upwards, taken a run of
 * SA_RANDOM_RUN_BYTES at a time from a stream chosen at random (two random bits a
 * run). Which block follows which says little about which are neighbours, while each
 * stream is an upward walk through its own part of the memory, which the hardware
 * prefetchers follow (a permutation of runs cost xmalloc-test and sh8bench a fifth
 * of their throughput in cache misses). Runs, not single blocks: small blocks that
 * share a cache line stay together, else a consumer thread freeing one block
 * (writing its link) and the producer writing its neighbour fight over the line.
 * The runs are chosen first, then linked from the last to the first, so that each
 * knows the run that follows it. */
static sa_block_t* link_random_order(sa_page_t* page, uint8_t* first, size_t count) {
  size_t run = (SA_RANDOM_RUN_BYTES + page->block_size - 1) / page->block_size;
  size_t next[SA_RANDOM_STREAMS], end[SA_RANDOM_STREAMS];
  for (size_t s = 0; s < SA_RANDOM_STREAMS; s++) {
    next[s] = count * s / SA_RANDOM_STREAMS;
    end[s] = count * (s + 1) / SA_RANDOM_STREAMS;
  }
  uint32_t starts[RANDOM_RUNS_MAX], lengths[RANDOM_RUNS_MAX];
  size_t runs = 0;
  uint64_t bits = sa_secure_random();
  unsigned bits_left = SA_BITS_PER_WORD;
  for (size_t linked = 0; linked < count; runs++) {
    if (bits_left < SA_RANDOM_STREAM_BITS) {
      bits = sa_secure_random();
      bits_left = SA_BITS_PER_WORD;
    }
    size_t s = bits & (SA_RANDOM_STREAMS - 1);
    bits >>= SA_RANDOM_STREAM_BITS;
    bits_left -= SA_RANDOM_STREAM_BITS;
    while (next[s] == end[s]) s = (s + 1) & (SA_RANDOM_STREAMS - 1); /* some stream has blocks left */
    size_t to = next[s] + run < end[s] ? next[s] + run : end[s];
    sa_assert(runs < RANDOM_RUNS_MAX);
    starts[runs] = (uint32_t)next[s];
    lengths[runs] = (uint32_t)(to - next[s]);
    linked += to - next[s];
    next[s] = to;
  }
  sa_block_t* head = NULL;
  while (runs-- > 0) {
    uint8_t* start = first + (size_t)starts[runs] * page->block_size;
    link_run(page, start, lengths[runs], head);
    head = (sa_block_t*)start;
  }
  return head;
}
#endif

/* Carves not-yet-used blocks into the free list, SA_EXTEND_BYTES of them at a time
 * (the secure build's random order takes SA_RANDOM_EXTEND_BYTES); memory is touched
 * only as the page actually fills. */
static void page_extend(sa_page_t* page, sa_tld_t* tld) {
  size_t count = (SA_SECURE_RANDOM_ORDER ? SA_RANDOM_EXTEND_BYTES : SA_EXTEND_BYTES) / page->block_size;
  if (count == 0) count = 1;
  if (count > page->reserved - page->capacity) count = page->reserved - page->capacity;
  uint8_t* first = page->start + (size_t)page->capacity * page->block_size;
#if SA_SECURE_RANDOM_ORDER
  sa_block_t* head = link_random_order(page, first, count);
#else
  link_run(page, first, count, NULL);
  sa_block_t* head = (sa_block_t*)first;
#endif
  sa_debug_on_extend(page, first, count);
  page->free = head;
  page->capacity += (uint32_t)count;
  tld->stats.page_extend++;
  /* A large page holds as many blocks of its size as fit: the segment is resident
   * as far as they reach, which is what the caches' fit goes by. */
  sa_segment_t* segment = sa_segment_of(page);
  size_t end = (size_t)(first + count * page->block_size - (uint8_t*)segment);
  if (end > segment->touched) segment->touched = end;
}

static void page_to_full(sa_heap_t* heap, sa_page_queue_t* queue, sa_page_t* page) {
  sa_page_queue_remove(queue, page);
  page_queue_push_back(&heap->queues[SA_BIN_FULL], page);
  page->flags |= SA_PAGE_IN_FULL;
  sa_page_sync_owner(page);
  /* From now on the first remote free tells us. One may have come in since we
   * collected, before the state said so: then the page has room already. */
  sa_page_set_notify(page, SA_NOTIFY_WANTED, true);
  if (sa_tf_block(atomic_load_explicit(&page->thread_free, memory_order_acquire)) != NULL) {
    sa_page_unfull(heap, page);
  }
}

void sa_page_unfull(sa_heap_t* heap, sa_page_t* page) {
  sa_page_queue_remove(&heap->queues[SA_BIN_FULL], page);
  page->flags &= (uint8_t)~SA_PAGE_IN_FULL;
  sa_page_sync_owner(page);
  page_queue_push_back(&heap->queues[page->bin], page);
  /* If a remote free is notifying right now, the drain will reset the state. */
  uintptr_t tf = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  if (sa_tf_notify(tf) == SA_NOTIFY_WANTED) {
    atomic_compare_exchange_strong_explicit(&page->thread_free, &tf, sa_tf_with_notify(tf, SA_NOTIFY_NONE),
                                            memory_order_acq_rel, memory_order_relaxed);
  }
  if (heap->queues[page->bin].first == page) sa_heap_direct_update(heap, page->bin);
}

static sa_page_t* page_fresh(sa_heap_t* heap, size_t bin) {
  size_t block_size = sa_bin_block_size(bin);
  sa_page_t* page = sa_segment_page_alloc(heap, block_size);
  if (page == NULL) return NULL;
  page->bin = (uint8_t)bin;
  page->block_size = block_size;
  page->flags = 0;
  sa_page_sync_owner(page);
  page->used = 0;
  page->capacity = 0;
  page->free = page->local_free = NULL;
  atomic_store_explicit(&page->thread_free, 0, memory_order_relaxed);
  atomic_store_explicit(&page->heap, heap, memory_order_release);
  atomic_store_explicit(&page->batchable, sa_page_may_batch(heap, page), memory_order_relaxed);
  uint8_t* start;
  size_t area = sa_page_usable_area(sa_segment_of(page), page, &start);
  page->start = start;
  page->reserved = (uint32_t)(area / block_size);
  page->span = area > UINT32_MAX ? UINT32_MAX : (uint32_t)area;
  sa_assert(page->reserved > 0);
#if SA_SECURE_ENCODED_LISTS || SA_SECURE_CANARY
  sa_secure_page_init(page);
#endif
  sa_page_queue_push_front(&heap->queues[bin], page);
  sa_stat_increase(&heap->tld->stats.bin_pages[bin], 1);
  return page;
}

/* The first page of the queue with a free block, collecting, extending and moving
 * full ones to the full queue on the way; NULL if none. */
static inline sa_page_t* queue_find(sa_heap_t* heap, sa_page_queue_t* queue) {
  sa_page_t* page = queue->first;
  while (page != NULL) {
    sa_page_t* next = page->link.next;
    sa_page_collect(page, false);
    if (page->free != NULL) break;
    if (page->capacity < page->reserved) {
      page_extend(page, heap->tld);
      break;
    }
    page_to_full(heap, queue, page);
    page = next;
  }
  return page;
}

sa_page_t* sa_page_find_free(sa_heap_t* heap, size_t bin) {
  sa_assert(bin <= SA_BIN_LARGEST);
  sa_page_queue_t* queue = &heap->queues[bin];
  sa_page_t* page = queue_find(heap, queue);
  /* Before taking a fresh page, adopt what exited threads left behind: into the
   * thread's own heap only, since a first-class heap may be destroyed with all its
   * pages, and those hold other threads' live blocks. */
  if (page == NULL && heap->is_default && sa_hook_reclaim_for_page(heap, sa_bin_block_size(bin))) page = queue_find(heap, queue);
  if (page == NULL) {
    page = page_fresh(heap, bin);
    if (page == NULL) {
      sa_heap_direct_update(heap, bin); /* pages may have moved to the full queue */
      return NULL;
    }
    page_extend(page, heap->tld);
  } else if (page != queue->first) {
    sa_page_queue_remove(queue, page);
    sa_page_queue_push_front(queue, page);
  }
  sa_heap_direct_update(heap, bin);
  return page;
}

/* Takes a page that another heap (or a dead thread) owned into this heap. */
void sa_page_adopt(sa_heap_t* heap, sa_page_t* page) {
  page->flags &= (uint8_t)~SA_PAGE_IN_FULL;
  sa_page_sync_owner(page);
  sa_page_set_notify(page, SA_NOTIFY_NONE, false);
  atomic_store_explicit(&page->heap, heap, memory_order_release);
  atomic_store_explicit(&page->batchable, sa_page_may_batch(heap, page), memory_order_relaxed);
  page_queue_push_back(&heap->queues[page->bin], page);
  sa_stat_increase(&heap->tld->stats.bin_pages[page->bin], 1);
  if (heap->queues[page->bin].first == page) sa_heap_direct_update(heap, page->bin);
}

void sa_page_free_to_segment(sa_heap_t* heap, sa_page_t* page) {
  /* A page linked in the notified list must leave it before it can be reused. No
   * remote free can start now (the page has no block in use), but one may still be
   * linking the page (BUSY): wait for it to finish, so that DONE is seen. */
  sa_notify_t state;
  unsigned spins = 0;
  while ((state = sa_tf_notify(atomic_load_explicit(&page->thread_free, memory_order_acquire))) == SA_NOTIFY_BUSY) {
    sa_spin_wait(&spins);
  }
  if (state == SA_NOTIFY_DONE) sa_heap_drain_notified(heap);
  sa_page_set_notify(page, SA_NOTIFY_NONE, false);
  sa_page_queue_t* queue = (page->flags & SA_PAGE_IN_FULL) ? &heap->queues[SA_BIN_FULL] : &heap->queues[page->bin];
  bool was_first = queue->first == page;
  sa_page_queue_remove(queue, page);
  sa_stat_decrease(&heap->tld->stats.bin_pages[page->bin], 1);
  if (was_first && !(page->flags & SA_PAGE_IN_FULL)) sa_heap_direct_update(heap, page->bin);
  atomic_store_explicit(&page->heap, NULL, memory_order_relaxed);
  sa_segment_page_free(heap->tld, page);
}
