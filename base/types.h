/*
 * base/types.h - the vocabulary every vmemu module shares.
 *
 * Scalar typedefs (pfn_t, vaddr_t, pte_t, swp_entry_t), the page geometry
 * (PAGE_SHIFT and friends), a few helpers (ARRAY_SIZE, container_of,
 * likely/unlikely) and BUG_ON(), which is always on: it writes one line with
 * write(2) and aborts, so it is safe in code reachable from the trap.
 *
 * SIGSAFE marks a function that may run inside the SIGSEGV handler: no
 * malloc/free, no stdio, no assert(), no SQLite; pre-allocated memory,
 * syscalls, atomics and the machine lock only.  `grep -n SIGSAFE` lists them.
 */
#ifndef VMEMU_TYPES_H
#define VMEMU_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

#define PAGE_ALIGNED(x)	   (((uint64_t)(x) & (PAGE_SIZE - 1)) == 0)
#define PAGE_ROUND_UP(x)   (((uint64_t)(x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PAGE_ROUND_DOWN(x) ((uint64_t)(x)&PAGE_MASK)

typedef uint64_t pfn_t;	      /* physical frame number in emulated RAM */
typedef uint64_t vaddr_t;     /* emulated virtual address */
typedef uint64_t pte_t;	      /* a page-table entry, any level */
typedef uint64_t swp_entry_t; /* (area, slot) of a swapped page */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* Inlined even where GCC would not: the layers of a hot path (measured). */
#define ALWAYS_INLINE inline __attribute__((always_inline))
#ifndef MIN /* <sys/param.h> (via libuv) has the same ones */
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* Marks functions that may run inside the SIGSEGV handler (see above). */
#define SIGSAFE

/* Always-on assertion: one line on stderr via write(2), then abort(). */
#define BUG_ON(cond)                                       \
	do {                                               \
		if (unlikely(cond))                        \
			vm_bug(__FILE__, __LINE__, #cond); \
	} while (0)

/* SIGSAFE: never returns. */
_Noreturn void vm_bug(const char *file, int line, const char *what);

#endif /* VMEMU_TYPES_H */
