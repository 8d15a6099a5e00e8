/*
 * workloads/trace_parse.c - the trace formats: names, sniffing, and one
 * strict parser per format, each feeding the loader (tload_add).
 *
 * Text formats are read a line at a time from a buffer that grows from
 * 64 KiB up to TRACE_LINE_MAX bytes: a line ends at '\n' (a '\r' before it is dropped, so CRLF files
 * read as LF ones; the last line needs no newline).  A NUL byte, a line
 * longer than the buffer, or a field that is not what the format says
 * stops the load with "name:LINE: message" (-EBADMSG); nothing is
 * guessed or skipped except what the grammar allows:
 *
 *   txt      [ws] ID [ws]          blank lines and '#' lines skipped
 *   vmtrace  [ws] R|W ws ADDR [ws]  blank lines and '#' lines skipped;
 *                                  ADDR hex (0x optional)
 *   csv      fields split at ',', "quoted" fields with "" for a quote,
 *            spaces around a field dropped; blank lines skipped; the
 *            chosen column must be present in every row
 *   ID       decimal, or hex with 0x, no sign, below 2^64
 *
 * oracleGeneral is read in batches of whole 24-byte records; a short
 * last record is "name:record N: truncated record".
 *
 * Sniffing (format auto, after the name gave no answer): a control byte
 * (other than tab, CR, LF) in the first TRACE_SNIFF bytes means binary,
 * i.e. oracleGeneral; otherwise the first line that is neither blank nor
 * a comment decides: "R "/"W " vmtrace, a ',' csv, else txt.
 *
 * No state outside the source and the loader; no locking.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "workloads/trace_internal.h"

#define EXCERPT_LEN    40	  /* characters of a bad field quoted */
#define ORACLE_BATCH   (1u << 14) /* records read at a time */
#define LINE_BUF_START (1u << 16) /* the line buffer's first size */
#define CSV_MAX_COLUMN 100000	  /* a column number beyond is a typo */

static const char *const format_names[TRACE_NR_FORMATS] = {
	[TRACE_AUTO] = "auto",
	[TRACE_TXT] = "txt",
	[TRACE_CSV] = "csv",
	[TRACE_VMTRACE] = "vmtrace",
	[TRACE_ORACLE] = "oracleGeneral",
};

void trace_opts_init(struct trace_opts *o)
{
	memset(o, 0, sizeof(*o));
}

const char *trace_format_name(enum trace_format f)
{
	return (unsigned)f < TRACE_NR_FORMATS ? format_names[f] : "?";
}

int trace_format_parse(const char *s, enum trace_format *f)
{
	for (unsigned i = 0; i < TRACE_NR_FORMATS; i++)
		if (strcasecmp(s, format_names[i]) == 0) {
			*f = (enum trace_format)i;
			return 0;
		}
	return -EINVAL;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

/* Length of name without a compression suffix. */
static size_t stem_len(const char *name)
{
	size_t len = strlen(name);

	if (ends_with(name, len, ".gz"))
		return len - 3;
	if (ends_with(name, len, ".zst"))
		return len - 4;
	if (ends_with(name, len, ".zstd"))
		return len - 5;
	return len;
}

enum trace_compress trace_compress_of(const char *name)
{
	size_t len = strlen(name);

	if (ends_with(name, len, ".gz"))
		return TRACE_COMPRESS_GZIP;
	if (ends_with(name, len, ".zst") || ends_with(name, len, ".zstd"))
		return TRACE_COMPRESS_ZSTD;
	return TRACE_COMPRESS_NONE;
}

enum trace_format trace_format_of(const char *name)
{
	size_t len = stem_len(name);

	for (size_t i = 0; i + 13 <= len; i++)
		if (strncasecmp(name + i, "oraclegeneral", 13) == 0)
			return TRACE_ORACLE;
	if (ends_with(name, len, ".txt"))
		return TRACE_TXT;
	if (ends_with(name, len, ".csv"))
		return TRACE_CSV;
	if (ends_with(name, len, ".vmtrace"))
		return TRACE_VMTRACE;
	return TRACE_AUTO;
}

/* ---- small text helpers ------------------------------------------------ */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **p, size_t *len)
{
	while (*len && is_blank(**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len && is_blank((*p)[*len - 1]))
		(*len)--;
}

/* trim for a line we own (and may change). */
static char *trim_line(char *p, size_t *len)
{
	const char *q = p;

	trim(&q, len);
	return p + (q - p);
}

/* p[0..len) quoted for a message: printable, escaped, shortened. */
static const char *excerpt(const char *p, size_t len, char *buf, size_t bl)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < bl; i++) {
		unsigned char c = (unsigned char)p[i];

		if (i == EXCERPT_LEN) {
			o += (size_t)snprintf(buf + o, bl - o, "...");
			break;
		}
		if (isprint(c) && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, bl - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int trace_parse_u64(const char *p, size_t len, bool hex_only, uint64_t *v,
		    const char **why)
{
	bool hex = hex_only;
	uint64_t x = 0;
	unsigned base;

	if (len == 0)
		return *why = "empty", -1;
	if (p[0] == '-' || p[0] == '+')
		return *why = "has a sign", -1;
	if (len > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		hex = true;
		p += 2;
		len -= 2;
	}
	base = hex ? 16 : 10;
	for (size_t i = 0; i < len; i++) {
		int d = hexval(p[i]);

		if (d < 0 || (unsigned)d >= base)
			return *why = "not a number", -1;
		if (x > (UINT64_MAX - (unsigned)d) / base)
			return *why = "above 2^64-1", -1;
		x = x * base + (unsigned)d;
	}
	*v = x;
	return 0;
}

/* ---- lines ------------------------------------------------------------- */

struct tlines {
	struct tsrc *s;
	char *buf;
	size_t cap; /* grows from LINE_BUF_START to TRACE_LINE_MAX */
	size_t start, end;
	bool eof;
	uint64_t lineno;
};

static int lines_fill(struct tlines *t)
{
	ssize_t n;

	if (t->start) {
		memmove(t->buf, t->buf + t->start, t->end - t->start);
		t->end -= t->start;
		t->start = 0;
	}
	if (t->end == t->cap && t->cap == TRACE_LINE_MAX)
		return tsrc_error(t->s, -EBADMSG, t->lineno + 1, false,
				  "line longer than %u bytes", TRACE_LINE_MAX);
	if (t->end == t->cap) { /* a long line: a bigger buffer */
		char *b = realloc(t->buf, 2 * t->cap);

		if (!b)
			return tsrc_error(t->s, -ENOMEM, t->lineno + 1, false,
					  "out of memory");
		t->buf = b;
		t->cap *= 2;
	}
	n = tsrc_read(t->s, t->buf + t->end, t->cap - t->end);
	if (n < 0)
		return (int)n;
	if (n == 0)
		t->eof = true;
	t->end += (size_t)n;
	return 0;
}

/* The next line in (*p, *len), ours to change: 1, 0 at the end, < 0. */
static int lines_next(struct tlines *t, char **p, size_t *len)
{
	char *line, *nl;
	int rc;

	for (;;) {
		line = t->buf + t->start;
		nl = memchr(line, '\n', t->end - t->start);
		if (nl) {
			*len = (size_t)(nl - line);
			t->start += *len + 1;
			break;
		}
		if (t->eof) {
			if (t->start == t->end)
				return 0;
			*len = t->end - t->start;
			t->start = t->end;
			break;
		}
		rc = lines_fill(t);
		if (rc)
			return rc;
	}
	t->lineno++;
	*p = line;
	if (*len && line[*len - 1] == '\r')
		(*len)--;
	if (memchr(line, '\0', *len))
		return tsrc_error(t->s, -EBADMSG, t->lineno, false,
				  "NUL byte in a text trace (a binary file? "
				  "--format oracleGeneral)");
	return 1;
}

static int lines_init(struct tlines *t, struct tsrc *s)
{
	memset(t, 0, sizeof(*t));
	t->s = s;
	t->cap = LINE_BUF_START;
	t->buf = malloc(t->cap);
	return t->buf ? 0 : tsrc_error(s, -ENOMEM, 0, false, "out of memory");
}

/* A loader failure at line/record n, in words. */
static int load_error(struct tsrc *s, int rc, uint64_t n, bool record,
		      const struct tload *l)
{
	if (rc == -EFBIG)
		return tsrc_error(s, rc, n, record,
				  "more than %llu requests (the limit)",
				  (unsigned long long)l->max_requests);
	return tsrc_error(s, rc, n, record, "out of memory");
}

/* ---- txt and vmtrace ---------------------------------------------------- */

static int bad_number(struct tlines *t, const char *what, const char *p,
		      size_t len, const char *why)
{
	char ex[4 * EXCERPT_LEN + 16];

	return tsrc_error(t->s, -EBADMSG, t->lineno, false,
			  "'%s' is not %s (%s)",
			  excerpt(p, len, ex, sizeof(ex)), what, why);
}

static int parse_txt_line(struct tlines *t, struct tload *l, const char *p,
			  size_t len)
{
	const char *why;
	uint64_t id;
	uint32_t page;
	int rc;

	if (trace_parse_u64(p, len, false, &id, &why))
		return bad_number(t, "a page number or id", p, len, why);
	rc = tload_add(l, id, false, &page);
	return rc ? load_error(t->s, rc, t->lineno, false, l) : 0;
}

static int parse_vmtrace_line(struct tlines *t, struct tload *l, const char *p,
			      size_t len)
{
	char ex[4 * EXCERPT_LEN + 16];
	const char *why;
	uint64_t addr;
	uint32_t page;
	int rc;

	if (len < 3 || (p[0] != 'R' && p[0] != 'W') || !is_blank(p[1]))
		return tsrc_error(t->s, -EBADMSG, t->lineno, false,
				  "'%s' is not 'R ADDR' or 'W ADDR'",
				  excerpt(p, len, ex, sizeof(ex)));
	const char *a = p + 2;
	size_t alen = len - 2;

	trim(&a, &alen);
	if (trace_parse_u64(a, alen, true, &addr, &why))
		return bad_number(t, "a hex address", a, alen, why);
	rc = tload_add(l, addr >> TRACE_PAGE_SHIFT, p[0] == 'W', &page);
	return rc ? load_error(t->s, rc, t->lineno, false, l) : 0;
}

static int parse_lines(struct tsrc *s, struct tload *l, bool vmtrace)
{
	struct tlines t;
	char *p;
	size_t len;
	int rc = lines_init(&t, s);

	while (!rc && (rc = lines_next(&t, &p, &len)) > 0) {
		p = trim_line(p, &len);
		if (len == 0 || p[0] == '#')
			rc = 0;
		else if (vmtrace)
			rc = parse_vmtrace_line(&t, l, p, len);
		else
			rc = parse_txt_line(&t, l, p, len);
	}
	free(t.buf);
	return rc;
}

/* ---- csv ----------------------------------------------------------------- */

struct csv_row {
	char *line; /* the line buffer's: quoted fields are unquoted in place */
	size_t len, pos;
	bool more; /* another field follows */
};

/*
 * A "quoted" field at r->pos (on the quote), unquoted in place: the value
 * is written from r->pos on, never ahead of what is read.
 */
static int csv_quoted(struct csv_row *r, const char **v, size_t *vl,
		      const char **why)
{
	char *out = r->line + r->pos;
	size_t o = 0, i = r->pos + 1;

	for (;; i++) {
		if (i >= r->len)
			return *why = "a quote is not closed", -1;
		if (r->line[i] != '"') {
			out[o++] = r->line[i];
		} else if (i + 1 < r->len && r->line[i + 1] == '"') {
			out[o++] = '"';
			i++;
		} else {
			break;
		}
	}
	for (i++; i < r->len && is_blank(r->line[i]); i++)
		;
	if (i < r->len && r->line[i] != ',')
		return *why = "text after a closing quote", -1;
	r->pos = i;
	*v = out;
	*vl = o;
	return 0;
}

/* The next field: 1 (in *v, *vl), 0 none left, -1 malformed (*why). */
static int csv_next(struct csv_row *r, const char **v, size_t *vl,
		    const char **why)
{
	size_t i;

	if (!r->more)
		return 0;
	while (r->pos < r->len && is_blank(r->line[r->pos]))
		r->pos++;
	if (r->pos < r->len && r->line[r->pos] == '"') {
		if (csv_quoted(r, v, vl, why))
			return -1;
	} else {
		for (i = r->pos; i < r->len && r->line[i] != ','; i++)
			if (r->line[i] == '"')
				return *why = "a quote inside an unquoted field",
				       -1;
		*v = r->line + r->pos;
		*vl = i - r->pos;
		trim(v, vl);
		r->pos = i;
	}
	r->more = r->pos < r->len; /* on a ',' */
	r->pos++;
	return 1;
}

struct csv_state {
	struct tlines t;
	unsigned long column; /* 1-based; 0 until the header names it */
	const char *name;     /* column by name */
	bool header_seen;
};

static void row_start(struct csv_row *r, char *p, size_t len)
{
	*r = (struct csv_row){ p, len, 0, true };
}

static int csv_malformed(struct csv_state *c, const char *why)
{
	return tsrc_error(c->t.s, -EBADMSG, c->t.lineno, false,
			  "malformed csv: %s", why);
}

/* The header row: find c->name among its fields. */
static int csv_header_names(struct csv_state *c, char *p, size_t len)
{
	struct csv_row r;
	const char *v, *why;
	size_t vl;
	int rc;

	row_start(&r, p, len);
	for (unsigned long k = 1; (rc = csv_next(&r, &v, &vl, &why)) > 0; k++)
		if (vl == strlen(c->name) && memcmp(v, c->name, vl) == 0) {
			c->column = k;
			return 0;
		}
	if (rc < 0)
		return csv_malformed(c, why);
	return tsrc_error(c->t.s, -EINVAL, c->t.lineno, false,
			  "no column '%s' in the header", c->name);
}

/* Field c->column of the row into (*v, *vl). */
static int csv_column(struct csv_state *c, char *p, size_t len, const char **v,
		      size_t *vl)
{
	struct csv_row r;
	const char *why;
	unsigned long k;
	int rc = 1;

	row_start(&r, p, len);
	for (k = 0; k < c->column && (rc = csv_next(&r, v, vl, &why)) > 0;)
		k++;
	if (rc < 0)
		return csv_malformed(c, why);
	if (k < c->column)
		return tsrc_error(c->t.s, -EBADMSG, c->t.lineno, false,
				  "%lu fields, column %lu wanted", k,
				  c->column);
	return 0;
}

static int csv_row(struct csv_state *c, const struct trace_opts *o,
		   struct tload *l, char *p, size_t len)
{
	const char *v, *why;
	size_t vl;
	uint64_t id;
	uint32_t page;
	bool first = !c->header_seen;
	int rc;

	c->header_seen = true;
	if (first && c->name)
		return csv_header_names(c, p, len);
	rc = csv_column(c, p, len, &v, &vl);
	if (rc)
		return rc;
	if (trace_parse_u64(v, vl, false, &id, &why)) {
		if (first && o->csv_header != TRACE_HEADER_NO)
			return 0; /* the header */
		return bad_number(&c->t, "an id", v, vl, why);
	}
	if (first && o->csv_header == TRACE_HEADER_YES)
		return 0;
	rc = tload_add(l, id, false, &page);
	return rc ? load_error(c->t.s, rc, c->t.lineno, false, l) : 0;
}

/* The column option: a 1-based number, or a name (needs a header). */
static int csv_setup(struct csv_state *c, struct tsrc *s,
		     const struct trace_opts *o)
{
	const char *col = o->csv_column ? o->csv_column : "1";
	const char *why;
	uint64_t k;

	if (trace_parse_u64(col, strlen(col), false, &k, &why) == 0) {
		if (k == 0 || k > CSV_MAX_COLUMN)
			return tsrc_error(s, -EINVAL, 0, false,
					  "csv column %s: columns count from "
					  "1 to %u",
					  col, CSV_MAX_COLUMN);
		c->column = (unsigned long)k;
	} else if (o->csv_header == TRACE_HEADER_NO) {
		return tsrc_error(s, -EINVAL, 0, false,
				  "csv column '%s' is a name, but the file "
				  "has no header",
				  col);
	} else {
		c->name = col;
	}
	return 0;
}

static int parse_csv(struct tsrc *s, const struct trace_opts *o,
		     struct tload *l)
{
	struct csv_state c = { 0 };
	char *p;
	size_t len;
	int rc = lines_init(&c.t, s);

	if (!rc)
		rc = csv_setup(&c, s, o);
	while (!rc && (rc = lines_next(&c.t, &p, &len)) > 0) {
		p = trim_line(p, &len);
		rc = len ? csv_row(&c, o, l, p, len) : 0;
	}
	if (!rc && c.name && !c.header_seen)
		rc = tsrc_error(s, -EINVAL, 0, false,
				"no header to find column '%s' in", c.name);
	free(c.t.buf);
	return rc;
}

/* ---- oracleGeneral ---------------------------------------------------- */

static uint64_t le(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static int parse_oracle(struct tsrc *s, struct tload *l)
{
	unsigned char *buf = malloc((size_t)ORACLE_BATCH * TRACE_ORACLE_SIZE);
	uint64_t rec = 0;
	uint32_t page;
	ssize_t n;
	int rc = 0;

	if (!buf)
		return tsrc_error(s, -ENOMEM, 0, false, "out of memory");
	l->check_vtime = true;
	do {
		n = tsrc_read_full(s, buf,
				   (size_t)ORACLE_BATCH * TRACE_ORACLE_SIZE);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		for (ssize_t off = 0; !rc && off + TRACE_ORACLE_SIZE <= n;
		     off += TRACE_ORACLE_SIZE) {
			const unsigned char *r = buf + off;

			rec++;
			rc = tload_add(l, le(r + 4, 8), false, &page);
			if (rc)
				rc = load_error(s, rc, rec, true, l);
			else
				tload_claim(l, (int64_t)le(r + 16, 8));
		}
		if (!rc && n % TRACE_ORACLE_SIZE)
			rc = tsrc_error(s, -EBADMSG, rec + 1, true,
					"truncated record (%zd of %d bytes)",
					n % TRACE_ORACLE_SIZE,
					TRACE_ORACLE_SIZE);
	} while (!rc && n == (ssize_t)ORACLE_BATCH * TRACE_ORACLE_SIZE);
	free(buf);
	return rc;
}

/* ---- sniffing and dispatch ------------------------------------------- */

static enum trace_format sniff_text(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *line = (const char *)p + i;
		const unsigned char *nl = memchr(p + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (p + i)) : n - i;

		i += len + 1;
		trim(&line, &len);
		if (len && line[len - 1] == '\r')
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		if (len > 1 && (line[0] == 'R' || line[0] == 'W') &&
		    is_blank(line[1]))
			return TRACE_VMTRACE;
		return memchr(line, ',', len) ? TRACE_CSV : TRACE_TXT;
	}
	return TRACE_TXT;
}

int trace_sniff(struct tsrc *s, enum trace_format *f)
{
	const unsigned char *p;
	ssize_t n = tsrc_peek(s, TRACE_SNIFF, &p);

	if (n < 0)
		return (int)n;
	for (ssize_t i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
		     p[i] != '\r') ||
		    p[i] == 0x7f) {
			*f = TRACE_ORACLE;
			return 0;
		}
	*f = sniff_text(p, (size_t)n);
	return 0;
}

int trace_parse(struct tsrc *s, enum trace_format f, const struct trace_opts *o,
		struct tload *l)
{
	switch (f) {
	case TRACE_TXT:
		return parse_lines(s, l, false);
	case TRACE_VMTRACE:
		return parse_lines(s, l, true);
	case TRACE_CSV:
		return parse_csv(s, o, l);
	case TRACE_ORACLE:
		return parse_oracle(s, l);
	case TRACE_AUTO:
	case TRACE_NR_FORMATS:
		break;
	}
	return tsrc_error(s, -EINVAL, 0, false, "no format");
}
