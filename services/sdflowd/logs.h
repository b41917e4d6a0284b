/* logs.h: the .../log subresources' answer, from the journal. */
#pragma once

#include <stddef.h>

#include "rest.h"

#define LOGS_UNIT_MAX 300

/* Answers with the last tail journal lines of units, as text.  Where a
 * unit's node directory is known (dirs[i], may be NULL), it says when the
 * journal lost lines of the step's stdout (journald's rate limit), and how
 * many: what it shows is then not all there was. */
void logs_reply(HttpConn *c, const Route *rt, char units[][LOGS_UNIT_MAX], const char *const *dirs, size_t n_units,
                unsigned tail);
