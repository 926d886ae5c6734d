/* types.h: the vocabulary of shardalloc. Every structure and size constant is here.
 *
 *   block    what malloc returns; all blocks of a page share one size class (bin).
 *   page     a run of memory holding blocks of one bin, with three free lists:
 *            `free` (allocation pops here), `local_free` (frees by the owning thread)
 *            and `thread_free` (frees by other threads, pushed atomically).
 *   segment  an aligned OS reservation (SA_SEGMENT_SIZE) holding pages of one kind
 *            and, at its start, their metadata. A block's segment is found by masking
 *            its address, its page by a shift: no header per block, no global lookup.
 *   heap     per-thread: page queues per bin, a `full` queue, and a direct table from
 *            small word sizes to the page to allocate from (the malloc fast path).
 *   tld      thread-local data shared by all heaps of a thread: its segments.
 */
#ifndef SA_TYPES_H
#define SA_TYPES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "shardalloc.h"

#ifndef SA_DEBUG
#define SA_DEBUG 0
#endif

/* ---- Sizes -------------------------------------------------------------- */

#define SA_WORD_SIZE 8
#define SA_BITS_PER_WORD 64 /* bits in a uint64_t bitmap word (masks, the segment map) */
#define SA_MAX_ALIGN 16 /* max_align_t on x86-64 and aarch64 */
#define SA_KiB ((size_t)1024)
#define SA_MiB (SA_KiB * SA_KiB)
#define SA_GiB (SA_MiB * SA_KiB)

/* OS page sizes the allocator asks for by name: the smallest OS page (the unit
 * of segment headers and guard pages), and the two sizes of huge OS pages. */
#define SA_OS_PAGE_MIN (4 * SA_KiB)
#define SA_LARGE_OS_PAGE_SIZE (2 * SA_MiB)
#define SA_GIANT_OS_PAGE_SIZE SA_GiB
/* The cache line of x86-64 and most aarch64 cores: what is laid out to keep one
 * thread's writes off the lines other threads read (sa_page_t). */
#define SA_CACHE_LINE 64
/* User addresses fit in 48 bits (x86-64 and aarch64 with 4-level tables). */
#define SA_ADDRESS_BITS 48

/* Segments are 4 MiB and aligned to 4 MiB, so masking any block address finds one. */
#define SA_SEGMENT_SHIFT 22
#define SA_SEGMENT_SIZE ((size_t)1 << SA_SEGMENT_SHIFT)
#define SA_SEGMENT_MASK (SA_SEGMENT_SIZE - 1)

/* Small pages (64 KiB) hold objects up to 8 KiB: at least 8 blocks a page.
 * Medium pages (512 KiB) hold objects up to 64 KiB, again at least 8 a page.
 * A large page is a whole segment holding one object up to half a segment.
 * Anything bigger is huge: a segment of its own, sized to fit. */
#define SA_SMALL_PAGE_SHIFT 16
#define SA_MEDIUM_PAGE_SHIFT 19
#define SA_LARGE_PAGE_SHIFT SA_SEGMENT_SHIFT /* one page, the whole segment */
/* A huge segment's one page: a shift that maps every offset to page 0. */
#define SA_HUGE_PAGE_SHIFT (SA_BITS_PER_WORD - 1)
#define SA_SMALL_PAGE_SIZE ((size_t)1 << SA_SMALL_PAGE_SHIFT)
#define SA_MEDIUM_PAGE_SIZE ((size_t)1 << SA_MEDIUM_PAGE_SHIFT)
#define SA_SMALL_PAGES_PER_SEGMENT (SA_SEGMENT_SIZE / SA_SMALL_PAGE_SIZE)
#define SA_MEDIUM_PAGES_PER_SEGMENT (SA_SEGMENT_SIZE / SA_MEDIUM_PAGE_SIZE)
#define SA_SMALL_OBJ_MAX (SA_SMALL_PAGE_SIZE / 8)
#define SA_MEDIUM_OBJ_MAX (SA_MEDIUM_PAGE_SIZE / 8)
#define SA_LARGE_OBJ_MAX (SA_SEGMENT_SIZE / 2)

/* Requests up to this size take the direct-table fast path. The table has an entry
 * per byte size, not per word size: malloc indexes it with the size as it came in
 * (two instructions fewer than rounding to words first), at 8 KiB a heap. */
#define SA_DIRECT_MAX 1024
#define SA_DIRECT_ENTRIES (SA_DIRECT_MAX + 1)

/* Beyond this no request can succeed (and size arithmetic could wrap). */
#define SA_MAX_REQUEST ((size_t)PTRDIFF_MAX - SA_SEGMENT_SIZE)

/* A page's free list is extended lazily, this many bytes of blocks at a time, so
 * that memory is only touched when it is about to be used. */
#define SA_EXTEND_BYTES (4 * SA_KiB)
/* The secure build's random order (page.c, link_random_order): an extension of
 * SA_RANDOM_EXTEND_BYTES (one OS page a stream) is linked in runs of
 * SA_RANDOM_RUN_BYTES, each from one of SA_RANDOM_STREAMS upward streams chosen at
 * random. Shorter runs randomise more and cost more where another thread frees the
 * blocks and the owner walks its list in that order (measured with a permutation of
 * runs, xmalloc-test -w 2 -t 1 -s 64: 128 bytes 42-44 M frees/s, 512 bytes 47-49 M,
 * no random order 60 M, release 89-96 M). */
#ifndef SA_RANDOM_RUN_BYTES
#define SA_RANDOM_RUN_BYTES 512
#endif
#define SA_RANDOM_STREAM_BITS 2
#define SA_RANDOM_STREAMS (1 << SA_RANDOM_STREAM_BITS)
#define SA_RANDOM_EXTEND_BYTES (SA_RANDOM_STREAMS * SA_EXTEND_BYTES)

/* Segment headers (the segment and its page structs) take whole units of this. */
#define SA_SEGMENT_HEADER_ALIGN SA_OS_PAGE_MIN

/* Metadata (heaps, thread data; metadata.c) comes from the OS in chunks of
 * SA_METADATA_CHUNK, handed out in multiples of SA_METADATA_UNIT. */
#define SA_METADATA_CHUNK (256 * SA_KiB)
#define SA_METADATA_UNIT 64
/* The largest piece: a thread's data (its tld and heap, whose direct table alone
 * is 8 KiB), with room to grow (thread.c checks). */
#define SA_METADATA_MAX (32 * SA_KiB)

/* Debug builds keep a trailer word at the end of every block (debug.c), and check
 * at most SA_DEBUG_CANARY_MAX bytes of canary after a block's requested end. */
#if SA_DEBUG
#define SA_DEBUG_TRAILER 8
#else
#define SA_DEBUG_TRAILER 0
#endif
#define SA_DEBUG_CANARY_MAX (4 * SA_KiB)

/* ---- Size classes (bins) -------------------------------------------------
 * bin 0: 8 bytes; bins 1..8: 16..128 bytes in steps of 16; then 4 bins per power
 * of two (at most 25% internal waste, every block size a multiple of 16). */
#define SA_BIN_LARGEST 64 /* the bin of SA_LARGE_OBJ_MAX (checked by bin_of in debug builds) */
#define SA_BIN_HUGE (SA_BIN_LARGEST + 1)
#define SA_BIN_FULL (SA_BIN_HUGE + 1) /* queue of pages with no free block */
#define SA_BIN_COUNT (SA_BIN_FULL + 1)

/* The owner id of the orphan heap's segments (heap.c): no thread pointer is this
 * small, and its low bits are free for the page flags. */
#define SA_ORPHAN_THREAD_ID ((uintptr_t)0x100)

/* ---- Blocks and pages ------------------------------------------------------ */

typedef struct sa_block_s {
  struct sa_block_s* next;
} sa_block_t;

/* Page flags, one byte so that the free fast path tests them with one compare. */
enum {
  SA_PAGE_IN_FULL = 1,     /* in the heap's full queue */
  SA_PAGE_HAS_ALIGNED = 2, /* some block was handed out at an interior, aligned address */
  SA_PAGE_IS_HUGE = 4,     /* a huge page: freed straight back, from any thread */
};

/* The state kept in the low 2 bits of page->thread_free: whether a remote free
 * must tell the owning heap that a full page has room again. */
typedef enum sa_notify_e {
  SA_NOTIFY_NONE = 0,  /* the page is not full, or the owner does not need telling */
  SA_NOTIFY_WANTED = 1, /* the page is full: the next remote free notifies the heap */
  SA_NOTIFY_BUSY = 2,  /* a remote free is linking the page into the heap's list */
  SA_NOTIFY_DONE = 3,  /* the page is in the heap's `notified` list */
} sa_notify_t;
#define SA_NOTIFY_MASK ((uintptr_t)3)

typedef struct sa_heap_s sa_heap_t;
typedef struct sa_segment_s sa_segment_t;
typedef struct sa_tld_s sa_tld_t;

/* Two cache lines, each line-aligned (the segment aligns its pages array). The first
 * holds what other threads read or write: what every free reads (the owner's id, the
 * flags; in the secure build the keys and geometry its checks read), the list that
 * remote frees push onto; the owner writes it rarely (a new page, an extension, a
 * change of flags). The second is the owner's alone: its fast paths' lists and count
 * and what its generic paths use. So a remote free never takes the line that the
 * owner's every malloc and free writes, and in the release build a remote push never
 * takes the line that the owner's malloc reads. The secure build's malloc reads the
 * keys in the first line, which has no room left for them and the remote frees'
 * list: there the list has a third line (and the struct a fourth, unused, to stay a
 * power of two), which also keeps remote pushes off the keys' line. */
#if (defined(SA_SECURE) && SA_SECURE) || (defined(SA_SECURE_ENCODED_LISTS) && SA_SECURE_ENCODED_LISTS)
#define SA_PAGE_KEYS 1 /* the secure build's layout: secure.h's flags, set by SA_SECURE or one by one */
#define SA_PAGE_STRUCT_SHIFT 8
#else
#define SA_PAGE_KEYS 0
#define SA_PAGE_STRUCT_SHIFT 7
#endif
typedef struct sa_page_s {
  /* ---- the first line: shared, read-mostly */
  /* The owning thread's id with the flags in its low bits: the free fast path's
   * one compare (equal only for the owner of a page that needs no care). Kept in
   * step by sa_page_sync_owner whenever the flags or the segment's owner change. */
  _Atomic(uintptr_t) xthread_id;
  uint8_t flags;         /* SA_PAGE_* */
  uint8_t in_use;        /* allocated from its segment */
  uint8_t block_shift;   /* secure build: block_size = odd << block_shift (sa_page_is_block) */
  _Atomic(uint8_t) batchable; /* remote frees may be batched: a thread's own heap's page */
  uint8_t bin;           /* size class */
  uint8_t is_committed;  /* its memory is read-write (matters when eager_commit is off) */
  uint8_t padding_[2];
#if SA_PAGE_KEYS
  uintptr_t link_unkey;  /* secure build: link_key's inverse mod 2^64, which decodes links */
#else
  _Atomic(uintptr_t) thread_free; /* freed by other threads; low 2 bits: sa_notify_t */
#endif
  uintptr_t link_key;    /* secure build: free-list link encoding, an odd word (secure.h) */
  uint8_t* start;        /* first block */
  uint64_t block_inverse; /* secure build: the odd part's inverse mod 2^64 */
  uint32_t capacity;     /* blocks carved out of the page so far */
  uint32_t span;         /* bytes from start to the page's end (secure.h: links in range) */
  uintptr_t free_mark;   /* secure build: the second word of its free blocks (secure.h) */
  /* ---- the second line: the owner's */
  sa_block_t* free;      /* blocks ready to allocate */
  sa_block_t* local_free; /* freed by the owning thread */
  uint32_t used;         /* blocks handed out and not yet collected back */
  uint32_t reserved;     /* blocks that fit in the page */
  size_t block_size;
  _Atomic(sa_heap_t*) heap; /* owning heap; NULL while abandoned or huge */
  sa_list_link_t link;   /* in a heap queue (or the list of live huge blocks) */
  struct sa_page_s* notified_next; /* in the heap's list of full pages that got room */
#if SA_PAGE_KEYS
  /* ---- the third line (secure build): what remote frees write */
  _Atomic(uintptr_t) thread_free __attribute__((aligned(SA_CACHE_LINE)));
  uint8_t unused_[(1 << SA_PAGE_STRUCT_SHIFT) - 2 * SA_CACHE_LINE - sizeof(uintptr_t)];
#endif
} sa_page_t;

/* A power of two, so that finding a page from a pointer is a shift and a mask. */
#define SA_PAGE_STRUCT_SIZE ((size_t)1 << SA_PAGE_STRUCT_SHIFT)
_Static_assert(sizeof(sa_page_t) == SA_PAGE_STRUCT_SIZE, "sa_page_t must stay a power of two in size");
_Static_assert(offsetof(sa_page_t, free) == SA_CACHE_LINE, "the owner's fields open the page's second cache line");

typedef enum sa_page_kind_e {
  SA_PAGE_SMALL,  /* 64 pages of 64 KiB */
  SA_PAGE_MEDIUM, /* 8 pages of 512 KiB */
  SA_PAGE_LARGE,  /* one page, the whole segment */
  SA_PAGE_HUGE,   /* one page, a segment sized to its one block */
} sa_page_kind_t;

/* ---- Segments ------------------------------------------------------------ */

struct sa_segment_s {
  _Atomic(uintptr_t) thread_id; /* owner; 0 while abandoned */
  uintptr_t cookie;             /* segment address ^ process key: checks pointers */
  size_t size;                  /* bytes mapped from segment start */
  /* A pointer's page struct is pages + ((p >> page_index_shift) & page_index_mask):
   * the page index (p's bits between page_shift and the segment's size) already
   * scaled by the struct size. The mask is 0 where the segment has one page. */
  uintptr_t page_index_mask;
  uint8_t page_shift;
  uint8_t kind;                 /* sa_page_kind_t */
  uint8_t page_index_shift;     /* page_shift - SA_PAGE_STRUCT_SHIFT */
  uint8_t in_free_queue;        /* in its tld's queue of segments with free pages */
  uint32_t page_count;
  uint32_t used;                /* pages in use */
  uint64_t purge_mask;          /* free pages whose memory is still to be purged */
  int64_t purge_at_ms;          /* when they are due (purge_delay after the last free) */
  sa_segment_t* purge_next;     /* in its tld's list of segments with pages to purge */
  bool in_purge_list;
  bool is_committed;            /* all of it is read-write (else its pages commit on use) */
  bool large_pages;             /* backed by huge OS pages (purge, never decommit) */
  bool cache_unpurged;          /* empty in a cache, its memory not yet given back */
  /* How far from its start its memory may be resident: the end of the furthest
   * page, or block carved from a large page, it held since it was last purged
   * whole. The caches give each request the segment that fits it best by this. */
  size_t touched;
  sa_tld_t* tld;                /* owning thread's data; NULL while abandoned */
  /* in a tld's queue of segments with free pages; while empty in a cache, only
   * link.next is used (the caches are singly linked stacks) */
  sa_list_link_t link;
  /* in the global list of abandoned segments (link.next alone: in a tld's list of
   * segments being abandoned) */
  sa_list_link_t abandoned_link;
  uintptr_t canary_key;         /* secure build: the key of its blocks' canaries (secure.h) */
  sa_page_t pages[] __attribute__((aligned(SA_CACHE_LINE))); /* page_count of them, line-aligned */
};

/* The header sizes (segment_map.c, huge.c) count pages from sizeof(sa_segment_t). */
_Static_assert(offsetof(sa_segment_t, pages) == sizeof(sa_segment_t), "the pages array ends the segment header");

/* A thread's remote frees into one page, waiting to be pushed together (free.c). */
typedef struct sa_remote_batch_s {
  /* The holder's list; another thread reads and clears them only while the holder
   * is not `busy` (free.c): relaxed atomics, plain loads and stores. */
  _Atomic(sa_block_t*) head; /* the waiting blocks, all of one page; NULL when none */
  _Atomic(sa_block_t*) tail;
  _Atomic(sa_page_t*) page;  /* the page of the blocks; NULL when none */
  _Atomic(long) count;
  _Atomic(bool) busy;        /* the holder is changing the list */
  _Atomic(bool) taking;      /* another thread is taking the list over */
  bool registered;           /* in the list of every batch */
  bool closed;               /* the thread's exit clean-up ran: batch no more */
  sa_list_link_t link;       /* in the list of every batch */
} sa_remote_batch_t;

/* ---- Heaps ----------------------------------------------------------------- */

/* A heap's queue of pages of one bin, linked by page->link. */
typedef sa_list_t sa_page_queue_t;
/* A tld's queue of segments with free pages, linked by segment->link. */
typedef sa_list_t sa_segment_queue_t;

/* Statistics counters that the allocator keeps per thread and merges. */
typedef struct sa_stat_count_s {
  int64_t current;
  int64_t peak;
  int64_t total;
} sa_stat_count_t;

typedef struct sa_stats_s {
  sa_stat_count_t segments;
  sa_stat_count_t pages;
  sa_stat_count_t abandoned;       /* segments */
  sa_stat_count_t reclaimed;       /* segments */
  sa_stat_count_t threads;
  int64_t malloc_slow;             /* calls into the generic path */
  int64_t page_extend;
  sa_stat_count_t bin_pages[SA_BIN_HUGE + 1];  /* pages per size class */
  sa_stat_count_t bin_blocks[SA_BIN_HUGE + 1]; /* blocks per size class (debug builds: it
                                                  costs an instruction per malloc and free) */
} sa_stats_t;

struct sa_tld_s {
  uintptr_t thread_id;
  sa_heap_t* heap_default;       /* the thread's own heap (static for the main thread) */
  sa_heap_t* heaps;              /* every heap of this thread, linked by heap->next */
  sa_segment_queue_t small_free; /* small segments with free pages */
  sa_segment_queue_t medium_free;
  sa_segment_t* cache;           /* empty segments kept for reuse */
  size_t cache_count;
  bool freeing_for_others;       /* it empties a segment an exited thread left: the
                                    segment goes to the global cache, not its own */
  /* counts generic calls and page retirements: drives collection, and tells other
   * threads whether this one is still active (sa_heap_poke); only it writes it */
  _Atomic(uint64_t) heartbeat;
  int64_t next_collect_ms;       /* when the generic path next collects and purges */
  sa_segment_t* purge_list;      /* segments with free pages still to purge */
  sa_segment_t* abandoning;      /* segments set aside at thread exit, to publish
                                    (by abandoned_link.next) */
  _Atomic(bool) poked;           /* another thread asks it to collect (sa_heap_poke) */
  _Atomic(int64_t) idle_since_ms; /* when the poke's sender first saw it idle */
  sa_list_link_t all_link;       /* in the list of every live thread's data (thread.c) */
  sa_stats_t stats;
};

struct sa_heap_s {
  /* size in bytes -> page to allocate from; atomic only because another thread may
   * point every entry at the empty page to wake the owner (sa_heap_poke) */
  _Atomic(sa_page_t*) pages_direct[SA_DIRECT_ENTRIES];
  sa_page_queue_t queues[SA_BIN_COUNT];
  _Atomic(sa_page_t*) notified;  /* full pages that got room again through remote frees */
  sa_tld_t* tld;
  uintptr_t thread_id;
  sa_heap_t* next;               /* in tld->heaps */
  bool is_default;               /* the thread's own heap (cannot be deleted) */
};

#endif /* SA_TYPES_H */
