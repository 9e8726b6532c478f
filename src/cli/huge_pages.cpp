// Big traces in 2 MiB pages (commands.hpp: use_huge_pages).
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <cstdint>

#include "commands.hpp"

namespace attn_trace::cli {

void use_huge_pages() {
  // One arena (the worker threads' blocks come from the same heap), every block under 32 MiB in
  // the heap rather than a mapping of its own, and the heap never given back (so that it is not
  // shrunk and regrown without the advice).
  constexpr std::size_t reserve = std::size_t{1} << 30;  // 1 GiB of address space, not memory
  if (mallopt(M_ARENA_MAX, 1) == 0 || mallopt(M_MMAP_THRESHOLD, 32 << 20) == 0 ||
      mallopt(M_TRIM_THRESHOLD, INT_MAX) == 0 ||
      mallopt(M_TOP_PAD, static_cast<int>(reserve - 1)) == 0) {
    return;
  }
  // An allocation beyond what the heap has left grows it by the pad: its address space, untouched,
  // costs nothing until written. The kernel is asked to back it with huge pages when written.
  void* first = malloc(std::size_t{1} << 20);
  if (!first) return;
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto start = (reinterpret_cast<std::uintptr_t>(first) + page - 1) & ~(page - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(sbrk(0));
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
  free(first);
  // Later growth of the heap (beyond the first GiB) comes in the usual steps.
  mallopt(M_TOP_PAD, 128 << 10);
}

}  // namespace attn_trace::cli
