/*
 * cli/explain_out.c - the document of facts behind `vmemu explain` and
 * its two printers (cli/explain.h has the idea).
 *
 * Text layout (80 columns):
 *
 *   vmemu explain TOPIC: title            the root
 *                                         a paragraph, wrapped
 *   Section label:                        an object
 *     fact label ................ value   a scalar (label* if emulator-only)
 *     col  col  col                       an array of objects: a table
 *     v    v    v
 *
 * JSON: the same tree, objects as objects, arrays as arrays, scalars as
 * numbers, strings or booleans; paragraphs and figures are left out;
 * "emulator_only" lists the dotted paths of the facts marked EX_EMU.
 * An object or array marked EX_JSON_ONLY (ex_json_only) is left out of
 * the text: data the text shows as a figure.
 *
 * Invariant: a node's key is unique among its siblings (the topics keep
 * it so); every scalar the text shows is a node the JSON prints.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain.h"

#define LABEL_COL 38 /* where a scalar's value starts */
#define INDENT	  2
#define VAL_LEN	  64
#define PATH_LEN  256

enum ex_kind {
	EX_K_OBJ,
	EX_K_ARR,
	EX_K_UINT,
	EX_K_INT,
	EX_K_HEX,
	EX_K_BYTES,
	EX_K_BOOL,
	EX_K_STR,
	EX_K_PARA,
	EX_K_PRE,
};

struct ex_node {
	enum ex_kind kind;
	const char *key, *label;
	unsigned flags;
	union {
		uint64_t u;
		int64_t i;
		bool b;
	} v;
	char *s; /* STR, PARA, PRE */
	struct ex_node *first, *last, *next;
};

static void *ex_alloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p) {
		fputs("vmemu: explain: out of memory\n", stderr);
		exit(CLI_EXIT_FAIL);
	}
	return p;
}

static char *ex_vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("vmemu: explain: out of memory\n", stderr);
		exit(CLI_EXIT_FAIL);
	}
	return s;
}

static struct ex_node *ex_add(struct ex_doc *d, enum ex_kind kind,
			      const char *key, const char *label,
			      unsigned flags)
{
	struct ex_node *n = ex_alloc(sizeof(*n)), *p = d->stack[d->depth];

	n->kind = kind;
	n->key = key;
	n->label = label ? label : key;
	n->flags = flags;
	if (p->last)
		p->last->next = n;
	else
		p->first = n;
	p->last = n;
	return n;
}

void ex_doc_init(struct ex_doc *d, const char *topic, const char *title)
{
	memset(d, 0, sizeof(*d));
	d->root = ex_alloc(sizeof(*d->root));
	d->root->kind = EX_K_OBJ;
	d->stack[0] = d->root;
	ex_str(d, "topic", "topic", 0, "%s", topic);
	ex_str(d, "title", "title", 0, "%s", title);
}

static void ex_free_node(struct ex_node *n)
{
	while (n) {
		struct ex_node *next = n->next;

		ex_free_node(n->first);
		free(n->s);
		free(n);
		n = next;
	}
}

void ex_doc_free(struct ex_doc *d)
{
	ex_free_node(d->root);
	d->root = NULL;
}

void ex_reset(struct ex_doc *d)
{
	d->depth = 0;
}

static void ex_push(struct ex_doc *d, struct ex_node *n)
{
	if (d->depth + 1 >= EX_DEPTH) {
		fputs("vmemu: explain: document nested too deep\n", stderr);
		exit(CLI_EXIT_FAIL);
	}
	d->stack[++d->depth] = n;
}

void ex_obj(struct ex_doc *d, const char *key, const char *label)
{
	ex_push(d, ex_add(d, EX_K_OBJ, key, label, 0));
}

void ex_arr(struct ex_doc *d, const char *key, const char *label)
{
	ex_push(d, ex_add(d, EX_K_ARR, key, label, 0));
}

void ex_end(struct ex_doc *d)
{
	if (d->depth > 0)
		d->depth--;
}

void ex_json_only(struct ex_doc *d)
{
	if (d->depth > 0)
		d->stack[d->depth]->flags |= EX_JSON_ONLY;
}

void ex_uint(struct ex_doc *d, const char *key, const char *label, uint64_t v,
	     unsigned flags)
{
	ex_add(d, EX_K_UINT, key, label, flags)->v.u = v;
}

void ex_int(struct ex_doc *d, const char *key, const char *label, int64_t v,
	    unsigned flags)
{
	ex_add(d, EX_K_INT, key, label, flags)->v.i = v;
}

void ex_hex(struct ex_doc *d, const char *key, const char *label, uint64_t v,
	    unsigned flags)
{
	ex_add(d, EX_K_HEX, key, label, flags)->v.u = v;
}

void ex_bytes(struct ex_doc *d, const char *key, const char *label, uint64_t v,
	      unsigned flags)
{
	ex_add(d, EX_K_BYTES, key, label, flags)->v.u = v;
}

void ex_bool(struct ex_doc *d, const char *key, const char *label, bool v,
	     unsigned flags)
{
	ex_add(d, EX_K_BOOL, key, label, flags)->v.b = v;
}

void ex_str(struct ex_doc *d, const char *key, const char *label,
	    unsigned flags, const char *fmt, ...)
{
	struct ex_node *n = ex_add(d, EX_K_STR, key, label, flags);
	va_list ap;

	va_start(ap, fmt);
	n->s = ex_vfmt(fmt, ap);
	va_end(ap);
}

void ex_para(struct ex_doc *d, const char *fmt, ...)
{
	struct ex_node *n = ex_add(d, EX_K_PARA, NULL, NULL, 0);
	va_list ap;

	va_start(ap, fmt);
	n->s = ex_vfmt(fmt, ap);
	va_end(ap);
}

void ex_pre(struct ex_doc *d, const char *fmt, ...)
{
	struct ex_node *n = ex_add(d, EX_K_PRE, NULL, NULL, 0);
	va_list ap;

	va_start(ap, fmt);
	n->s = ex_vfmt(fmt, ap);
	va_end(ap);
}

void ex_query(struct ex_doc *d, const char *log, const char *sql)
{
	ex_str(d, "query", "to see more", 0, "vmemu query %s \"%s\"",
	       log ? log : "FILE.db", sql);
}

/* ---- text ----------------------------------------------------------------- */

/* A scalar's value as text. */
static void ex_value(const struct ex_node *n, char *buf, size_t len)
{
	char size[32];

	switch (n->kind) {
	case EX_K_UINT:
		snprintf(buf, len, "%llu", (unsigned long long)n->v.u);
		break;
	case EX_K_INT:
		snprintf(buf, len, "%lld", (long long)n->v.i);
		break;
	case EX_K_HEX:
		snprintf(buf, len, "%#llx", (unsigned long long)n->v.u);
		break;
	case EX_K_BYTES:
		cli_format_size(n->v.u, size, sizeof(size));
		if (n->v.u < 1024)
			snprintf(buf, len, "%s", size);
		else
			snprintf(buf, len, "%llu B (%s)",
				 (unsigned long long)n->v.u, size);
		break;
	case EX_K_BOOL:
		snprintf(buf, len, "%s", n->v.b ? "yes" : "no");
		break;
	case EX_K_STR:
		snprintf(buf, len, "%s", n->s);
		break;
	case EX_K_OBJ:
	case EX_K_ARR:
	case EX_K_PARA:
	case EX_K_PRE:
		buf[0] = 0;
		break;
	}
}

/* Words of s, wrapped to EX_WIDTH at indent; cont: continuation text. */
static void ex_wrap(FILE *out, const char *s, int indent, const char *cont)
{
	int col = 0;

	while (*s) {
		size_t w = strcspn(s, " ");

		if (col && col + 1 + (int)w + (int)strlen(cont) > EX_WIDTH) {
			fprintf(out, "%s\n", cont);
			col = 0;
		}
		if (!col)
			col = fprintf(out, "%*s", indent, "");
		else
			col += fprintf(out, " ");
		col += fprintf(out, "%.*s", (int)w, s);
		s += w;
		while (*s == ' ')
			s++;
	}
	if (col)
		fputc('\n', out);
}

static void ex_text_node(FILE *out, const struct ex_node *n, int indent);

static void ex_text_scalar(FILE *out, const struct ex_node *n, int indent)
{
	char val[VAL_LEN * 4], label[VAL_LEN];
	int pad;

	ex_value(n, val, sizeof(val));
	snprintf(label, sizeof(label), "%s%s", n->label,
		 (n->flags & EX_EMU) ? "*" : "");
	pad = LABEL_COL - indent - (int)strlen(label);
	if (pad < 1 || LABEL_COL + (int)strlen(val) > EX_WIDTH) {
		fprintf(out, "%*s%s\n", indent, "", label);
		ex_wrap(out, val, indent + 2 * INDENT, "");
		return;
	}
	fprintf(out, "%*s%s%*s%s\n", indent, "", label, pad, "", val);
}

/* Column widths of a table (an array of objects); how many columns. */
static int ex_widths(const struct ex_node *arr, int *w, int max)
{
	char val[VAL_LEN * 4];
	int ncol = 0, c;

	for (const struct ex_node *row = arr->first; row; row = row->next) {
		c = 0;
		for (const struct ex_node *f = row->first; f && c < max;
		     f = f->next, c++) {
			int lw = (int)strlen(f->label) + !!(f->flags & EX_EMU);

			ex_value(f, val, sizeof(val));
			if (c >= ncol)
				w[ncol++] = 0;
			if (lw > w[c])
				w[c] = lw;
			if ((int)strlen(val) > w[c])
				w[c] = (int)strlen(val);
		}
	}
	return ncol;
}

#define EX_MAX_COLS 12

/* One cell: padded to width and followed by a gap, unless it is last. */
static void ex_cell(FILE *out, const char *s, int width, bool more)
{
	if (more)
		fprintf(out, "%-*s  ", width, s);
	else
		fputs(s, out);
}

static void ex_text_table(FILE *out, const struct ex_node *arr, int indent)
{
	int w[EX_MAX_COLS], ncol = ex_widths(arr, w, EX_MAX_COLS), c;
	char val[VAL_LEN * 4], label[VAL_LEN];

	if (!ncol)
		return;
	fprintf(out, "%*s", indent, "");
	c = 0;
	for (const struct ex_node *f = arr->first->first; f && c < ncol;
	     f = f->next, c++) {
		snprintf(label, sizeof(label), "%s%s", f->label,
			 (f->flags & EX_EMU) ? "*" : "");
		ex_cell(out, label, w[c], c + 1 < ncol);
	}
	fputc('\n', out);
	for (const struct ex_node *row = arr->first; row; row = row->next) {
		fprintf(out, "%*s", indent, "");
		c = 0;
		for (const struct ex_node *f = row->first; f && c < ncol;
		     f = f->next, c++) {
			ex_value(f, val, sizeof(val));
			ex_cell(out, val, w[c], c + 1 < ncol);
		}
		fputc('\n', out);
	}
}

static void ex_text_list(FILE *out, const struct ex_node *arr, int indent)
{
	char line[EX_WIDTH * 8] = "", val[VAL_LEN * 4];
	size_t n = 0;

	for (const struct ex_node *f = arr->first; f; f = f->next) {
		ex_value(f, val, sizeof(val));
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s",
				      n ? ", " : "", val);
		if (n >= sizeof(line))
			break;
	}
	fprintf(out, "%*s%s:\n", indent, "", arr->label);
	ex_wrap(out, line, indent + INDENT, "");
}

static void ex_text_children(FILE *out, const struct ex_node *n, int indent)
{
	for (const struct ex_node *c = n->first; c; c = c->next)
		ex_text_node(out, c, indent);
}

static void ex_text_node(FILE *out, const struct ex_node *n, int indent)
{
	if (n->flags & EX_JSON_ONLY)
		return;
	switch (n->kind) {
	case EX_K_OBJ:
		fprintf(out, "\n%*s%s:\n", indent, "", n->label);
		ex_text_children(out, n, indent + INDENT);
		break;
	case EX_K_ARR:
		if (n->first && n->first->kind == EX_K_OBJ) {
			fprintf(out, "\n%*s%s:\n", indent, "", n->label);
			ex_text_table(out, n, indent + INDENT);
		} else if (n->first) {
			ex_text_list(out, n, indent);
		}
		break;
	case EX_K_PARA:
		if (!indent) /* a paragraph of its own between sections */
			fputc('\n', out);
		ex_wrap(out, n->s, indent, "");
		break;
	case EX_K_PRE:
		for (const char *s = n->s; *s;) {
			size_t w = strcspn(s, "\n");

			fprintf(out, "%*s%.*s\n", w ? indent : 0, "", (int)w,
				s);
			s += w + (s[w] == '\n');
		}
		break;
	case EX_K_UINT:
	case EX_K_INT:
	case EX_K_HEX:
	case EX_K_BYTES:
	case EX_K_BOOL:
	case EX_K_STR:
		ex_text_scalar(out, n, indent);
		break;
	}
}

/* Is any node below n marked emulator-only? */
static bool ex_has_emu(const struct ex_node *n)
{
	for (const struct ex_node *c = n->first; c; c = c->next)
		if ((c->flags & EX_EMU) || ex_has_emu(c))
			return true;
	return false;
}

int ex_print_text(FILE *out, const struct ex_doc *d)
{
	const struct ex_node *topic = d->root->first, *title = topic->next;
	const struct ex_node *query = NULL;
	char head[EX_WIDTH * 2];

	snprintf(head, sizeof(head), "vmemu explain %s: %s", topic->s,
		 title->s);
	ex_wrap(out, head, 0, "");
	for (const struct ex_node *c = title->next; c; c = c->next) {
		if (c->kind == EX_K_STR && strcmp(c->key, "query") == 0)
			query = c;
		else
			ex_text_node(out, c, 0);
	}
	if (ex_has_emu(d->root))
		fputs("\n* emulator-only: vmemu's own, no Linux counterpart\n",
		      out);
	if (query) {
		fputs("\nTo see more (the run's event log):\n", out);
		ex_wrap(out, query->s, INDENT, " \\");
	}
	return ferror(out) ? -1 : 0;
}

/* ---- JSON ----------------------------------------------------------------- */

static void ex_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static bool ex_json_skip(const struct ex_node *n)
{
	return n->kind == EX_K_PARA || n->kind == EX_K_PRE;
}

static void ex_json_node(FILE *out, const struct ex_node *n, bool keyed)
{
	bool first = true;

	if (keyed) {
		ex_json_str(out, n->key);
		fputc(':', out);
	}
	switch (n->kind) {
	case EX_K_OBJ:
	case EX_K_ARR:
		fputc(n->kind == EX_K_OBJ ? '{' : '[', out);
		for (const struct ex_node *c = n->first; c; c = c->next) {
			if (ex_json_skip(c))
				continue;
			if (!first)
				fputc(',', out);
			first = false;
			ex_json_node(out, c, n->kind == EX_K_OBJ);
		}
		fputc(n->kind == EX_K_OBJ ? '}' : ']', out);
		break;
	case EX_K_UINT:
	case EX_K_HEX:
	case EX_K_BYTES:
		fprintf(out, "%llu", (unsigned long long)n->v.u);
		break;
	case EX_K_INT:
		fprintf(out, "%lld", (long long)n->v.i);
		break;
	case EX_K_BOOL:
		fputs(n->v.b ? "true" : "false", out);
		break;
	case EX_K_STR:
		ex_json_str(out, n->s);
		break;
	case EX_K_PARA:
	case EX_K_PRE:
		break;
	}
}

/* The dotted paths of emulator-only facts ("a.b.3.c"). */
static void ex_json_emu(FILE *out, const struct ex_node *n, const char *path,
			bool *first)
{
	char sub[PATH_LEN];
	unsigned i = 0;

	for (const struct ex_node *c = n->first; c; c = c->next, i++) {
		if (n->kind == EX_K_ARR)
			snprintf(sub, sizeof(sub), "%s%s%u", path,
				 *path ? "." : "", i);
		else
			snprintf(sub, sizeof(sub), "%s%s%s", path,
				 *path ? "." : "", c->key ? c->key : "");
		if (c->flags & EX_EMU) {
			fputs(*first ? "" : ",", out);
			ex_json_str(out, sub);
			*first = false;
		}
		ex_json_emu(out, c, sub, first);
	}
}

int ex_print_json(FILE *out, const struct ex_doc *d)
{
	bool first = true;

	fputc('{', out);
	for (const struct ex_node *c = d->root->first; c; c = c->next) {
		if (ex_json_skip(c))
			continue;
		if (!first)
			fputc(',', out);
		first = false;
		ex_json_node(out, c, true);
	}
	fputs(",\"emulator_only\":[", out);
	first = true;
	ex_json_emu(out, d->root, "", &first);
	fputs("]}\n", out);
	return ferror(out) ? -1 : 0;
}
