/*
 * cli/sim_out.c - what `vmemu sim` prints: the trace and the mode, one
 * row per (policy, frames), and Belady's anomaly where it shows.
 *
 * Table (default):
 *
 *   trace   t.txt: txt, 12 requests, 5 distinct pages, 0 writes ...
 *   mode    exact replacement (trace mode): every miss is one page fault
 *   policy  frames  requests  misses  miss_ratio  seconds  method
 *   fifo         3        12       9    0.750000  0.00001  replay
 *   fifo         4        12      10    0.833333  0.00001  replay
 *   Belady's anomaly (more frames, more misses):
 *   FIFO: 4 frames 10 misses > 3 frames 9 misses
 *
 * --csv: the header "policy,frames,requests,misses,miss_ratio,seconds"
 * and then mode, method, anomaly; nothing else on stdout (the anomaly
 * lines go to stderr).  Rows come grouped by policy, frames ascending.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli/sim.h"

#define NSEC_PER_SEC 1e9

const char *sim_upper(const char *policy, char *buf, size_t len)
{
	size_t i;

	for (i = 0; policy[i] && i + 1 < len; i++)
		buf[i] = (char)toupper((unsigned char)policy[i]);
	buf[i] = '\0';
	return buf;
}

size_t sim_mark_anomalies(struct sim *s)
{
	size_t n = 0;

	for (size_t i = 1; i < s->nr_rows; i++) {
		struct sim_row *r = &s->rows[i], *prev = &s->rows[i - 1];

		r->anomaly = r->policy == prev->policy &&
			     r->misses > prev->misses;
		n += r->anomaly;
	}
	return n;
}

static const char *method_name(enum sim_method m)
{
	return m == SIM_STACK ? "stack" : "replay";
}

static double ratio(const struct sim_row *r)
{
	return r->requests ? (double)r->misses / (double)r->requests : 0;
}

static void print_anomalies(const struct sim *s, FILE *out, const char *pre)
{
	bool first = true;
	char up[64];

	for (size_t i = 1; i < s->nr_rows; i++) {
		const struct sim_row *r = &s->rows[i], *p = &s->rows[i - 1];

		if (!r->anomaly)
			continue;
		if (first && !pre[0])
			fprintf(out, "Belady's anomaly (more frames, more "
				     "misses):\n");
		first = false;
		fprintf(out,
			"%s%s: %llu frames %llu misses > %llu frames %llu "
			"misses\n",
			pre, sim_upper(r->policy, up, sizeof(up)),
			(unsigned long long)r->frames,
			(unsigned long long)r->misses,
			(unsigned long long)p->frames,
			(unsigned long long)p->misses);
	}
}

static void print_csv(const struct sim *s)
{
	printf("policy,frames,requests,misses,miss_ratio,seconds,mode,method,"
	       "anomaly\n");
	for (size_t i = 0; i < s->nr_rows; i++) {
		const struct sim_row *r = &s->rows[i];

		printf("%s,%llu,%llu,%llu,%.6f,%.6f,exact,%s,%d\n", r->policy,
		       (unsigned long long)r->frames,
		       (unsigned long long)r->requests,
		       (unsigned long long)r->misses, ratio(r), r->seconds,
		       method_name(r->method), r->anomaly);
	}
	fflush(stdout);
	print_anomalies(s, stderr, "vmemu: sim: Belady's anomaly: ");
}

static void print_head(const struct sim *s)
{
	const struct trace *tr = &s->tr;
	static const char *const comp[] = { "", "", ", gzip", ", zstd" };

	printf("trace   %s: %s%s%s, %llu requests, %llu distinct pages, "
	       "%llu writes (read in %.3f s)\n",
	       s->trace_path, trace_format_name(tr->format),
	       tr->format_by_content ? " (by content)" : "", comp[tr->compress],
	       (unsigned long long)tr->nr_requests,
	       (unsigned long long)tr->nr_pages,
	       (unsigned long long)tr->nr_writes,
	       (double)s->load_ns / NSEC_PER_SEC);
	printf("mode    exact replacement (trace mode): every miss is one "
	       "page fault; no\n        watermarks, kswapd or readahead; "
	       "frames hold no data\n");
	if (s->lru_mrc)
		printf("mrc     lru by Mattson's stack distances, every frame "
		       "count in one pass (%.3f s)\n",
		       s->mrc_seconds);
}

void sim_print(const struct sim *s)
{
	int w = 6;

	if (s->csv) {
		print_csv(s);
		return;
	}
	print_head(s);
	for (size_t i = 0; i < s->nr_policies; i++)
		if ((int)strlen(s->policies[i]) > w)
			w = (int)strlen(s->policies[i]);
	printf("%-*s %10s %12s %12s %10s %10s  %s\n", w, "policy", "frames",
	       "requests", "misses", "miss_ratio", "seconds", "method");
	for (size_t i = 0; i < s->nr_rows; i++) {
		const struct sim_row *r = &s->rows[i];

		printf("%-*s %10llu %12llu %12llu %10.6f %10.4f  %s\n", w,
		       r->policy, (unsigned long long)r->frames,
		       (unsigned long long)r->requests,
		       (unsigned long long)r->misses, ratio(r), r->seconds,
		       method_name(r->method));
	}
	print_anomalies(s, stdout, "");
	fflush(stdout);
}
