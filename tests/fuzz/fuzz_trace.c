/*
 * tests/fuzz/fuzz_trace.c - the libFuzzer entry point of one trace reader;
 * `make fuzz` builds it once per target with -DFUZZ_TARGET="NAME" (see
 * fuzz_one.h for the targets and the checks) and runs each for FUZZ_TIME
 * seconds from tests/fuzz/corpus/NAME/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_one.h"

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET=\"txt\" (or csv, vmtrace, oracle, ...)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fuzz_target *t;

	if (!t)
		t = fuzz_find(FUZZ_TARGET);
	if (!t)
		abort();
	fuzz_one(t, data, size);
	return 0;
}
