/* access.h: who may do what through the API, decided without I/O (the
 * caller's identity, the Profile and its contributors are given): auth.c
 * gathers them (SO_PEERCRED, SO_PEERGROUPS, the store), these decide. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether a caller administers: root, or a member of admin_gid (primary, or
 * one of its n_groups supplementary groups).  admin_gid (gid_t) -1: nobody
 * but root. */
bool access_is_admin(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, gid_t admin_gid);

/* Whether user (a name; "uid:N" for a caller without one) owns the Profile:
 * its spec.owner.name, exactly. */
bool access_owns(const char *user, bool admin, json_t *profile);

/* Whether user may see the Profile and use its namespace: an administrator,
 * its owner, or one of contributors (a JSON array of names, may be NULL). */
bool access_may_use(const char *user, bool admin, json_t *profile, json_t *contributors);
