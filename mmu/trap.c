/*
 * mmu/trap.c - the SIGSEGV trap and the window registry of native mode
 * (see mmu/trap.h for the contract, docs/trap.md for the measurements
 * behind the choices).  The host mappings inside windows are
 * mmu/hostmap.c's.
 *
 * A window is one host reservation, PROT_NONE, with a guard zone on each
 * side that is never registered, so an overrun crashes for real instead of
 * landing in the next window:
 *
 *   | guard (64 KiB) | base ........ window: emulated VA [0, size) | guard |
 *                    ^ registered as [base, base + size)
 *
 * The registry is the module's one global: TRAP_MAX_WINDOWS slots, each
 * {seq, base, end, owner} in C11 atomics.  Writers (create/destroy) hold
 * trap_reg.lock and bump seq to odd, store the fields, bump it to even; the
 * handler reads a slot as a seqlock reader and skips a slot whose seq is odd
 * or changed under it.  It never waits: a slot being written belongs to a
 * window being created or destroyed, and no thread may fault in one of those.
 * The lookup tries the slot this thread hit last, then scans the used slots
 * with two relaxed loads each, confirming a candidate with the seqlock read.
 *
 * Fault path:  SIGSEGV (on the thread's alternate stack)
 *   -> save errno -> look up si_addr in the registry
 *        miss: restore the previous action, return (the access re-faults
 *              and the previous/default action runs: a real crash)
 *        hit:  va = si_addr - base, write = the CPU's error code
 *              -> resolver(owner, va, write)
 *                   TRAP_RETRY: restore errno, return (access restarts)
 *                   TRAP_KILL:  siglongjmp to the thread's exit point, or
 *                               a real crash when it has none
 *
 * While any window exists, mmu/hostmap.c keeps its ballast of spare map
 * slots (hostmap_ballast_fill on the first window, _drain after the last).
 *
 * Invariants:
 *  1. A registered slot covers exactly [base, base + size) of a live window
 *     reservation; a slot is cleared before its reservation is unmapped.
 *  2. trap_reg.nr_slots bounds the used slots: slot i >= nr_slots is free.
 *  3. trap_reg.refs > 0 iff trap_handler is the SIGSEGV action (and then
 *     trap_reg.prev holds the action it replaced) - until a crash path puts
 *     trap_reg.prev back on the way to the process's end.
 *  4. The handler restores errno on every return path and on the jump.
 *
 * Locking: trap_reg.lock guards writes to slots, nr_slots, nr_windows, refs,
 * prev and resolve; the handler reads them lock-free.  Statistics are
 * atomics.  Thread-local state (alternate stack, exit
 * point) is only touched by its own thread.
 *
 * SIGSAFE: trap_handler and what it calls, trap_window_addr,
 * trap_window_size, trap_get_stats.
 */
#include "mmu/trap.h"

#include "mmu/hostmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Alternate signal stack per thread, above one PROT_NONE guard page. */
#define TRAP_ALTSTACK_BYTES (256UL * 1024)
/* Unregistered PROT_NONE zone on each side of a window. */
#define TRAP_GUARD_BYTES (64UL * 1024)
/* x86-64 page-fault error code: bit 1 set for a write access. */
#define X86_PF_WRITE (1UL << 1)

#define TRAP_TLS _Thread_local __attribute__((tls_model("initial-exec")))

struct trap_window {
	uint8_t *base; /* emulated va 0 */
	uint64_t size; /* bytes, page multiple */
	void *owner;   /* handed to the resolver */
	unsigned slot; /* registry slot */
};

struct trap_slot {
	atomic_uint seq;       /* odd while being written */
	atomic_uintptr_t base; /* 0 when free */
	atomic_uintptr_t end;
	_Atomic(void *) owner;
};

struct trap_hit {
	void *owner;
	vaddr_t va;
};

static struct {
	pthread_mutex_t lock;
	unsigned refs;	       /* trap_install references */
	unsigned nr_windows;   /* registered windows */
	struct sigaction prev; /* action replaced by trap_install */
	_Atomic(trap_resolve_fn) resolve;
	atomic_uint nr_slots; /* invariant 2 */
	struct trap_slot slot[TRAP_MAX_WINDOWS];
	atomic_uint_fast64_t traps, kills;
} trap_reg = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static TRAP_TLS void *tls_altstack;	  /* guard page + stack, or NULL */
static TRAP_TLS stack_t tls_old_altstack; /* restored by trap_thread_fini */
static TRAP_TLS sigjmp_buf *_Atomic tls_exit_point;
static TRAP_TLS uintptr_t tls_last_read_page; /* write-detection fallback */
static TRAP_TLS unsigned tls_last_slot;	      /* lookup hint */

static void stat_inc(atomic_uint_fast64_t *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* ---- registry ---------------------------------------------------------- */

/*
 * trap_reg.lock held.  Seqlock writer.  The fields are release stores, so a
 * reader that sees any new field value also sees seq odd or advanced.
 */
static void slot_write(struct trap_slot *s, uintptr_t base, uintptr_t end,
		       void *owner)
{
	unsigned seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_store_explicit(&s->base, base, memory_order_release);
	atomic_store_explicit(&s->end, end, memory_order_release);
	atomic_store_explicit(&s->owner, owner, memory_order_release);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/*
 * SIGSAFE.  Seqlock reader: true and *hit if addr is in this slot.  The
 * field loads are acquire, so the second load of seq cannot move before
 * them (no fence: ThreadSanitizer does not model fences).
 */
static bool slot_match(struct trap_slot *s, uintptr_t addr,
		       struct trap_hit *hit)
{
	unsigned seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	uintptr_t base, end;
	void *owner;

	if (seq & 1)
		return false;
	base = atomic_load_explicit(&s->base, memory_order_acquire);
	end = atomic_load_explicit(&s->end, memory_order_acquire);
	owner = atomic_load_explicit(&s->owner, memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq)
		return false;
	if (addr < base || addr >= end)
		return false;
	hit->owner = owner;
	hit->va = addr - base;
	return true;
}

/*
 * SIGSAFE.  Could addr be in slot i?  Two relaxed loads, no consistency: a
 * slot can only be torn while it is being written, and the window a thread
 * faults in is not (invariant 1), so a miss here is a true miss; a hit is
 * confirmed by slot_match.
 */
static bool slot_may_match(unsigned i, uintptr_t addr)
{
	struct trap_slot *s = &trap_reg.slot[i];

	return addr >= atomic_load_explicit(&s->base, memory_order_relaxed) &&
	       addr < atomic_load_explicit(&s->end, memory_order_relaxed);
}

/* SIGSAFE.  This thread's last window first, then every slot. */
static bool registry_lookup(uintptr_t addr, struct trap_hit *hit)
{
	unsigned n =
		atomic_load_explicit(&trap_reg.nr_slots, memory_order_acquire);
	unsigned hint = tls_last_slot;

	if (hint < n && slot_match(&trap_reg.slot[hint], addr, hit))
		return true;
	for (unsigned i = 0; i < n; i++) {
		if (!slot_may_match(i, addr))
			continue;
		if (slot_match(&trap_reg.slot[i], addr, hit)) {
			tls_last_slot = i;
			return true;
		}
	}
	return false;
}

static bool slot_free(unsigned i)
{
	return atomic_load_explicit(&trap_reg.slot[i].base,
				    memory_order_relaxed) == 0;
}

/* Publish w in the lowest free slot: 0 or -ENOMEM (registry full). */
static int registry_add(struct trap_window *w)
{
	unsigned i;

	pthread_mutex_lock(&trap_reg.lock);
	for (i = 0; i < TRAP_MAX_WINDOWS && !slot_free(i); i++)
		;
	if (i == TRAP_MAX_WINDOWS) {
		pthread_mutex_unlock(&trap_reg.lock);
		return -ENOMEM;
	}
	w->slot = i;
	slot_write(&trap_reg.slot[i], (uintptr_t)w->base,
		   (uintptr_t)w->base + w->size, w->owner);
	if (i >= atomic_load_explicit(&trap_reg.nr_slots, memory_order_relaxed))
		atomic_store_explicit(&trap_reg.nr_slots, i + 1,
				      memory_order_release);
	if (trap_reg.nr_windows++ == 0)
		hostmap_ballast_fill();
	pthread_mutex_unlock(&trap_reg.lock);
	return 0;
}

static void registry_remove(const struct trap_window *w)
{
	unsigned n;

	pthread_mutex_lock(&trap_reg.lock);
	slot_write(&trap_reg.slot[w->slot], 0, 0, NULL);
	n = atomic_load_explicit(&trap_reg.nr_slots, memory_order_relaxed);
	while (n > 0 && slot_free(n - 1))
		n--;
	atomic_store_explicit(&trap_reg.nr_slots, n, memory_order_release);
	if (--trap_reg.nr_windows == 0)
		hostmap_ballast_drain();
	pthread_mutex_unlock(&trap_reg.lock);
}

/* ---- the handler --------------------------------------------------------- */

#if defined(__aarch64__)
/* ESR_EL1 fields of a data abort (Arm ARM, ISS encoding for EC 0x24/0x25). */
#define ESR_EC_SHIFT	26
#define ESR_EC_MASK	0x3fUL
#define ESR_EC_DABT_LOW 0x24UL
#define ESR_EC_DABT_CUR 0x25UL
#define ESR_WNR		(1UL << 6) /* write, not read */
#define ESR_CM		(1UL << 8) /* cache maintenance: WnR means nothing */

/*
 * SIGSAFE.  The kernel appends an esr_context record (ESR_MAGIC) to the
 * signal frame's __reserved area on a user fault: walk the records.
 */
static int arch_fault_is_write(const ucontext_t *uc)
{
	const uint8_t *p = uc->uc_mcontext.__reserved;
	const uint8_t *end = p + sizeof(uc->uc_mcontext.__reserved);

	while (p + sizeof(struct esr_context) <= end) {
		const struct _aarch64_ctx *h = (const struct _aarch64_ctx *)p;
		uint64_t esr, ec;

		if (h->magic == 0 || h->size == 0)
			break;
		if (h->magic != ESR_MAGIC) {
			p += h->size;
			continue;
		}
		esr = ((const struct esr_context *)p)->esr;
		ec = (esr >> ESR_EC_SHIFT) & ESR_EC_MASK;
		if (ec != ESR_EC_DABT_LOW && ec != ESR_EC_DABT_CUR)
			return 0;
		return (esr & ESR_CM) ? 0 : (esr & ESR_WNR) != 0;
	}
	return -1;
}
#elif defined(__x86_64__)
/* SIGSAFE: the page-fault error code the kernel saved in the frame. */
static int arch_fault_is_write(const ucontext_t *uc)
{
	return (uc->uc_mcontext.gregs[REG_ERR] & X86_PF_WRITE) != 0;
}
#else
/* SIGSAFE: no error code known here; fault_is_write guesses. */
static int arch_fault_is_write(const ucontext_t *uc)
{
	(void)uc;
	return -1;
}
#endif

/*
 * SIGSAFE.  Store or load?  When the platform cannot tell: a load first,
 * and a store when the same page traps again right after (the resolver
 * mapped it readable, so only a store can fault there now).
 */
static bool fault_is_write(const void *uctx, uintptr_t addr)
{
	int write = arch_fault_is_write(uctx);
	uintptr_t page = addr & PAGE_MASK;

	if (write >= 0)
		return write;
	write = page == tls_last_read_page;
	tls_last_read_page = write ? 0 : page;
	return write;
}

/*
 * SIGSAFE.  Not ours: give SIGSEGV back to the previous action.  A fault
 * re-executes on return and now meets that action; a SIGSEGV sent by a
 * process (si_code <= 0) would not recur, so raise it again.
 */
static void trap_crash(const siginfo_t *si)
{
	sigaction(SIGSEGV, &trap_reg.prev, NULL);
	if (si->si_code <= 0)
		raise(SIGSEGV);
}

/* SIGSAFE.  TRAP_KILL: leave through the exit point, or crash for real. */
static void trap_kill(const siginfo_t *si, int saved_errno)
{
	sigjmp_buf *exit_point = atomic_load(&tls_exit_point);

	stat_inc(&trap_reg.kills);
	if (exit_point) {
		errno = saved_errno;
		siglongjmp(*exit_point, 1);
	}
	trap_crash(si);
}

static void trap_handler(int sig, siginfo_t *si, void *uctx)
{
	int saved_errno = errno;
	uintptr_t addr = (uintptr_t)si->si_addr;
	trap_resolve_fn resolve;
	struct trap_hit hit;

	(void)sig;
	if (si->si_code <= 0 || !registry_lookup(addr, &hit)) {
		trap_crash(si);
		goto out;
	}
	stat_inc(&trap_reg.traps);
	resolve = atomic_load_explicit(&trap_reg.resolve, memory_order_acquire);
	if (resolve && resolve(hit.owner, hit.va, fault_is_write(uctx, addr)) ==
			       TRAP_RETRY)
		goto out;
	trap_kill(si, saved_errno);
out:
	errno = saved_errno;
}

int trap_install(trap_resolve_fn fn)
{
	struct sigaction sa = {
		.sa_sigaction = trap_handler,
		.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER,
	};
	int err = 0;

	if (!fn)
		return -EINVAL;
	sigemptyset(&sa.sa_mask);
	pthread_mutex_lock(&trap_reg.lock);
	if (trap_reg.refs > 0) {
		if (atomic_load(&trap_reg.resolve) != fn)
			err = -EBUSY;
		goto out_unlock;
	}
	atomic_store(&trap_reg.resolve, fn);
	if (sigaction(SIGSEGV, &sa, &trap_reg.prev) < 0) {
		err = -errno;
		atomic_store(&trap_reg.resolve, NULL);
	}
out_unlock:
	if (err == 0)
		trap_reg.refs++;
	pthread_mutex_unlock(&trap_reg.lock);
	return err;
}

void trap_uninstall(void)
{
	pthread_mutex_lock(&trap_reg.lock);
	if (trap_reg.refs > 0 && --trap_reg.refs == 0) {
		sigaction(SIGSEGV, &trap_reg.prev, NULL);
		atomic_store(&trap_reg.resolve, NULL);
	}
	pthread_mutex_unlock(&trap_reg.lock);
}

/* ---- per thread ---------------------------------------------------------- */

int trap_thread_init(void)
{
	size_t nbytes = PAGE_SIZE + TRAP_ALTSTACK_BYTES;
	stack_t ss = { .ss_size = TRAP_ALTSTACK_BYTES };
	uint8_t *mem;
	int err;

	if (tls_altstack)
		return 0;
	mem = mmap(NULL, nbytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	/* The guard page turns an overflow into a kill, not corruption. */
	if (mprotect(mem, PAGE_SIZE, PROT_NONE) < 0)
		goto out_unmap;
	ss.ss_sp = mem + PAGE_SIZE;
	if (sigaltstack(&ss, &tls_old_altstack) < 0)
		goto out_unmap;
	tls_altstack = mem;
	return 0;

out_unmap:
	err = -errno;
	munmap(mem, nbytes);
	return err;
}

void trap_thread_fini(void)
{
	if (!tls_altstack)
		return;
	/* EPERM: running on it (called from a handler); keep it. */
	if (sigaltstack(&tls_old_altstack, NULL) < 0)
		return;
	munmap(tls_altstack, PAGE_SIZE + TRAP_ALTSTACK_BYTES);
	tls_altstack = NULL;
}

void trap_thread_enter(sigjmp_buf *exit_point)
{
	atomic_store(&tls_exit_point, exit_point);
}

/* ---- windows ------------------------------------------------------------- */

int trap_window_create(uint64_t size, void *owner, struct trap_window **out)
{
	struct trap_window *w;
	uint8_t *mem;
	int err;

	*out = NULL;
	if (size == 0 || !PAGE_ALIGNED(size))
		return -EINVAL;
	if (size > SIZE_MAX - 2 * TRAP_GUARD_BYTES)
		return -ENOMEM;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	mem = mmap(NULL, size + 2 * TRAP_GUARD_BYTES, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		err = -errno;
		goto out_free;
	}
	w->base = mem + TRAP_GUARD_BYTES;
	w->size = size;
	w->owner = owner;
	err = registry_add(w);
	if (err)
		goto out_unmap;
	*out = w;
	return 0;

out_unmap:
	munmap(mem, size + 2 * TRAP_GUARD_BYTES);
out_free:
	free(w);
	return err;
}

void trap_window_destroy(struct trap_window *w)
{
	if (!w)
		return;
	registry_remove(w); /* invariant 1: unregister, then unmap */
	munmap(w->base - TRAP_GUARD_BYTES, w->size + 2 * TRAP_GUARD_BYTES);
	free(w);
}

void *trap_window_addr(const struct trap_window *w, vaddr_t va)
{
	BUG_ON(va > w->size);
	return w->base + va;
}

uint64_t trap_window_size(const struct trap_window *w)
{
	return w->size;
}

/* ---- statistics ---------------------------------------------------------- */

void trap_get_stats(struct trap_stats *st)
{
	st->traps = atomic_load(&trap_reg.traps);
	st->kills = atomic_load(&trap_reg.kills);
}
