/* journal.h: reading units' logs from the journal (sd-journal). */
#pragma once

#include <stddef.h>

/* The last tail lines that units logged, oldest first, each
 * "TIMESTAMP UNIT: MESSAGE\n", in a malloc'd buffer.  Returns 0 or a
 * negative errno. */
int journal_tail(char units[][300], size_t n_units, unsigned tail, char **ret, size_t *len);
