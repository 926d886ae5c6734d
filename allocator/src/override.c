/* override.c: the C++ operators new and delete, so that a preloaded or linked
 * libshardalloc replaces the C++ runtime's allocation too. The standard C names
 * (malloc, free, ...) are aliases declared next to the functions they name
 * (SA_ALSO_NAMED in alloc.c, free.c, aligned.c). */
#include <stdlib.h>

#include "internal.h"

/* ---- C++ ---------------------------------------------------------------------
 * operator new must call the new-handler until it succeeds or there is none, then
 * throw std::bad_alloc. The C++ runtime provides both; we reach them through weak
 * references so that C programs (without libstdc++) still load. */

typedef void (*sa_new_handler_t)(void);
extern sa_new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak)); /* std::get_new_handler() */
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn)); /* std::__throw_bad_alloc() */

/* Returns true if a new-handler ran (so the caller should retry). */
static bool call_new_handler(bool nothrow) {
  sa_new_handler_t handler = _ZSt15get_new_handlerv != NULL ? _ZSt15get_new_handlerv() : NULL;
  if (handler != NULL) {
    handler();
    return true;
  }
  if (nothrow) return false;
  if (_ZSt17__throw_bad_allocv != NULL) _ZSt17__throw_bad_allocv();
  sa_os_write_stderr("shardalloc: out of memory in operator new\n", 42);
  abort();
}

static sa_decl_noinline void* new_retry(size_t size, size_t alignment, bool nothrow) {
  for (;;) {
    void* p = alignment <= SA_MAX_ALIGN ? sa_malloc(size) : sa_malloc_aligned(size, alignment);
    if (p != NULL) return p;
    if (!call_new_handler(nothrow)) return NULL;
  }
}

static inline void* cpp_new(size_t size) {
  void* p = sa_malloc(size);
  return sa_likely(p != NULL) ? p : new_retry(size, 0, false);
}

static inline void* cpp_new_nothrow(size_t size) {
  void* p = sa_malloc(size);
  return sa_likely(p != NULL) ? p : new_retry(size, 0, true);
}

static inline void* cpp_new_aligned(size_t size, size_t alignment, bool nothrow) {
  void* p = sa_malloc_aligned(size, alignment);
  return sa_likely(p != NULL) ? p : new_retry(size, alignment, nothrow);
}

#define SA_EXPORT __attribute__((visibility("default")))

/* new / new[] */
SA_EXPORT void* _Znwm(size_t size) { return cpp_new(size); }
SA_EXPORT void* _Znam(size_t size) { return cpp_new(size); }
/* new(nothrow) / new[](nothrow) */
SA_EXPORT void* _ZnwmRKSt9nothrow_t(size_t size, const void* tag) { (void)tag; return cpp_new_nothrow(size); }
SA_EXPORT void* _ZnamRKSt9nothrow_t(size_t size, const void* tag) { (void)tag; return cpp_new_nothrow(size); }
/* new(align_val_t) and its nothrow / array forms */
SA_EXPORT void* _ZnwmSt11align_val_t(size_t size, size_t al) { return cpp_new_aligned(size, al, false); }
SA_EXPORT void* _ZnamSt11align_val_t(size_t size, size_t al) { return cpp_new_aligned(size, al, false); }
SA_EXPORT void* _ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t al, const void* tag) {
  (void)tag;
  return cpp_new_aligned(size, al, true);
}
SA_EXPORT void* _ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t al, const void* tag) {
  (void)tag;
  return cpp_new_aligned(size, al, true);
}

/* The other forms of delete (the plain and sized ones are aliases in free.c). */
SA_EXPORT void _ZdlPvRKSt9nothrow_t(void* p, const void* tag) { (void)tag; sa_free(p); }
SA_EXPORT void _ZdaPvRKSt9nothrow_t(void* p, const void* tag) { (void)tag; sa_free(p); }
SA_EXPORT void _ZdlPvSt11align_val_t(void* p, size_t al) { (void)al; sa_free(p); }
SA_EXPORT void _ZdaPvSt11align_val_t(void* p, size_t al) { (void)al; sa_free(p); }
SA_EXPORT void _ZdlPvmSt11align_val_t(void* p, size_t size, size_t al) { sa_free_aligned_sized(p, al, size); }
SA_EXPORT void _ZdaPvmSt11align_val_t(void* p, size_t size, size_t al) { sa_free_aligned_sized(p, al, size); }
SA_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void* p, size_t al, const void* tag) {
  (void)al;
  (void)tag;
  sa_free(p);
}
SA_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void* p, size_t al, const void* tag) {
  (void)al;
  (void)tag;
  sa_free(p);
}
