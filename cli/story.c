/*
 * cli/story.c - the built-in scenario's story: what to watch, each
 * milestone as it happens, and at the end what the counters say and
 * where to look in the log.
 *
 * Every line is triggered by a counter that moved (the monitor polls
 * vm_stat every 20 ms and calls cli_story_poll; the OOM line comes with
 * the kernel's own report), and the closing recap prints the counters
 * themselves, so nothing is claimed that did not happen: a milestone
 * that never came is said to be missing ("none this time").
 * Main thread only; its state is r->story.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run.h"

#define PAGE_KIB  (VM_PAGE_SIZE / 1024)
#define TEXT_LEN  640
#define NAMES_LEN 256
#define WIDTH	  78

/* ---- the story ---------------------------------------------------------- */

enum milestone {
	M_KSWAPD,
	M_DIRECT,
	M_SWAPOUT,
	M_REFAULT,
	M_OOM,
	NR_MILESTONES
};

/*
 * Print text wrapped at WIDTH; the first line starts with lead, the
 * others are indented to its width.
 */
static void say(const char *lead, const char *text)
{
	int indent = (int)strlen(lead), col = indent;

	fputs(lead, stdout);
	while (*text) {
		int len = (int)strcspn(text, " ");

		if (col > indent && col + 1 + len > WIDTH)
			col = printf("\n%*s", indent, "") - 1;
		else if (col > indent)
			col += printf(" ");
		col += printf("%.*s", len, text);
		text += len;
		text += strspn(text, " ");
	}
	putchar('\n');
	fflush(stdout);
}

static void say_at(struct cli_run *r, double secs, const char *text)
{
	char lead[32];

	r->asides++;
	snprintf(lead, sizeof(lead), "[%5.2f s] ", secs);
	say(lead, text);
}

/* The value after "name" in zoneinfo's text (pages), or 0. */
static uint64_t zone_value(const char *text, const char *name)
{
	const char *p = text;
	size_t len = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p == text || p[-1] == ' ') && p[len] == ' ')
			return strtoull(p + len, NULL, 10);
		p += len;
	}
	return 0;
}

static void read_watermarks(struct cli_run *r)
{
	char *z = cli_procfs_read(r->vm, "zoneinfo");

	if (z) {
		r->story.wmark_min = zone_value(z, "min");
		r->story.wmark_low = zone_value(z, "low");
		r->story.wmark_high = zone_value(z, "high");
	}
	free(z);
	r->story.low_free = UINT64_MAX;
}

static const struct cli_task *task_named(const struct cli_run *r,
					 const char *name)
{
	for (size_t i = 0; i < r->ntasks; i++)
		if (strcmp(r->tasks[i].spec.name, name) == 0)
			return &r->tasks[i];
	return NULL;
}

static void fmt_size(uint64_t bytes, char *buf, size_t len)
{
	cli_format_size(bytes, buf, len);
}

void cli_story_intro(struct cli_run *r)
{
	const struct cli_task *s = task_named(r, "sleeper");
	const struct cli_task *w = task_named(r, "worker");
	char mem[32], swap[32], a[32], b[32], text[TEXT_LEN];

	read_watermarks(r);
	if (r->quiet || !s || !w)
		return;
	fmt_size(r->cfg.mem_bytes, mem, sizeof(mem));
	fmt_size(r->cfg.swap_bytes, swap, sizeof(swap));
	fmt_size(s->spec.size, a, sizeof(a));
	fmt_size(w->spec.size, b, sizeof(b));
	snprintf(text, sizeof(text),
		 "Three tasks share %s of RAM and %s of swap: more than fits.",
		 mem, swap);
	say("\n", text);
	snprintf(text, sizeof(text),
		 "writes %s, then sleeps 2.5 s: its pages go cold, so reclaim "
		 "takes them first; awake, it reads them all back.",
		 a);
	say("  sleeper  ", text);
	snprintf(text, sizeof(text),
		 "from 0.5 s, 10^6 accesses to %s, 90%% of them to a hot "
		 "fifth: hot pages stay in RAM, cold ones come and go.",
		 b);
	say("  worker   ", text);
	say("  hog      ", "from 0.5 s, maps and fills memory without end: "
			   "RAM, then swap, until the OOM killer stops it.");
	snprintf(
		text, sizeof(text),
		"The kernel keeps free memory above three watermarks, min %llu "
		"KiB < low %llu KiB < high %llu KiB. Below low, kswapd "
		"reclaims in the background until free is above high again; "
		"below min, a task that allocates must reclaim itself first.",
		(unsigned long long)(r->story.wmark_min * PAGE_KIB),
		(unsigned long long)(r->story.wmark_low * PAGE_KIB),
		(unsigned long long)(r->story.wmark_high * PAGE_KIB));
	say("", text);
	say("", "Watch for each of these as it happens (the counter that "
		"shows it is in brackets):\n");
}

static const char *const milestone_text[NR_MILESTONES] = {
	[M_KSWAPD] = "free memory fell below the low watermark: kswapd woke "
		     "up to reclaim in the background [kswapd_wake].",
	[M_DIRECT] = "free memory reached the min watermark: a task that "
		     "allocates now reclaims before it gets a frame - direct "
		     "reclaim, a stall [allocstall_normal].",
	[M_SWAPOUT] = "reclaim wrote cold anonymous pages to swap; their "
		      "frames are free for others [pswpout].",
	[M_REFAULT] = "a task touched a page that had been swapped out: a "
		      "major fault read it back [pswpin]. The kernel calls "
		      "that a refault - it evicted a page still in use "
		      "[workingset_refault_anon].",
};

static void tell(struct cli_run *r, enum milestone m, double secs)
{
	if (r->story.told & (1u << m))
		return;
	r->story.told |= 1u << m;
	say_at(r, secs, milestone_text[m]);
}

void cli_story_poll(struct cli_run *r, const struct vm_stat *st, double secs)
{
	if (st->nr_free_pages < r->story.low_free)
		r->story.low_free = st->nr_free_pages;
	if (r->quiet || !r->builtin)
		return;
	/* In the order they cause each other, if one poll sees several. */
	if (st->kswapd_wake)
		tell(r, M_KSWAPD, secs);
	if (st->allocstall)
		tell(r, M_DIRECT, secs);
	if (st->pswpout)
		tell(r, M_SWAPOUT, secs);
	if (st->workingset_refault_anon)
		tell(r, M_REFAULT, secs);
}

void cli_story_oom(struct cli_run *r, const char *report)
{
	const char *k = strstr(report, "Killed process ");
	char name[32] = "", text[TEXT_LEN];
	int pid = 0;

	r->story.told |= 1u << M_OOM;
	if (!k || sscanf(k, "Killed process %d (%31[^)])", &pid, name) != 2) {
		say_at(r, cli_now_secs() - r->start_secs,
		       "the OOM killer ran and found no task it could kill "
		       "(its report follows, on stderr).");
		return;
	}
	snprintf(text, sizeof(text),
		 "%s and reclaim frees nothing more: the OOM killer weighed "
		 "every task (rss + swap entries + page tables, moved by "
		 "oom_score_adj) and killed the heaviest, %s (pid %d) "
		 "[oom_kill]. Its report, as the kernel writes it to dmesg, on "
		 "stderr:",
		 r->cfg.swap_bytes ? "RAM and swap are full" :
				     "RAM is full (there is no swap)",
		 name, pid);
	say_at(r, cli_now_secs() - r->start_secs, text);
}

/* "some ... total=N" of pressure/memory: µs stalled, or -1. */
static long long psi_some_total(struct vm *vm)
{
	char *text = cli_procfs_read(vm, "pressure/memory");
	const char *t = text ? strstr(text, "total=") : NULL;
	long long us = t ? atoll(t + strlen("total=")) : -1;

	free(text);
	return us;
}

/* "a, b and c" of the tasks for which pick() holds; "" if none. */
static void task_list(const struct cli_run *r,
		      bool (*pick)(const struct cli_task *t), char *buf,
		      size_t len)
{
	size_t n = 0, k = 0, used = 0;

	for (size_t i = 0; i < r->ntasks; i++)
		n += pick(&r->tasks[i]);
	buf[0] = '\0';
	for (size_t i = 0; i < r->ntasks && used < len; i++) {
		const struct cli_task *t = &r->tasks[i];

		if (!pick(t))
			continue;
		k++;
		used += (size_t)snprintf(buf + used, len - used,
					 "%s%s (pid %d)",
					 k == 1 ? "" :
					 k == n ? " and " :
						  ", ",
					 t->spec.name, t->pid);
	}
}

static bool oom_killed(const struct cli_task *t)
{
	return t->pid && t->reaped && t->ex.reason == VM_EXIT_OOM_KILLED;
}

static bool survived(const struct cli_task *t)
{
	return t->pid && t->reaped && t->ex.reason != VM_EXIT_OOM_KILLED &&
	       t->ex.reason != VM_EXIT_KILLED;
}

static bool verified(const struct cli_task *t)
{
	return survived(t) && t->ex.reason == VM_EXIT_NORMAL &&
	       t->ex.code == WL_EXIT_OK;
}

static void recap_reclaim(const struct cli_run *r, const struct vm_stat *st)
{
	char text[TEXT_LEN];
	long long psi = psi_some_total(r->vm);

	snprintf(text, sizeof(text),
		 "the least free memory vmemu saw (it looks every 20 ms) was "
		 "%llu KiB, against a low watermark of %llu KiB; tasks stalled "
		 "on memory for %.0f ms in all [PSI some total].",
		 (unsigned long long)(r->story.low_free * PAGE_KIB),
		 (unsigned long long)(r->story.wmark_low * PAGE_KIB),
		 psi < 0 ? 0.0 : (double)psi / 1000);
	say("  pressure        ", text);
	if (st->kswapd_wake)
		snprintf(text, sizeof(text),
			 "woke %llu time%s [vmemu_kswapd_wake]; scanned %llu "
			 "pages and reclaimed %llu [pgscan_kswapd, "
			 "pgsteal_kswapd].",
			 (unsigned long long)st->kswapd_wake,
			 st->kswapd_wake == 1 ? "" : "s",
			 (unsigned long long)st->pgscan_kswapd,
			 (unsigned long long)st->pgsteal_kswapd);
	else
		snprintf(text, sizeof(text), "never woke: none this time.");
	say("  kswapd          ", text);
	if (st->allocstall)
		snprintf(text, sizeof(text),
			 "%llu stall%s [allocstall_normal]; scanned %llu pages "
			 "and reclaimed %llu [pgscan_direct, pgsteal_direct].",
			 (unsigned long long)st->allocstall,
			 st->allocstall == 1 ? "" : "s",
			 (unsigned long long)st->pgscan_direct,
			 (unsigned long long)st->pgsteal_direct);
	else
		snprintf(text, sizeof(text), "none this time.");
	say("  direct reclaim  ", text);
}

static void recap_swap(const struct cli_run *r, const struct vm_stat *st)
{
	char text[TEXT_LEN], names[NAMES_LEN];

	snprintf(text, sizeof(text),
		 "%llu pages written out, %llu read back [pswpout, pswpin]%s",
		 (unsigned long long)st->pswpout,
		 (unsigned long long)st->pswpin,
		 r->cfg.swap_bytes ? "." : " (no swap: --swap 0).");
	say("  swap            ", text);
	if (st->workingset_refault_anon)
		snprintf(text, sizeof(text),
			 "%llu evicted pages were needed again "
			 "[workingset_refault_anon].",
			 (unsigned long long)st->workingset_refault_anon);
	else
		snprintf(text, sizeof(text), "none this time.");
	say("  refaults        ", text);
	task_list(r, oom_killed, names, sizeof(names));
	if (st->oom_kill)
		snprintf(text, sizeof(text), "%llu kill%s [oom_kill]%s%s.",
			 (unsigned long long)st->oom_kill,
			 st->oom_kill == 1 ? "" : "s", *names ? ": " : "",
			 names);
	else
		snprintf(text, sizeof(text), "no kill this time.");
	say("  OOM killer      ", text);
}

static bool not_verified(const struct cli_task *t)
{
	return survived(t) && !verified(t);
}

void cli_story_end(const struct cli_run *r, const struct vm_stat *st)
{
	char text[TEXT_LEN], names[NAMES_LEN];

	if (r->quiet || !r->builtin)
		return;
	printf("\nWhat the counters say (named as in /proc/vmstat):\n");
	recap_reclaim(r, st);
	recap_swap(r, st);
	task_list(r, not_verified, names, sizeof(names));
	if (*names) {
		snprintf(text, sizeof(text),
			 "FAILED: %s did not verify its data (see the table "
			 "above).",
			 names);
	} else {
		task_list(r, verified, names, sizeof(names));
		if (*names)
			snprintf(text, sizeof(text),
				 "%s read back every byte they wrote%s: no "
				 "mismatch.",
				 names,
				 st->pswpin ? ", through swap-out and swap-in" :
					      "");
		else
			snprintf(text, sizeof(text),
				 "no task survived to verify its data.");
	}
	say("  data            ", text);
}

void cli_print_hints(const struct cli_run *r, long long run_id)
{
	const char *p = r->prog, *db = r->cfg.log_path;

	printf("\nThe run is logged in %s (run %lld). To see what happened:\n",
	       db, run_id);
	printf("  %s report %s\n", p, db);
	if (r->builtin) {
		printf("  %s query %s --run %lld --mode box \"SELECT pid, name, "
		       "rss, swapents, oom_score_adj, points, chosen FROM "
		       "oom_candidates WHERE run_id = :run\"\n",
		       p, db, run_id);
		printf("  %s query %s --run %lld \"SELECT pid, count(*) AS "
		       "refaults FROM events JOIN event_kinds USING (run_id, "
		       "kind) WHERE run_id = :run AND name = "
		       "'workingset_refault_anon' GROUP BY pid\"\n",
		       p, db, run_id);
		printf("docs/queries.md has more questions to ask it.\n");
		return;
	}
	printf("  %s query %s --run %lld \"SELECT * FROM tasks WHERE run_id = "
	       ":run\"\n",
	       p, db, run_id);
}
