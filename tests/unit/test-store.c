/* test-store.c: the SQLite state store: apply, optimistic concurrency, list,
 * delete, status, events and reopening. */
#include <errno.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kinds.h"
#include "store.h"
#include "test.h"

static json_t *profile(const char *name, const char *owner, const char *cpu) {
        json_t *o = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s, s:s}}}", "apiVersion", "kubeflow.org/v1", "kind",
                              "Profile", "metadata", "name", name, "spec", "owner", "kind", "User", "name", owner);
        if (cpu)
                json_object_set_new(json_object_get(o, "spec"), "resourceQuotaSpec",
                                    json_pack("{s:{s:s}}", "hard", "cpu", cpu));
        return o;
}

static const char *rv_of(json_t *o) {
        return json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
}

static int count_events(const StoreEvent *e, void *ud) {
        char *types = ud;
        strcat(types, e->type);
        strcat(types, " ");
        return 0;
}

int main(void) {
        char dir[] = "/tmp/test-store-XXXXXX", path[256], err[256], types[512] = "";
        Store *s;
        json_t *got, *o;
        StoreChange ch;

        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof path, "%s/state.db", dir);
        CHECK(store_open(path, &s, err, sizeof err) == 0);
        CHECK_EQ_INT(store_revision(s), 0);

        o = profile("team-a", "alice", "1");
        CHECK(store_apply(s, &kind_profile, o, &got, &ch) == 0);
        CHECK_EQ_INT(ch, STORE_CREATED);
        CHECK_STREQ(rv_of(got), "1");
        CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(got, "metadata"), "generation")), 1);
        CHECK(json_string_length(json_object_get(json_object_get(got, "metadata"), "uid")) == 36);
        char uid[64];
        snprintf(uid, sizeof uid, "%s", json_string_value(json_object_get(json_object_get(got, "metadata"), "uid")));
        json_decref(got);

        /* Applying the same again changes nothing. */
        CHECK(store_apply(s, &kind_profile, o, &got, &ch) == 0);
        CHECK_EQ_INT(ch, STORE_UNCHANGED);
        CHECK_STREQ(rv_of(got), "1");
        json_decref(got);
        json_decref(o);

        /* A change to spec: new revision, generation 2, same uid. */
        o = profile("team-a", "alice", "2");
        CHECK(store_apply(s, &kind_profile, o, &got, &ch) == 0);
        CHECK_EQ_INT(ch, STORE_UPDATED);
        CHECK_STREQ(rv_of(got), "2");
        CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(got, "metadata"), "generation")), 2);
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(got, "metadata"), "uid")), uid);
        json_decref(got);
        json_decref(o);

        /* A stale resourceVersion is refused and changes nothing. */
        o = profile("team-a", "alice", "3");
        json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string("1"));
        CHECK_EQ_INT(store_apply(s, &kind_profile, o, &got, &ch), -ESTALE);
        json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string("2"));
        CHECK(store_apply(s, &kind_profile, o, &got, &ch) == 0);
        CHECK_STREQ(rv_of(got), "3");
        json_decref(got);
        json_decref(o);
        CHECK(store_get(s, &kind_profile, NULL, "team-a", &got) == 0);
        CHECK_STREQ(json_string_value(json_object_get(
                            json_object_get(json_object_get(json_object_get(got, "spec"), "resourceQuotaSpec"), "hard"),
                            "cpu")),
                    "3");
        json_decref(got);

        /* Status is kept across applies and changes the revision. */
        json_t *status = json_pack("{s:s}", "phase", "Ready");
        CHECK(store_set_status(s, &kind_profile, NULL, "team-a", status) == 0);
        json_decref(status);
        CHECK_EQ_INT(store_revision(s), 4);
        o = profile("team-a", "alice", "4");
        CHECK(store_apply(s, &kind_profile, o, &got, &ch) == 0);
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(got, "status"), "phase")), "Ready");
        json_decref(got);
        json_decref(o);

        o = profile("team-b", "bob", NULL);
        CHECK(store_apply(s, &kind_profile, o, &got, &ch) == 0);
        json_decref(got);
        json_decref(o);
        uint64_t rv;
        CHECK(store_list(s, &kind_profile, NULL, &got, &rv) == 0);
        CHECK_EQ_INT(json_array_size(got), 2);
        CHECK_STREQ(manifest_name(json_array_get(got, 0)), "team-a");
        CHECK_EQ_INT(rv, 6);
        json_decref(got);

        CHECK_EQ_INT(store_get(s, &kind_profile, NULL, "nope", &got), -ENOENT);
        CHECK_EQ_INT(store_delete(s, &kind_profile, NULL, "nope", NULL), -ENOENT);
        CHECK(store_delete(s, &kind_profile, NULL, "team-b", &got) == 0);
        CHECK_STREQ(manifest_name(got), "team-b");
        json_decref(got);

        CHECK(store_events(s, 0, &kind_profile, NULL, count_events, types) == 0);
        CHECK_STREQ(types, "ADDED MODIFIED MODIFIED MODIFIED MODIFIED ADDED DELETED ");
        types[0] = '\0';
        CHECK(store_events(s, 5, &kind_profile, NULL, count_events, types) == 0);
        CHECK_STREQ(types, "ADDED DELETED ");
        CHECK(store_check(s) == 0);

        CHECK_EQ_INT(store_contributor_set(s, "team-a", "bob", true), 1);
        CHECK_EQ_INT(store_contributor_set(s, "team-a", "bob", true), 0);
        CHECK_EQ_INT(store_contributor_set(s, "team-a", "carol", true), 1);
        json_t *cs;
        CHECK(store_contributors(s, "team-a", &cs) == 0);
        CHECK_EQ_INT(json_array_size(cs), 2);
        CHECK_STREQ(json_string_value(json_array_get(cs, 0)), "bob");
        json_decref(cs);
        CHECK_EQ_INT(store_contributor_set(s, "team-a", "bob", false), 1);
        CHECK_EQ_INT(store_contributor_set(s, "team-a", "bob", false), 0);
        /* Tokens: unique names per namespace, deleted one by one or all. */
        CHECK_EQ_INT(store_token_add(s, "team-a", "ci", "aa", "2026-01-01T00:00:00Z"), 0);
        CHECK_EQ_INT(store_token_add(s, "team-a", "ci", "bb", "2026-01-01T00:00:00Z"), -EEXIST);
        CHECK_EQ_INT(store_token_add(s, "team-a", "web", "cc", "2026-01-01T00:00:00Z"), 0);
        CHECK_EQ_INT(store_token_add(s, "team-b", "ci", "dd", "2026-01-01T00:00:00Z"), 0);
        CHECK(store_tokens(s, "team-a", &cs) == 0);
        CHECK_EQ_INT(json_array_size(cs), 2);
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(cs, 0), "sha256")), "aa");
        json_decref(cs);
        CHECK(store_tokens(s, NULL, &cs) == 0);
        CHECK_EQ_INT(json_array_size(cs), 3);
        json_decref(cs);
        CHECK_EQ_INT(store_token_delete(s, "team-a", "web"), 1);
        CHECK_EQ_INT(store_token_delete(s, "team-a", "web"), 0);
        CHECK_EQ_INT(store_token_delete(s, "team-b", NULL), 1);
        store_close(s);

        /* Reopen: everything is there. */
        CHECK(store_open(path, &s, err, sizeof err) == 0);
        CHECK_EQ_INT(store_revision(s), 7);
        CHECK(store_get(s, &kind_profile, NULL, "team-a", &got) == 0);
        json_decref(got);
        CHECK(store_contributors(s, "team-a", &cs) == 0);
        CHECK_EQ_INT(json_array_size(cs), 1);
        json_decref(cs);
        CHECK(store_tokens(s, NULL, &cs) == 0);
        CHECK_EQ_INT(json_array_size(cs), 1);
        json_decref(cs);
        /* Sessions and API tokens: by hash, a token's name once per user. */
        StoreCredential sc = { .kind = "session", .user = "alice", .address = "10.0.0.1", .created = 100,
                               .last_used = 100, .expires = 1000, .idle = 50 },
                        got_c;
        snprintf(sc.sha256, sizeof sc.sha256, "%064d", 1);
        CHECK(store_credential_add(s, &sc) == 0);
        CHECK(store_credential_add(s, &sc) == -EEXIST);
        StoreCredential tk = { .kind = "token", .user = "alice", .name = "ci", .created = 100, .last_used = 100 };
        snprintf(tk.sha256, sizeof tk.sha256, "%064d", 2);
        CHECK(store_credential_add(s, &tk) == 0);
        snprintf(tk.sha256, sizeof tk.sha256, "%064d", 3);
        CHECK(store_credential_add(s, &tk) == -EEXIST); /* the same name again */
        snprintf(tk.user, sizeof tk.user, "bob");
        CHECK(store_credential_add(s, &tk) == 0);
        CHECK(store_credential_get(s, sc.sha256, &got_c) == 0);
        CHECK_STREQ(got_c.user, "alice");
        CHECK_EQ_INT(got_c.idle, 50);
        CHECK(store_credential_touch(s, sc.sha256, 140) == 0);
        CHECK(store_credential_get(s, sc.sha256, &got_c) == 0);
        CHECK_EQ_INT(got_c.last_used, 140);
        CHECK(store_credential_get(s, "ffff", &got_c) == -ENOENT);
        CHECK(store_credentials(s, "token", NULL, &cs) == 0);
        CHECK_EQ_INT(json_array_size(cs), 2);
        CHECK(json_object_get(json_array_get(cs, 0), "sha256") == NULL); /* the hash is not listed whole */
        json_decref(cs);
        CHECK(store_credentials(s, "token", "bob", &cs) == 0);
        CHECK_EQ_INT(json_array_size(cs), 1);
        json_decref(cs);
        CHECK(store_credential_delete(s, "session", "0000", NULL, NULL) == -EINVAL); /* too short a prefix */
        CHECK(store_credential_delete(s, "token", NULL, "alice", "nope") == 0);
        CHECK(store_credential_delete(s, "token", NULL, "bob", "ci") == 1);
        CHECK_EQ_INT(store_credentials_expire(s, 189), 0); /* idle until 190 */
        CHECK_EQ_INT(store_credentials_expire(s, 190), 1);
        CHECK(store_credential_get(s, sc.sha256, &got_c) == -ENOENT);

        store_close(s);

        /* A version-1 database (before contributors) is migrated on open. */
        sqlite3 *db1;
        sqlite3_open(path, &db1);
        sqlite3_exec(db1, "DROP TABLE contributors; DROP TABLE tokens; DROP TABLE step_cache; DROP TABLE crashes; "
                          "DROP TABLE credentials; "
                          "ALTER TABLE objects DROP COLUMN size; ALTER TABLE events DROP COLUMN size; "
                          "PRAGMA user_version=1", NULL, NULL, NULL);
        sqlite3_close(db1);
        CHECK(store_open(path, &s, err, sizeof err) == 0);
        CHECK(store_contributors(s, "team-a", &cs) == 0);
        CHECK_EQ_INT(json_array_size(cs), 0);
        json_decref(cs);
        CHECK(store_tokens(s, "team-a", &cs) == 0);
        CHECK_EQ_INT(json_array_size(cs), 0);
        json_decref(cs);
        CHECK(store_get(s, &kind_profile, NULL, "team-a", &got) == 0);
        json_decref(got);

        /* The step cache: a miss, a hit, and entries that go with their workflow. */
        char wfname[64];
        json_t *outs = json_pack("{s:s}", "result", "42"), *back = NULL;
        CHECK(store_cache_get(s, "team-a", "k1", &back, wfname, sizeof wfname) == -ENOENT);
        CHECK(store_cache_put(s, "team-a", "k1", "wf-1", outs) == 0);
        CHECK(store_cache_get(s, "team-b", "k1", &back, wfname, sizeof wfname) == -ENOENT);
        CHECK(store_cache_get(s, "team-a", "k1", &back, wfname, sizeof wfname) == 0);
        CHECK(back && json_equal(back, outs) && strcmp(wfname, "wf-1") == 0);
        json_decref(back);
        CHECK(store_cache_forget(s, "team-a", "wf-1") == 0);
        CHECK(store_cache_get(s, "team-a", "k1", &back, wfname, sizeof wfname) == -ENOENT);
        json_decref(outs);

        /* Deaths on an object: counted per uid, listed past a count, cleared. */
        unsigned deaths = 0;
        CHECK(store_crash_record(s, "argoproj.io/Workflow", "team-a", "wf-1", "u-1", "advance", &deaths) == 0);
        CHECK_EQ_INT(deaths, 1);
        CHECK(store_crash_record(s, "argoproj.io/Workflow", "team-a", "wf-2", "u-2", "apply", &deaths) == 0);
        CHECK_EQ_INT(deaths, 1);
        CHECK(store_crash_record(s, "argoproj.io/Workflow", "team-a", "wf-1", "u-1", "reconcile", &deaths) == 0);
        CHECK_EQ_INT(deaths, 2);
        json_t *crashed = NULL;
        CHECK(store_crashes(s, 2, &crashed) == 0);
        CHECK_EQ_INT(json_array_size(crashed), 1);
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(crashed, 0), "name")), "wf-1");
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(crashed, 0), "stage")), "reconcile");
        json_decref(crashed);
        CHECK_EQ_INT(store_crash_clear(s, "u-1"), 1);
        CHECK_EQ_INT(store_crash_clear(s, "u-1"), 0);
        CHECK(store_crashes(s, 1, &crashed) == 0);
        CHECK_EQ_INT(json_array_size(crashed), 1);
        json_decref(crashed);

        /* Big objects: the namespace's bytes are counted, the events keep at
         * most STORE_EVENTS_MAX_BYTES, and deleting gives the space back. */
        char *big = malloc(4 << 20);
        memset(big, 'x', 4 << 20);
        big[(4 << 20) - 1] = '\0';
        struct stat fst;
        for (int i = 0; i < 30; i++) {
                char name[32];
                snprintf(name, sizeof name, "big-%d", i);
                json_t *w = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:[{s:s}]}}", "apiVersion",
                                      "argoproj.io/v1alpha1", "kind", "Workflow", "metadata", "name", name, "namespace",
                                      "team-big", "spec", "entrypoint", big, "templates", "name", "x");
                CHECK(store_apply(s, &kind_workflow, w, &got, &ch) == 0);
                json_decref(got);
                json_decref(w);
        }
        uint64_t nsbytes = 0, ev_bytes = 0;
        CHECK(store_namespace_bytes(s, "team-big", &nsbytes) == 0);
        CHECK(nsbytes > 30ULL * (4 << 20) && nsbytes < 31ULL * (4 << 20));
        sqlite3 *q;
        sqlite3_open(path, &q);
        sqlite3_stmt *qs;
        sqlite3_prepare_v2(q, "SELECT SUM(size) FROM events", -1, &qs, NULL);
        if (sqlite3_step(qs) == SQLITE_ROW)
                ev_bytes = (uint64_t) sqlite3_column_int64(qs, 0);
        sqlite3_finalize(qs);
        sqlite3_close(q);
        CHECK(ev_bytes > 0 && ev_bytes <= STORE_EVENTS_MAX_BYTES);
        CHECK(stat(path, &fst) == 0);
        off_t full = fst.st_size;
        for (int i = 0; i < 30; i++) {
                char name[32];
                snprintf(name, sizeof name, "big-%d", i);
                CHECK(store_delete(s, &kind_workflow, "team-big", name, &got) == 0);
                json_decref(got);
        }
        free(big);
        CHECK(store_namespace_bytes(s, "team-big", &nsbytes) == 0 && nsbytes == 0);
        store_close(s); /* checkpoints the WAL into the file */
        CHECK(stat(path, &fst) == 0);
        CHECK(fst.st_size < full / 2);
        CHECK(store_open(path, &s, err, sizeof err) == 0);
        store_close(s);

        /* A database from a newer sdflow is refused, not touched. */
        sqlite3 *db;
        sqlite3_open(path, &db);
        sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL);
        sqlite3_close(db);
        CHECK_EQ_INT(store_open(path, &s, err, sizeof err), -EPROTO);
        CHECK(strstr(err, "schema version 99") != NULL);

        snprintf(path, sizeof path, "rm -rf %s", dir);
        CHECK(system(path) == 0);
        return test_summary("test-store");
}
