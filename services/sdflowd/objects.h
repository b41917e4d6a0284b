/* objects.h: the object layer between sdflowd's REST API and its
 * controllers (controller.h).  It owns the controllers (made from the table
 * in sdflowd.c, in its order) and is the one way a stored change is told:
 * objects_notify() reaches the watchers (through the listener, api.c) and
 * every controller's changed() hook.  Controllers store, delete and create
 * through it, so each other's rules hold (a CronWorkflow's run is started
 * by the workflow controller, a trial's workflow is admitted as an applied
 * one is).
 */
#pragma once

#include <stdbool.h>
#include <jansson.h>
#include <systemd/sd-event.h>

#include "controller.h"
#include "namespaces.h"
#include "store.h"

typedef struct ObjectsListener {
        /* A committed change (ADDED, MODIFIED, DELETED). */
        void (*notify)(const Kind *k, const char *type, json_t *obj, void *userdata);
        /* What an apply's answer waited for is done (controller.h, pending). */
        void (*settled)(const Kind *k, const char *ns, const char *name, const char *token, void *userdata);
        void *userdata;
} ObjectsListener;

struct Objects {
        sd_event *event;
        Store *store;
        Namespaces *namespaces;
        const ControllerType *const *types; /* NULL-terminated */
        void **ctl;                         /* self of each type */
        size_t n;
        ObjectsListener listener;
        json_t *deleting; /* "plural/ns/name" -> true: removals under way */
        size_t reconcile_next; /* the next controller to reconcile at start */
        bool reconciled;       /* every controller has */
};

/* Makes every controller of types (borrowed, NULL-terminated) in order; a
 * controller that cannot start is logged and left out. */
int objects_new(Objects **ret, sd_event *e, Store *store, Namespaces *namespaces,
                const ControllerType *const *types);
Objects *objects_free(Objects *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Objects *, objects_free);

void objects_listen(Objects *o, const ObjectsListener *l);

/* The controller of k, with its self in *self (may be NULL); NULL if k has none. */
const ControllerType *objects_type(Objects *o, const Kind *k, void **self);
/* The kind whose objects are namespaces (Profile). */
const Kind *objects_namespace_kind(Objects *o);

/* Tells the watchers and every controller. */
void objects_notify(Objects *o, const Kind *k, const char *type, json_t *obj);

/* Stores status (not consumed) on obj's stored object and tells the
 * watchers; *ret (if given and it worked) is the object as stored now. */
int objects_set_status(Objects *o, const Kind *k, json_t *obj, json_t *status, json_t **ret);
/* Replaces *objp by its object as stored now, if it is still there. */
void objects_reload(Objects *o, const Kind *k, json_t **objp);

/* A kind no controller runs (or one that cannot run now) says so in its
 * status; *objp is replaced by the object as stored. */
void objects_mark_not_run(Objects *o, const Kind *k, json_t **objp);

/* What k's controller does after a committed change (controller.h, react);
 * a kind without one says in its status that nothing runs it. */
void objects_react(Objects *o, const Kind *k, Applied *ap);

/* Stores obj (a new object a controller made; no admission), tells, and
 * reacts.  *ret (if given) is the object as stored. */
int objects_store(Objects *o, const Kind *k, json_t *obj, json_t **ret);
/* As an apply by the daemon: checked (manifest_check, a want, and the
 * kind's admission), then stored as objects_store() does.  -EINVAL:
 * refused, why in err. */
int objects_create(Objects *o, const Kind *want, json_t *obj, char *err, size_t size);

/* Deletes k's ns/name through its controller (remove, then the store; a
 * namespace's objects with it).  done (may be NULL) is called once, maybe
 * before this returns: r >= 0 with the object as it was (borrowed), or r <
 * 0 and why.  Returns 0, -ENOENT, or -EBUSY when a deletion runs already. */
typedef void (*ObjectsDeleted)(int r, const char *err, json_t *old, void *userdata);
int objects_delete(Objects *o, const Kind *k, const char *ns, const char *name, const char *by, ObjectsDeleted done,
                   void *userdata);
/* Whether k's ns/name is being deleted. */
bool objects_deleting(Objects *o, const Kind *k, const char *ns, const char *name);

/* Answers the applies that waited for token of k's ns/name. */
void objects_settled(Objects *o, const Kind *k, const char *ns, const char *name, const char *token);

/* *objp was quarantined (crashguard.h) and is to be processed again: the
 * store forgets its deaths; *objp is replaced by the object as stored. */
void objects_release_quarantine(Objects *o, const Kind *k, json_t **objp);

/* Calls fn for each stored object of k (in ns, or all) that is not
 * quarantined, within a crash guard (GUARD_RECONCILE). */
void objects_each(Objects *o, const Kind *k, const char *ns, void (*fn)(void *self, json_t *obj), void *self);

/* At start: quarantined objects say so, then each controller's reconcile,
 * in table order; one whose reconcile goes on on the loop holds the rest
 * until it calls objects_reconciled().  objects_starting() is true until
 * every controller has reconciled. */
void objects_reconcile_all(Objects *o);
void objects_reconciled(Objects *o);
bool objects_starting(const Objects *o);
/* True while a controller or a deletion needs the daemon. */
bool objects_busy(Objects *o);

/* Whether rq's caller may use rq's namespace: 0, or answers 403 and
 * returns -EPERM (for subresources). */
int objects_check_namespace(Objects *o, const Request *rq);
