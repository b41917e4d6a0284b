/* store.h: the state database (SQLite, WAL mode): objects and their history.
 *
 * Every change is one transaction.  A store-wide revision counter, as in
 * etcd, numbers the changes; an object's metadata.resourceVersion is the
 * revision of its last change, so a client that sends back a stale
 * resourceVersion is refused (optimistic concurrency).  The recent changes
 * are kept as events for watches.  The schema is versioned with
 * PRAGMA user_version and migrated on open.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "manifest.h"

#define STORE_SCHEMA_VERSION 7
#define STORE_EVENTS_KEPT 10000
#define STORE_EVENTS_MAX_BYTES (64ULL << 20) /* and at most this much of them */

typedef struct Store Store;

typedef enum StoreChange {
        STORE_UNCHANGED = 0,
        STORE_CREATED = 1,
        STORE_UPDATED = 2,
} StoreChange;

/* Opens (creating and migrating) the database at path.  Returns 0 or a
 * negative errno; *err gets SQLite's message when there is one. */
int store_open(const char *path, Store **ret, char *err, size_t errsz);
Store *store_close(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

/* Creates or updates obj (checked by manifest_check) as apply does.  When
 * obj carries metadata.resourceVersion it must equal the stored one, else
 * -ESTALE.  Fills in uid, resourceVersion, generation (raised when spec
 * changes) and creationTimestamp, keeps the stored status, and returns the
 * stored object in *ret (a new reference) and what happened in *change. */
int store_apply(Store *s, const Kind *k, json_t *obj, json_t **ret, StoreChange *change);

/* The object, or -ENOENT. */
int store_get(Store *s, const Kind *k, const char *ns, const char *name, json_t **ret);

/* The objects of kind k in namespace ns (all namespaces when ns is NULL), by
 * namespace and name, as a new array; *rv is the store's revision. */
int store_list(Store *s, const Kind *k, const char *ns, json_t **ret, uint64_t *rv);

/* Deletes the object; *ret gets it as it was (may be NULL).  -ENOENT if absent. */
int store_delete(Store *s, const Kind *k, const char *ns, const char *name, json_t **ret);

/* Replaces the status of an object (a change with its own revision); status is not consumed. */
int store_set_status(Store *s, const Kind *k, const char *ns, const char *name, json_t *status);

/* The store's current revision. */
uint64_t store_revision(Store *s);

typedef struct StoreEvent {
        uint64_t rv;
        const char *type; /* "ADDED", "MODIFIED", "DELETED" */
        json_t *object;
} StoreEvent;

/* Calls cb for every event after revision since, of kind k (all kinds when
 * NULL) and namespace ns (all when NULL), oldest first.  Returns -ERANGE when
 * since is older than the kept history ("410 Gone"), or cb's negative result. */
int store_events(Store *s, uint64_t since, const Kind *k, const char *ns,
                 int (*cb)(const StoreEvent *e, void *userdata), void *userdata);

/* Contributors of a namespace: Unix users who may use it besides its owner.
 * store_contributor_set() adds (present) or removes one and returns 1 when
 * that changed something, 0 when not; store_contributors() lists them as a
 * new JSON array of names; store_contributors_clear() removes them all. */
int store_contributor_set(Store *s, const char *ns, const char *user, bool present);
int store_contributors(Store *s, const char *ns, json_t **ret);
int store_contributors_clear(Store *s, const char *ns);

/* Bearer tokens of a namespace, by name; only their SHA-256 (hex) is kept.
 * store_token_add() fails with -EEXIST for a name in use;
 * store_token_delete() removes one (name) or all (NULL) and returns 1 when
 * something went; store_tokens() lists them (ns NULL: of every namespace)
 * as a new array of {namespace, name, sha256, created}. */
int store_token_add(Store *s, const char *ns, const char *name, const char *sha256, const char *created);
int store_token_delete(Store *s, const char *ns, const char *name);
int store_tokens(Store *s, const char *ns, json_t **ret);

/* The step cache of pipelines: a successful step's outputs by the key of
 * what it ran, per namespace; workflow names where the outputs' files lie.
 * store_cache_get() returns -ENOENT on a miss; store_cache_forget() drops
 * the entries of a workflow (all of the namespace's when NULL). */
int store_cache_put(Store *s, const char *ns, const char *key, const char *workflow, json_t *outputs);
int store_cache_get(Store *s, const char *ns, const char *key, json_t **outputs, char *workflow, size_t size);
int store_cache_forget(Store *s, const char *ns, const char *workflow);

/* Objects the control plane died on (see services/sdflowd/crashguard.h),
 * by uid.  store_crash_record() counts one more death on the object (kind
 * is "group/Kind", ns "" for cluster-scoped kinds) and returns the count
 * in *deaths; store_crashes() lists those with at least min_deaths as a new
 * array of {uid, kind, namespace, name, deaths, stage, at};
 * store_crash_clear() forgets an object's deaths and returns 1 when there
 * were some. */
int store_crash_record(Store *s, const char *kind, const char *ns, const char *name, const char *uid,
                       const char *stage, unsigned *deaths);
int store_crashes(Store *s, unsigned min_deaths, json_t **ret);
int store_crash_clear(Store *s, const char *uid);

/* Login sessions and personal API tokens of Unix users (sdflow-login(8)):
 * only the SHA-256 (hex) of the secret is kept.  Times are seconds since
 * the epoch; expires 0: never; idle 0: no idle timeout. */
typedef struct StoreCredential {
        char sha256[65];
        char kind[16];    /* "session" or "token" */
        char user[64];
        char name[64];    /* a token's name (unique per user); a session's: "" */
        char address[64]; /* where it was made from */
        int64_t created, last_used, expires, idle;
} StoreCredential;

/* store_credential_add() fails with -EEXIST for a token name the user has
 * already; store_credential_get() returns -ENOENT for none;
 * store_credential_touch() sets last_used; store_credential_delete()
 * removes those of kind whose hash starts with prefix (at least 8 hex
 * digits; NULL: any) and, with user set, are that user's; it returns how
 * many went; store_credentials() lists them (user NULL: everyone's) as a
 * new array of objects, without the whole hash (its first 12 digits as
 * "id"); store_credentials_expire() removes those past their end. */
int store_credential_add(Store *s, const StoreCredential *c);
int store_credential_get(Store *s, const char *sha256, StoreCredential *ret);
int store_credential_touch(Store *s, const char *sha256, int64_t last_used);
int store_credential_delete(Store *s, const char *kind, const char *prefix, const char *user, const char *name);
int store_credentials(Store *s, const char *kind, const char *user, json_t **ret);
int store_credentials_expire(Store *s, int64_t now);

/* What the objects of namespace ns take in the store, in bytes (their JSON). */
int store_namespace_bytes(Store *s, const char *ns, uint64_t *ret);

/* Runs PRAGMA integrity_check; 0 when it says "ok". */
int store_check(Store *s);
