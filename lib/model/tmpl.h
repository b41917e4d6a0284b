/* tmpl.h: Argo's template variables, {{inputs.parameters.x}} and the like.
 *
 * A text is copied with each {{name}} (spaces inside the braces ignored)
 * replaced by what lookup returns for name.  An unknown name, an
 * unterminated {{, or an expression ({{=...}}, which sdflow does not
 * evaluate) is an error naming it.  No I/O. */
#pragma once

#include <stddef.h>

/* Sets *value (not copied; valid until the expansion returns) and returns
 * 0, or returns -ENOENT when name is unknown. */
typedef int (*tmpl_lookup_t)(const char *name, const char **value, void *userdata);

/* Expands in into a new string (*ret, the caller frees it).  Returns 0, or
 * -ENOENT (unknown variable) or -EINVAL (malformed) with a message in err,
 * or -ENOMEM. */
int tmpl_expand(const char *in, tmpl_lookup_t lookup, void *userdata, char **ret, char *err, size_t errsz);

/* Calls each with every variable name in, in order; stops at the first
 * negative result and returns it.  Returns 0, or -EINVAL with err for a
 * malformed text. */
int tmpl_each(const char *in, int (*each)(const char *name, void *userdata), void *userdata, char *err,
              size_t errsz);
