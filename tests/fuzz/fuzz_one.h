/*
 * tests/fuzz/fuzz_one.h - one input through one trace reader, with the
 * checks every input must pass: the load either succeeds with a trace
 * whose invariants hold (trace_check) or fails with one of the reader's
 * errors and exactly one line of message.  Anything else aborts, which
 * libFuzzer (make fuzz) reports as a crash.
 *
 * The targets: each text format, oracleGeneral, format auto, and gzip /
 * zstd (decompressed, then sniffed).  The corpus of target NAME lives in
 * tests/fuzz/corpus/NAME/; tests/test_trace.c replays it (make test).
 * Limits keep one input cheap: 16 MiB decompressed, 2^20 requests.
 */
#ifndef VMEMU_FUZZ_ONE_H
#define VMEMU_FUZZ_ONE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/trace.h"

#define FUZZ_MAX_BYTES	  (1u << 24)
#define FUZZ_MAX_REQUESTS (1u << 20)

struct fuzz_target {
	const char *name;
	enum trace_format format;
	enum trace_compress compress;
	const char *column;
	enum trace_header header;
};

static const struct fuzz_target fuzz_targets[] = {
	{ "txt", TRACE_TXT, TRACE_COMPRESS_NONE, NULL, TRACE_HEADER_AUTO },
	{ "csv", TRACE_CSV, TRACE_COMPRESS_NONE, "2", TRACE_HEADER_AUTO },
	{ "csv_named", TRACE_CSV, TRACE_COMPRESS_NONE, "obj_id",
	  TRACE_HEADER_AUTO },
	{ "vmtrace", TRACE_VMTRACE, TRACE_COMPRESS_NONE, NULL,
	  TRACE_HEADER_AUTO },
	{ "oracle", TRACE_ORACLE, TRACE_COMPRESS_NONE, NULL,
	  TRACE_HEADER_AUTO },
	{ "auto", TRACE_AUTO, TRACE_COMPRESS_NONE, NULL, TRACE_HEADER_AUTO },
	{ "gzip", TRACE_AUTO, TRACE_COMPRESS_GZIP, NULL, TRACE_HEADER_AUTO },
	{ "zstd", TRACE_AUTO, TRACE_COMPRESS_ZSTD, NULL, TRACE_HEADER_AUTO },
};

static inline const struct fuzz_target *fuzz_find(const char *name)
{
	for (size_t i = 0; i < sizeof(fuzz_targets) / sizeof(fuzz_targets[0]);
	     i++)
		if (strcmp(fuzz_targets[i].name, name) == 0)
			return &fuzz_targets[i];
	return NULL;
}

static inline int fuzz_expected(int rc)
{
	return rc == -EBADMSG || rc == -EFBIG || rc == -EINVAL || rc == -ENOMEM;
}

/* Load data as target t; 0 or the reader's error.  Aborts on a bug. */
static inline int fuzz_one(const struct fuzz_target *t, const uint8_t *data,
			   size_t size)
{
	struct trace_opts o;
	struct trace tr;
	char err[512];
	int rc;

	trace_opts_init(&o);
	o.format = t->format;
	o.compress = t->compress;
	o.csv_column = t->column;
	o.csv_header = t->header;
	o.max_bytes = FUZZ_MAX_BYTES;
	o.max_requests = FUZZ_MAX_REQUESTS;
	rc = trace_load_mem("fuzz", data, size, &o, &tr, err, sizeof(err));
	if (rc == 0) {
		if (trace_check(&tr) != 0)
			abort();
		trace_free(&tr);
		return 0;
	}
	if (!fuzz_expected(rc) || !err[0] || strchr(err, '\n') ||
	    strncmp(err, "fuzz:", 5) != 0)
		abort();
	return rc;
}

#endif /* VMEMU_FUZZ_ONE_H */
