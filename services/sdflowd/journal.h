/* journal.h: reading units' logs from the journal (sd-journal). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The last tail lines that units logged, oldest first, each
 * "TIMESTAMP UNIT: MESSAGE\n", in a malloc'd buffer.  Returns 0 or a
 * negative errno. */
int journal_tail(char units[][300], size_t n_units, unsigned tail, char **ret, size_t *len);

/* How many entries unit has in the journal (of _TRANSPORT=transport, unless
 * NULL), counting up to max at most, into *ret.  Returns 0 or a negative
 * errno. */
int journal_count(const char *unit, const char *transport, uint64_t max, uint64_t *ret);

/* What the last journal entries that match match1 (and match2, unless
 * NULL), e.g. "UNIT=x.socket" and "_PID=1", say went wrong, into buf: the
 * MESSAGE of the newest of the last ten that has an ERRNO (systemd's
 * "Failed to create listening socket (...): Address already in use",
 * rather than the "Failed to listen on ..." after it), else of the last
 * one, without systemd's "UNIT: " in front.  Returns 0, -ENOENT if there
 * is none, or a negative errno. */
int journal_last_message(const char *match1, const char *match2, char *buf, size_t size);
