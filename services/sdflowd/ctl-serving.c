/* ctl-serving.c: the InferenceService controller (serving.c decides and
 * runs the replicas).  It keeps the gateway's route table, copies each new
 * revision's model and checks its readiness on the loop, and answers an
 * apply when the revision it made is ready (or is not). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controllers.h"
#include "crashguard.h"
#include "imagemap.h"
#include "log.h"
#include "logs.h"
#include "objects.h"
#include "probe.h"
#include "serving.h"
#include "slice.h"
#include "jsonutil.h"

/* A new revision's readiness check: a model may take that long to load. */
#define READINESS_TIMEOUT_USEC (120 * USEC_PER_SEC)
#define MAX_LOG_UNITS 16
#define CONTROL_DIR "/run/sdflow/control"
#define ROUTES_FILE CONTROL_DIR "/routes.json"

typedef struct ServingCtl {
        Objects *objects;
        json_t *starting; /* "ns/name" -> the revision whose first replica's socket is on its way */
        json_t *probing; /* "ns/name" -> the revision whose readiness check runs */
        json_t *copying; /* "ns/name" -> {rev, unit}: the revision whose model is being copied */
} ServingCtl;

typedef struct Job {
        ServingCtl *ctl;
        char ns[128], name[256], rev[300];
} Job;

static void key_of(json_t *isvc, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s", manifest_namespace(isvc), manifest_name(isvc));
}

/* Writes the gateway's route table: every InferenceService whose replicas
 * listen, by host.  Atomically (rename), so the gateway reads a whole file. */
static void write_routes(ServingCtl *s) {
        Store *store = s->objects->store;
        json_auto_t *items = NULL, *tokens = NULL;
        json_t *routes, *x;
        size_t i;
        if (store_list(store, &kind_isvc, NULL, &items, NULL) < 0)
                return;
        if (store_tokens(store, NULL, &tokens) < 0) {
                /* Without the tokens, routes of namespaces that have some would be open. */
                log_warning("Cannot read the namespaces' tokens; not writing the route table.");
                return;
        }
        routes = json_array();
        if (!routes)
                return;
        json_array_foreach(items, i, x) {
                json_t *route = serving_route(x), *t;
                size_t k;
                if (!route)
                        continue;
                /* A namespace with tokens admits only requests that bear one. */
                json_auto_t *hashes = json_array();
                json_array_foreach(tokens, k, t)
                        if (strcmp(json_string_value(json_object_get(t, "namespace")), manifest_namespace(x)) == 0)
                                json_array_append(hashes, json_object_get(t, "sha256"));
                if (json_array_size(hashes) > 0)
                        json_object_set(route, "tokens", hashes);
                json_array_append_new(routes, route);
        }
        json_auto_t *doc = json_pack("{s:o}", "routes", routes);
        /* Readable by the gateway (group sdflow) only: it names every route
         * and the tokens' hashes. */
        _cleanup_free_ char *text = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
        int fd = text ? open(ROUTES_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
        bool ok = fd >= 0;
        if (ok) {
                struct group *gr = getgrnam("sdflow");
                size_t n = strlen(text);
                ok = write(fd, text, n) == (ssize_t) n && fchmod(fd, 0640) == 0 &&
                     (!gr || fchown(fd, (uid_t) -1, gr->gr_gid) == 0);
                ok = close(fd) == 0 && ok;
        }
        if (!ok || rename(ROUTES_FILE ".tmp", ROUTES_FILE) < 0)
                log_warning_errno(errno, "Failed to write the route table %s, ignoring: %m", ROUTES_FILE);
}

/* Stores st (consumed) on isvc, keeping who its model is read as. */
static void store_status(ServingCtl *s, json_t *isvc, json_t *st) {
        json_t *reader = json_object_get(json_object_get(isvc, "status"), "sdflowModelReader");
        if (reader)
                json_object_set(st, "sdflowModelReader", reader);
        (void) objects_set_status(s->objects, &kind_isvc, isvc, st, NULL);
        write_routes(s);
        json_decref(st);
}

/* ---- readiness checks and model copies, on the loop -------------------------- */

static Job *job_new(ServingCtl *s, json_t *isvc, const char *rev) {
        Job *j = calloc(1, sizeof *j);
        if (!j)
                return NULL;
        j->ctl = s;
        snprintf(j->ns, sizeof j->ns, "%s", manifest_namespace(isvc));
        snprintf(j->name, sizeof j->name, "%s", manifest_name(isvc));
        snprintf(j->rev, sizeof j->rev, "%s", rev);
        return j;
}

static void on_probed(int status, const char *body, void *userdata) {
        _cleanup_free_ Job *j = userdata;
        ServingCtl *s = j->ctl;
        char key[400];
        snprintf(key, sizeof key, "%s/%s", j->ns, j->name);
        if (strcmp(json_string_value(json_object_get(s->probing, key)) ?: "", j->rev) == 0)
                (void) json_object_del(s->probing, key);
        json_auto_t *isvc = NULL;
        if (store_get(s->objects->store, &kind_isvc, j->ns, j->name, &isvc) >= 0 && !crashguard_is_quarantined(isvc)) {
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_isvc, isvc, GUARD_RECONCILE);
                json_t *st = serving_probed(s->objects->namespaces, isvc, j->rev, status, body);
                if (st)
                        store_status(s, isvc, st);
        }
        objects_settled(s->objects, &kind_isvc, j->ns, j->name, j->rev);
}

/* Starts the readiness check of isvc's new revision, if it has one and it
 * is not running yet. */
static void start_probe(ServingCtl *s, json_t *isvc) {
        const char *rev, *sock, *path;
        char key[400];
        if (!s->objects->namespaces->bus || !serving_probe_target(isvc, &rev, &sock, &path))
                return;
        key_of(isvc, key, sizeof key);
        /* Checked once it listens (on_replica_event()), and once only. */
        if (strcmp(json_string_value(json_object_get(s->starting, key)) ?: "", rev) == 0 ||
            strcmp(json_string_value(json_object_get(s->probing, key)) ?: "", rev) == 0)
                return;
        Job *j = job_new(s, isvc, rev);
        if (!j)
                return;
        json_object_set_new(s->probing, key, json_string(rev));
        int r = probe_start(s->objects->event, sock, path, READINESS_TIMEOUT_USEC, on_probed, j);
        if (r < 0)
                on_probed(r, "", j); /* it could not even begin: that is its answer */
}

/* A replica's socket was asked for, listens, or did not start (serving.c).
 * A revision's check begins when its first replica listens; a replica that
 * did not start fails its revision (serving_replica_failed()), whose
 * applies are answered. */
static void on_replica_event(void *userdata, const char *ns, const char *name, const char *rev, unsigned index,
                             int r, const char *err) {
        ServingCtl *s = userdata;
        char key[400];
        snprintf(key, sizeof key, "%s/%s", ns, name);
        if (r > 0) {
                json_object_set_new(s->starting, key, json_string(rev));
                return;
        }
        if (r == 0 && index > 0)
                return;
        if (strcmp(json_string_value(json_object_get(s->starting, key)) ?: "", rev) == 0)
                (void) json_object_del(s->starting, key);
        json_auto_t *isvc = NULL;
        if (store_get(s->objects->store, &kind_isvc, ns, name, &isvc) >= 0 && !crashguard_is_quarantined(isvc)) {
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_isvc, isvc, GUARD_RECONCILE);
                if (r == 0)
                        start_probe(s, isvc);
                else {
                        json_t *st = serving_replica_failed(s->objects->namespaces, isvc, rev, err);
                        if (st)
                                store_status(s, isvc, st);
                        /* A check under way is for a revision that failed. */
                        if (strcmp(json_string_value(json_object_get(s->probing, key)) ?: "", rev) == 0)
                                (void) json_object_del(s->probing, key);
                }
        }
        /* Unless this revision's check goes on, its applies are answered. */
        if (strcmp(json_string_value(json_object_get(s->probing, key)) ?: "", rev) != 0)
                objects_settled(s->objects, &kind_isvc, ns, name, rev);
}

/* Stops the model copy of key ("ns/name") if one runs: its end comes as a
 * failure, to a revision no longer current, whose applies are answered. */
static void stop_copy(ServingCtl *s, const char *key) {
        const char *unit = json_string_value(json_object_get(json_object_get(s->copying, key), "unit"));
        if (unit && unit[0] && s->objects->namespaces->bus)
                manager_stop_async(s->objects->namespaces->bus, unit);
}

static void on_copied(int r, const char *err, void *userdata) {
        _cleanup_free_ Job *j = userdata;
        ServingCtl *s = j->ctl;
        char key[400];
        snprintf(key, sizeof key, "%s/%s", j->ns, j->name);
        if (strcmp(json_string_value(json_object_get(json_object_get(s->copying, key), "rev")) ?: "", j->rev) == 0)
                (void) json_object_del(s->copying, key);
        json_auto_t *isvc = NULL;
        if (store_get(s->objects->store, &kind_isvc, j->ns, j->name, &isvc) >= 0 && !crashguard_is_quarantined(isvc)) {
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_isvc, isvc, GUARD_RECONCILE);
                json_t *st = serving_copied(s->objects->namespaces, isvc, j->rev, r, err);
                if (st)
                        store_status(s, isvc, st);
                objects_reload(s->objects, &kind_isvc, &isvc);
                start_probe(s, isvc);
        }
        /* Unless this revision's replicas or check follow, its applies are
         * answered now (it failed here, or a newer apply superseded it). */
        if (strcmp(json_string_value(json_object_get(s->starting, key)) ?: "", j->rev) != 0 &&
            strcmp(json_string_value(json_object_get(s->probing, key)) ?: "", j->rev) != 0)
                objects_settled(s->objects, &kind_isvc, j->ns, j->name, j->rev);
}

/* Starts the model copy of isvc's new revision, if it has one not under way. */
static void start_copy(ServingCtl *s, json_t *isvc) {
        const char *rev = serving_copy_target(isvc);
        char key[400], unit[256] = "";
        if (!s->objects->namespaces->bus || !rev)
                return;
        key_of(isvc, key, sizeof key);
        json_t *running = json_object_get(s->copying, key);
        if (strcmp(json_string_value(json_object_get(running, "rev")) ?: "", rev) == 0)
                return;
        /* A copy for a revision a newer apply superseded is stopped: one
         * copy per InferenceService at a time, whatever its user does. */
        stop_copy(s, key);
        Job *j = job_new(s, isvc, rev);
        if (!j)
                return;
        json_object_set_new(s->copying, key, json_pack("{s:s, s:s}", "rev", rev, "unit", ""));
        int r = serving_copy_start(s->objects->namespaces, isvc, on_copied, j, unit, sizeof unit);
        if (r >= 0)
                json_object_set_new(json_object_get(s->copying, key), "unit", json_string(unit));
        else {
                char err[200];
                snprintf(err, sizeof err, "the model copy could not start: %s", strerror(-r));
                on_copied(r, err, j);
        }
}

/* ---- the hooks ------------------------------------------------------------------ */

static void serving_react(void *self, Applied *ap) {
        ServingCtl *s = self;
        Objects *o = s->objects;
        if (ap->change == STORE_UNCHANGED && json_object_get(ap->stored, "status"))
                return;
        /* Recorded first: a restart that finishes this apply reads the
         * model with this caller's rights, not more. */
        if (ap->applied) {
                json_auto_t *rec = json_object_copy_or_new(json_object_get(ap->stored, "status"));
                if (rec) {
                        json_object_set_new(rec, "sdflowModelReader", json_string(ap->by));
                        (void) objects_set_status(o, &kind_isvc, ap->stored, rec, NULL);
                }
        }
        json_auto_t *st = serving_apply(o->namespaces, ap->stored, ap->profile, ap->by);
        /* Who the model is read as, should a restart finish this apply. */
        json_object_set_new(st, "sdflowModelReader", json_string(ap->by));
        (void) objects_set_status(o, &kind_isvc, ap->stored, st, NULL);
        write_routes(s);
        objects_reload(o, &kind_isvc, &ap->stored);
        start_copy(s, ap->stored);
        start_probe(s, ap->stored);
        /* (A copy or check that could not even start has changed the
         * status already.) */
        objects_reload(o, &kind_isvc, &ap->stored);
}

static void restore_one(void *self, json_t *x) {
        ServingCtl *s = self;
        Objects *o = s->objects;
        json_int_t gen = json_integer_value(json_object_get(json_object_get(x, "metadata"), "generation"));
        json_t *seen = json_object_get(json_object_get(x, "status"), "observedGeneration");
        json_auto_t *profile = NULL;
        if ((!seen || json_integer_value(seen) != gen) &&
            store_get(o->store, &kind_profile, NULL, manifest_namespace(x), &profile) >= 0) {
                /* sdflowd stopped between storing it and acting on it:
                 * finish what that apply began. */
                log_info("InferenceService %s/%s: generation %lld was stored but not acted on; applying it now.",
                         manifest_namespace(x), manifest_name(x), (long long) gen);
                /* The model is read as whoever applied it (recorded before
                 * the apply went on), else as the namespace's own user. */
                char nsuser[64];
                ns_user_name(manifest_namespace(x), nsuser, sizeof nsuser);
                const char *reader =
                        json_string_value(json_object_get(json_object_get(x, "status"), "sdflowModelReader"));
                char by[64];
                snprintf(by, sizeof by, "%s", reader ?: nsuser);
                Applied ap = { .stored = json_incref(x), .change = STORE_UPDATED, .profile = profile, .by = by };
                serving_react(s, &ap);
                json_decref(ap.stored);
        } else {
                serving_restore(o->namespaces, x);
                start_copy(s, x);
                start_probe(s, x);
        }
}

/* The replica units, then the route table. */
static void serving_reconcile(void *self) {
        ServingCtl *s = self;
        objects_each(s->objects, &kind_isvc, NULL, restore_one, s);
        write_routes(s);
}

/* The predictor's defaults (resources, as KServe gives them), its image in
 * the image map, and the namespace's quota (a ResourceQuota refusal: 403). */
static int serving_admit_hook(void *self, json_t *obj, json_t *before, json_t *profile, Diags *d, char *msg,
                              size_t size) {
        ServingCtl *s = self;
        char m[512], err[512];
        ImageRoot root;
        (void) before;
        json_t *c0 = json_array_get(
                json_object_get(json_object_get(json_object_get(obj, "spec"), "predictor"), "containers"), 0);
        const char *image = json_string_value(json_object_get(c0, "image"));
        if (image && imagemap_lookup(s->objects->namespaces->image_map, image, &root, err, sizeof err) < 0) {
                diags_add(d, true, "spec.predictor.containers[0].image", "%s", err);
                return 422;
        }
        serving_default(s->objects->namespaces, obj);
        if (serving_admit(s->objects->store, obj, profile, m, sizeof m) < 0) {
                snprintf(msg, size, "exceeded quota: %s", m);
                return 403;
        }
        return 0;
}

/* A removal that waits for the model copies to go (sdflow-ns unmodel). */
typedef struct Removal {
        RemoveDone done;
        void *userdata;
} Removal;

static void on_unmodelled(int r, const char *err, void *userdata) {
        _cleanup_free_ Removal *m = userdata;
        char why[600];
        snprintf(why, sizeof why, "stopping the replicas failed: %s", err ?: strerror(-r));
        if (m->done)
                m->done(r, r < 0 ? why : NULL, m->userdata);
        else if (r < 0)
                log_warning("%s, ignoring", why);
}

/* The replicas stop and the model copies go, on the loop; the object leaves
 * the store when they have (or stays, saying why not). */
static int serving_remove(void *self, json_t *obj, RemoveDone done, void *userdata, char *err, size_t size) {
        ServingCtl *s = self;
        char key[400], e[512];
        key_of(obj, key, sizeof key);
        stop_copy(s, key); /* a model copy under way is not left running */
        _cleanup_free_ Removal *m = calloc(1, sizeof *m);
        if (!m) {
                snprintf(err, size, "out of memory");
                return -ENOMEM;
        }
        *m = (Removal) { .done = done, .userdata = userdata };
        int r = serving_delete(s->objects->namespaces, obj, on_unmodelled, m, e, sizeof e);
        if (r < 0) {
                snprintf(err, size, "stopping the replicas failed: %s", e);
                return r;
        }
        TAKE_PTR(m); /* on_unmodelled()'s */
        return done ? 1 : 0;
}

static void serving_changed(void *self, const Kind *k, const char *type, json_t *obj) {
        (void) obj;
        /* A route went, or a namespace's tokens changed. */
        if ((strcmp(type, "DELETED") == 0 && (k == &kind_isvc || k == &kind_profile)) || strcmp(type, "TOKENS") == 0)
                write_routes(self);
}

/* New revisions being copied or checked: the daemon stays for them even
 * when nobody is connected. */
static bool serving_busy(void *self) {
        ServingCtl *s = self;
        return json_object_size(s->starting) > 0 || json_object_size(s->probing) > 0 ||
               json_object_size(s->copying) > 0;
}

static void serving_observe_hook(void *self, json_t *obj) {
        ServingCtl *s = self;
        serving_observe(s->objects->namespaces, obj);
}

/* An apply is answered when its new revision's readiness check has; the
 * daemon serves everyone else meanwhile. */
static bool serving_pending(void *self, json_t *stored, char *token, size_t size) {
        ServingCtl *s = self;
        const char *rev = serving_copy_target(stored), *psock, *ppath;
        char key[400];
        if (!rev && !serving_probe_target(stored, &rev, &psock, &ppath))
                return false;
        key_of(stored, key, sizeof key);
        if (!json_object_get(s->copying, key) && !json_object_get(s->starting, key) &&
            !json_object_get(s->probing, key))
                return false;
        snprintf(token, size, "%s", rev);
        return true;
}

/* GET .../inferenceservices/NAME/log[?tailLines=N]: the replicas' journal
 * lines, oldest first, as text. */
static void handle_log(void *self, const Request *rq) {
        ServingCtl *s = self;
        const Route *rt = rq->rt;
        char units[MAX_LOG_UNITS][LOGS_UNIT_MAX];
        json_auto_t *isvc = NULL;
        unsigned tail = 100;
        size_t n_units = 0, i;
        json_t *rep;
        if (objects_check_namespace(s->objects, rq) < 0 || !rest_query_tail(rq->conn, rt, rq->query, rq->query_len, 10000, &tail))
                return;
        if (store_get(s->objects->store, rt->kind, rt->ns, rt->name, &isvc) < 0) {
                rest_reply_status(rq->conn, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        json_array_foreach(json_object_get(json_object_get(isvc, "status"), "replicas"), i, rep)
                if (n_units < MAX_LOG_UNITS && json_is_string(json_object_get(rep, "unit")))
                        snprintf(units[n_units++], sizeof units[0], "%s", json_string_value(json_object_get(rep, "unit")));
        logs_reply(rq->conn, rt, units, NULL, n_units, tail);
}

static int serving_new(Objects *o, void **ret) {
        ServingCtl *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->objects = o;
        s->starting = json_object();
        s->probing = json_object();
        s->copying = json_object();
        if (!s->starting || !s->probing || !s->copying) {
                json_decref(s->starting);
                json_decref(s->probing);
                json_decref(s->copying);
                free(s);
                return -ENOMEM;
        }
        o->namespaces->replica_event = on_replica_event;
        o->namespaces->replica_userdata = s;
        /* The gateway (group sdflow) watches the route table's directory
         * with inotify, which needs read access to it: systemd makes it
         * sdflowd's (RuntimeDirectory=), sdflowd gives it to the group. */
        struct group *gr = getgrnam("sdflow");
        _cleanup_close_ int dfd = gr ? open(CONTROL_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (gr && (dfd < 0 || fchown(dfd, (uid_t) -1, gr->gr_gid) < 0 || fchmod(dfd, 0750) < 0))
                log_warning_errno(errno, "Cannot give %s to group sdflow, the gateway will poll the route table: %m",
                                  CONTROL_DIR);
        *ret = s;
        return 0;
}

static void serving_free(void *self) {
        ServingCtl *s = self;
        s->objects->namespaces->replica_event = NULL;
        json_decref(s->starting);
        json_decref(s->probing);
        json_decref(s->copying);
        free(s);
}

static const Subresource serving_subresources[] = {
        { "log", "GET", false, handle_log },
        { NULL },
};

const ControllerType ctl_isvc = {
        .kind = &kind_isvc,
        .new = serving_new,
        .free = serving_free,
        .reconcile = serving_reconcile,
        .admit = serving_admit_hook,
        .react = serving_react,
        .remove = serving_remove,
        .changed = serving_changed,
        .busy = serving_busy,
        .observe = serving_observe_hook,
        .pending = serving_pending,
        .subresources = serving_subresources,
};
