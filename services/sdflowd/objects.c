/* objects.c: the object layer between the REST API and the controllers; see objects.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crashguard.h"
#include "log.h"
#include "objects.h"

int objects_new(Objects **ret, sd_event *e, Store *store, Namespaces *namespaces,
                const ControllerType *const *types) {
        _cleanup_(objects_freep) Objects *o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->event = sd_event_ref(e);
        o->store = store;
        o->namespaces = namespaces;
        o->types = types;
        while (types[o->n])
                o->n++;
        o->ctl = calloc(o->n + 1, sizeof *o->ctl);
        o->deleting = json_object();
        if (!o->ctl || !o->deleting)
                return -ENOMEM;
        for (size_t i = 0; i < o->n; i++) {
                if (!types[i]->new)
                        continue;
                /* Only a lack of memory fails here: a controller that
                 * cannot reach systemd starts, and says so where it acts. */
                int r = types[i]->new(o, &o->ctl[i]);
                if (r < 0)
                        return log_error_errno(r, "Cannot make the %s controller: %m", types[i]->kind->plural);
        }
        *ret = TAKE_PTR(o);
        return 0;
}

Objects *objects_free(Objects *o) {
        if (!o)
                return NULL;
        /* Backwards: a controller may use one made before it (tuning, the engine). */
        for (size_t i = o->n; o->ctl && i-- > 0;)
                if (o->ctl[i] && o->types[i]->free)
                        o->types[i]->free(o->ctl[i]);
        free(o->ctl);
        json_decref(o->deleting);
        sd_event_unref(o->event);
        free(o);
        return NULL;
}

void objects_listen(Objects *o, const ObjectsListener *l) {
        o->listener = *l;
}

const ControllerType *objects_type(Objects *o, const Kind *k, void **self) {
        for (size_t i = 0; i < o->n; i++)
                if (o->types[i]->kind == k) {
                        if (self)
                                *self = o->ctl[i];
                        return o->types[i];
                }
        if (self)
                *self = NULL;
        return NULL;
}

const Kind *objects_namespace_kind(Objects *o) {
        for (size_t i = 0; i < o->n; i++)
                if (o->types[i]->namespace_kind)
                        return o->types[i]->kind;
        return NULL;
}

void objects_notify(Objects *o, const Kind *k, const char *type, json_t *obj) {
        bool public = strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 || strcmp(type, "DELETED") == 0;
        if (public && o->listener.notify)
                o->listener.notify(k, type, obj, o->listener.userdata);
        for (size_t i = 0; i < o->n; i++)
                if (o->types[i]->changed)
                        o->types[i]->changed(o->ctl[i], k, type, obj);
}

int objects_set_status(Objects *o, const Kind *k, json_t *obj, json_t *status, json_t **ret) {
        const char *name = manifest_name(obj), *ns = manifest_namespace(obj);
        json_auto_t *now = NULL;
        int r = store_set_status(o->store, k, ns, name, status);
        if (r < 0)
                return r;
        r = store_get(o->store, k, ns, name, &now);
        if (r < 0)
                return r;
        objects_notify(o, k, "MODIFIED", now);
        if (ret)
                *ret = TAKE_PTR(now);
        return 0;
}

void objects_reload(Objects *o, const Kind *k, json_t **objp) {
        json_t *now;
        if (store_get(o->store, k, manifest_namespace(*objp), manifest_name(*objp), &now) >= 0) {
                json_decref(*objp);
                *objp = now;
        }
}

/* Kinds that are stored and checked but that no controller runs say so in
 * their status, rather than look as if they were pending. */
void objects_mark_not_run(Objects *o, const Kind *k, json_t **objp) {
        char ts[32];
        format_now_rfc3339(ts, sizeof ts);
        json_auto_t *st = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "conditions", "type", "Ready", "status",
                                    "False", "reason", "NotImplemented", "message",
                                    "sdflow validates and stores this kind but does not run it yet",
                                    "lastTransitionTime", ts);
        json_t *now;
        if (st && objects_set_status(o, k, *objp, st, &now) >= 0) {
                json_decref(*objp);
                *objp = now;
        }
}

void objects_react(Objects *o, const Kind *k, Applied *ap) {
        void *self;
        const ControllerType *t = objects_type(o, k, &self);
        if (t && t->react)
                t->react(self, ap);
        else if (!t && !json_object_get(ap->stored, "status"))
                objects_mark_not_run(o, k, &ap->stored);
}

int objects_store(Objects *o, const Kind *k, json_t *obj, json_t **ret) {
        json_t *stored = NULL;
        StoreChange change;
        int r = store_apply(o->store, k, obj, &stored, &change);
        if (r < 0)
                return r;
        if (change != STORE_UNCHANGED)
                objects_notify(o, k, change == STORE_CREATED ? "ADDED" : "MODIFIED", stored);
        Applied ap = { .stored = stored, .change = change, .by = "sdflowd" };
        objects_react(o, k, &ap);
        json_auto_t *now = ap.stored; /* react may have put another in its place */
        if (ret)
                *ret = TAKE_PTR(now);
        return 0;
}

int objects_create(Objects *o, const Kind *want, json_t *obj, char *err, size_t size) {
        Diags d = {};
        const Kind *k = NULL;
        json_auto_t *before = NULL, *profile = NULL;
        char msg[512] = "";
        int code = 0, r = manifest_check(obj, &k, &d);
        const Kind *nsk = objects_namespace_kind(o);
        void *self;
        const ControllerType *t = r >= 0 ? objects_type(o, k, &self) : NULL;
        if (r >= 0 && k != want) {
                snprintf(msg, sizeof msg, "a %s, not a %s", k->kind, want->kind);
                code = 400;
        }
        if (r >= 0 && !code && k->namespaced && nsk &&
            store_get(o->store, nsk, NULL, manifest_namespace(obj), &profile) < 0) {
                snprintf(msg, sizeof msg, "namespace %s does not exist", manifest_namespace(obj));
                code = 404;
        }
        if (r >= 0 && !code && t && t->admit) {
                (void) store_get(o->store, k, manifest_namespace(obj), manifest_name(obj), &before);
                code = t->admit(self, obj, before, profile, &d, msg, sizeof msg);
        }
        if (r < 0 || code || d.n_errors > 0) {
                _cleanup_free_ char *m = d.n_errors > 0 ? diags_format(&d, true, false) : NULL;
                snprintf(err, size, "%s", m ?: msg[0] ? msg : "invalid");
                diags_clear(&d);
                return -EINVAL;
        }
        diags_clear(&d);
        return objects_store(o, k, obj, NULL);
}

/* ---- deletions ----------------------------------------------------------- */

typedef struct Deletion {
        Objects *objects;
        const Kind *kind;
        char ns[128], name[256], by[64], key[450];
        ObjectsDeleted done;
        void *userdata;
} Deletion;

static void deletion_key(const Kind *k, const char *ns, const char *name, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s/%s", k->plural, k->namespaced ? ns : "", name);
}

bool objects_deleting(Objects *o, const Kind *k, const char *ns, const char *name) {
        char key[450];
        deletion_key(k, ns, name, key, sizeof key);
        return json_object_get(o->deleting, key) != NULL;
}

/* The objects of every namespaced kind in namespace ns leave the store,
 * told as deleted: what ran for them went with the namespace. */
static void delete_namespace_contents(Objects *o, const char *ns) {
        for (size_t i = 0; kinds[i]; i++) {
                json_auto_t *items = NULL;
                json_t *x;
                size_t j;
                if (!kinds[i]->namespaced || store_list(o->store, kinds[i], ns, &items, NULL) < 0)
                        continue;
                json_array_foreach(items, j, x) {
                        json_auto_t *gone = NULL;
                        if (store_delete(o->store, kinds[i], ns, manifest_name(x), &gone) >= 0) {
                                const char *uid = json_string_value(json_object_get(json_object_get(gone, "metadata"), "uid"));
                                crashguard_release(uid);
                                (void) store_crash_clear(o->store, uid ?: "");
                                objects_notify(o, kinds[i], "DELETED", gone);
                        }
                }
        }
}

static void deletion_finish(int r, const char *err, void *userdata) {
        _cleanup_free_ Deletion *d = userdata;
        Objects *o = d->objects;
        const Kind *k = d->kind;
        const char *ns = k->namespaced ? d->ns : NULL;
        _cleanup_guard_ unsigned g = crashguard_enter_names(k, ns, d->name, NULL, GUARD_DELETE);
        json_auto_t *old = NULL;
        (void) json_object_del(o->deleting, d->key);
        if (r >= 0) {
                const ControllerType *t = objects_type(o, k, NULL);
                if (t && t->namespace_kind)
                        delete_namespace_contents(o, d->name);
                r = store_delete(o->store, k, ns, d->name, &old);
                if (r < 0)
                        err = strerror(-r);
        }
        if (r >= 0) {
                const char *uid = json_string_value(json_object_get(json_object_get(old, "metadata"), "uid"));
                crashguard_release(uid);
                (void) store_crash_clear(o->store, uid ?: "");
                log_info("Deleted %s/%s%s%s by %s.", k->plural, ns ?: "", ns ? "/" : "", d->name, d->by);
                objects_notify(o, k, "DELETED", old);
        }
        if (d->done)
                d->done(r, err, old, d->userdata);
}

int objects_delete(Objects *o, const Kind *k, const char *ns, const char *name, const char *by, ObjectsDeleted done,
                   void *userdata) {
        json_auto_t *obj = NULL;
        char err[512] = "";
        void *self;
        if (!k->namespaced)
                ns = NULL;
        _cleanup_guard_ unsigned g = crashguard_enter_names(k, ns, name, NULL, GUARD_DELETE);
        int r = store_get(o->store, k, ns, name, &obj);
        if (r < 0)
                return r;
        if (objects_deleting(o, k, ns, name))
                return -EBUSY;
        Deletion *d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        *d = (Deletion) { .objects = o, .kind = k, .done = done, .userdata = userdata };
        snprintf(d->ns, sizeof d->ns, "%s", ns ?: "");
        snprintf(d->name, sizeof d->name, "%s", name);
        snprintf(d->by, sizeof d->by, "%s", by);
        deletion_key(k, ns, name, d->key, sizeof d->key);
        const ControllerType *t = objects_type(o, k, &self);
        r = t && t->remove ? t->remove(self, obj, done ? deletion_finish : NULL, d, err, sizeof err) : 0;
        if (r == 1) {
                json_object_set_new(o->deleting, d->key, json_true());
                return 0;
        }
        deletion_finish(r < 0 ? r : 0, err, d);
        return 0;
}

void objects_settled(Objects *o, const Kind *k, const char *ns, const char *name, const char *token) {
        if (o->listener.settled)
                o->listener.settled(k, ns, name, token, o->listener.userdata);
}

/* ---- quarantine and start-up ----------------------------------------------- */

void objects_release_quarantine(Objects *o, const Kind *k, json_t **objp) {
        const char *uid = json_string_value(json_object_get(json_object_get(*objp, "metadata"), "uid"));
        const char *ns = manifest_namespace(*objp), *name = manifest_name(*objp);
        crashguard_release(uid);
        (void) store_crash_clear(o->store, uid ?: "");
        json_auto_t *st = crashguard_unmark(k, json_object_get(*objp, "status"));
        json_t *now;
        if (st && objects_set_status(o, k, *objp, st, &now) >= 0) {
                json_decref(*objp);
                *objp = now;
        }
        log_info("%s %s%s%s is processed again (out of quarantine).", k->plural, ns ?: "", ns ? "/" : "",
                 manifest_name(*objp) ?: name);
}

/* Every quarantined object says so in its status, once.  Only those the
 * store names are read: parsing every object (a workflow's status can be
 * megabytes) would delay the start after a crash. */
static void mark_quarantined(Objects *o) {
        char ts[32];
        json_auto_t *rows = NULL;
        json_t *row;
        size_t i;
        format_now_rfc3339(ts, sizeof ts);
        if (store_crashes(o->store, CRASHGUARD_DEATHS, &rows) < 0)
                return;
        json_array_foreach(rows, i, row) {
                const Kind *k = crashguard_kind(json_string_value(json_object_get(row, "kind")));
                json_auto_t *x = NULL;
                if (!k || store_get(o->store, k, k->namespaced ? json_string_value(json_object_get(row, "namespace")) : NULL,
                                    json_string_value(json_object_get(row, "name")), &x) < 0)
                        continue;
                json_t *st = json_object_get(x, "status");
                if (!crashguard_is_quarantined(x) || json_is_true(json_object_get(st, "sdflowQuarantined")))
                        continue;
                json_auto_t *marked = crashguard_mark(k, st, ts);
                if (marked)
                        (void) objects_set_status(o, k, x, marked, NULL);
        }
}

void objects_each(Objects *o, const Kind *k, const char *ns, void (*fn)(void *self, json_t *obj), void *self) {
        json_auto_t *items = NULL;
        json_t *x;
        size_t i;
        if (store_list(o->store, k, ns, &items, NULL) < 0)
                return;
        json_array_foreach(items, i, x) {
                if (crashguard_is_quarantined(x))
                        continue;
                _cleanup_guard_ unsigned g = crashguard_enter(k, x, GUARD_RECONCILE);
                fn(self, x);
        }
}

static void reconcile_from(Objects *o) {
        while (o->reconcile_next < o->n) {
                size_t i = o->reconcile_next++;
                if (o->types[i]->reconcile)
                        o->types[i]->reconcile(o->ctl[i]);
                if (o->types[i]->reconciling && o->types[i]->reconciling(o->ctl[i])) {
                        log_info("Waiting for the %s to be brought back before the next controllers.",
                                 o->types[i]->kind->plural);
                        return;
                }
        }
        if (!o->reconciled)
                log_info("Every controller has reconciled.");
        o->reconciled = true;
}

void objects_reconcile_all(Objects *o) {
        mark_quarantined(o);
        o->reconcile_next = 0;
        o->reconciled = false;
        reconcile_from(o);
}

void objects_reconciled(Objects *o) {
        if (o->reconciled || o->reconcile_next == 0)
                return;
        size_t i = o->reconcile_next - 1;
        if (!o->types[i]->reconciling || !o->types[i]->reconciling(o->ctl[i]))
                reconcile_from(o);
}

bool objects_starting(const Objects *o) {
        return o && !o->reconciled;
}

bool objects_busy(Objects *o) {
        if (!o)
                return false;
        if (json_object_size(o->deleting) > 0)
                return true;
        for (size_t i = 0; i < o->n; i++)
                if (o->types[i]->busy && o->types[i]->busy(o->ctl[i]))
                        return true;
        return false;
}

int objects_check_namespace(Objects *o, const Request *rq) {
        if (caller_may_use_namespace(rq->caller, o->store, rq->rt->ns))
                return 0;
        rest_reply_status(rq->conn, 403, rq->rt, NULL, "user %s may not use namespace %s", rq->caller->user, rq->rt->ns);
        return -EPERM;
}
