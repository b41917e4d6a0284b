/* controller.h: what a kind's controller gives sdflowd.
 *
 * Each kind sdflowd runs (Profile, InferenceService, Workflow, CronWorkflow,
 * Experiment, …) is a ControllerType in one table in sdflowd.c.  The REST
 * layer (api.c) is generic: it parses, checks who calls, stores, watches
 * and answers, and asks the kind's controller, through these hooks, what
 * only the kind knows.  The object layer (objects.h) is what controllers
 * call back: the store with its watchers told, and each other.
 *
 * Every hook is optional (NULL: nothing to do).  self is what new() made.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "auth.h"
#include "kinds.h"
#include "manifest.h"
#include "rest.h"
#include "server.h"
#include "store.h"

typedef struct Objects Objects;

/* One request to a subresource or an extra path. */
typedef struct Request {
        HttpConn *conn;
        const HttpMessage *msg;
        const Caller *caller;
        const Route *rt;      /* NULL for an extra path */
        const char *query;
        size_t query_len;
        const char *body;
        size_t body_len;
} Request;

typedef void (*RequestHandler)(void *self, const Request *rq);

/* .../NAME/SUB[/ITEM] of the kind's objects. */
typedef struct Subresource {
        const char *name;
        const char *method; /* the one allowed (405 otherwise), or NULL: handle() decides */
        bool item;          /* takes .../SUB/ITEM */
        RequestHandler handle;
} Subresource;

/* A path outside /apis the controller answers (e.g. /v1/top/namespaces). */
typedef struct ExtraPath {
        const char *path;
        const char *method;
        RequestHandler handle;
} ExtraPath;

/* An object just stored by an apply, a retry or a restart's reconcile. */
typedef struct Applied {
        json_t *stored;     /* in/out: replaced by the object as stored after react() */
        StoreChange change; /* STORE_UPDATED for a retry or a restart's reconcile */
        json_t *before;     /* the object before the apply, NULL if it is new or not known */
        json_t *profile;    /* its namespace's object (namespaced kinds), else NULL */
        const char *by;     /* the user who applied it (whose rights a model is read with) */
        bool applied;       /* a request changed it (not a retry, nor a restart) */
} Applied;

/* A removal that goes on on the loop ends: r < 0 with err, or r >= 0. */
typedef void (*RemoveDone)(int r, const char *err, void *userdata);

typedef struct ControllerType {
        const Kind *kind;
        /* Its objects are the namespaces (Profile): a namespaced object
         * needs one, its deletion takes the namespace's objects with it,
         * nothing new enters a namespace while it goes. */
        bool namespace_kind;

        int (*new)(Objects *o, void **ret);
        void (*free)(void *self);

        /* At start, in table order: bring what systemd lost (transient
         * units, timers) back in line with the store.  What it starts may
         * go on on the loop (a namespace's helper after a reboot): while
         * reconciling() says so, the controllers after it wait, and it
         * calls objects_reconciled() when done. */
        void (*reconcile)(void *self);
        bool (*reconciling)(void *self);

        /* Validating and mutating admission, before anything is stored.
         * before is the stored object (NULL: new), profile its namespace's.
         * Returns 0 to admit; else 422 with errors in d, or another HTTP
         * code with the reason in msg. */
        int (*admit)(void *self, json_t *obj, json_t *before, json_t *profile, Diags *d, char *msg, size_t size);

        /* After a committed apply (or a retry, or a restart that finds an
         * apply not acted on): make the world match. */
        void (*react)(void *self, Applied *ap);

        /* Before obj leaves the store: stop what runs for it.  Returns 0
         * when that is done, 1 when it goes on and done() follows (only
         * when done is not NULL), or -errno with err saying why not. */
        int (*remove)(void *self, json_t *obj, RemoveDone done, void *userdata, char *err, size_t size);

        /* Any committed change of any kind (ADDED, MODIFIED, DELETED, or
         * TOKENS: a namespace's bearer tokens changed; obj is its Profile). */
        void (*changed)(void *self, const Kind *k, const char *type, json_t *obj);

        /* True while work runs that needs sdflowd: no idle exit. */
        bool (*busy)(void *self);

        /* What is observed now rather than stored, added to obj before it
         * is shown (a replica's state). */
        void (*observe)(void *self, json_t *obj);

        /* Whether a caller who is no administrator may see obj; NULL: who
         * may use its namespace. */
        bool (*visible)(void *self, const Caller *caller, json_t *obj);

        /* Whether the answer to an apply that made stored waits (a new
         * revision's readiness check): then token names what it waits for,
         * and objects_settled() with it answers. */
        bool (*pending)(void *self, json_t *stored, char *token, size_t size);

        const Subresource *subresources; /* ends with { NULL } */
        const ExtraPath *paths;           /* ends with { NULL } */
} ControllerType;
