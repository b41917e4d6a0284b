/* ctl-profile.c: the Profile controller.  A Profile is a namespace: a
 * systemd slice with its limits, a Unix user and a directory (namespaces.c).
 * Its subresources decide who else may use it (contributors) and who may
 * call its models through the gateway (tokens); /v1/top/namespaces shows
 * each namespace's quota and use. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "controllers.h"
#include "crashguard.h"
#include "digest.h"
#include "log.h"
#include "objects.h"
#include "slice.h"

typedef struct ProfileCtl {
        Objects *objects;
        json_t *applying;           /* name -> the token of the apply whose namespace is being made */
        unsigned long long applied; /* the last token given */
        unsigned restoring;         /* namespaces made again at start, on the loop */
} ProfileCtl;

static bool unix_user_exists(const char *name) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        return getpwnam_r(name, &pw, buf, sizeof buf, &res) == 0 && res;
}

/* Stores status (not consumed) with the namespace's contributors in it;
 * replaces *obj (if given) by the stored object. */
static void set_profile_status(ProfileCtl *p, const char *name, json_t *status, json_t **obj) {
        Objects *o = p->objects;
        json_t *cs, *now;
        json_auto_t *st = json_deep_copy(status), *stored = NULL;
        if (!st || store_get(o->store, &kind_profile, NULL, name, &stored) < 0)
                return;
        if (store_contributors(o->store, name, &cs) >= 0)
                json_object_set_new(st, "contributors", cs);
        if (objects_set_status(o, &kind_profile, stored, st, &now) < 0)
                return;
        if (obj) {
                json_decref(*obj);
                *obj = now;
        } else
                json_decref(now);
}

/* A Profile's owner is a Unix user; a namespace's Unix user is unique:
 * shortened names of long ones may meet (sdflow-<16 chars>-<hash>), and
 * are then refused, never shared. */
static int profile_admit(void *self, json_t *obj, json_t *before, json_t *profile, Diags *d, char *msg, size_t size) {
        ProfileCtl *p = self;
        const char *name = manifest_name(obj);
        const char *owner =
                json_string_value(json_object_get(json_object_get(json_object_get(obj, "spec"), "owner"), "name"));
        char mine[64], theirs[64];
        json_auto_t *profiles = NULL;
        json_t *x;
        size_t i;
        (void) before;
        (void) profile;
        (void) msg;
        (void) size;
        if (owner && !unix_user_exists(owner)) {
                diags_add(d, true, "spec.owner.name", "no user '%s' on this host: a Profile's owner is a Unix user (useradd)",
                          owner);
                return 422;
        }
        ns_user_name(name, mine, sizeof mine);
        if (store_list(p->objects->store, &kind_profile, NULL, &profiles, NULL) >= 0)
                json_array_foreach(profiles, i, x) {
                        if (strcmp(manifest_name(x), name) == 0)
                                continue;
                        ns_user_name(manifest_name(x), theirs, sizeof theirs);
                        if (strcmp(mine, theirs) == 0) {
                                diags_add(d, true, "metadata.name",
                                          "namespace %s would get the Unix user %s, which is namespace %s's; "
                                          "choose another name", name, mine, manifest_name(x));
                                return 422;
                        }
                }
        return 0;
}

/* A namespace being applied; its apply's answer waits for it. */
typedef struct Applying {
        ProfileCtl *ctl;
        char name[256], token[32];
        bool restore; /* at start: what runs in the namespace waits for it */
} Applying;

static void on_ns_applied(json_t *st, void *userdata) {
        _cleanup_free_ Applying *x = userdata;
        ProfileCtl *p = x->ctl;
        json_auto_t *profile = NULL;
        /* Only the newest apply's result is stored (an older one's apply
         * is answered with the object as it is). */
        bool newest = strcmp(json_string_value(json_object_get(p->applying, x->name)) ?: "", x->token) == 0;
        if (newest)
                (void) json_object_del(p->applying, x->name);
        if (newest && store_get(p->objects->store, &kind_profile, NULL, x->name, &profile) >= 0) {
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_profile, profile, GUARD_ADVANCE);
                set_profile_status(p, x->name, st, NULL);
        }
        objects_settled(p->objects, &kind_profile, NULL, x->name, x->token);
        if (x->restore && --p->restoring == 0)
                objects_reconciled(p->objects);
}

/* Makes profile's namespace (ns_apply(), or at start ns_restore()) on the
 * loop: its apply's answer waits for on_ns_applied(), the next
 * controllers' reconcile too when restore.  Returns the status when it was
 * known at once (new; nothing waits), else NULL. */
static json_t *begin_namespace(ProfileCtl *p, json_t *profile, bool restore) {
        const char *name = manifest_name(profile);
        json_auto_t *cs = NULL;
        (void) store_contributors(p->objects->store, name, &cs);
        _cleanup_free_ Applying *x = calloc(1, sizeof *x);
        if (!x)
                return json_pack("{s:s, s:s}", "phase", "Failed", "message", "out of memory");
        *x = (Applying) { .ctl = p, .restore = restore };
        snprintf(x->name, sizeof x->name, "%s", name);
        snprintf(x->token, sizeof x->token, "%llu", (unsigned long long) ++p->applied);
        json_t *st = (restore ? ns_restore : ns_apply)(p->objects->namespaces, profile, cs, on_ns_applied, x);
        if (st)
                return st;
        json_object_set_new(p->applying, name, json_string(x->token));
        if (restore)
                p->restoring++;
        TAKE_PTR(x); /* on_ns_applied()'s */
        return NULL;
}

/* One stored Profile's namespace at start: its slice again, and its user
 * and directories if they went (a reboot empties /run). */
static void restore_one(void *self, json_t *profile) {
        ProfileCtl *p = self;
        json_auto_t *st = begin_namespace(p, profile, true);
        if (st)
                set_profile_status(p, manifest_name(profile), st, NULL);
}

/* Every stored Profile's namespace brought into shape (at start-up: the
 * slices are transient and do not survive a reboot). */
static void profile_reconcile(void *self) {
        ProfileCtl *p = self;
        objects_each(p->objects, &kind_profile, NULL, restore_one, p);
}

static bool profile_reconciling(void *self) {
        ProfileCtl *p = self;
        return p->restoring > 0;
}

/* Applies the namespace (on the loop) and stores the resulting status. */
static void profile_react(void *self, Applied *ap) {
        ProfileCtl *p = self;
        const char *phase = json_string_value(json_object_get(json_object_get(ap->stored, "status"), "phase"));
        if (ap->change == STORE_UNCHANGED && phase && strcmp(phase, "Ready") == 0)
                return;
        char name[256];
        snprintf(name, sizeof name, "%s", manifest_name(ap->stored));
        json_auto_t *st = begin_namespace(p, ap->stored, false);
        if (st)
                set_profile_status(p, name, st, &ap->stored);
}

/* An apply is answered when its namespace is in place (or is not). */
static bool profile_pending(void *self, json_t *stored, char *token, size_t size) {
        ProfileCtl *p = self;
        const char *t = json_string_value(json_object_get(p->applying, manifest_name(stored)));
        if (!t)
                return false;
        snprintf(token, size, "%s", t);
        return true;
}

static bool profile_busy(void *self) {
        ProfileCtl *p = self;
        return json_object_size(p->applying) > 0;
}

typedef struct Removal {
        ProfileCtl *ctl;
        char name[256];
        RemoveDone done;
        void *userdata;
} Removal;

static void on_ns_deleted(int r, const char *err, void *userdata) {
        _cleanup_free_ Removal *m = userdata;
        Store *s = m->ctl->objects->store;
        char why[600] = "";
        if (r < 0)
                snprintf(why, sizeof why, "removing namespace %s failed: %s", m->name, err);
        /* The namespace's objects and the Profile leave the store (told as
         * DELETED) first: until then its routes keep their tokens and its
         * contributors see the deletions. */
        m->done(r, why, m->userdata);
        if (r >= 0) {
                (void) store_contributors_clear(s, m->name);
                (void) store_token_delete(s, m->name, NULL);
        }
}

/* The namespace goes first, on the loop (its workloads may take their
 * TimeoutStopSec=); the Profile leaves the store when it has gone.  If
 * that fails the Profile stays, so nothing is orphaned. */
static int profile_remove(void *self, json_t *obj, RemoveDone done, void *userdata, char *err, size_t size) {
        ProfileCtl *p = self;
        char e[512];
        /* Not while its helper makes it: the two would race on its user. */
        if (json_object_get(p->applying, manifest_name(obj))) {
                snprintf(err, size, "namespace %s is being set up: delete it when its apply has been answered",
                         manifest_name(obj));
                return -EBUSY;
        }
        if (!done) {
                snprintf(err, size, "a namespace is only removed on its own");
                return -EOPNOTSUPP;
        }
        _cleanup_free_ Removal *m = calloc(1, sizeof *m);
        if (!m) {
                snprintf(err, size, "out of memory");
                return -ENOMEM;
        }
        *m = (Removal) { .ctl = p, .done = done, .userdata = userdata };
        snprintf(m->name, sizeof m->name, "%s", manifest_name(obj));
        int r = ns_delete(p->objects->namespaces, m->name, on_ns_deleted, m, e, sizeof e);
        if (r < 0) {
                snprintf(err, size, "removing namespace %s failed: %s", m->name, e);
                return r;
        }
        TAKE_PTR(m); /* on_ns_deleted()'s */
        return 1;
}

static bool profile_visible(void *self, const Caller *caller, json_t *obj) {
        ProfileCtl *p = self;
        return caller_may_see_profile(caller, p->objects->store, obj);
}

/* ---- subresources ------------------------------------------------------------ */

/* The Profile a subresource request names, if the caller may see it; else
 * NULL, answered (404 for administrators when it does not exist, 403
 * otherwise, so names do not leak). */
static json_t *visible_profile(ProfileCtl *p, const Request *rq, const char *what) {
        json_auto_t *profile = NULL;
        const Route *rt = rq->rt;
        int r = store_get(p->objects->store, &kind_profile, NULL, rt->name, &profile);
        if (r >= 0 && caller_may_see_profile(rq->caller, p->objects->store, profile))
                return TAKE_PTR(profile);
        if (r == -ENOENT && rq->caller->admin)
                rest_reply_status(rq->conn, 404, rt, NULL, "profiles \"%s\" not found", rt->name);
        else
                rest_reply_status(rq->conn, 403, rt, NULL, "user %s may not see the %s of %s", rq->caller->user, what,
                                  rt->name);
        return NULL;
}

/* POST .../tokens/NAME: a new bearer token, shown once; only its SHA-256 is kept. */
static void token_create(ProfileCtl *p, const Request *rq, json_t *profile) {
        HttpConn *c = rq->conn;
        const Route *rt = rq->rt;
        unsigned char raw[32];
        char token[2 * sizeof raw + 1], hex[SHA256_HEX_LEN + 1], ts[32];
        if (!name_is_dns1123_label(rt->sub_name)) {
                json_t *causes = json_pack("[{s:s, s:s, s:s}]", "reason", "FieldValueInvalid", "field", "name",
                                           "message", "must be a DNS-1123 label");
                rest_reply_status(c, 422, rt, causes, "token name '%s' is not a DNS-1123 label", rt->sub_name);
                return;
        }
        if (getrandom(raw, sizeof raw, 0) != (ssize_t) sizeof raw) {
                rest_reply_status(c, 500, rt, NULL, "no random bytes: %m");
                return;
        }
        hex_encode(raw, sizeof raw, token);
        explicit_bzero(raw, sizeof raw);
        if (sha256_hex(token, strlen(token), hex) < 0) {
                rest_reply_status(c, 500, rt, NULL, "hashing the token failed");
                return;
        }
        format_now_rfc3339(ts, sizeof ts);
        int r = store_token_add(p->objects->store, rt->name, rt->sub_name, hex, ts);
        if (r == -EEXIST) {
                rest_reply_status(c, 409, rt, NULL, "namespace %s already has a token named %s", rt->name, rt->sub_name);
                return;
        }
        if (r < 0) {
                rest_reply_status(c, 500, rt, NULL, "storing the token failed: %s", strerror(-r));
                return;
        }
        log_info("%s created token %s of namespace %s.", rq->caller->user, rt->sub_name, rt->name);
        objects_notify(p->objects, &kind_profile, "TOKENS", profile); /* the routes, before the answer */
        rest_reply_json(c, 201, json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "Token", "namespace", rt->name, "name",
                                          rt->sub_name, "token", token, "created", ts), NULL);
        explicit_bzero(token, sizeof token);
}

/* GET .../profiles/NAME/tokens (names and creation times), POST
 * .../tokens/TOKEN or DELETE .../tokens/TOKEN: the owner (or an
 * administrator) decides who may call the namespace's models through the
 * gateway. */
static void handle_tokens(void *self, const Request *rq) {
        ProfileCtl *p = self;
        HttpConn *c = rq->conn;
        const Route *rt = rq->rt;
        json_auto_t *profile = visible_profile(p, rq, "tokens");
        json_t *list, *t;
        size_t i;
        if (!profile)
                return;
        bool get = http_method_is(rq->msg, "GET"), post = http_method_is(rq->msg, "POST"),
             del = http_method_is(rq->msg, "DELETE");
        if ((get && rt->sub_name[0]) || (!get && !rt->sub_name[0]) || (!get && !post && !del)) {
                rest_reply_status(c, 405, rt, NULL, "use GET .../tokens, or POST or DELETE .../tokens/NAME");
                return;
        }
        if (!get && !caller_owns_profile(rq->caller, profile)) {
                rest_reply_status(c, 403, rt, NULL, "only the owner of %s or an administrator may change its tokens",
                                  rt->name);
                return;
        }
        if (post) {
                token_create(p, rq, profile);
                return;
        }
        if (del) {
                int r = store_token_delete(p->objects->store, rt->name, rt->sub_name);
                if (r < 0) {
                        rest_reply_status(c, 500, rt, NULL, "removing the token failed: %s", strerror(-r));
                        return;
                }
                if (r == 0) {
                        rest_reply_status(c, 404, rt, NULL, "namespace %s has no token named %s", rt->name, rt->sub_name);
                        return;
                }
                log_info("%s deleted token %s of namespace %s.", rq->caller->user, rt->sub_name, rt->name);
                objects_notify(p->objects, &kind_profile, "TOKENS", profile);
        }
        if (store_tokens(p->objects->store, rt->name, &list) < 0) {
                rest_reply_status(c, 500, rt, NULL, "reading the tokens failed");
                return;
        }
        json_array_foreach(list, i, t)
                json_object_del(t, "sha256");
        rest_reply_json(c, 200, json_pack("{s:s, s:s, s:o}", "kind", "TokenList", "namespace", rt->name, "items", list),
                        NULL);
}

/* A contributor's change, answered when the namespace's directories let
 * them in (or out): the API and the disk agree. */
typedef struct ContributorChange {
        ProfileCtl *ctl;
        HttpConn *conn; /* NULL once the client went: the change goes on */
        Route rt;
        char by[64];
        bool put;
} ContributorChange;

static void reply_contributors(ProfileCtl *p, HttpConn *c, const Route *rt) {
        json_t *cs;
        if (store_contributors(p->objects->store, rt->name, &cs) < 0) {
                rest_reply_status(c, 500, rt, NULL, "reading the contributors failed");
                return;
        }
        rest_reply_json(c, 200, json_pack("{s:s, s:s, s:o}", "kind", "ContributorList", "namespace", rt->name, "items", cs),
                        NULL);
}

static void on_change_closed(HttpConn *c, void *userdata) {
        ContributorChange *x = userdata;
        (void) c;
        x->conn = NULL;
}

/* Stores the contributor (the directories did as asked: r >= 0) and answers. */
static void contributor_store(ContributorChange *x, int r, const char *err) {
        ProfileCtl *p = x->ctl;
        const Route *rt = &x->rt;
        HttpConn *c = x->conn;
        if (c)
                http_conn_set_close_handler(c, NULL, NULL);
        if (r < 0) {
                if (c)
                        rest_reply_status(c, 500, rt, NULL, "giving %s access to namespace %s's directories failed: %s",
                                          rt->sub_name, rt->name, err ?: strerror(-r));
                return;
        }
        r = store_contributor_set(p->objects->store, rt->name, rt->sub_name, x->put);
        if (r < 0) {
                if (c)
                        rest_reply_status(c, 500, rt, NULL, "storing the contributor failed: %s", strerror(-r));
                return;
        }
        json_auto_t *profile = NULL;
        if (r > 0 && store_get(p->objects->store, &kind_profile, NULL, rt->name, &profile) >= 0) {
                log_info("%s contributor %s %s namespace %s.", x->by, rt->sub_name, x->put ? "added to" : "removed from",
                         rt->name);
                json_t *st = json_object_get(profile, "status");
                json_auto_t *copy = st ? json_incref(st) : json_object();
                set_profile_status(p, rt->name, copy, NULL);
        }
        if (c)
                reply_contributors(p, c, rt);
}

static void on_access_set(int r, const char *err, void *userdata) {
        _cleanup_free_ ContributorChange *x = userdata;
        contributor_store(x, r, err);
}

/* PUT or DELETE .../contributors/USER.  The directories first: a
 * contributor is let in on disk when the API lets them in, and out when it
 * does (the answer follows then).  Returns 0 when it answered or will. */
static void contributor_change(ProfileCtl *p, const Request *rq, json_t *profile, bool put) {
        HttpConn *c = rq->conn;
        const Route *rt = rq->rt;
        json_auto_t *now = NULL;
        char err[512];
        size_t i;
        json_t *v;
        bool listed = false;
        if (!caller_owns_profile(rq->caller, profile)) {
                rest_reply_status(c, 403, rt, NULL, "only the owner of %s or an administrator may change its contributors",
                                  rt->name);
                return;
        }
        if (put && !unix_user_exists(rt->sub_name)) {
                json_t *causes = json_pack("[{s:s, s:s, s:s}]", "reason", "FieldValueNotFound", "field", "contributor",
                                           "message", "no such Unix user");
                rest_reply_status(c, 422, rt, causes, "contributor '%s' is not a Unix user on this host", rt->sub_name);
                return;
        }
        if (store_contributors(p->objects->store, rt->name, &now) < 0) {
                rest_reply_status(c, 500, rt, NULL, "reading the contributors failed");
                return;
        }
        json_array_foreach(now, i, v)
                if (strcmp(json_string_value(v), rt->sub_name) == 0) {
                        listed = true;
                        break;
                }
        _cleanup_free_ ContributorChange *x = calloc(1, sizeof *x);
        /* (The directories' ACL is set from now: one without the new
         * contributor would keep them out while the API lets them in.) */
        if (!x || (put && listed != put && json_array_append_new(now, json_string(rt->sub_name)) < 0)) {
                rest_reply_status(c, 500, rt, NULL, "out of memory");
                return;
        }
        *x = (ContributorChange) { .ctl = p, .conn = c, .rt = *rt, .put = put };
        snprintf(x->by, sizeof x->by, "%s", rq->caller->user);
        if (listed == put) { /* nothing changes on disk */
                contributor_store(x, 0, NULL);
                return;
        }
        if (!put)
                json_array_remove(now, i);
        http_conn_set_close_handler(c, on_change_closed, x);
        int r = ns_set_access(p->objects->namespaces, profile, now, on_access_set, x, err, sizeof err);
        if (r < 0)
                contributor_store(x, r, err);
        else
                TAKE_PTR(x); /* on_access_set()'s */
}

/* GET .../profiles/NAME/contributors, PUT or DELETE .../contributors/USER:
 * the owner (or an administrator) decides who else may use the namespace. */
static void handle_contributors(void *self, const Request *rq) {
        ProfileCtl *p = self;
        HttpConn *c = rq->conn;
        const Route *rt = rq->rt;
        json_auto_t *profile = visible_profile(p, rq, "contributors");
        if (!profile)
                return;
        bool get = http_method_is(rq->msg, "GET"), put = http_method_is(rq->msg, "PUT"),
             del = http_method_is(rq->msg, "DELETE");
        if ((get && rt->sub_name[0]) || (!get && !rt->sub_name[0]) || (!get && !put && !del)) {
                rest_reply_status(c, 405, rt, NULL, "use GET .../contributors, or PUT or DELETE .../contributors/USER");
                return;
        }
        if (get)
                reply_contributors(p, c, rt);
        else
                contributor_change(p, rq, profile, put);
}

/* GET /v1/top/namespaces: quota and use of every namespace the caller may
 * see, from the slices' cgroup files. */
static void handle_top(void *self, const Request *rq) {
        ProfileCtl *p = self;
        json_auto_t *items = NULL, *out = json_array();
        json_t *x;
        size_t i;
        if (!out || store_list(p->objects->store, &kind_profile, NULL, &items, NULL) < 0) {
                rest_reply_status(rq->conn, 500, NULL, NULL, "reading the store failed");
                return;
        }
        json_array_foreach(items, i, x) {
                const char *ns = manifest_name(x);
                char cg[512];
                uint64_t v, gpus;
                if (!caller_may_see_profile(rq->caller, p->objects->store, x) || ns_slice_cgroup(ns, cg, sizeof cg) < 0)
                        continue;
                SliceLimits l = ns_profile_limits(x, &gpus);
                json_t *usage = json_object();
                if (cgroup_read_key(NULL, cg, "cpu.stat", "usage_usec", &v) >= 0)
                        json_object_set_new(usage, "cpuUsageUsec", json_integer((json_int_t) v));
                if (cgroup_read_u64(NULL, cg, "memory.current", &v) >= 0)
                        json_object_set_new(usage, "memoryBytes", json_integer((json_int_t) v));
                if (cgroup_read_u64(NULL, cg, "pids.current", &v) >= 0)
                        json_object_set_new(usage, "tasks", json_integer((json_int_t) v));
                json_t *quota = json_pack("{s:I}", "gpus", (json_int_t) gpus);
                if (l.cpu_quota_per_sec_usec != UINT64_MAX)
                        json_object_set_new(quota, "cpuMillis", json_integer((json_int_t) (l.cpu_quota_per_sec_usec / 1000)));
                if (l.memory_max != UINT64_MAX)
                        json_object_set_new(quota, "memoryBytes", json_integer((json_int_t) l.memory_max));
                if (l.tasks_max != UINT64_MAX)
                        json_object_set_new(quota, "tasks", json_integer((json_int_t) l.tasks_max));
                json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:o}", "namespace", ns, "phase",
                                                      json_string_value(json_object_get(json_object_get(x, "status"), "phase")) ?: "Unknown",
                                                      "quota", quota, "usage", usage));
        }
        rest_reply_json(rq->conn, 200, json_pack("{s:s, s:o}", "kind", "NamespaceUsageList", "items", TAKE_PTR(out)),
                        NULL);
}

static int profile_new(Objects *o, void **ret) {
        _cleanup_free_ ProfileCtl *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->objects = o;
        p->applying = json_object();
        if (!p->applying)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

static void profile_free(void *self) {
        ProfileCtl *p = self;
        json_decref(p->applying);
        free(p);
}

static const Subresource profile_subresources[] = {
        { "contributors", NULL, true, handle_contributors },
        { "tokens", NULL, true, handle_tokens },
        { NULL },
};

static const ExtraPath profile_paths[] = {
        { "/v1/top/namespaces", "GET", handle_top },
        { NULL },
};

const ControllerType ctl_profile = {
        .kind = &kind_profile,
        .namespace_kind = true,
        .new = profile_new,
        .free = profile_free,
        .reconcile = profile_reconcile,
        .reconciling = profile_reconciling,
        .admit = profile_admit,
        .react = profile_react,
        .remove = profile_remove,
        .visible = profile_visible,
        .busy = profile_busy,
        .pending = profile_pending,
        .subresources = profile_subresources,
        .paths = profile_paths,
};
