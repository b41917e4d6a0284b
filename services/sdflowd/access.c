/* access.c: see access.h. */
#include <string.h>

#include "access.h"

bool access_is_admin(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, gid_t admin_gid) {
        if (uid == 0)
                return true;
        if (admin_gid == (gid_t) -1)
                return false;
        if (gid == admin_gid)
                return true;
        for (size_t i = 0; groups && i < n_groups; i++)
                if (groups[i] == admin_gid)
                        return true;
        return false;
}

bool access_owns(const char *user, bool admin, json_t *profile) {
        if (admin)
                return true;
        const char *owner = json_string_value(
                json_object_get(json_object_get(json_object_get(profile, "spec"), "owner"), "name"));
        return owner && user && strcmp(owner, user) == 0;
}

bool access_may_use(const char *user, bool admin, json_t *profile, json_t *contributors) {
        if (access_owns(user, admin, profile))
                return true;
        if (!user || !profile)
                return false;
        size_t i;
        json_t *v;
        json_array_foreach(contributors, i, v) {
                const char *c = json_string_value(v);
                if (c && strcmp(c, user) == 0)
                        return true;
        }
        return false;
}
