/* auth.h: who is calling, and what they may do.
 *
 * Callers are identified by SO_PEERCRED (uid, gid) and SO_PEERGROUPS on the
 * API socket.  Root and members of the admin group (sdflow-admin) administer
 * everything.  Anyone else reaches only the namespaces whose Profile names
 * them as owner (spec.owner.name) or contributor; Profiles themselves are
 * created, changed and deleted by administrators only.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "server.h"
#include "store.h"

typedef struct Caller {
        uid_t uid;
        gid_t gid;
        bool admin;
        char user[64]; /* the user name, or "uid:N" if it has none */
} Caller;

/* Whether the peer of Unix socket fd (uid, gid) administers: root, or a
 * member of admin_gid (primary or supplementary, SO_PEERGROUPS). */
bool peer_is_admin(int fd, uid_t uid, gid_t gid, gid_t admin_gid);

/* Identifies the peer of c.  Returns 0, or a negative errno when the peer
 * cannot be identified (a TCP socket, say). */
int caller_identify(HttpConn *c, gid_t admin_gid, Caller *ret);

/* True if the caller may see and change objects of namespace ns. */
bool caller_may_use_namespace(const Caller *caller, Store *store, const char *ns);

/* True if the caller may see the Profile (owner, contributor or admin). */
bool caller_may_see_profile(const Caller *caller, Store *store, json_t *profile);

/* True if the caller owns the Profile (or administers). */
bool caller_owns_profile(const Caller *caller, json_t *profile);
