/* sized_delete_probe.cc: an LD_PRELOAD shim that counts C++ array deletes, for
 * the larson tests.
 *
 *   LD_PRELOAD=build/workloads/sized_delete_probe.so build/workloads/larson-sized ...
 *
 * It replaces operator delete[] (unsized and sized) the way an allocator's
 * library does, so it sees exactly the calls an allocator would. It proves that
 * larson-sized frees through the sized operator delete[] with sizes that are
 * plausible (never above the block's usable size, which a mismatched size would
 * often exceed), and that plain larson frees through the unsized one. At exit it
 * prints "sized-delete-probe: S sized, U unsized, B bad sizes" to stderr.
 */
#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace {
std::atomic<unsigned long> sized_calls, unsized_calls, bad_sizes;

struct report_at_exit {
    ~report_at_exit()
    {
        std::fprintf(stderr, "sized-delete-probe: %lu sized, %lu unsized, %lu bad sizes\n",
                     sized_calls.load(), unsized_calls.load(), bad_sizes.load());
    }
} reporter;
}  // namespace

/* libstdc++'s operator new[] takes its memory from malloc, so free is its pair. */
void operator delete[](void *p) noexcept
{
    unsized_calls.fetch_add(1, std::memory_order_relaxed);
    std::free(p);
}

void operator delete[](void *p, std::size_t size) noexcept
{
    sized_calls.fetch_add(1, std::memory_order_relaxed);
    if (p != nullptr && size > malloc_usable_size(p))
        bad_sizes.fetch_add(1, std::memory_order_relaxed);
    std::free(p);
}
