/* auth.c: see auth.h. */
#include <sys/socket.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "kinds.h"

bool peer_is_admin(int fd, uid_t uid, gid_t gid, gid_t admin_gid) {
        gid_t groups[256];
        if (uid == 0)
                return true;
        if (admin_gid == (gid_t) -1)
                return false;
        if (gid == admin_gid)
                return true;
        socklen_t l = sizeof groups;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &l) < 0)
                return false;
        for (size_t i = 0; i < l / sizeof groups[0]; i++)
                if (groups[i] == admin_gid)
                        return true;
        return false;
}

int caller_identify(HttpConn *c, gid_t admin_gid, Caller *ret) {
        struct ucred cred;
        int r;

        r = http_conn_peer_cred(c, &cred);
        if (r < 0)
                return r;
        *ret = (Caller) { .uid = cred.uid, .gid = cred.gid };
        ret->admin = peer_is_admin(http_conn_fd(c), cred.uid, cred.gid, admin_gid);

        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwuid_r(cred.uid, &pw, buf, sizeof buf, &res) == 0 && res)
                snprintf(ret->user, sizeof ret->user, "%s", pw.pw_name);
        else
                snprintf(ret->user, sizeof ret->user, "uid:%u", (unsigned) cred.uid);
        return 0;
}

bool caller_owns_profile(const Caller *caller, json_t *profile) {
        if (caller->admin)
                return true;
        json_t *spec = json_object_get(profile, "spec");
        const char *owner = json_string_value(json_object_get(json_object_get(spec, "owner"), "name"));
        return owner && strcmp(owner, caller->user) == 0;
}

bool caller_may_see_profile(const Caller *caller, Store *store, json_t *profile) {
        json_t *cs;
        size_t i;
        json_t *v;
        bool ok = false;
        if (caller_owns_profile(caller, profile))
                return true;
        if (store_contributors(store, manifest_name(profile), &cs) < 0)
                return false;
        json_array_foreach(cs, i, v)
                if (strcmp(json_string_value(v), caller->user) == 0)
                        ok = true;
        json_decref(cs);
        return ok;
}

bool caller_may_use_namespace(const Caller *caller, Store *store, const char *ns) {
        json_t *profile;
        if (caller->admin)
                return true;
        if (!ns || store_get(store, &kind_profile, NULL, ns, &profile) < 0)
                return false;
        bool ok = caller_may_see_profile(caller, store, profile);
        json_decref(profile);
        return ok;
}
