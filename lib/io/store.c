/* store.c: see store.h. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

struct Store {
        sqlite3 *db;
};

/* Each entry moves the schema from version i to i + 1. */
static const char *const migrations[] = {
        /* 0 -> 1 */
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "INSERT INTO meta VALUES ('revision', 0);"
        "CREATE TABLE objects ("
        "  kind TEXT NOT NULL,"         /* group/Kind */
        "  namespace TEXT NOT NULL,"    /* '' for cluster-scoped kinds */
        "  name TEXT NOT NULL,"
        "  uid TEXT NOT NULL UNIQUE,"
        "  rv INTEGER NOT NULL,"
        "  body TEXT NOT NULL,"         /* the whole object as JSON */
        "  PRIMARY KEY (kind, namespace, name));"
        "CREATE TABLE events ("
        "  rv INTEGER PRIMARY KEY,"
        "  type TEXT NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  namespace TEXT NOT NULL,"
        "  body TEXT NOT NULL);",
        /* 1 -> 2: contributors of namespaces (Unix users besides the owner) */
        "CREATE TABLE contributors ("
        "  namespace TEXT NOT NULL,"
        "  user TEXT NOT NULL,"
        "  PRIMARY KEY (namespace, user));",
        /* 2 -> 3: bearer tokens of namespaces, for the gateway (SHA-256 only) */
        "CREATE TABLE tokens ("
        "  namespace TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  sha256 TEXT NOT NULL,"
        "  created TEXT NOT NULL,"
        "  PRIMARY KEY (namespace, name));",
        /* 3 -> 4: outputs of successful pipeline steps, by cache key */
        "CREATE TABLE step_cache ("
        "  namespace TEXT NOT NULL,"
        "  key TEXT NOT NULL,"          /* SHA-256 of the resolved step, hex */
        "  workflow TEXT NOT NULL,"     /* where the outputs are */
        "  outputs TEXT NOT NULL,"      /* the node's outputs, JSON */
        "  PRIMARY KEY (namespace, key));",
        /* 4 -> 5: objects sdflowd died on (see crashguard.h) */
        "CREATE TABLE crashes ("
        "  uid TEXT PRIMARY KEY,"       /* the object's metadata.uid */
        "  kind TEXT NOT NULL,"
        "  namespace TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  deaths INTEGER NOT NULL,"
        "  stage TEXT NOT NULL,"        /* what sdflowd was doing the last time */
        "  at TEXT NOT NULL);",
        /* 5 -> 6: sizes, so that what a namespace stores and what the events
         * keep are bounded in bytes without reading the bodies */
        "ALTER TABLE objects ADD COLUMN size INTEGER NOT NULL DEFAULT 0;"
        "UPDATE objects SET size = length(CAST(body AS BLOB));"
        "ALTER TABLE events ADD COLUMN size INTEGER NOT NULL DEFAULT 0;"
        "UPDATE events SET size = length(CAST(body AS BLOB));",
        /* 6 -> 7: login sessions and API tokens of users (SHA-256 only) */
        "CREATE TABLE credentials ("
        "  sha256 TEXT PRIMARY KEY,"
        "  kind TEXT NOT NULL,"         /* session, token */
        "  user TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  address TEXT NOT NULL,"
        "  created INTEGER NOT NULL,"
        "  last_used INTEGER NOT NULL,"
        "  expires INTEGER NOT NULL,"
        "  idle INTEGER NOT NULL);"
        "CREATE UNIQUE INDEX credentials_token_names ON credentials (user, name) WHERE kind = 'token';",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* sqlite3_finalize() returns an error code; DEFINE_TRIVIAL_CLEANUP_FUNC needs the pointer back. */
static inline sqlite3_stmt *stmt_finalize(sqlite3_stmt *st) {
        sqlite3_finalize(st);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, stmt_finalize);

static int sql_err(int rc) {
        switch (rc) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        default:
                return -EIO;
        }
}

static int exec(Store *s, const char *sql) {
        return sql_err(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

static int query_u64(Store *s, const char *sql, uint64_t *ret);

static void kind_key(const Kind *k, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s", k->group, k->kind);
}

int store_open(const char *path, Store **ret, char *err, size_t errsz) {
        _cleanup_(store_closep) Store *s = calloc(1, sizeof *s);
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc, version;

        err[0] = '\0';
        if (!s)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        sqlite3_busy_timeout(s->db, 5000);
        /* WAL, and FULL sync: an acknowledged change survives a crash. */
        rc = sqlite3_exec(s->db,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                          NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
        if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
                goto fail;
        version = sqlite3_column_int(st, 0);
        st = stmt_finalize(st);
        /* Space freed by deletes goes back to the file system (below), and
         * the WAL does not keep the size of its largest burst. */
        if (version == 0)
                (void) exec(s, "PRAGMA auto_vacuum=INCREMENTAL");
        (void) exec(s, "PRAGMA journal_size_limit=16777216");
        if (version > STORE_SCHEMA_VERSION) {
                snprintf(err, errsz, "%s has schema version %d, newer than this sdflow (%d)", path, version,
                         STORE_SCHEMA_VERSION);
                return -EPROTO;
        }
        for (; version < STORE_SCHEMA_VERSION; version++) {
                char bump[64];
                snprintf(bump, sizeof bump, "PRAGMA user_version=%d;", version + 1);
                rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
                if (rc == SQLITE_OK)
                        rc = sqlite3_exec(s->db, migrations[version], NULL, NULL, NULL);
                if (rc == SQLITE_OK)
                        rc = sqlite3_exec(s->db, bump, NULL, NULL, NULL);
                if (rc == SQLITE_OK)
                        rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
                if (rc != SQLITE_OK) {
                        snprintf(err, errsz, "migration to schema %d: %s", version + 1, sqlite3_errmsg(s->db));
                        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                        return sql_err(rc);
                }
        }
        /* A database made before auto_vacuum: converted once (VACUUM rewrites it). */
        uint64_t av = 0;
        if (query_u64(s, "PRAGMA auto_vacuum", &av) == 0 && av != 2) {
                rc = sqlite3_exec(s->db, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;", NULL, NULL, NULL);
                if (rc != SQLITE_OK)
                        log_warning("Cannot turn on auto_vacuum in %s, ignoring: %s", path, sqlite3_errmsg(s->db));
        }
        *ret = TAKE_PTR(s);
        return 0;
fail:
        snprintf(err, errsz, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
        return sql_err(rc ?: SQLITE_ERROR);
}

Store *store_close(Store *s) {
        if (!s)
                return NULL;
        sqlite3_close_v2(s->db);
        free(s);
        return NULL;
}

/* Reads a single integer. */
static int query_u64(Store *s, const char *sql, uint64_t *ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = (uint64_t) sqlite3_column_int64(st, 0);
        return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sql_err(rc);
}

uint64_t store_revision(Store *s) {
        uint64_t rv = 0;
        (void) query_u64(s, "SELECT value FROM meta WHERE key='revision'", &rv);
        return rv;
}

static int load(Store *s, const char *kind, const char *ns, const char *name, json_t **ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "SELECT body FROM objects WHERE kind=?1 AND namespace=?2 AND name=?3", -1,
                                    &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        int r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sql_err(rc);
        if (r == 0) {
                *ret = json_loads((const char *) sqlite3_column_text(st, 0), 0, NULL);
                if (!*ret)
                        r = -EUCLEAN;
        }
        return r;
}

static int record(Store *s, uint64_t rv, const char *type, const char *kind, const char *ns, const char *body) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "INSERT INTO events (rv, type, kind, namespace, body, size) VALUES (?1,?2,?3,?4,?5,?6)",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_int64(st, 1, (sqlite3_int64) rv);
        sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, body, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64) strlen(body));
        rc = sqlite3_step(st);
        st = stmt_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_err(rc);
        /* Keep a bounded history: in events, and in bytes (the newest event always). */
        char trim[400];
        snprintf(trim, sizeof trim, "DELETE FROM events WHERE rv <= %llu",
                 (unsigned long long) (rv > STORE_EVENTS_KEPT ? rv - STORE_EVENTS_KEPT : 0));
        int r = exec(s, trim);
        if (r < 0)
                return r;
        snprintf(trim, sizeof trim,
                 "DELETE FROM events WHERE rv < %llu AND rv <= (SELECT rv FROM (SELECT rv, SUM(size) OVER "
                 "(ORDER BY rv DESC) AS total FROM events) WHERE total > %llu ORDER BY rv DESC LIMIT 1)",
                 (unsigned long long) rv, (unsigned long long) STORE_EVENTS_MAX_BYTES);
        return exec(s, trim);
}

static int next_revision(Store *s, uint64_t *rv) {
        int r = exec(s, "UPDATE meta SET value = value + 1 WHERE key='revision'");
        if (r < 0)
                return r;
        return query_u64(s, "SELECT value FROM meta WHERE key='revision'", rv);
}

static void new_uid(char *buf) {
        unsigned char b[16];
        _cleanup_close_ int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, b, sizeof b) != sizeof b) {
                /* Unique enough for a fallback: time and address entropy. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                for (size_t i = 0; i < sizeof b; i++)
                        b[i] = (unsigned char) ((ts.tv_nsec >> (i % 8)) ^ (uintptr_t) b >> i ^ (unsigned) i * 131);
        }
        b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
        b[8] = (b[8] & 0x3f) | 0x80;
        sprintf(buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
                b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}


static int write_object(Store *s, const char *kind, const char *ns, const char *name, const char *uid, uint64_t rv,
                        const char *body) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "INSERT INTO objects (kind, namespace, name, uid, rv, body, size) "
                                    "VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT (kind, namespace, name) DO UPDATE "
                                    "SET rv=excluded.rv, body=excluded.body, size=excluded.size",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, uid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64) rv);
        sqlite3_bind_text(st, 6, body, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, (sqlite3_int64) strlen(body));
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

static int begin(Store *s) {
        return exec(s, "BEGIN IMMEDIATE");
}

static int end(Store *s, int r) {
        if (r < 0) {
                (void) exec(s, "ROLLBACK");
                return r;
        }
        int k = exec(s, "COMMIT");
        if (k < 0) {
                (void) exec(s, "ROLLBACK");
                return k;
        }
        /* Give back what deletes (and trimmed events) freed, past 4 MiB of free pages. */
        uint64_t free_pages = 0;
        if (query_u64(s, "PRAGMA freelist_count", &free_pages) == 0 && free_pages > 1024)
                (void) exec(s, "PRAGMA incremental_vacuum");
        return r;
}

/* Within a transaction: takes the next revision, stamps obj with it as
 * metadata.resourceVersion, writes obj (unless DELETED) and records the event. */
static int commit_change(Store *s, const char *kind, const char *ns, const char *name, json_t *obj,
                         const char *type) {
        char rvs[32];
        uint64_t rv;
        json_t *md = json_object_get(obj, "metadata");
        int r = next_revision(s, &rv);
        if (r < 0)
                return r;
        snprintf(rvs, sizeof rvs, "%llu", (unsigned long long) rv);
        if (json_is_object(md) && json_object_set_new(md, "resourceVersion", json_string(rvs)) < 0)
                return -ENOMEM; /* it would be stored without its resourceVersion */
        _cleanup_free_ char *body = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
        if (!body)
                return -ENOMEM;
        if (strcmp(type, "DELETED") != 0)
                r = write_object(s, kind, ns, name, json_string_value(json_object_get(md, "uid")), rv, body);
        if (r >= 0)
                r = record(s, rv, type, kind, ns, body);
        return r;
}

static const char *ns_of(const Kind *k, json_t *obj) {
        const char *ns = manifest_namespace(obj);
        return k->namespaced ? (ns ?: "default") : "";
}

int store_apply(Store *s, const Kind *k, json_t *obj, json_t **ret, StoreChange *change) {
        char kind[128], ts[32], uidbuf[40];
        json_auto_t *old = NULL;
        json_t *md = json_object_get(obj, "metadata");
        const char *name = manifest_name(obj), *ns = ns_of(k, obj);
        int r;

        if (!name || !json_is_object(md))
                return -EINVAL;
        kind_key(k, kind, sizeof kind);
        r = begin(s);
        if (r < 0)
                return r;
        r = load(s, kind, ns, name, &old);
        if (r < 0 && r != -ENOENT)
                return end(s, r);

        const char *want_rv = json_string_value(json_object_get(md, "resourceVersion"));
        json_t *omd = old ? json_object_get(old, "metadata") : NULL;
        if (want_rv) {
                const char *have = omd ? json_string_value(json_object_get(omd, "resourceVersion")) : NULL;
                if (!have || strcmp(have, want_rv) != 0)
                        return end(s, -ESTALE);
        }

        json_auto_t *new = json_deep_copy(obj);
        if (!new)
                return end(s, -ENOMEM);
        json_t *nmd = json_object_get(new, "metadata");
        if (k->namespaced && json_object_set_new(nmd, "namespace", json_string(ns)) < 0)
                return end(s, -ENOMEM);
        json_object_del(nmd, "resourceVersion");
        json_int_t generation = 1;
        const char *uid;
        if (old) {
                /* Unchanged apart from server fields: no new revision. */
                json_auto_t *cmp_old = json_deep_copy(old);
                if (!cmp_old)
                        return end(s, -ENOMEM);
                json_t *cmd = json_object_get(cmp_old, "metadata");
                json_object_del(cmp_old, "status");
                json_object_del(cmd, "resourceVersion");
                json_object_del(cmd, "uid");
                json_object_del(cmd, "generation");
                json_object_del(cmd, "creationTimestamp");
                if (json_equal(cmp_old, new)) {
                        *ret = TAKE_PTR(old);
                        *change = STORE_UNCHANGED;
                        return end(s, 0);
                }
                generation = json_integer_value(json_object_get(omd, "generation"));
                if (!json_equal(json_object_get(old, "spec"), json_object_get(new, "spec")))
                        generation++;
                uid = json_string_value(json_object_get(omd, "uid"));
                json_object_set(nmd, "creationTimestamp", json_object_get(omd, "creationTimestamp"));
                if (json_object_get(old, "status"))
                        json_object_set(new, "status", json_object_get(old, "status"));
        } else {
                new_uid(uidbuf);
                uid = uidbuf;
                format_now_rfc3339(ts, sizeof ts);
                if (json_object_set_new(nmd, "creationTimestamp", json_string(ts)) < 0)
                        return end(s, -ENOMEM);
        }
        /* uid may point into old: old is kept until here. */
        if (json_object_set_new(nmd, "uid", json_string(uid)) < 0 ||
            json_object_set_new(nmd, "generation", json_integer(generation)) < 0)
                return end(s, -ENOMEM);

        bool existed = old != NULL;
        r = commit_change(s, kind, ns, name, new, existed ? "MODIFIED" : "ADDED");
        r = end(s, r);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(new);
        *change = existed ? STORE_UPDATED : STORE_CREATED;
        return 0;
}

int store_get(Store *s, const Kind *k, const char *ns, const char *name, json_t **ret) {
        char kind[128];
        kind_key(k, kind, sizeof kind);
        return load(s, kind, k->namespaced ? (ns ?: "default") : "", name, ret);
}

int store_list(Store *s, const Kind *k, const char *ns, json_t **ret, uint64_t *rv) {
        char kind[128];
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc, r = 0;

        kind_key(k, kind, sizeof kind);
        /* A read transaction, so the list and the revision agree. */
        r = exec(s, "BEGIN");
        if (r < 0)
                return r;
        rc = sqlite3_prepare_v2(s->db,
                                ns && k->namespaced
                                        ? "SELECT body FROM objects WHERE kind=?1 AND namespace=?2 ORDER BY namespace, name"
                                        : "SELECT body FROM objects WHERE kind=?1 ORDER BY namespace, name",
                                -1, &st, NULL);
        if (rc != SQLITE_OK) {
                (void) exec(s, "ROLLBACK");
                return sql_err(rc);
        }
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        if (ns && k->namespaced)
                sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
        json_auto_t *items = json_array();
        if (!items)
                r = -ENOMEM;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_t *o = json_loads((const char *) sqlite3_column_text(st, 0), 0, NULL);
                if (!o) {
                        r = -EUCLEAN;
                        break;
                }
                if (json_array_append_new(items, o) < 0) { /* steals o, also on failure */
                        r = -ENOMEM;
                        break;
                }
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(rc);
        st = stmt_finalize(st); /* before COMMIT: a statement in progress would keep the read open */
        if (r == 0 && rv)
                *rv = store_revision(s);
        (void) exec(s, "COMMIT");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(items);
        return 0;
}

int store_delete(Store *s, const Kind *k, const char *ns, const char *name, json_t **ret) {
        char kind[128];
        json_auto_t *old = NULL;
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int r;

        kind_key(k, kind, sizeof kind);
        ns = k->namespaced ? (ns ?: "default") : "";
        r = begin(s);
        if (r < 0)
                return r;
        r = load(s, kind, ns, name, &old);
        if (r < 0)
                return end(s, r);
        int rc = sqlite3_prepare_v2(s->db, "DELETE FROM objects WHERE kind=?1 AND namespace=?2 AND name=?3", -1, &st,
                                    NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                st = stmt_finalize(st);
        }
        r = rc == SQLITE_DONE || rc == SQLITE_OK ? 0 : sql_err(rc);
        if (r >= 0)
                r = commit_change(s, kind, ns, name, old, "DELETED");
        r = end(s, r);
        if (r >= 0 && ret)
                *ret = TAKE_PTR(old);
        return r;
}

int store_set_status(Store *s, const Kind *k, const char *ns, const char *name, json_t *status) {
        char kind[128];
        json_auto_t *obj = NULL;
        int r;

        kind_key(k, kind, sizeof kind);
        ns = k->namespaced ? (ns ?: "default") : "";
        r = begin(s);
        if (r < 0)
                return r;
        r = load(s, kind, ns, name, &obj);
        if (r < 0)
                return end(s, r);
        if (json_equal(json_object_get(obj, "status"), status))
                return end(s, 0);
        json_object_set(obj, "status", status);
        r = commit_change(s, kind, ns, name, obj, "MODIFIED");
        return end(s, r);
}

int store_events(Store *s, uint64_t since, const Kind *k, const char *ns,
                 int (*cb)(const StoreEvent *e, void *userdata), void *userdata) {
        char kind[128];
        uint64_t oldest = 0;
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc, r = 0;

        /* Events after `since` are complete only if nothing after it was trimmed. */
        if (query_u64(s, "SELECT MIN(rv) FROM events", &oldest) == 0 && oldest > since + 1 &&
            since < store_revision(s))
                return -ERANGE;
        if (k)
                kind_key(k, kind, sizeof kind);
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT rv, type, body FROM events WHERE rv > ?1 AND (?2 IS NULL OR kind = ?2) "
                                "AND (?3 IS NULL OR namespace = ?3) ORDER BY rv",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_int64(st, 1, (sqlite3_int64) since);
        if (k)
                sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        if (ns && (!k || k->namespaced))
                sqlite3_bind_text(st, 3, ns, -1, SQLITE_STATIC);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_auto_t *o = json_loads((const char *) sqlite3_column_text(st, 2), 0, NULL);
                if (!o) {
                        r = -EUCLEAN;
                        break;
                }
                StoreEvent e = { (uint64_t) sqlite3_column_int64(st, 0), (const char *) sqlite3_column_text(st, 1), o };
                r = cb(&e, userdata);
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sql_err(rc);
        return r;
}

int store_check(Store *s) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        rc = sqlite3_step(st);
        return rc == SQLITE_ROW && strcmp((const char *) sqlite3_column_text(st, 0), "ok") == 0 ? 0 : -EUCLEAN;
}

int store_contributor_set(Store *s, const char *ns, const char *user, bool present) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    present ? "INSERT OR IGNORE INTO contributors (namespace, user) VALUES (?1, ?2)"
                                            : "DELETE FROM contributors WHERE namespace = ?1 AND user = ?2",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        st = stmt_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_err(rc);
        return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

int store_contributors(Store *s, const char *ns, json_t **ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "SELECT user FROM contributors WHERE namespace = ?1 ORDER BY user", -1, &st,
                                    NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
        json_auto_t *a = json_array();
        if (!a)
                return -ENOMEM;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                if (json_array_append_new(a, json_string((const char *) sqlite3_column_text(st, 0))) < 0)
                        return -ENOMEM; /* a contributor would be dropped silently */
        if (rc != SQLITE_DONE)
                return sql_err(rc);
        *ret = TAKE_PTR(a);
        return 0;
}

int store_contributors_clear(Store *s, const char *ns) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "DELETE FROM contributors WHERE namespace = ?1", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

int store_token_add(Store *s, const char *ns, const char *name, const char *sha256, const char *created) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "INSERT INTO tokens (namespace, name, sha256, created) VALUES (?1, ?2, ?3, ?4)",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, created, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT)
                return -EEXIST;
        return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

int store_token_delete(Store *s, const char *ns, const char *name) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, name ? "DELETE FROM tokens WHERE namespace = ?1 AND name = ?2"
                                                : "DELETE FROM tokens WHERE namespace = ?1",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
        if (name)
                sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        st = stmt_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_err(rc);
        return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

int store_tokens(Store *s, const char *ns, json_t **ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    ns ? "SELECT namespace, name, sha256, created FROM tokens WHERE namespace = ?1 ORDER BY name"
                                       : "SELECT namespace, name, sha256, created FROM tokens ORDER BY namespace, name",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        if (ns)
                sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
        json_auto_t *a = json_array();
        if (!a)
                return -ENOMEM;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "namespace", sqlite3_column_text(st, 0),
                                                       "name", sqlite3_column_text(st, 1), "sha256",
                                                       sqlite3_column_text(st, 2), "created",
                                                       sqlite3_column_text(st, 3))) < 0)
                        return -ENOMEM; /* a token would be dropped silently */
        if (rc != SQLITE_DONE)
                return sql_err(rc);
        *ret = TAKE_PTR(a);
        return 0;
}

int store_cache_put(Store *s, const char *ns, const char *key, const char *workflow, json_t *outputs) {
        _cleanup_free_ char *text = json_dumps(outputs, JSON_COMPACT);
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL; /* finalized before text is freed */
        if (!text)
                return -ENOMEM;
        int rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO step_cache VALUES (?1, ?2, ?3, ?4)", -1, &st, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, workflow, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
        }
        return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

int store_cache_get(Store *s, const char *ns, const char *key, json_t **outputs, char *workflow, size_t size) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "SELECT workflow, outputs FROM step_cache WHERE namespace = ?1 AND key = ?2",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        int r = -ENOENT;
        if (rc == SQLITE_ROW) {
                snprintf(workflow, size, "%s", (const char *) sqlite3_column_text(st, 0));
                *outputs = json_loads((const char *) sqlite3_column_text(st, 1), 0, NULL);
                r = *outputs ? 0 : -EBADMSG;
        } else if (rc != SQLITE_DONE)
                r = sql_err(rc);
        return r;
}

int store_cache_forget(Store *s, const char *ns, const char *workflow) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, workflow ? "DELETE FROM step_cache WHERE namespace = ?1 AND workflow = ?2"
                                                    : "DELETE FROM step_cache WHERE namespace = ?1",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
        if (workflow)
                sqlite3_bind_text(st, 2, workflow, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

int store_crash_record(Store *s, const char *kind, const char *ns, const char *name, const char *uid,
                       const char *stage, unsigned *deaths) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        int r = begin(s);
        if (r < 0)
                return r;
        int rc = sqlite3_prepare_v2(s->db,
                                    "INSERT INTO crashes (uid, kind, namespace, name, deaths, stage, at) "
                                    "VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6) ON CONFLICT (uid) DO UPDATE SET "
                                    "deaths = deaths + 1, stage = excluded.stage, at = excluded.at",
                                    -1, &st, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, ns ?: "", -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 5, stage, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 6, ts, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                st = stmt_finalize(st);
        }
        r = rc == SQLITE_DONE ? 0 : sql_err(rc);
        if (r >= 0) {
                rc = sqlite3_prepare_v2(s->db, "SELECT deaths FROM crashes WHERE uid = ?1", -1, &st, NULL);
                if (rc == SQLITE_OK) {
                        sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
                        rc = sqlite3_step(st);
                        if (rc == SQLITE_ROW)
                                *deaths = (unsigned) sqlite3_column_int(st, 0);
                        st = stmt_finalize(st);
                }
                r = rc == SQLITE_ROW ? 0 : sql_err(rc ?: SQLITE_ERROR);
        }
        return end(s, r);
}

int store_crashes(Store *s, unsigned min_deaths, json_t **ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT uid, kind, namespace, name, deaths, stage, at FROM crashes "
                                    "WHERE deaths >= ?1 ORDER BY kind, namespace, name",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_int(st, 1, (int) min_deaths);
        json_auto_t *a = json_array();
        if (!a)
                return -ENOMEM;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s}", "uid",
                                                       sqlite3_column_text(st, 0), "kind", sqlite3_column_text(st, 1),
                                                       "namespace", sqlite3_column_text(st, 2), "name",
                                                       sqlite3_column_text(st, 3), "deaths", sqlite3_column_int(st, 4),
                                                       "stage", sqlite3_column_text(st, 5), "at",
                                                       sqlite3_column_text(st, 6))) < 0)
                        return -ENOMEM; /* a crash record would be dropped silently */
        if (rc != SQLITE_DONE)
                return sql_err(rc);
        *ret = TAKE_PTR(a);
        return 0;
}

int store_crash_clear(Store *s, const char *uid) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "DELETE FROM crashes WHERE uid = ?1", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        st = stmt_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_err(rc);
        return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

int store_namespace_bytes(Store *s, const char *ns, uint64_t *ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "SELECT COALESCE(SUM(size), 0) FROM objects WHERE namespace = ?1", -1, &st,
                                    NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = (uint64_t) sqlite3_column_int64(st, 0);
        return rc == SQLITE_ROW ? 0 : sql_err(rc);
}

/* ---- credentials ------------------------------------------------------------ */

int store_credential_add(Store *s, const StoreCredential *c) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "INSERT INTO credentials (sha256, kind, user, name, address, created, last_used, "
                                    "expires, idle) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, c->sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, c->address, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, c->created);
        sqlite3_bind_int64(st, 7, c->last_used);
        sqlite3_bind_int64(st, 8, c->expires);
        sqlite3_bind_int64(st, 9, c->idle);
        rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT)
                return -EEXIST;
        return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col) {
        const unsigned char *t = sqlite3_column_text(st, col);
        snprintf(dst, size, "%s", t ? (const char *) t : "");
}

int store_credential_get(Store *s, const char *sha256, StoreCredential *ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT sha256, kind, user, name, address, created, last_used, expires, idle "
                                    "FROM credentials WHERE sha256 = ?1",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sql_err(rc);
        *ret = (StoreCredential) {};
        copy_text(ret->sha256, sizeof ret->sha256, st, 0);
        copy_text(ret->kind, sizeof ret->kind, st, 1);
        copy_text(ret->user, sizeof ret->user, st, 2);
        copy_text(ret->name, sizeof ret->name, st, 3);
        copy_text(ret->address, sizeof ret->address, st, 4);
        ret->created = sqlite3_column_int64(st, 5);
        ret->last_used = sqlite3_column_int64(st, 6);
        ret->expires = sqlite3_column_int64(st, 7);
        ret->idle = sqlite3_column_int64(st, 8);
        return 0;
}

int store_credential_touch(Store *s, const char *sha256, int64_t last_used) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "UPDATE credentials SET last_used = ?2 WHERE sha256 = ?1", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, last_used);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

int store_credential_delete(Store *s, const char *kind, const char *prefix, const char *user, const char *name) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "DELETE FROM credentials WHERE kind = ?1 AND (?2 IS NULL OR substr(sha256, 1, "
                                    "length(?2)) = ?2) AND (?3 IS NULL OR user = ?3) AND (?4 IS NULL OR name = ?4)",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        if (prefix && strlen(prefix) < 8)
                return -EINVAL;
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        if (prefix)
                sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
        if (user)
                sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
        if (name)
                sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        st = stmt_finalize(st);
        if (rc != SQLITE_DONE)
                return sql_err(rc);
        return sqlite3_changes(s->db);
}

int store_credentials(Store *s, const char *kind, const char *user, json_t **ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT substr(sha256, 1, 12), user, name, address, created, last_used, expires, "
                                    "idle FROM credentials WHERE kind = ?1 AND (?2 IS NULL OR user = ?2) "
                                    "ORDER BY user, created",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        if (user)
                sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        json_auto_t *a = json_array();
        if (!a)
                return -ENOMEM;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "id",
                                                       sqlite3_column_text(st, 0), "user", sqlite3_column_text(st, 1),
                                                       "name", sqlite3_column_text(st, 2), "address",
                                                       sqlite3_column_text(st, 3), "created",
                                                       (json_int_t) sqlite3_column_int64(st, 4), "lastUsed",
                                                       (json_int_t) sqlite3_column_int64(st, 5), "expires",
                                                       (json_int_t) sqlite3_column_int64(st, 6), "idleTimeout",
                                                       (json_int_t) sqlite3_column_int64(st, 7))) < 0)
                        return -ENOMEM;
        if (rc != SQLITE_DONE)
                return sql_err(rc);
        *ret = TAKE_PTR(a);
        return 0;
}

int store_credentials_expire(Store *s, int64_t now) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "DELETE FROM credentials WHERE (expires > 0 AND expires <= ?1) OR "
                                    "(idle > 0 AND last_used + idle <= ?1)",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(rc);
        sqlite3_bind_int64(st, 1, now);
        rc = sqlite3_step(st);
        st = stmt_finalize(st);
        return rc == SQLITE_DONE ? sqlite3_changes(s->db) : sql_err(rc);
}
