/* slice.h: names of sdflow's systemd slices and reading their cgroup files.
 *
 * Every namespace gets sdflow-<ns>.slice under sdflow.slice.  A dash in a
 * slice name means nesting to systemd, so the namespace part is escaped the
 * way systemd-escape does it (team-a -> sdflow-team\x2da.slice). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDFLOW_SLICE "sdflow.slice"

/* True if s is a DNS-1123 label: 1-63 of [a-z0-9-], starting and ending
 * with a letter or digit. */
bool dns1123_label_is_valid(const char *s);

/* Escapes s as systemd does for one unit name component: [A-Za-z0-9:_.]
 * are kept (a leading '.' is not), every other byte becomes \xNN.  Returns
 * the length written (without the NUL), or -ENOBUFS. */
int unit_name_escape(const char *s, char *buf, size_t size);

/* The slice unit of namespace ns ("sdflow-<escaped ns>.slice").  Returns the
 * length, -EINVAL if ns is not a valid namespace name, -ENOBUFS if buf is short. */
int ns_slice_name(const char *ns, char *buf, size_t size);

/* The system user of namespace ns: "sdflow-<ns>", shortened with a hash
 * when that would exceed 32 characters. */
void ns_user_name(const char *ns, char *buf, size_t size);

/* The namespace of slice unit slice ("sdflow-team\x2da.slice" -> "team-a"),
 * the inverse of ns_slice_name().  Returns 0, or -EINVAL when slice is not
 * a namespace's slice. */
int ns_of_slice(const char *slice, char *buf, size_t size);

/* The cgroup of namespace ns relative to the cgroup root
 * ("sdflow.slice/sdflow-<escaped ns>.slice"). */
int ns_slice_cgroup(const char *ns, char *buf, size_t size);

/* Reads a cgroup file that holds one number ("max" reads as UINT64_MAX).
 * root is the cgroup2 mount point (NULL: /sys/fs/cgroup). */
int cgroup_read_u64(const char *root, const char *cgroup, const char *file, uint64_t *ret);

/* Reads one key of a flat keyed file such as cpu.stat ("usage_usec"). */
int cgroup_read_key(const char *root, const char *cgroup, const char *file, const char *key, uint64_t *ret);
