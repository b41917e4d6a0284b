/* test-objects.c: the object layer over a real SQLite store with
 * controllers of the test's own: a change reaches the watchers and every
 * controller, a kind without a controller says so in its status, a
 * removal that fails keeps the object, a namespace's deletion that goes
 * on keeps the daemon busy, refuses a second one and takes the
 * namespace's objects with it, a daemon-made object is admitted as an
 * applied one is, and a reconcile that goes on on the loop holds the
 * controllers after it (and writes) until it is done. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "kinds.h"
#include "objects.h"
#include "test.h"
#include "test-yaml.h"

/* What the controllers and the listener saw. */
static char seen[4096];
static int n_react_ns, n_react_isvc, n_settled;
static RemoveDone pending_done;
static void *pending_userdata;

static int ns_restoring;           /* the namespace controller's reconcile goes on */
static char reconciled[64];         /* who reconciled, in order */

static void ns_reconcile(void *self) {
        (void) self;
        strcat(reconciled, "ns;");
        ns_restoring = 2;
}

static bool ns_reconciling(void *self) {
        (void) self;
        return ns_restoring > 0;
}

static void isvc_reconcile(void *self) {
        (void) self;
        strcat(reconciled, "isvc;");
}

static void saw(const char *who, const Kind *k, const char *type, json_t *o) {
        char line[300];
        snprintf(line, sizeof line, "%s:%s:%s:%s;", who, type, k->kind, manifest_name(o));
        strncat(seen, line, sizeof seen - strlen(seen) - 1);
}

static int fake_new(Objects *o, void **ret) {
        *ret = o;
        return 0;
}

static void ns_react(void *self, Applied *ap) {
        (void) self;
        (void) ap;
        n_react_ns++;
}

static int ns_remove(void *self, json_t *o, RemoveDone done, void *userdata, char *err, size_t size) {
        (void) self;
        (void) o;
        if (!done) {
                snprintf(err, size, "only on the loop");
                return -EOPNOTSUPP;
        }
        pending_done = done;
        pending_userdata = userdata;
        return 1;
}

static void isvc_react(void *self, Applied *ap) {
        Objects *o = self;
        n_react_isvc++;
        json_t *st = json_pack("{s:s}", "phase", "Reacted");
        json_t *now;
        if (objects_set_status(o, &kind_isvc, ap->stored, st, &now) >= 0) {
                json_decref(ap->stored);
                ap->stored = now;
        }
        json_decref(st);
}

static int isvc_remove(void *self, json_t *o, RemoveDone done, void *userdata, char *err, size_t size) {
        (void) self;
        (void) done;
        (void) userdata;
        if (strcmp(manifest_name(o), "stuck") == 0) {
                snprintf(err, size, "stopping the replicas failed: test");
                return -EIO;
        }
        return 0;
}

static int isvc_admit(void *self, json_t *o, json_t *before, json_t *profile, Diags *d, char *msg, size_t size) {
        (void) self;
        (void) before;
        (void) d;
        if (!profile)
                return 500;
        if (strcmp(manifest_name(o), "refused") == 0) {
                snprintf(msg, size, "exceeded quota: test");
                return 403;
        }
        return 0;
}

static void isvc_changed(void *self, const Kind *k, const char *type, json_t *o) {
        (void) self;
        saw("ctl", k, type, o);
}

static const ControllerType fake_ns = {
        .kind = &kind_profile, .namespace_kind = true, .new = fake_new, .react = ns_react, .remove = ns_remove,
        .reconcile = ns_reconcile, .reconciling = ns_reconciling,
};
static const ControllerType fake_isvc = {
        .kind = &kind_isvc, .new = fake_new, .react = isvc_react, .remove = isvc_remove, .admit = isvc_admit,
        .changed = isvc_changed, .reconcile = isvc_reconcile,
};
static const ControllerType *const table[] = { &fake_ns, &fake_isvc, NULL };

static void on_notify(const Kind *k, const char *type, json_t *o, void *userdata) {
        (void) userdata;
        saw("watch", k, type, o);
}

static void on_settled(const Kind *k, const char *ns, const char *name, const char *token, void *userdata) {
        (void) k;
        (void) ns;
        (void) name;
        (void) token;
        (void) userdata;
        n_settled++;
}

static int deleted_r = 1;
static char deleted_err[256];
static void on_deleted(int r, const char *err, json_t *old, void *userdata) {
        (void) userdata;
        deleted_r = r;
        snprintf(deleted_err, sizeof deleted_err, "%s", err ?: "");
        if (r >= 0)
                CHECK(old != NULL);
}

static bool stored(Store *s, const Kind *k, const char *ns, const char *name) {
        json_t *o;
        if (store_get(s, k, ns, name, &o) < 0)
                return false;
        json_decref(o);
        return true;
}

int main(void) {
        char dir[] = "/tmp/test-objects-XXXXXX", path[300], err[512];
        Store *store;
        sd_event *e;
        Namespaces ns = {};
        Objects *o;
        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof path, "%s/state.db", dir);
        CHECK(store_open(path, &store, err, sizeof err) >= 0);
        CHECK(sd_event_new(&e) >= 0);
        CHECK(objects_new(&o, e, store, &ns, table) >= 0);
        objects_listen(o, &(ObjectsListener) { .notify = on_notify, .settled = on_settled });
        CHECK(objects_namespace_kind(o) == &kind_profile);
        CHECK(objects_type(o, &kind_workflow, NULL) == NULL);

        json_t *p = test_yaml("apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-a}\n"
                        "spec: {owner: {kind: User, name: root}}\n");
        CHECK(objects_store(o, &kind_profile, p, NULL) >= 0);
        CHECK_EQ_INT(n_react_ns, 1);
        CHECK(strstr(seen, "watch:ADDED:Profile:team-a;") != NULL);
        CHECK(strstr(seen, "ctl:ADDED:Profile:team-a;") != NULL);

        /* A kind no controller runs says so. */
        json_t *wf = test_yaml("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w1, namespace: team-a}\n"
                         "spec: {entrypoint: main, templates: [{name: main, container: {image: debian:12, "
                         "command: [true]}}]}\n");
        json_t *now = NULL;
        CHECK(objects_store(o, &kind_workflow, wf, &now) >= 0);
        json_t *cond = json_array_get(json_object_get(json_object_get(now, "status"), "conditions"), 0);
        CHECK_STREQ(json_string_value(json_object_get(cond, "reason")), "NotImplemented");
        json_decref(now);

        /* objects_create admits as an apply does: the kind's admit sees the namespace. */
        json_t *isvc = test_yaml("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
                           "metadata: {name: m1, namespace: team-a}\n"
                           "spec: {predictor: {sklearn: {storageUri: 'file:///srv/m.joblib'}}}\n");
        CHECK(objects_create(o, &kind_isvc, isvc, err, sizeof err) >= 0);
        CHECK_EQ_INT(n_react_isvc, 1);
        json_t *got;
        CHECK(store_get(store, &kind_isvc, "team-a", "m1", &got) >= 0);
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(got, "status"), "phase")), "Reacted");
        json_decref(got);
        CHECK_EQ_INT(objects_create(o, &kind_workflow, isvc, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "not a Workflow") != NULL);
        json_object_set_new(json_object_get(isvc, "metadata"), "name", json_string("refused"));
        CHECK_EQ_INT(objects_create(o, &kind_isvc, isvc, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "exceeded quota") != NULL);
        CHECK(!stored(store, &kind_isvc, "team-a", "refused"));
        json_object_set_new(json_object_get(isvc, "metadata"), "namespace", json_string("team-b"));
        CHECK_EQ_INT(objects_create(o, &kind_isvc, isvc, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "namespace team-b does not exist") != NULL);
        json_t *bad = test_yaml("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
                          "metadata: {name: Bad_Name, namespace: team-a}\nspec: {}\n");
        CHECK_EQ_INT(objects_create(o, &kind_isvc, bad, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "metadata.name") != NULL);
        json_decref(bad);

        /* A removal that fails keeps the object and says why. */
        json_object_set_new(json_object_get(isvc, "metadata"), "name", json_string("stuck"));
        json_object_set_new(json_object_get(isvc, "metadata"), "namespace", json_string("team-a"));
        CHECK(objects_create(o, &kind_isvc, isvc, err, sizeof err) >= 0);
        CHECK_EQ_INT(objects_delete(o, &kind_isvc, "team-a", "stuck", "test", on_deleted, NULL), 0);
        CHECK(deleted_r < 0);
        CHECK_STREQ(deleted_err, "stopping the replicas failed: test");
        CHECK(stored(store, &kind_isvc, "team-a", "stuck"));
        CHECK_EQ_INT(objects_delete(o, &kind_isvc, "team-a", "nothere", "test", on_deleted, NULL), -ENOENT);

        /* A namespace's deletion goes on: busy, a second one refused, its
         * objects kept until it is done. */
        deleted_r = 1;
        seen[0] = '\0';
        CHECK_EQ_INT(objects_delete(o, &kind_profile, NULL, "team-a", "test", on_deleted, NULL), 0);
        CHECK_EQ_INT(deleted_r, 1);
        CHECK(objects_busy(o));
        CHECK(objects_deleting(o, &kind_profile, NULL, "team-a"));
        CHECK_EQ_INT(objects_delete(o, &kind_profile, NULL, "team-a", "test", on_deleted, NULL), -EBUSY);
        CHECK(stored(store, &kind_workflow, "team-a", "w1"));
        CHECK(pending_done != NULL);
        if (pending_done)
                pending_done(0, NULL, pending_userdata);
        CHECK_EQ_INT(deleted_r, 0);
        CHECK(!objects_busy(o));
        CHECK(!stored(store, &kind_profile, NULL, "team-a"));
        CHECK(!stored(store, &kind_workflow, "team-a", "w1"));
        CHECK(!stored(store, &kind_isvc, "team-a", "m1"));
        CHECK(!stored(store, &kind_isvc, "team-a", "stuck"));
        CHECK(strstr(seen, "watch:DELETED:Workflow:w1;") != NULL);
        CHECK(strstr(seen, "ctl:DELETED:InferenceService:m1;") != NULL);
        CHECK(strstr(seen, "watch:DELETED:Profile:team-a;") != NULL);
        /* Internal changes reach the controllers, not the watchers. */
        seen[0] = '\0';
        objects_notify(o, &kind_profile, "TOKENS", p);
        CHECK_STREQ(seen, "ctl:TOKENS:Profile:team-a;");
        objects_settled(o, &kind_isvc, "team-a", "m1", "rev");
        CHECK_EQ_INT(n_settled, 1);

        /* At start: the namespaces' reconcile goes on on the loop (two
         * helpers); the next controller waits for both. */
        CHECK(objects_starting(o));
        objects_reconcile_all(o);
        CHECK_STREQ(reconciled, "ns;");
        CHECK(objects_starting(o));
        ns_restoring--;
        objects_reconciled(o); /* one of two done: nothing yet */
        CHECK_STREQ(reconciled, "ns;");
        CHECK(objects_starting(o));
        ns_restoring--;
        objects_reconciled(o);
        CHECK_STREQ(reconciled, "ns;isvc;");
        CHECK(!objects_starting(o));
        objects_reconciled(o); /* once over, nothing runs twice */
        CHECK_STREQ(reconciled, "ns;isvc;");

        json_decref(p);
        json_decref(wf);
        json_decref(isvc);
        objects_free(o);
        sd_event_unref(e);
        store_close(store);
        unlink(path);
        rmdir(dir);
        return test_summary("test-objects");
}
