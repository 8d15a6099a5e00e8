/*
 * reclaim/oom.c - the OOM killer (see oom.h for the rules).
 *
 * A decision is recorded into the next free slot of a small ring of
 * preallocated reports (numbers and names only: this runs inside the
 * SIGSEGV handler); oom_publish, on the service thread, formats the
 * kernel's report from it and hands it to the log and the sink.  A ring
 * that is full when a decision is taken keeps the decision (the kill
 * happens all the same) and counts the report as lost - OOM kills free
 * memory, so they do not outrun the thread that publishes them.
 *
 * Invariants:
 *  1. A victim is killed and reaped in one lock section: its memory is
 *     back before the allocation retries.
 *  2. A task with oom_score_adj -1000, or already an OOM victim whose
 *     memory was reaped, is never chosen.
 *  3. The ring's published <= recorded <= published + OOM_REPORTS.
 *
 * Locking: the machine lock for selection, killing and the ring;
 * oom_publish copies a slot out under it and formats after.
 */
#include "reclaim/oom.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reclaim/reclaim_internal.h"
#include "swap/swap.h"
#include "vm/evlog.h"
#include "vm/mm.h"
#include "vm/page_alloc.h"
#include "vm/vmstat.h"

#define OOM_REPORTS	   8
#define OOM_MAX_CANDIDATES 1024
#define KB_SHIFT	   (PAGE_SHIFT - 10)
#define OOM_PER_MILLE	   1000

struct oom_cand {
	int pid;
	char comm[TASK_COMM_LEN];
	uint64_t total_vm, rss_anon, rss_file, rss_shmem, pgtables, swapents;
	int adj;
	int64_t points; /* OOM_EXEMPT: exempt */
};

struct oom_report {
	uint64_t t_ns;
	int victim; /* index into c[], or -1 */
	int trigger_pid;
	char trigger_comm[TASK_COMM_LEN];
	int trigger_adj;
	unsigned order;
	bool panic;
	uint64_t totalpages;
	unsigned n; /* candidates recorded (at most OOM_MAX_CANDIDATES) */
	struct oom_cand c[OOM_MAX_CANDIDATES];
};

struct oom_state {
	uint64_t recorded, published, lost;
	struct oom_report ring[OOM_REPORTS];
};

int oom_create(struct vm *vm)
{
	vm->oom = calloc(1, sizeof(*vm->oom));
	return vm->oom ? 0 : -ENOMEM;
}

void oom_destroy(struct vm *vm)
{
	free(vm->oom);
	vm->oom = NULL;
}

SIGSAFE uint64_t oom_totalpages(struct vm *vm)
{
	return vm->phys.nr_pages + swap_total_pages(vm);
}

static bool oom_exempt(const struct vm_task *t)
{
	return t->oom_score_adj == OOM_SCORE_ADJ_MIN ||
	       (t->oom_victim && t->mm && t->mm->reaped);
}

SIGSAFE int64_t oom_badness(struct vm *vm, struct vm_task *t,
			    uint64_t totalpages)
{
	struct mm *mm = t->mm;
	int64_t points;

	(void)vm;
	if (!mm || oom_exempt(t))
		return OOM_EXEMPT;
	points = (int64_t)(mm->rss_anon + mm->rss_file + mm->rss_shmem +
			   mm->swapents + mm->pt.nr_tables);
	return points + (int64_t)t->oom_score_adj *
				(int64_t)(totalpages / OOM_PER_MILLE);
}

int64_t oom_task_badness(struct vm *vm, int pid)
{
	struct list_head *n;

	list_for_each(n, &vm->tasks) {
		struct vm_task *t = list_entry(n, struct vm_task, node);

		if (t->pid == pid)
			return oom_badness(vm, t, oom_totalpages(vm));
	}
	return OOM_EXEMPT;
}

long oom_score(int64_t points, uint64_t totalpages)
{
	if (points == OOM_EXEMPT || !totalpages)
		return 0;
	return (long)((OOM_PER_MILLE +
		       points * OOM_PER_MILLE / (int64_t)totalpages) *
		      2 / 3);
}

/* Copy what the report needs of t (it may be gone when published). */
static void record_cand(struct oom_cand *c, struct vm_task *t, int64_t pts)
{
	struct mm *mm = t->mm;

	c->pid = t->pid;
	memcpy(c->comm, t->comm, sizeof(c->comm));
	c->total_vm = mm_total_vm(mm);
	c->rss_anon = mm->rss_anon;
	c->rss_file = mm->rss_file;
	c->rss_shmem = mm->rss_shmem;
	c->pgtables = mm->pt.nr_tables;
	c->swapents = mm->swapents;
	c->adj = t->oom_score_adj;
	c->points = pts;
}

/* The next report slot, or NULL (counted lost) when the ring is full. */
static struct oom_report *report_begin(struct vm *vm, struct vm_task *t,
				       unsigned order)
{
	struct oom_state *s = vm->oom;
	struct oom_report *r;

	if (s->recorded - s->published >= OOM_REPORTS) {
		s->lost++;
		return NULL;
	}
	r = &s->ring[s->recorded % OOM_REPORTS];
	memset(r, 0, offsetof(struct oom_report, c));
	r->t_ns = reclaim_now_ns();
	r->victim = -1;
	r->trigger_pid = t ? t->pid : 0;
	if (t)
		memcpy(r->trigger_comm, t->comm, sizeof(r->trigger_comm));
	r->trigger_adj = t ? t->oom_score_adj : 0;
	r->order = order;
	r->totalpages = oom_totalpages(vm);
	return r;
}

/* Publish the slot (the service thread formats it) and wake that thread. */
static void report_end(struct vm *vm, struct oom_report *r)
{
	if (!r)
		return;
	vm->oom->recorded++;
	reclaim_kick_service(vm);
}

enum select_result { SELECT_FOUND, SELECT_NONE, SELECT_ABORT };

/* Weigh every task in creation order; a later tie wins. */
static enum select_result select_victim(struct vm *vm, struct oom_report *r,
					struct vm_task **victim)
{
	uint64_t total = oom_totalpages(vm);
	int64_t best = OOM_EXEMPT;
	struct list_head *n;

	*victim = NULL;
	list_for_each(n, &vm->tasks) {
		struct vm_task *t = list_entry(n, struct vm_task, node);
		int64_t pts;

		if (!t->mm || t->state == TASK_ZOMBIE)
			continue;
		if (t->oom_victim && !t->mm->reaped)
			return SELECT_ABORT; /* still exiting: no second kill */
		pts = oom_badness(vm, t, total);
		if (r && r->n < OOM_MAX_CANDIDATES)
			record_cand(&r->c[r->n++], t, pts);
		if (pts != OOM_EXEMPT && pts >= best) {
			best = pts;
			*victim = t;
			if (r)
				r->victim = (int)r->n - 1;
		}
	}
	return *victim ? SELECT_FOUND : SELECT_NONE;
}

/* Kill and reap the victim now (invariant 1). */
static void oom_kill(struct vm *vm, struct vm_task *v)
{
	v->oom_victim = true;
	if (task_mark_killed(v, VM_EXIT_OOM_KILLED, 0))
		vm_event_task(vm, VME_OOM_KILL, v, 0, 0);
	if (v->mm)
		mm_reap(v->mm); /* a waiter in vm_wait notices within 10 ms */
}

/* vm.panic_on_oom: every task ends, the machine says why. */
static void oom_panic(struct vm *vm, struct oom_report *r)
{
	struct list_head *n;

	vm->panicked = true;
	if (r)
		r->panic = true;
	list_for_each(n, &vm->tasks) {
		struct vm_task *t = list_entry(n, struct vm_task, node);

		if (t->state != TASK_ZOMBIE &&
		    task_mark_killed(t, VM_EXIT_PANIC, 0) && t->mm)
			mm_reap(t->mm);
	}
}

SIGSAFE enum oom_result out_of_memory(struct vm *vm, struct vm_task *t,
				      unsigned order, bool force)
{
	struct oom_report *r;
	struct vm_task *victim = NULL;
	enum select_result sel;

	/* A parallel kill may have freed memory: one try at HIGH. */
	if (!force && vm_watermark_ok(vm, order, vm->wmark.high, 0))
		return OOM_RETRY;
	r = report_begin(vm, t, order);
	if (vm->cfg.panic_on_oom) {
		select_victim(vm, r, &victim);
		if (r)
			r->victim = -1;
		oom_panic(vm, r);
		report_end(vm, r);
		return OOM_GIVE_UP;
	}
	if (vm->cfg.oom_kill_allocating_task && t && t->mm &&
	    t->oom_score_adj != OOM_SCORE_ADJ_MIN) {
		if (r)
			record_cand(&r->c[r->n++], t,
				    oom_badness(vm, t, r->totalpages));
		if (r)
			r->victim = 0;
		victim = t;
		sel = SELECT_FOUND;
	} else {
		sel = select_victim(vm, r, &victim);
	}
	if (sel == SELECT_ABORT)
		return OOM_WAIT; /* the slot is reused: nothing decided */
	if (sel == SELECT_FOUND)
		oom_kill(vm, victim);
	else if (t && task_mark_killed(t, VM_EXIT_OOM_KILLED, 0))
		vm_event_task(vm, VME_OOM_KILL, t, 0, 0); /* nobody else */
	report_end(vm, r);
	return victim && victim != t ? OOM_RETRY : OOM_GIVE_UP;
}

/* ---- the kernel's report, on the service thread ----------------------- */

/* snprintf at *used into buf, keeping the length it would need. */
static void put(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*used < len ? buf + *used : NULL,
		      *used < len ? len - *used : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
}

/* dump_tasks: the header and one row per task weighed. */
static void put_tasks(char *buf, size_t len, size_t *used,
		      const struct oom_report *r)
{
	put(buf, len, used, "Tasks state (memory values in pages):\n");
	put(buf, len, used,
	    "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file "
	    "rss_shmem pgtables_bytes swapents oom_score_adj name\n");
	for (unsigned i = 0; i < r->n; i++) {
		const struct oom_cand *c = &r->c[i];

		put(buf, len, used,
		    "[%7d] %5d %5d %8llu %8llu %8llu %8llu %9llu %8llu "
		    "%8llu         %5d %s\n",
		    c->pid, 0, c->pid, (unsigned long long)c->total_vm,
		    (unsigned long long)(c->rss_anon + c->rss_file +
					 c->rss_shmem),
		    (unsigned long long)c->rss_anon,
		    (unsigned long long)c->rss_file,
		    (unsigned long long)c->rss_shmem,
		    (unsigned long long)(c->pgtables * PAGE_SIZE),
		    (unsigned long long)c->swapents, c->adj, c->comm);
	}
}

/* The whole report of one decision, like snprintf. */
static int oom_text(const struct oom_report *r, char *buf, size_t len)
{
	size_t used = 0;
	const struct oom_cand *v = r->victim >= 0 ? &r->c[r->victim] : NULL;

	put(buf, len, &used,
	    "%s invoked oom-killer: order=%u, "
	    "oom_score_adj=%d\n",
	    r->trigger_pid ? r->trigger_comm : "kswapd0", r->order,
	    r->trigger_adj);
	put_tasks(buf, len, &used, r);
	if (r->panic)
		put(buf, len, &used,
		    "Kernel panic - not syncing: Out of "
		    "memory: system-wide panic_on_oom is enabled\n");
	else if (!v)
		put(buf, len, &used,
		    "Out of memory and no killable processes...\n");
	else
		put(buf, len, &used,
		    "Out of memory: Killed process %d (%s) total-vm:%llukB, "
		    "anon-rss:%llukB, file-rss:%llukB, shmem-rss:%llukB, "
		    "UID:0 pgtables:%llukB oom_score_adj:%d\n",
		    v->pid, v->comm,
		    (unsigned long long)(v->total_vm << KB_SHIFT),
		    (unsigned long long)(v->rss_anon << KB_SHIFT),
		    (unsigned long long)(v->rss_file << KB_SHIFT),
		    (unsigned long long)(v->rss_shmem << KB_SHIFT),
		    (unsigned long long)(v->pgtables << KB_SHIFT), v->adj);
	return (int)used;
}

static void log_report(struct vm *vm, const struct oom_report *r,
		       const char *text)
{
	/* The log's clock (evlog_now: since the log opened, not vm->t0_ns). */
	uint64_t ago = reclaim_now_ns() - r->t_ns, now = evlog_now(vm->log);
	struct evlog_oom_candidate *c = calloc(r->n ? r->n : 1, sizeof(*c));
	struct evlog_oom_kill k = {
		.t_ns = now > ago ? now - ago : 0,
		.victim_pid = r->victim >= 0 ? r->c[r->victim].pid :
					       EVLOG_OOM_NO_VICTIM,
		.trigger_pid = r->trigger_pid,
		.totalpages = r->totalpages,
		.report = text,
	};

	if (!c)
		return;
	for (unsigned i = 0; i < r->n; i++) {
		const struct oom_cand *o = &r->c[i];

		c[i] = (struct evlog_oom_candidate){
			o->pid,	      o->comm,
			o->total_vm,  o->rss_anon + o->rss_file + o->rss_shmem,
			o->rss_anon,  o->rss_file,
			o->rss_shmem, o->pgtables * PAGE_SIZE,
			o->swapents,  o->adj,
			o->points,    (int)i == r->victim,
		};
	}
	evlog_oom(vm->log, &k, c, r->n);
	free(c);
}

void oom_publish(struct vm *vm)
{
	struct oom_report *r = malloc(sizeof(*r));
	char *text;
	int len;

	if (!r)
		return;
	for (;;) {
		vm_lock(vm);
		if (vm->oom->published == vm->oom->recorded) {
			vm_unlock(vm);
			break;
		}
		*r = vm->oom->ring[vm->oom->published % OOM_REPORTS];
		vm->oom->published++;
		vm_unlock(vm);
		len = oom_text(r, NULL, 0);
		text = malloc((size_t)len + 1);
		if (!text)
			break;
		oom_text(r, text, (size_t)len + 1);
		if (vm->log)
			log_report(vm, r, text);
		if (vm->cfg.oom_report)
			vm->cfg.oom_report(vm->cfg.oom_report_arg, text);
		free(text);
	}
	free(r);
}
