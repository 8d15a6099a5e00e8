/*
 * cli/output.c - SQLite rows printed as `sqlite3 -header -MODE` prints
 * them (checked against sqlite3 3.40):
 *
 *   list   header "a|b", then "1|x"; NULL prints as nothing
 *   csv    ',' separated; a text value (and each header name) is quoted
 *          with "..." (inner " doubled) when empty or when it holds a
 *          control character, space, '"', '\'', ',', DEL or any byte
 *          above 0x7f
 *   json   [{"a":1,"b":"x"},\n{"a":2,"b":null}]; reals as %!.20g
 *          (SQLite's printf), infinities as 1e999
 *   box    ┌─┬─┐ table: header centred, values left-aligned, a rule
 *          between rows when some value spans lines
 *   line   "name = value" per column, names right-aligned to the widest
 *          (at least 5), a blank line between rows
 *
 * A statement without rows prints nothing, not even its header.  Values
 * are taken with sqlite3_column_text (SQLite's own text for numbers), so
 * list/csv/box/line show numbers exactly as sqlite3 does.  No state.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"

#define LINE_MODE_MIN_WIDTH 5

static const char *const mode_names[] = {
	[CLI_MODE_LIST] = "list", [CLI_MODE_CSV] = "csv",
	[CLI_MODE_JSON] = "json", [CLI_MODE_BOX] = "box",
	[CLI_MODE_LINE] = "line",
};

#define NR_MODES (sizeof(mode_names) / sizeof(mode_names[0]))

int cli_mode_parse(const char *name, enum cli_mode *mode)
{
	for (size_t m = 0; m < NR_MODES; m++)
		if (strcmp(name, mode_names[m]) == 0) {
			*mode = (enum cli_mode)m;
			return 0;
		}
	return -1;
}

const char *cli_mode_names(void)
{
	return "list|csv|json|box|line";
}

static const char *cell(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* ---- list, csv, line ----------------------------------------------- */

static bool csv_needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '\'' || *p == ',' ||
		    *p >= 0x7f)
			return true;
	return false;
}

static void put_csv(FILE *out, const char *s, bool text)
{
	if (!text || !csv_needs_quotes(s)) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void put_header(FILE *out, sqlite3_stmt *st, enum cli_mode mode)
{
	int n = sqlite3_column_count(st);

	for (int i = 0; i < n; i++) {
		if (i)
			fputc(mode == CLI_MODE_CSV ? ',' : '|', out);
		if (mode == CLI_MODE_CSV)
			put_csv(out, sqlite3_column_name(st, i), true);
		else
			fputs(sqlite3_column_name(st, i), out);
	}
	fputc('\n', out);
}

static void put_separated(FILE *out, sqlite3_stmt *st, enum cli_mode mode)
{
	int n = sqlite3_column_count(st);

	for (int i = 0; i < n; i++) {
		int type = sqlite3_column_type(st, i);

		if (i)
			fputc(mode == CLI_MODE_CSV ? ',' : '|', out);
		if (mode == CLI_MODE_CSV)
			put_csv(out, cell(st, i),
				type == SQLITE_TEXT || type == SQLITE_BLOB);
		else
			fputs(cell(st, i), out);
	}
	fputc('\n', out);
}

static void put_lines(FILE *out, sqlite3_stmt *st, long row)
{
	int n = sqlite3_column_count(st), w = LINE_MODE_MIN_WIDTH;

	for (int i = 0; i < n; i++) {
		int len = (int)strlen(sqlite3_column_name(st, i));

		w = len > w ? len : w;
	}
	if (row)
		fputc('\n', out);
	for (int i = 0; i < n; i++)
		fprintf(out, "%*s = %s\n", w, sqlite3_column_name(st, i),
			cell(st, i));
}

/* ---- json ------------------------------------------------------------ */

static void put_json_string(FILE *out, const unsigned char *s, int len)
{
	fputc('"', out);
	for (int i = 0; i < len; i++) {
		unsigned char c = s[i];
		const char *esc = c == '"'  ? "\\\"" :
				  c == '\\' ? "\\\\" :
				  c == '\b' ? "\\b" :
				  c == '\f' ? "\\f" :
				  c == '\n' ? "\\n" :
				  c == '\r' ? "\\r" :
				  c == '\t' ? "\\t" :
					      NULL;

		if (esc)
			fputs(esc, out);
		else if (c < ' ')
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void put_json_value(FILE *out, sqlite3_stmt *st, int i)
{
	double d;
	char *txt;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		fputs("null", out);
		break;
	case SQLITE_INTEGER:
		fputs(cell(st, i), out);
		break;
	case SQLITE_FLOAT:
		d = sqlite3_column_double(st, i);
		if (isinf(d)) {
			fputs(d > 0 ? "1e999" : "-1e999", out);
			break;
		}
		txt = sqlite3_mprintf("%!.20g", d);
		fputs(txt ? txt : "null", out);
		sqlite3_free(txt);
		break;
	default: /* text, blob */
		put_json_string(out, sqlite3_column_text(st, i),
				sqlite3_column_bytes(st, i));
	}
}

static void put_json_row(FILE *out, sqlite3_stmt *st, long row)
{
	int n = sqlite3_column_count(st);

	fputs(row ? ",\n{" : "[{", out);
	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);

		if (i)
			fputc(',', out);
		put_json_string(out, (const unsigned char *)name,
				(int)strlen(name));
		fputc(':', out);
		put_json_value(out, st, i);
	}
	fputc('}', out);
}

/* ---- box: buffered, then drawn --------------------------------------- */

struct box {
	int ncol;
	size_t nrow, cap; /* rows including the header (row 0) */
	char **cells;	  /* nrow x ncol, malloc'd strings */
	size_t *width;	  /* per column, in characters */
	bool multiline;
};

/* Characters (UTF-8 code points) in the first len bytes of s. */
static size_t utf8_len(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static int box_add(struct box *b, const char *s, size_t row, int col)
{
	size_t at = row * (size_t)b->ncol + (size_t)col;
	const char *line = s;

	b->cells[at] = strdup(s);
	if (!b->cells[at])
		return -1;
	for (const char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		size_t w = utf8_len(line, (size_t)(nl - line));

		b->multiline = true;
		b->width[col] = w > b->width[col] ? w : b->width[col];
	}
	if (utf8_len(line, strlen(line)) > b->width[col])
		b->width[col] = utf8_len(line, strlen(line));
	return 0;
}

static int box_row(struct box *b, sqlite3_stmt *st, bool header)
{
	if (b->nrow == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		char **cells = realloc(b->cells,
				       cap * (size_t)b->ncol * sizeof(*cells));

		if (!cells)
			return -1;
		b->cells = cells;
		b->cap = cap;
	}
	for (int i = 0; i < b->ncol; i++)
		b->cells[b->nrow * (size_t)b->ncol + (size_t)i] = NULL;
	b->nrow++; /* counted before it is filled: box_free sees it all */
	for (int i = 0; i < b->ncol; i++) {
		const char *s = header ? sqlite3_column_name(st, i) :
					 cell(st, i);

		if (box_add(b, s, b->nrow - 1, i) < 0)
			return -1;
	}
	return 0;
}

static void box_free(struct box *b)
{
	for (size_t i = 0; i < b->nrow * (size_t)b->ncol; i++)
		free(b->cells[i]);
	free(b->cells);
	free(b->width);
}

static void box_rule(FILE *out, const struct box *b, const char *left,
		     const char *mid, const char *right)
{
	fputs(left, out);
	for (int i = 0; i < b->ncol; i++) {
		if (i)
			fputs(mid, out);
		for (size_t k = 0; k < b->width[i] + 2; k++)
			fputs("─", out);
	}
	fputs(right, out);
	fputc('\n', out);
}

/* Line k of a cell (its text up to the next '\n'); *len its bytes. */
static const char *cell_line(const char *s, unsigned k, size_t *len)
{
	for (; k && s; k--) {
		s = strchr(s, '\n');
		s = s ? s + 1 : NULL;
	}
	if (!s) {
		*len = 0;
		return "";
	}
	*len = strcspn(s, "\n");
	return s;
}

static unsigned cell_lines(const char *s)
{
	unsigned n = 1;

	while ((s = strchr(s, '\n')))
		n++, s++;
	return n;
}

static void box_print_row(FILE *out, const struct box *b, size_t r, bool centre)
{
	char **row = b->cells + r * (size_t)b->ncol;
	unsigned lines = 1;

	for (int i = 0; i < b->ncol; i++)
		if (cell_lines(row[i]) > lines)
			lines = cell_lines(row[i]);
	for (unsigned k = 0; k < lines; k++) {
		for (int i = 0; i < b->ncol; i++) {
			size_t len, w;
			const char *s = cell_line(row[i], k, &len);
			size_t pad = b->width[i] - utf8_len(s, len);
			size_t left = centre ? pad / 2 : 0;

			w = pad - left;
			fprintf(out, "│ %*s%.*s%*s ", (int)left, "", (int)len,
				s, (int)w, "");
		}
		fputs("│\n", out);
	}
}

static void box_print(FILE *out, const struct box *b)
{
	box_rule(out, b, "┌", "┬", "┐");
	box_print_row(out, b, 0, true);
	box_rule(out, b, "├", "┼", "┤");
	for (size_t r = 1; r < b->nrow; r++) {
		if (r > 1 && b->multiline)
			box_rule(out, b, "├", "┼", "┤");
		box_print_row(out, b, r, false);
	}
	box_rule(out, b, "└", "┴", "┘");
}

static int print_box(FILE *out, sqlite3_stmt *st)
{
	struct box b = { .ncol = sqlite3_column_count(st) };
	int rc;

	b.width = calloc((size_t)b.ncol + 1, sizeof(*b.width));
	if (!b.width)
		return SQLITE_NOMEM;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((b.nrow == 0 && box_row(&b, st, true) < 0) ||
		    box_row(&b, st, false) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if (rc == SQLITE_DONE && b.nrow)
		box_print(out, &b);
	box_free(&b);
	return rc;
}

int cli_print_rows(FILE *out, sqlite3_stmt *st, enum cli_mode mode)
{
	long row = 0;
	int rc;

	if (mode == CLI_MODE_BOX)
		return print_box(out, st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (mode == CLI_MODE_JSON)
			put_json_row(out, st, row);
		else if (mode == CLI_MODE_LINE)
			put_lines(out, st, row);
		else {
			if (row == 0)
				put_header(out, st, mode);
			put_separated(out, st, mode);
		}
		row++;
	}
	if (mode == CLI_MODE_JSON && row)
		fputs("]\n", out);
	return rc;
}
