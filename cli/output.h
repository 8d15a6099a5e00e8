/*
 * cli/output.h - printing SQLite result rows as the sqlite3 shell does
 * with -header: list, csv, json, box and line modes (used by `vmemu query`
 * and `vmemu report`).
 */
#ifndef VMEMU_CLI_OUTPUT_H
#define VMEMU_CLI_OUTPUT_H

#include <stdio.h>

#include <sqlite3.h>

enum cli_mode {
	CLI_MODE_LIST, /* a|b header, values separated by '|' */
	CLI_MODE_CSV,  /* RFC 4180-ish, quoted where needed */
	CLI_MODE_JSON, /* [{"a":1,"b":"x"},\n{...}] */
	CLI_MODE_BOX,  /* a table drawn with box characters */
	CLI_MODE_LINE, /* one "name = value" line per column */
};

/* "list", "csv", ... -> mode; 0 or -1. */
int cli_mode_parse(const char *name, enum cli_mode *mode);
/* The mode names, "list|csv|json|box|line". */
const char *cli_mode_names(void);
/*
 * Step st to its end and print its rows on out in mode, with a header
 * (nothing at all when there are no rows).  SQLITE_DONE, or the error
 * code that stopped it (sqlite3_errmsg tells why); SQLITE_NOMEM if the
 * host ran out of memory buffering a box.
 */
int cli_print_rows(FILE *out, sqlite3_stmt *st, enum cli_mode mode);

#endif /* VMEMU_CLI_OUTPUT_H */
