/*
 * cli/opts.c - argument parsing shared by the subcommands: the option
 * walker ("--opt value" and "--opt=value"), numbers, sizes, and the one
 * line that bad input gets.
 *
 * Sizes are parsed by workloads/ (wl_parse_size), so that `--mem 64M` and
 * `-w seq:size=64M` accept exactly the same spellings: a decimal number
 * of bytes with an optional K, M, G, T (or k, m, g) or KiB, MiB, GiB,
 * TiB suffix, all powers of 1024.  No state.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "workloads/wl.h"

const char *cli_prog = "vmemu";

void cli_set_prog(const char *argv0)
{
	if (argv0 && strchr(argv0, '/'))
		cli_prog = argv0;
}

static void vsay(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("vmemu: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return CLI_EXIT_FAIL;
}

bool cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

bool cli_is_option(const char *arg)
{
	return arg[0] == '-' && arg[1] && !strpbrk(arg, " \t\n");
}

bool cli_arg_next(struct cli_args *a, const char **arg, const char **inline_val)
{
	const char *s, *eq;

	if (a->i >= a->argc)
		return false;
	s = a->argv[a->i++];
	eq = strncmp(s, "--", 2) == 0 ? strchr(s, '=') : NULL;
	*inline_val = NULL;
	*arg = s;
	if (eq && (size_t)(eq - s) < sizeof(a->name)) {
		snprintf(a->name, sizeof(a->name), "%.*s", (int)(eq - s), s);
		*arg = a->name;
		*inline_val = eq + 1;
	}
	return true;
}

const char *cli_arg_value(struct cli_args *a, const char *ctx, const char *opt,
			  const char *inline_val)
{
	if (inline_val)
		return inline_val;
	if (a->i < a->argc)
		return a->argv[a->i++];
	cli_error("%s: %s needs a value", ctx, opt);
	return NULL;
}

int cli_parse_size(const char *text, uint64_t *bytes)
{
	return wl_parse_size(text, bytes) < 0 ? -1 : 0;
}

int cli_parse_u64(const char *text, uint64_t *out)
{
	char *end;

	if (!text || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	*out = strtoull(text, &end, 10);
	return errno || *end ? -1 : 0;
}

int cli_parse_int(const char *text, int *out)
{
	char *end;
	long v;

	if (!text || !*text || (*text != '-' && (*text < '0' || *text > '9')))
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < INT_MIN || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

void cli_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B",   "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
	else
		snprintf(buf, len, "%.2f %s", v, units[u]);
}
