/*
 * workloads/trace_internal.h - what the trace reader's files share: the
 * byte source (trace_src.c: a file or memory, gzip/zstd decompressed,
 * with a peek for format sniffing), the parsers (trace_parse.c) and the
 * loader they feed (trace_load.c).  Not an API: workloads/trace.h is.
 *
 * The parsers see decompressed bytes only; they call tload_add for each
 * request and report errors with tsrc_error (which formats "name: ..."
 * or "name:LINE: ...").  One thread per source; no locking.
 */
#ifndef VMEMU_TRACE_INTERNAL_H
#define VMEMU_TRACE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "workloads/trace.h"

#define TSRC_CHUNK     (1u << 16) /* compressed bytes read at a time */
#define TRACE_LINE_MAX (1u << 20) /* longest text line (bytes) */
#define TRACE_SNIFF    4096	  /* bytes looked at by format auto */

struct z_stream_s;
struct ZSTD_DCtx_s;

struct tsrc {
	const char *name;
	/* Raw (as stored) bytes: a file or memory. */
	int fd; /* -1: memory */
	const unsigned char *mem;
	size_t mem_len, mem_pos;
	bool raw_eof;
	uint64_t raw_bytes; /* consumed so far */
	/* Decompression. */
	enum trace_compress comp;
	unsigned char *in; /* compressed input buffer (TSRC_CHUNK) */
	size_t in_len, in_pos;
	struct z_stream_s *z;
	bool z_member_done, z_started;
	struct ZSTD_DCtx_s *zs;
	size_t zs_ret; /* last ZSTD_decompressStream hint (0: frame end) */
	/* Peeked decompressed bytes, handed out before the stream's. */
	unsigned char *peek;
	size_t peek_len, peek_pos;
	/* Accounting and errors. */
	uint64_t out_bytes, max_bytes;
	char *err;
	size_t errlen;
};

/* ---- trace_src.c ------------------------------------------------------ */

int tsrc_open_file(struct tsrc *s, const char *path, enum trace_compress c);
void tsrc_open_mem(struct tsrc *s, const char *name, const void *buf,
		   size_t len, enum trace_compress c);
/* Set up decompression (after open); 0 or -ENOMEM. */
int tsrc_start(struct tsrc *s);
/* Up to len decompressed bytes into buf: > 0, 0 at the end, < 0 error. */
ssize_t tsrc_read(struct tsrc *s, void *buf, size_t len);
/* Read until len bytes or the end: the count, or < 0. */
ssize_t tsrc_read_full(struct tsrc *s, void *buf, size_t len);
/* The first bytes (up to len) without consuming them: *out, count. */
ssize_t tsrc_peek(struct tsrc *s, size_t len, const unsigned char **out);
/* The stored size of a plain, uncompressed file, else 0 (a hint). */
uint64_t tsrc_size_hint(const struct tsrc *s);
void tsrc_close(struct tsrc *s);
/*
 * Write "name: " or "name:LINE: " / "name:record N: " (line > 0, per
 * record) and the message into s->err; returns err.
 */
int tsrc_error(struct tsrc *s, int err, uint64_t line, bool record,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- trace_load.c ----------------------------------------------------- */

struct tslot {
	uint64_t key;
	uint32_t val; /* UINT32_MAX: empty */
};

struct tload {
	struct trace *tr;
	uint64_t max_requests;
	uint64_t cap_req;   /* page[], next[] (and write[] words) allocated */
	uint64_t cap_pages; /* ids[] allocated */
	/* id -> page: open addressing, one 16-byte slot per probe. */
	struct tslot *map;
	uint64_t mask;
	/*
	 * oracleGeneral: next[i] holds request i's claim (the file's
	 * next_access_vtime - 1, TRACE_NEVER, or CLAIM_BAD) until
	 * tload_finish compares it with the computed one.
	 */
	bool check_vtime;
	uint64_t bad_at; /* first record whose claim fits no index, 1-based */
	int64_t bad_vt;	 /* its value */
};

int tload_init(struct tload *l, struct trace *tr, uint64_t max_requests,
	       uint64_t size_hint);
/* Append a request to id; its page in *page.  0, -ENOMEM, -EFBIG. */
int tload_add(struct tload *l, uint64_t id, bool write, uint32_t *page);
/* oracleGeneral: the request just added claimed next_access_vtime vt. */
void tload_claim(struct tload *l, int64_t vt);
/* Finish: next[] by the backward pass, the vtime verdict; 0 or -ENOMEM. */
int tload_finish(struct tload *l);
void tload_free(struct tload *l);

/* ---- trace_parse.c ---------------------------------------------------- */

/* Choose the format from the first bytes (s peeked, not consumed). */
int trace_sniff(struct tsrc *s, enum trace_format *f);
/* Read the whole source in format f into l; 0 or an error (s->err). */
int trace_parse(struct tsrc *s, enum trace_format f, const struct trace_opts *o,
		struct tload *l);
/*
 * A number of the text formats: decimal, or hex with 0x (hex_only: hex
 * with or without 0x), below 2^64, nothing else.  0, or -1 with a reason.
 */
int trace_parse_u64(const char *p, size_t len, bool hex_only, uint64_t *v,
		    const char **why);

#endif /* VMEMU_TRACE_INTERNAL_H */
