/*
 * cli/kmsg.c - the kernel's OOM reports on vmemu's stderr, as dmesg
 * would show them.
 *
 * The machine hands each report (the task dump and the "Out of memory:
 * Killed process ..." line) to vm_config.oom_report from its service
 * thread.  cli_kmsg_sink only copies it onto a queue; the main thread
 * prints the queue between its polls (cli_kmsg_flush), so the report
 * never interleaves with the summary or the story mid-line, and the
 * scenario can say in words what the report is about before it.
 *
 * Invariants: (1) every report the sink got is printed exactly once, in
 * order, unless the run is --quiet or the host had no memory to copy it
 * (counted in lost, said once at the next flush); (2) the queue is
 * empty after cli_kmsg_destroy.
 * Locking: k->lock guards texts, n, cap, lost; it is held only to link
 * or unlink, never while printing.  Not signal-reachable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run.h"

void cli_kmsg_init(struct cli_kmsg *k)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
}

void cli_kmsg_sink(void *arg, const char *text)
{
	struct cli_kmsg *k = arg;
	char *copy = strdup(text);

	pthread_mutex_lock(&k->lock);
	if (copy && k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 4;
		char **t = realloc(k->texts, cap * sizeof(*t));

		if (t) {
			k->texts = t;
			k->cap = cap;
		}
	}
	if (copy && k->n < k->cap)
		k->texts[k->n++] = copy;
	else {
		free(copy);
		k->lost++;
	}
	pthread_mutex_unlock(&k->lock);
}

/* Take the queue: *texts (caller frees), *n, *lost. */
static void take(struct cli_kmsg *k, char ***texts, size_t *n, unsigned *lost)
{
	pthread_mutex_lock(&k->lock);
	*texts = k->texts;
	*n = k->n;
	*lost = k->lost;
	k->texts = NULL;
	k->n = k->cap = 0;
	k->lost = 0;
	pthread_mutex_unlock(&k->lock);
}

void cli_kmsg_flush(struct cli_run *r)
{
	char **texts;
	size_t n;
	unsigned lost;

	take(&r->kmsg, &texts, &n, &lost);
	for (size_t i = 0; i < n; i++) {
		if (!r->quiet) {
			if (r->builtin)
				cli_story_oom(r, texts[i]);
			fflush(stdout);
			r->asides++;
			fputs(texts[i], stderr);
			fflush(stderr);
		}
		free(texts[i]);
	}
	free(texts);
	if (lost && !r->quiet)
		fprintf(stderr,
			"vmemu: %u OOM report%s not shown (host out of "
			"memory); the log has them\n",
			lost, lost == 1 ? "" : "s");
}

void cli_kmsg_destroy(struct cli_kmsg *k)
{
	char **texts;
	size_t n;
	unsigned lost;

	take(k, &texts, &n, &lost);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	pthread_mutex_destroy(&k->lock);
}
