/*
 * reclaim/policy.c - the table of replacement policies (policy.h).  A new
 * policy is one more line here.
 */
#include "reclaim/policy.h"

#include <stdio.h>
#include <string.h>

static const struct reclaim_policy *const policies[] = {
	&policy_linux,
};

const struct reclaim_policy *reclaim_policy_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(policies); i++)
		if (name && strcmp(policies[i]->name, name) == 0)
			return policies[i];
	return NULL;
}

int reclaim_policy_names(char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
		int n = snprintf(used < len ? buf + used : NULL,
				 used < len ? len - used : 0, "%s%s",
				 i ? ", " : "", policies[i]->name);

		if (n < 0)
			return n;
		used += (size_t)n;
	}
	return (int)used;
}
