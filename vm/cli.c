/*
 * vm/cli.c - the vmemu command line (placeholder until the CLI issue).
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "vmemu: nothing to run yet\n");
	return 2;
}
