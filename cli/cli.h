/*
 * cli/cli.h - what the vmemu command's files share: exit statuses, the
 * subcommands' entry points, argument parsing and error lines.
 *
 * Conventions: bad usage prints exactly one line, "vmemu: <problem>", on
 * stderr and exits CLI_EXIT_USAGE, before anything is written or created;
 * a subcommand that ran but found a failure (a task that did not end as
 * expected, an SQL error) exits CLI_EXIT_FAIL.  Help goes to stdout.
 * Single-threaded: only the main thread runs this code (the tasks' threads
 * run workloads/).
 */
#ifndef VMEMU_CLI_H
#define VMEMU_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/vm.h"

#define CLI_VERSION VM_VERSION

#define CLI_EXIT_OK	 0
#define CLI_EXIT_FAIL	 1
#define CLI_EXIT_USAGE	 2
#define CLI_EXIT_SIGINT	 130 /* 128 + SIGINT, as shells report it */
#define CLI_EXIT_SIGTERM 143 /* 128 + SIGTERM */

/* Subcommands: argv[0] is the subcommand's name; the exit status. */
int cli_run(int argc, char **argv);
int cli_query(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_explain(int argc, char **argv); /* cli/explain.c */
int cli_alloc(int argc, char **argv);	/* cli/alloc.c */
int cli_sim(int argc, char **argv);	/* cli/sim.c */

/* ---- opts.c ------------------------------------------------------------ */

/*
 * How to name vmemu in the commands it suggests: argv[0] when it has a
 * '/' ("./vmemu", "build/vmemu"), else "vmemu" (found on PATH).
 */
extern const char *cli_prog;
void cli_set_prog(const char *argv0);

/* Print "vmemu: <fmt...>" on stderr; returns CLI_EXIT_USAGE. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, with status CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Walking argv: cli_arg_next gives the next argument; for "--name=value"
 * it gives "--name" in *arg and "value" in *inline_val (else NULL).
 * cli_arg_value then takes the option's value (the inline one or the
 * next argument); NULL after printing "<opt> needs a value".
 */
struct cli_args {
	int argc;
	char **argv;
	int i;
	char name[64]; /* "--name" of a "--name=value" */
};

bool cli_arg_next(struct cli_args *a, const char **arg,
		  const char **inline_val);
const char *cli_arg_value(struct cli_args *a, const char *ctx, const char *opt,
			  const char *inline_val);
bool cli_is_help(const char *arg);
/*
 * Whether arg looks like an option: '-' and more, without white space
 * (so SQL that starts with a "-- comment" is an operand).
 */
bool cli_is_option(const char *arg);

/* Numbers: 0, or -1 on junk, sign where not allowed, or overflow. */
int cli_parse_size(const char *text, uint64_t *bytes); /* 64M, 4KiB, 4096 */
int cli_parse_u64(const char *text, uint64_t *out);
int cli_parse_int(const char *text, int *out);
/* "64 MiB", "1.5 GiB", "512 KiB", "100 B". */
void cli_format_size(uint64_t bytes, char *buf, size_t len);

#endif /* VMEMU_CLI_H */
