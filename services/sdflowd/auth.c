/* auth.c: see auth.h. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "kinds.h"

int caller_identify(HttpConn *c, gid_t admin_gid, Caller *ret) {
        struct ucred cred;
        gid_t groups[256];
        int r, n;

        r = http_conn_peer_cred(c, &cred);
        if (r < 0)
                return r;
        *ret = (Caller) { .uid = cred.uid, .gid = cred.gid };
        ret->admin = cred.uid == 0 || (admin_gid != (gid_t) -1 && cred.gid == admin_gid);
        n = http_conn_peer_groups(c, groups, sizeof groups / sizeof groups[0]);
        for (int i = 0; i < n && !ret->admin; i++)
                if (groups[i] == admin_gid && admin_gid != (gid_t) -1)
                        ret->admin = true;

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
