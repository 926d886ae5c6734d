/* larson_new.cc: larson's allocation calls, made the way the original makes them.
 *
 * The original larson is C++ (mimalloc-bench builds it with CPP=1): it allocates
 * with `new char[size]` and frees with `delete[]`; its sized variant (built with
 * -fsized-deallocation) frees with `operator delete[](p, size)`. Allocators such
 * as mimalloc, jemalloc and tcmalloc export their own operator new[] and sized
 * operator delete[], which a preloaded library substitutes for libstdc++'s, so
 * these calls reach the allocator's C++ entry points, its sized free included.
 * (C23's free_sized would not: none of those allocators exports it.)
 *
 * A plain `delete[] p` of a char array cannot pass the size: char needs no
 * destructor, so new[] stores no element count and the compiler calls the
 * unsized operator delete[]. That is why the sized variant calls the sized
 * operator itself, with exactly the size that was passed to new[].
 *
 * The rest of larson is C; these three functions are its interface to C++.
 */
#include <cstddef>
#include <new>

extern "C" void *larson_new(std::size_t size) noexcept;
extern "C" void larson_delete(void *p) noexcept;
extern "C" void larson_delete_sized(void *p, std::size_t size) noexcept;

/* NULL when out of memory (operator new[] throws; C cannot catch). */
void *larson_new(std::size_t size) noexcept
{
    try {
        return new char[size];
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}

void larson_delete(void *p) noexcept
{
    delete[] static_cast<char *>(p);
}

void larson_delete_sized(void *p, std::size_t size) noexcept
{
    ::operator delete[](p, size);
}
