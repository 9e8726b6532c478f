// Big traces in 2 MiB pages (commands.hpp: use_huge_pages).
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <fstream>

#include "commands.hpp"

namespace attn_trace::cli {
namespace {

constexpr std::size_t reserve = std::size_t{1} << 30;  // 1 GiB of address space, not memory

// Whether 1 GiB of address space can be set aside without cost: no limit on the address space or
// the data segment below a few GiB (ulimit -v, -d), and no strict overcommit accounting (which
// would count the untouched space as used).
bool room_to_reserve() {
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit limit{};
    if (getrlimit(resource, &limit) != 0) return false;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < 8 * reserve) return false;
  }
  int mode = 0;
  std::ifstream overcommit("/proc/sys/vm/overcommit_memory");
  return !(overcommit >> mode) || mode != 2;
}

// malloc's defaults again (the mmap threshold stays fixed at its default size).
void restore_defaults() {
  mallopt(M_TOP_PAD, 128 << 10);
  mallopt(M_TRIM_THRESHOLD, 128 << 10);
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  mallopt(M_ARENA_MAX, 0);
}

}  // namespace

void use_huge_pages() {
  if (!room_to_reserve()) return;
  // One arena (the worker threads' blocks come from the same heap), every block under 32 MiB in
  // the heap rather than a mapping of its own, and the heap never given back (so that it is not
  // shrunk and regrown without the advice).
  if (mallopt(M_ARENA_MAX, 1) == 0 || mallopt(M_MMAP_THRESHOLD, 32 << 20) == 0 ||
      mallopt(M_TRIM_THRESHOLD, INT_MAX) == 0 ||
      mallopt(M_TOP_PAD, static_cast<int>(reserve - 1)) == 0) {
    return restore_defaults();
  }
  // An allocation beyond what the heap has left grows it by the pad: its address space, untouched,
  // costs nothing until written. The kernel is asked to back it with huge pages when written.
  void* first = malloc(std::size_t{1} << 20);
  if (!first) return restore_defaults();
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto start = (reinterpret_cast<std::uintptr_t>(first) + page - 1) & ~(page - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(sbrk(0));
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
  free(first);
  // Later growth of the heap (beyond the first GiB) comes in the usual steps.
  mallopt(M_TOP_PAD, 128 << 10);
}

}  // namespace attn_trace::cli
