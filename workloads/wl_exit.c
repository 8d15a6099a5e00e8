/*
 * workloads/wl_exit.c - how a workload task ended, in words, and whether
 * that is the end its kind expects.
 *
 * Expected ends: segv dies of an emulated SIGSEGV; hog either reaches its
 * cap (exit 0) or is OOM-killed; every other kind exits 0.  The details of
 * a failure (the mismatching address, the child that failed) come from
 * the root proc's result, read after vm_wait joined the task's thread.
 * No state, no locking.
 */
#include <stdio.h>
#include <string.h>

#include "workloads/wl_internal.h"

const char *wl_exit_reason_name(enum vm_exit_reason reason)
{
	switch (reason) {
	case VM_EXIT_NORMAL:
		return "exited";
	case VM_EXIT_OOM_KILLED:
		return "OOM-killed";
	case VM_EXIT_SEGV:
		return "SEGV";
	case VM_EXIT_SIGBUS:
		return "SIGBUS";
	case VM_EXIT_HOST_NOMEM:
		return "host out of memory";
	case VM_EXIT_ABORT:
		return "abort";
	case VM_EXIT_PANIC:
		return "panic";
	case VM_EXIT_KILLED:
		return "killed";
	}
	return "unknown end";
}

bool wl_run_expected(const struct wl_run *run, const struct vm_exit *ex)
{
	bool ok = ex->reason == VM_EXIT_NORMAL && ex->code == WL_EXIT_OK;

	if (run->spec.kind == WL_SEGV)
		return ex->reason == VM_EXIT_SEGV;
	if (run->spec.kind == WL_HOG)
		return ok || ex->reason == VM_EXIT_OOM_KILLED;
	return ok;
}

static void describe_mismatch(const struct wl_result *r, int root_pid,
			      char *buf, size_t len)
{
	char who[32] = "";

	if (r->pid != root_pid)
		snprintf(who, sizeof(who), " in child pid %d", r->pid);
	if (r->gen == 0)
		snprintf(buf, len,
			 "data mismatch%s at va 0x%llx (page %llu, byte %u: "
			 "expected zeros, never written)",
			 who, (unsigned long long)r->va,
			 (unsigned long long)r->page, r->byte);
	else
		snprintf(buf, len,
			 "data mismatch%s at va 0x%llx (page %llu, byte %u: "
			 "expected write %u by pid %u)",
			 who, (unsigned long long)r->va,
			 (unsigned long long)r->page, r->byte, r->gen,
			 r->owner);
}

/* malloc: the byte of a block that differed. */
static void describe_block(const struct wl_result *r, char *buf, size_t len)
{
	snprintf(buf, len,
		 "data mismatch at va 0x%llx (byte %u of the %llu-byte block "
		 "at 0x%llx: expected %s)",
		 (unsigned long long)r->va, r->byte,
		 (unsigned long long)r->block_bytes,
		 (unsigned long long)r->block_va,
		 r->gen ? "the bytes it stored" : "zeros from calloc");
}

/* A child's end (CHILD result), e.g. "child pid 5 OOM-killed". */
static void describe_child(const struct wl_result *r, char *buf, size_t len)
{
	if (r->reason == VM_EXIT_NORMAL)
		snprintf(buf, len, "child pid %d exited with %d", r->pid,
			 r->child_code);
	else
		snprintf(buf, len, "child pid %d %s", r->pid,
			 wl_exit_reason_name(r->reason));
}

static void describe_code(const struct wl_run *run, int code, char *buf,
			  size_t len)
{
	const struct wl_result *r = &run->root->res;

	switch (code) {
	case WL_EXIT_OK:
		snprintf(buf, len, "ok");
		break;
	case WL_EXIT_MISMATCH:
		if (run->spec.kind == WL_MALLOC)
			describe_block(r, buf, len);
		else
			describe_mismatch(r, atomic_load(&run->root->pid), buf,
					  len);
		break;
	case WL_EXIT_NOMEM:
		snprintf(buf, len, "could not map its memory: %s",
			 strerror(-r->err));
		break;
	case WL_EXIT_FORK:
		snprintf(buf, len, "vm_fork failed: %s", strerror(-r->err));
		break;
	case WL_EXIT_CHILD:
		describe_child(r, buf, len);
		break;
	case WL_EXIT_STOPPED:
		snprintf(buf, len, "stopped");
		break;
	case WL_EXIT_HOST:
		snprintf(buf, len, "host out of memory for its bookkeeping");
		break;
	case WL_EXIT_HEAP:
		snprintf(buf, len, "heap check failed (umalloc_check %d)",
			 r->err);
		break;
	case WL_EXIT_MALLOC:
		snprintf(buf, len,
			 "malloc of %llu bytes failed with no block left to "
			 "free",
			 (unsigned long long)r->page);
		break;
	default:
		snprintf(buf, len, "exit %d", code);
	}
}

void wl_run_describe(const struct wl_run *run, const struct vm_exit *ex,
		     char *buf, size_t len)
{
	switch (ex->reason) {
	case VM_EXIT_NORMAL:
		describe_code(run, ex->code, buf, len);
		break;
	case VM_EXIT_SEGV:
	case VM_EXIT_SIGBUS:
		snprintf(buf, len, "%s at va 0x%llx",
			 wl_exit_reason_name(ex->reason),
			 (unsigned long long)ex->fault_va);
		break;
	case VM_EXIT_ABORT:
		snprintf(buf, len, "abort: %s", ex->msg);
		break;
	case VM_EXIT_OOM_KILLED:
	case VM_EXIT_HOST_NOMEM:
	case VM_EXIT_PANIC:
	case VM_EXIT_KILLED:
	default:
		snprintf(buf, len, "%s", wl_exit_reason_name(ex->reason));
	}
}
