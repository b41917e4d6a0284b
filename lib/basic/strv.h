/* strv.h: NULL-terminated vectors of owned strings (argv, Environment=,
 * a unit's lists). */
#pragma once

#include <stddef.h>

#include "macro.h"

/* Frees v and its strings; NULL-safe; returns NULL. */
char **strv_free(char **v);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *v);

/* Appends the strings of v to *list, taking v and its strings (freed
 * also on failure).  Returns 0 or -ENOMEM. */
int strv_extend(char ***list, char **v);

/* v (with its first n entries filled) when none of them is NULL (an
 * allocation that failed), else NULL with all of it freed: no vector is
 * used with an entry missing.  v[n] must be NULL already. */
char **strv_complete(char **v, size_t n);
