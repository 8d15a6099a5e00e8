/*
 * tests/lib/vmtest.h - helpers shared by the integration tests.
 *
 * A parked task is a task whose function only waits until released, so the
 * main thread (where cmocka may assert) can drive its address space with
 * vm_mmap/vm_access/... and inspect it, then let it exit.
 *
 * Nothing outlives a test: every parked task and every machine made here
 * is recorded, and vmtest_teardown (a cmocka teardown: VMTEST(fn) in the
 * test list) releases what a failed assertion left behind, so a failure
 * fails that test instead of hanging the next one.  A parked task's
 * semaphores live on the heap, never in the (unwound) test frame.
 */
#ifndef VMEMU_TEST_VMTEST_H
#define VMEMU_TEST_VMTEST_H

#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/vm.h"

struct park_ctl;

struct parked {
	struct vm *vm;
	struct vm_task *t;
	int pid;
	struct park_ctl *ctl; /* heap: the task waits on it */
};

/* Spawn a parked task; returns its pid (p->t set) or a negative errno. */
int park_spawn(struct vm *vm, struct parked *p, const char *name);
/* Fork parent (a parked task) into child, also parked; child's pid. */
int park_fork(struct parked *parent, struct parked *child);
/* Let it return 0 and wait for it; returns vm_wait's result. */
int park_release(struct parked *p, struct vm_exit *ex);

/* vm_create with defaults for mode and size; aborts the test on error. */
struct vm *vmtest_create(enum vm_mode mode, uint64_t mem_bytes);
/* vm_create of cfg; aborts the test on error. */
struct vm *vmtest_create_cfg(const struct vm_config *cfg);
/* Release vm's parked tasks and vm_destroy it. */
void vmtest_destroy(struct vm *vm);
/* Release every parked task and destroy every machine still recorded. */
int vmtest_teardown(void **state);
#define VMTEST(fn) cmocka_unit_test_teardown(fn, vmtest_teardown)

/* The seed of a randomized test: $SEED or the clock; printed. */
uint64_t vmtest_seed(const char *test);
/* xorshift64* step. */
uint64_t vmtest_rand(uint64_t *state);

/*
 * A test's own log database: /tmp/NAME.PID.db into buf, any earlier file
 * of that name removed.  vmtest_db_remove deletes path and the -wal and
 * -shm files SQLite may leave beside it.
 */
void vmtest_db_path(char *buf, size_t len, const char *name);
void vmtest_db_remove(const char *path);

#endif /* VMEMU_TEST_VMTEST_H */

/* Internal peeks for tests (they include the kernel's headers). */
struct mm;
/* The machine a task runs on. */
struct vm *vmtest_task_vm(struct vm_task *t);
/* The task's address space (NULL after exit). */
struct mm *vmtest_mm(struct vm_task *t);
/* Frame bytes mapped at va through the direct map, or NULL if not present. */
uint8_t *vmtest_frame(struct vm_task *t, uint64_t va);
/* mm_check under the machine lock. */
int vmtest_check(struct vm_task *t);
/* Trace-mode CPU: vm_access then the byte through the direct map. */
int vmtest_store(struct vm_task *t, uint64_t va, uint8_t v);
int vmtest_load(struct vm_task *t, uint64_t va, uint8_t *v);
/*
 * The CPU of the calling thread touching t's memory: in trace mode
 * vm_access + the direct map, in native mode a real load/store through
 * vm_ptr (the trap resolves it).  Returns 0, or vm_access's error.
 */
int vmtest_cpu_store(struct vm_task *t, uint64_t va, uint8_t v);
int vmtest_cpu_load(struct vm_task *t, uint64_t va, uint8_t *v);
/* mm_clear_young / mm_clean over npages at va, under the machine lock. */
uint64_t vmtest_clear_young(struct vm_task *t, uint64_t va, unsigned npages);
uint64_t vmtest_clean(struct vm_task *t, uint64_t va, unsigned npages);
/* Shrink the machine's host map-slot budget to `room` slots above now. */
void vmtest_shrink_map_budget(struct vm *vm, long room);
/* Host map slots: the budget's limit, its recounts so far. */
long vmtest_map_budget_limit(struct vm *vm);
uint64_t vmtest_map_budget_recounts(struct vm *vm);
/* Frames held by the kernel's slab caches (tasks, mms, VMAs, rmap). */
uint64_t vmtest_slab_pages(struct vm *vm);
/* Live objects in those caches. */
uint64_t vmtest_slab_objs(struct vm *vm);
/*
 * Every walker over the whole machine, under the lock: buddy_check,
 * slab_check of the kernel's caches, mm_check of every task; 0 or the
 * first error.
 */
int vmtest_check_all(struct vm *vm);
/* Called around every swap write/read, the machine lock not held. */
void vmtest_set_io_hook(struct vm *vm, void (*fn)(void *arg, bool write),
			void *arg);
/* Evict t's pages in [va, va + n pages) now, shared ones too. */
uint64_t vmtest_pageout(struct vm_task *t, uint64_t va, unsigned npages);
/* Is the page at va swapped out (its PTE a swap entry)? */
bool vmtest_swapped(struct vm_task *t, uint64_t va);
/*
 * One shrink_node pass of direct reclaim at priority, as a reclaim run
 * (the workingset activations are snapshot at its end); pages freed.
 */
uint64_t vmtest_shrink(struct vm *vm, unsigned priority, uint64_t target);
/* The LRU's reclaim costs (Linux's lruvec anon_cost, file_cost). */
void vmtest_lru_costs(struct vm *vm, uint64_t *anon, uint64_t *file);
/* The va (page->index) of each page on LRU list l, head first; count. */
unsigned vmtest_lru_list(struct vm *vm, int l, uint64_t *va, unsigned max);
/* struct page flags of the frame mapped at va, or 0 if none is. */
uint32_t vmtest_page_flags(struct vm_task *t, uint64_t va);
/* Take the machine lock and keep it (the lock-discipline test). */
void vmtest_lock(struct vm *vm);
void vmtest_unlock(struct vm *vm);
/* Number of VMAs and the PTE at va (0 if none). */
uint64_t vmtest_map_count(struct vm_task *t);
uint64_t vmtest_pte(struct vm_task *t, uint64_t va);
