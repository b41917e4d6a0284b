/* auth.c: see auth.h. */
#include <sys/socket.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "auth.h"
#include "kinds.h"

bool peer_is_admin(int fd, uid_t uid, gid_t gid, gid_t admin_gid) {
        gid_t groups[256];
        socklen_t l = 0;
        /* The supplementary groups, only when the uid and primary group do not decide. */
        if (admin_gid != (gid_t) -1 && !access_is_admin(uid, gid, NULL, 0, admin_gid)) {
                l = sizeof groups;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &l) < 0)
                        l = 0;
        }
        return access_is_admin(uid, gid, groups, l / sizeof groups[0], admin_gid);
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
        return access_owns(caller->user, caller->admin, profile);
}

bool caller_may_see_profile(const Caller *caller, Store *store, json_t *profile) {
        json_auto_t *cs = NULL;
        if (access_owns(caller->user, caller->admin, profile))
                return true;
        if (store_contributors(store, manifest_name(profile), &cs) < 0)
                return false;
        return access_may_use(caller->user, caller->admin, profile, cs);
}

bool caller_may_use_namespace(const Caller *caller, Store *store, const char *ns) {
        json_auto_t *profile = NULL;
        if (caller->admin)
                return true;
        if (!ns || store_get(store, &kind_profile, NULL, ns, &profile) < 0)
                return false;
        return caller_may_see_profile(caller, store, profile);
}
