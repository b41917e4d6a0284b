/* safeio.h: reading what a workload wrote, from a process that has more
 * rights than the workload (sdflowd): never through a link, never from
 * outside the directory it is supposed to be in, never a FIFO or device.
 *
 * A path is given as a trusted directory (base: made and owned by sdflow)
 * and a relative path under it (rel), whose every component is walked with
 * O_NOFOLLOW: a symbolic link anywhere in rel, a ".." or "." component, an
 * empty component or a final component that is not a regular file (or one
 * with more than one name: a hard link) is refused. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Opens base/rel for reading.  Returns the file descriptor, or -ENOENT,
 * -ELOOP (a link), -EINVAL (a bad component), -EFTYPE-like -EBADFD (not a
 * regular file), -EMLINK (a hard link), or another negative errno. */
int safe_open_beneath(const char *base, const char *rel);

/* Reads at most size - 1 bytes of base/rel into buf, NUL-terminated; *len
 * (may be NULL) gets the count.  Returns 0 or a negative errno as above. */
int safe_read_beneath(const char *base, const char *rel, char *buf, size_t size, size_t *len);

/* Whether base/rel is a regular file, reached without a link. */
bool safe_exists_beneath(const char *base, const char *rel);

/* A path under base as (base, rel): rel points into path after "base/";
 * NULL when path is not under base. */
const char *safe_rel(const char *base, const char *path);
