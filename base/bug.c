/*
 * base/bug.c - BUG_ON()'s slow path.  SIGSAFE: write(2) and abort() only.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/types.h"

static void put(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));
	(void)r;
}

_Noreturn void vm_bug(const char *file, int line, const char *what)
{
	char num[16];
	int i = (int)sizeof(num) - 1;
	unsigned u = line < 0 ? 0u : (unsigned)line;

	num[i] = '\0';
	do {
		num[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u && i > 0);
	put("vmemu: BUG at ");
	put(file);
	put(":");
	put(num + i);
	put(": ");
	put(what);
	put("\n");
	abort();
}
