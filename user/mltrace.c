/*
 * user/mltrace.c - CMU malloc-lab traces: a strict parser and a writer.
 *
 * The format (CS:APP malloc lab, traces/README):
 *
 *   <sugg_heapsize>          four header lines, one number each
 *   <num_ids>
 *   <num_ops>
 *   <weight>
 *   a <id> <bytes>           ptr[id] = malloc(bytes)
 *   r <id> <bytes>           ptr[id] = realloc(ptr[id], bytes)
 *   f <id>                   free(ptr[id])
 *
 * Strict: a malformed line is reported as "name:line: message" and the
 * parse fails with -EINVAL; nothing is ever read past the buffer, no
 * number overflows, and the header cannot make the parser allocate more
 * than the text could describe.  Consistency is part of the format: an
 * id must be < num_ids; "a" needs the id not live, "f" and "r" need it
 * live; "r id 0" frees it (realloc(p, 0)).  Tokens are separated by
 * blanks; a trailing '\r' is ignored; blank lines may follow the last
 * operation, not precede it.
 *
 * Invariants of a parsed trace: nops operations, each valid in order
 * against the live set (replaying it never frees what is not live).
 *
 * Locking: none; no globals.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user/allocstudy.h"

#define ML_MAX_IDS	 (1ULL << 26)
#define ML_MAX_OPS	 (1ULL << 30)
#define ML_MIN_OP_CHARS	 4  /* "f 0\n" */
#define ML_TOKEN_SHOWN	 24 /* chars of a bad token quoted back */
#define ML_HEADER_FIELDS 4

struct ml_parser {
	const char *name, *p, *end;
	unsigned long line;
	char *err;
	size_t errlen;
	uint8_t *live; /* per id: 1 while allocated */
};

struct ml_tok {
	const char *s, *e;
};

__attribute__((format(printf, 2, 3))) static int ml_fail(struct ml_parser *ps,
							 const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->errlen)
		snprintf(ps->err, ps->errlen, "%s:%lu: %s", ps->name, ps->line,
			 msg);
	return -EINVAL;
}

/* The next line [*s, *e) without its newline or '\r'; false at the end. */
static bool ml_line(struct ml_parser *ps, const char **s, const char **e)
{
	const char *nl;

	if (ps->p >= ps->end)
		return false;
	nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	*s = ps->p;
	*e = nl ? nl : ps->end;
	ps->p = nl ? nl + 1 : ps->end;
	if (*e > *s && (*e)[-1] == '\r')
		--*e;
	ps->line++;
	return true;
}

/* The next blank-separated token of [*s, e); false if none. */
static bool ml_token(const char **s, const char *e, struct ml_tok *t)
{
	while (*s < e && (**s == ' ' || **s == '\t'))
		++*s;
	if (*s == e)
		return false;
	t->s = *s;
	while (*s < e && **s != ' ' && **s != '\t')
		++*s;
	t->e = *s;
	return true;
}

static int ml_tok_len(const struct ml_tok *t)
{
	long n = t->e - t->s;

	return n > ML_TOKEN_SHOWN ? ML_TOKEN_SHOWN : (int)n;
}

/* A decimal number <= max, or the parse fails naming what. */
static int ml_number(struct ml_parser *ps, const struct ml_tok *t, uint64_t max,
		     const char *what, uint64_t *v)
{
	*v = 0;
	for (const char *c = t->s; c < t->e; c++) {
		if (*c < '0' || *c > '9')
			return ml_fail(ps, "%s: not a number: '%.*s'", what,
				       ml_tok_len(t), t->s);
		if (*v > (max - (uint64_t)(*c - '0')) / 10)
			return ml_fail(ps, "%s %.*s too large (max %llu)", what,
				       ml_tok_len(t), t->s,
				       (unsigned long long)max);
		*v = *v * 10 + (uint64_t)(*c - '0');
	}
	return 0;
}

/* One header line: exactly one number <= max. */
static int ml_header_field(struct ml_parser *ps, const char *what, uint64_t max,
			   uint64_t *v)
{
	const char *s, *e;
	struct ml_tok t, extra;

	if (!ml_line(ps, &s, &e)) {
		ps->line++;
		return ml_fail(ps, "missing header line: %s", what);
	}
	if (!ml_token(&s, e, &t))
		return ml_fail(ps, "empty header line (expected %s)", what);
	if (ml_token(&s, e, &extra))
		return ml_fail(ps, "unexpected '%.*s' after the %s",
			       ml_tok_len(&extra), extra.s, what);
	return ml_number(ps, &t, max, what, v);
}

static int ml_header(struct ml_parser *ps, struct astudy_trace *tr)
{
	uint64_t v[ML_HEADER_FIELDS];
	int err = ml_header_field(ps, "suggested heap size", UINT64_MAX, &v[0]);

	if (!err)
		err = ml_header_field(ps, "number of ids", ML_MAX_IDS, &v[1]);
	if (!err)
		err = ml_header_field(ps, "number of operations", ML_MAX_OPS,
				      &v[2]);
	if (!err && v[2] > (uint64_t)(ps->end - ps->p) / ML_MIN_OP_CHARS + 1)
		return ml_fail(ps, "%llu operations cannot fit in the file",
			       (unsigned long long)v[2]);
	if (!err)
		err = ml_header_field(ps, "weight", INT_MAX, &v[3]);
	if (err)
		return err;
	tr->sugg_heap = v[0];
	tr->nids = (uint32_t)v[1];
	tr->nops = (size_t)v[2];
	tr->weight = (int)v[3];
	return 0;
}

/* The id and size tokens of an operation (size only for 'a' and 'r'). */
static int ml_operands(struct ml_parser *ps, const char **s, const char *e,
		       uint32_t nids, struct astudy_op *op)
{
	struct ml_tok t;
	uint64_t v;
	int err;

	if (!ml_token(s, e, &t))
		return ml_fail(ps, "missing id");
	err = ml_number(ps, &t, UINT32_MAX, "id", &v);
	if (err)
		return err;
	if (v >= nids)
		return ml_fail(ps, "id %llu out of range (%u ids)",
			       (unsigned long long)v, nids);
	op->id = (uint32_t)v;
	op->nbytes = 0;
	if (op->kind == 'f')
		return 0;
	if (!ml_token(s, e, &t))
		return ml_fail(ps, "missing size");
	return ml_number(ps, &t, ASTUDY_MAX_BYTES, "size", &op->nbytes);
}

/* Replay op against the live set: is it consistent? */
static int ml_consistent(struct ml_parser *ps, const struct astudy_op *op)
{
	uint8_t *live = &ps->live[op->id];

	if (op->kind == 'a' && *live)
		return ml_fail(ps, "a: id %u is already allocated", op->id);
	if (op->kind != 'a' && !*live)
		return ml_fail(ps, "%c: id %u is not allocated", op->kind,
			       op->id);
	*live = op->kind == 'a' || (op->kind == 'r' && op->nbytes);
	return 0;
}

static int ml_op(struct ml_parser *ps, uint32_t nids, size_t i, size_t nops,
		 struct astudy_op *op)
{
	const char *s, *e;
	struct ml_tok t;
	int err;

	if (!ml_line(ps, &s, &e)) {
		ps->line++;
		return ml_fail(ps, "only %zu of %zu operations", i, nops);
	}
	if (!ml_token(&s, e, &t))
		return ml_fail(ps, "empty line (operation %zu of %zu)", i + 1,
			       nops);
	if (t.e - t.s != 1 || !strchr("afr", *t.s))
		return ml_fail(ps, "unknown operation '%.*s'", ml_tok_len(&t),
			       t.s);
	op->kind = *t.s;
	err = ml_operands(ps, &s, e, nids, op);
	if (err)
		return err;
	if (ml_token(&s, e, &t))
		return ml_fail(ps, "unexpected '%.*s' after the operation",
			       ml_tok_len(&t), t.s);
	return ml_consistent(ps, op);
}

/* Only blank lines may follow the operations. */
static int ml_tail(struct ml_parser *ps, size_t nops)
{
	const char *s, *e;
	struct ml_tok t;

	while (ml_line(ps, &s, &e))
		if (ml_token(&s, e, &t))
			return ml_fail(ps,
				       "more operations than the %zu the "
				       "header announces",
				       nops);
	return 0;
}

static int ml_body(struct ml_parser *ps, struct astudy_trace *tr)
{
	int err = 0;

	tr->ops = calloc(tr->nops ? tr->nops : 1, sizeof(*tr->ops));
	ps->live = calloc(tr->nids ? tr->nids : 1, 1);
	if (!tr->ops || !ps->live)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < tr->nops; i++)
		err = ml_op(ps, tr->nids, i, tr->nops, &tr->ops[i]);
	if (!err)
		err = ml_tail(ps, tr->nops);
	free(ps->live);
	return err;
}

int astudy_trace_parse(const char *name, const char *text, size_t len,
		       struct astudy_trace *out, char *err, size_t errlen)
{
	struct ml_parser ps = {
		name ? name : "trace", text, text + len, 0, err, errlen, NULL
	};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!text && len)
		return -EINVAL;
	rc = ml_header(&ps, out);
	if (!rc)
		rc = ml_body(&ps, out);
	if (rc == -ENOMEM && errlen)
		snprintf(err, errlen, "%s: out of memory", ps.name);
	if (rc)
		astudy_trace_free(out);
	return rc;
}

/* The whole file in a malloc'd buffer. */
static int ml_slurp(FILE *f, char **buf, size_t *len)
{
	size_t cap = 1 << 16, n = 0, got;
	char *b = malloc(cap), *nb;

	while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n < cap)
			continue;
		nb = cap * 2 > cap ? realloc(b, cap * 2) : NULL;
		if (!nb)
			free(b);
		b = nb;
		cap *= 2;
	}
	if (!b)
		return -ENOMEM;
	if (ferror(f)) {
		free(b);
		return -EIO;
	}
	*buf = b;
	*len = n;
	return 0;
}

int astudy_trace_load(const char *path, struct astudy_trace *out, char *err,
		      size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t len;
	char *buf;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = ml_slurp(f, &buf, &len);
	fclose(f);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = astudy_trace_parse(path, buf, len, out, err, errlen);
	free(buf);
	return rc;
}

void astudy_trace_free(struct astudy_trace *tr)
{
	free(tr->ops);
	memset(tr, 0, sizeof(*tr));
}

/* snprintf into buf at *at, counting what would have been written. */
__attribute__((format(printf, 4, 5))) static void
ml_put(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*at < len ? buf + *at : NULL, *at < len ? len - *at : 0,
		      fmt, ap);
	va_end(ap);
	*at += n > 0 ? (size_t)n : 0;
}

size_t astudy_trace_format(const struct astudy_trace *tr, char *buf, size_t len)
{
	size_t at = 0;

	ml_put(buf, len, &at, "%llu\n%u\n%zu\n%d\n",
	       (unsigned long long)tr->sugg_heap, tr->nids, tr->nops,
	       tr->weight);
	for (size_t i = 0; i < tr->nops; i++) {
		const struct astudy_op *o = &tr->ops[i];

		if (o->kind == 'f')
			ml_put(buf, len, &at, "f %u\n", o->id);
		else
			ml_put(buf, len, &at, "%c %u %llu\n", o->kind, o->id,
			       (unsigned long long)o->nbytes);
	}
	if (len && at >= len)
		buf[len - 1] = '\0';
	return at;
}
