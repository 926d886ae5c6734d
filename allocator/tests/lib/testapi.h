/* testapi.h: one test source, two builds.
 *
 * Test programs call the allocator through T_ names. Built with -DSA_API they map
 * to the sa_ functions of <shardalloc.h> (the program links libshardalloc.a);
 * built without it they map to the standard names, and the program is plain: it
 * runs on glibc as is, and on shardalloc with LD_PRELOAD=libshardalloc.so.
 *
 * The test programs never call a standard allocation function themselves in the
 * sa_ build. (libshardalloc.a also defines the standard names, so a statically
 * linked program runs wholly on shardalloc anyway; the sanitizer builds link the
 * core archive without them, next to the C library's malloc.)
 */
#ifndef SA_TESTAPI_H
#define SA_TESTAPI_H

#include <stddef.h>
#include <stdlib.h>

#ifdef SA_API

#include <shardalloc.h>

#define T_API_NAME "sa_ API"
#define T_malloc sa_malloc
#define T_calloc sa_calloc
#define T_realloc sa_realloc
#define T_reallocarray sa_reallocarray
#define T_free sa_free
#define T_usable_size sa_usable_size
#define T_posix_memalign sa_posix_memalign
#define T_aligned_alloc sa_aligned_alloc
#define T_memalign sa_memalign
#define T_valloc sa_valloc
#define T_pvalloc sa_pvalloc
/* Always present in the sa_ API. */
#define T_free_sized sa_free_sized
#define T_free_aligned_sized sa_free_aligned_sized
#define T_HAVE_FREE_SIZED 1

#else /* standard names */

#include <malloc.h>

#define T_API_NAME "standard names"
#define T_malloc malloc
#define T_calloc calloc
#define T_realloc realloc
#define T_reallocarray reallocarray
#define T_free free
#define T_usable_size malloc_usable_size
#define T_posix_memalign posix_memalign
#define T_aligned_alloc aligned_alloc
#define T_memalign memalign
#define T_valloc valloc
#define T_pvalloc pvalloc
/* C23's free_sized / free_aligned_sized: glibc 2.36 lacks them, the preloaded
 * library provides them. Weak, so the program also runs where they are absent. */
extern void free_sized(void* p, size_t size) __attribute__((weak));
extern void free_aligned_sized(void* p, size_t alignment, size_t size) __attribute__((weak));
#define T_free_sized free_sized
#define T_free_aligned_sized free_aligned_sized
#define T_HAVE_FREE_SIZED (free_sized != NULL && free_aligned_sized != NULL)

#endif

#endif /* SA_TESTAPI_H */
