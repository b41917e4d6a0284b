/* sdflowd.c: the sdflow control plane; this file only starts it. */
#include <errno.h>
#include <pwd.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "api.h"
#include "auth.h"
#include "controllers.h"
#include "crashguard.h"
#include "daemon.h"
#include "log.h"
#include "manager.h"
#include "objects.h"
#include "quantity.h"
#include "store.h"
#include "frontdoor.h"

typedef struct Settings {
        DaemonSettings daemon;
        char *state_database; /* StateDatabase= */
        char *admin_group;    /* AdminGroup= */
        char *ns_helper;      /* NamespaceHelper= */
        char *image_map;      /* ImageMap= */
        unsigned debug_faults; /* DebugFaults=: the tests' poison objects (sdflow.io/debug-fault) */
        unsigned max_watches;  /* MaxWatchesPerUser= */
        uint64_t max_model_bytes;   /* MaxModelBytes= */
        uint64_t max_object_bytes;  /* MaxObjectBytes= */
        uint64_t max_namespace_bytes; /* MaxNamespaceBytes= */
        uint64_t copy_timeout_usec; /* ModelCopyTimeoutSec= */
        char *default_cpu;          /* PredictorDefaultCPU= */
        char *default_memory;       /* PredictorDefaultMemory= */
        FrontDoorSettings front;    /* Session*=, APIToken*= */
        char *login_groups;         /* LoginGroups=, LoginAllowNologinShell=: sdflow-privd's */
        char *login_allow_nologin;
} Settings;

/* The kinds sdflowd runs, one controller each (controller.h), made and
 * reconciled in this order: a namespace before what runs in it, the
 * workflow engine before what runs workflows. */
static const ControllerType *const controllers[] = {
        &ctl_profile,
        &ctl_isvc,
        &ctl_workflow,
        &ctl_experiment,
        &ctl_cronworkflow,
        NULL,
};

typedef struct Sdflowd {
        Store *store;
        Objects *objects;
        Api *api;
        FrontDoor *front;
        Namespaces namespaces;
        char *helper, *image_map, *default_cpu, *default_memory;
        sd_event_source *healthy;
        gid_t admin_gid;
} Sdflowd;

static const Settings defaults = {
        .daemon = {
                .idle_exit_usec = 120 * USEC_PER_SEC,
                .request_timeout_usec = 10 * USEC_PER_SEC,
                .keepalive_timeout_usec = 60 * USEC_PER_SEC,
                .max_head = 16 * 1024,
                .max_body = 8 * 1024 * 1024,
                .max_connections = 256,
                /* One user cannot take the API from the others (watches
                 * included), and root and the admins always get in. */
                .max_per_peer = 64,
                .max_pending_per_peer = 16,
                .reserved = 32,
        },
        .state_database = (char *) "/var/lib/sdflow/db/state.db",
        .admin_group = (char *) "sdflow-admin",
        .ns_helper = (char *) "/usr/lib/sdflow/sdflow-ns",
        .image_map = (char *) "/etc/sdflow/images.conf",
        .max_watches = 32,
        .max_model_bytes = 4ULL << 30,
        .max_object_bytes = 1536 * 1024, /* etcd's default request limit: what fits a cluster fits here */
        .max_namespace_bytes = 256ULL << 20,
        .copy_timeout_usec = 20 * USEC_PER_SEC,
        /* KServe's own defaults for a predictor without resources. */
        .default_cpu = (char *) "1",
        .default_memory = (char *) "2Gi",
        .front = {
                .session_idle_usec = 8 * 3600 * USEC_PER_SEC,
                .session_lifetime_usec = 7 * 86400 * USEC_PER_SEC,
                .token_lifetime_usec = 30 * 86400 * USEC_PER_SEC,
                .token_max_lifetime_usec = 366 * 86400 * USEC_PER_SEC,
        },
};

static const ConfItem items[] = {
        CONF_ITEM("StateDatabase", CONF_STRING, 0, 0, Settings, state_database),
        CONF_ITEM("AdminGroup", CONF_STRING, 0, 0, Settings, admin_group),
        CONF_ITEM("NamespaceHelper", CONF_STRING, 0, 0, Settings, ns_helper),
        CONF_ITEM("ImageMap", CONF_STRING, 0, 0, Settings, image_map),
        CONF_ITEM("DebugFaults", CONF_UINT, 0, 1, Settings, debug_faults),
        CONF_ITEM("MaxWatchesPerUser", CONF_UINT, 0, 100000, Settings, max_watches),
        CONF_ITEM("MaxModelBytes", CONF_SIZE, 1024, 1ULL << 50, Settings, max_model_bytes),
        CONF_ITEM("MaxObjectBytes", CONF_SIZE, 0, 1ULL << 30, Settings, max_object_bytes),
        CONF_ITEM("MaxNamespaceBytes", CONF_SIZE, 0, 1ULL << 40, Settings, max_namespace_bytes),
        /* Below WatchdogSec= (30 s): the copy is still waited for (see sdflowd(8)). */
        CONF_ITEM("ModelCopyTimeoutSec", CONF_USEC, USEC_PER_SEC, 25 * USEC_PER_SEC, Settings, copy_timeout_usec),
        CONF_ITEM("PredictorDefaultCPU", CONF_STRING, 0, 0, Settings, default_cpu),
        CONF_ITEM("PredictorDefaultMemory", CONF_STRING, 0, 0, Settings, default_memory),
        CONF_ITEM("SessionIdleTimeoutSec", CONF_USEC, USEC_PER_SEC, 366 * 86400 * USEC_PER_SEC, Settings,
                  front.session_idle_usec),
        CONF_ITEM("SessionLifetimeSec", CONF_USEC, USEC_PER_SEC, 366 * 86400 * USEC_PER_SEC, Settings,
                  front.session_lifetime_usec),
        CONF_ITEM("APITokenLifetimeSec", CONF_USEC, USEC_PER_SEC, 3660 * 86400 * USEC_PER_SEC, Settings,
                  front.token_lifetime_usec),
        CONF_ITEM("APITokenMaxLifetimeSec", CONF_USEC, USEC_PER_SEC, 3660 * 86400 * USEC_PER_SEC, Settings,
                  front.token_max_lifetime_usec),
        /* Read by sdflow-privd, which checks logins (sdflow-login(8)). */
        CONF_ITEM("LoginGroups", CONF_STRING, 0, 0, Settings, login_groups),
        CONF_ITEM("LoginAllowNologinShell", CONF_STRING, 0, 0, Settings, login_allow_nologin),
};

/* Up this long without dying: the next crash starts the back-off anew. */
#define HEALTHY_USEC (30 * USEC_PER_SEC)

static void teardown(void *userdata) {
        Sdflowd *d = userdata;
        if (!d)
                return;
        api_free(d->api);
        frontdoor_free(d->front);
        objects_free(d->objects);
        store_close(d->store);
        sd_event_source_disable_unref(d->healthy);
        crashguard_close();
        sd_bus_flush_close_unref(d->namespaces.bus);
        free(d->helper);
        free(d->image_map);
        free(d->default_cpu);
        free(d->default_memory);
        free(d);
}

/* The previous process died while working on left: count it against
 * that object, if it still exists (as the same object). */
static void count_death(Store *store, const GuardRecord *left) {
        const Kind *k = crashguard_kind(left->kind);
        const char *stage = crashguard_stage_name(left->stage);
        json_auto_t *obj = NULL;
        if (!k || store_get(store, k, k->namespaced ? left->ns : NULL, left->name, &obj) < 0) {
                log_warning("sdflowd stopped while it was at %s of %s %s%s%s, which does not exist now.", stage,
                            left->kind, left->ns, left->ns[0] ? "/" : "", left->name);
                return;
        }
        const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid")) ?: "";
        unsigned deaths = 0;
        if ((left->uid[0] && strcmp(uid, left->uid) != 0) ||
            store_crash_record(store, left->kind, left->ns, left->name, uid, stage, &deaths) < 0)
                return;
        if (deaths >= CRASHGUARD_DEATHS)
                log_error("sdflowd stopped while it was at %s of %s %s%s%s (%u times now): the object is "
                          "quarantined (no longer processed until it is changed, retried or deleted).",
                          stage, k->plural, left->ns, left->ns[0] ? "/" : "", left->name, deaths);
        else
                log_warning("sdflowd stopped while it was at %s of %s %s%s%s; it is tried again (once more "
                            "and it is quarantined).", stage, k->plural, left->ns, left->ns[0] ? "/" : "", left->name);
}

/* The objects with CRASHGUARD_DEATHS deaths that still exist. */
static void load_quarantine(Store *store) {
        json_auto_t *rows = NULL;
        json_t *row;
        size_t i;
        if (store_crashes(store, CRASHGUARD_DEATHS, &rows) < 0)
                return;
        json_array_foreach(rows, i, row) {
                const char *uid = json_string_value(json_object_get(row, "uid"));
                const Kind *k = crashguard_kind(json_string_value(json_object_get(row, "kind")));
                json_auto_t *obj = NULL;
                if (k && store_get(store, k, k->namespaced ? json_string_value(json_object_get(row, "namespace")) : NULL,
                                   json_string_value(json_object_get(row, "name")), &obj) >= 0 &&
                    strcmp(json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid")) ?: "", uid) == 0)
                        crashguard_quarantine(uid);
                else
                        (void) store_crash_clear(store, uid);
        }
}

static int on_healthy(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        (void) userdata;
        crashguard_healthy();
        return 0;
}

static int setup(sd_event *e, void *settings, void **userdata) {
        Settings *s = settings;
        Sdflowd *d = calloc(1, sizeof *d);
        char err[512];
        gid_t admin_gid = (gid_t) -1;
        int r;

        if (!d)
                return log_oom();
        /* What the last process was working on when it died; a crash loop
         * slows down here, so that systemd never gives up on the socket. */
        GuardRecord left;
        bool had = false;
        unsigned unclean = 0;
        r = crashguard_open(CRASHGUARD_PATH, s->debug_faults, &left, &had, &unclean);
        if (r < 0)
                log_warning_errno(r, "Cannot open %s, objects that crash sdflowd are not contained: %m",
                                  CRASHGUARD_PATH);
        if (s->debug_faults)
                log_warning("DebugFaults=1: objects annotated sdflow.io/debug-fault crash sdflowd (for tests only).");
        uint64_t wait = crashguard_backoff_usec(unclean);
        if (wait > 0) {
                log_warning("This is start %u in a row after an unclean stop; waiting %llu ms.", unclean,
                            (unsigned long long) (wait / USEC_PER_MSEC));
                struct timespec ts = { (time_t) (wait / USEC_PER_SEC), (long) (wait % USEC_PER_SEC) * 1000 };
                nanosleep(&ts, NULL);
        }
        r = store_open(s->state_database, &d->store, err, sizeof err);
        if (r < 0) {
                teardown(d);
                return log_error_errno(r, "Failed to open the state database: %s", err[0] ? err : strerror(-r));
        }
        /* Databases made by an older sdflow were 0644: every object of every
         * namespace, tokens' hashes, contributors.  They are sdflowd's only. */
        static const char *const suffixes[] = { "", "-wal", "-shm" };
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                char p[1024];
                snprintf(p, sizeof p, "%s%s", s->state_database, suffixes[i]);
                (void) chmod(p, 0600);
        }
        manager_remove_stale_errfiles();
        if (had)
                count_death(d->store, &left);
        load_quarantine(d->store);
        (void) sd_event_add_time_relative(e, &d->healthy, CLOCK_MONOTONIC, HEALTHY_USEC, 0, on_healthy, d);
        if (s->admin_group && s->admin_group[0]) {
                struct group gr, *res = NULL;
                char buf[4096];
                if (getgrnam_r(s->admin_group, &gr, buf, sizeof buf, &res) == 0 && res)
                        admin_gid = gr.gr_gid;
                else
                        log_warning("Group %s does not exist; only root administers.", s->admin_group);
        }
        d->helper = strdup(s->ns_helper ?: "");
        d->namespaces.helper = d->helper;
        d->image_map = strdup(s->image_map ?: "/etc/sdflow/images.conf");
        d->namespaces.image_map = d->image_map;
        d->namespaces.max_model_bytes = s->max_model_bytes;
        d->namespaces.copy_timeout_usec = s->copy_timeout_usec;
        /* Quantities, or empty for no default. */
        const char *const resources[][2] = { { "PredictorDefaultCPU", s->default_cpu },
                                             { "PredictorDefaultMemory", s->default_memory } };
        for (size_t i = 0; i < ELEMENTSOF(resources); i++) {
                Quantity q;
                const char *why = NULL;
                if (resources[i][1] && resources[i][1][0] && quantity_parse(resources[i][1], &q, &why) < 0) {
                        teardown(d);
                        return log_error_errno(-EINVAL, "%s=%s: not a quantity (%s)", resources[i][0],
                                               resources[i][1], why ?: "invalid");
                }
        }
        d->default_cpu = s->default_cpu && s->default_cpu[0] ? strdup(s->default_cpu) : NULL;
        d->default_memory = s->default_memory && s->default_memory[0] ? strdup(s->default_memory) : NULL;
        d->namespaces.default_cpu = d->default_cpu;
        d->namespaces.default_memory = d->default_memory;
        r = sd_bus_open_system(&d->namespaces.bus);
        if (r >= 0)
                r = sd_bus_attach_event(d->namespaces.bus, e, 0);
        if (r >= 0)
                r = manager_watch_jobs(d->namespaces.bus);
        manager_set_event(e);
        if (r < 0) {
                log_warning_errno(r, "Cannot reach systemd over D-Bus, namespaces will not be set up: %m");
                d->namespaces.bus = sd_bus_flush_close_unref(d->namespaces.bus);
        }
        d->admin_gid = admin_gid;
        r = objects_new(&d->objects, e, d->store, &d->namespaces, controllers);
        if (r < 0) {
                teardown(d);
                return log_error_errno(r, "Failed to set up the controllers: %m");
        }
        r = api_new(&d->api, e, d->objects, admin_gid);
        if (r < 0) {
                teardown(d);
                return log_error_errno(r, "Failed to set up the API: %m");
        }
        if (s->front.token_lifetime_usec > s->front.token_max_lifetime_usec)
                s->front.token_lifetime_usec = s->front.token_max_lifetime_usec;
        r = frontdoor_new(&d->front, e, d->store, admin_gid, &s->front);
        if (r < 0) {
                teardown(d);
                return log_error_errno(r, "Failed to set up the login: %m");
        }
        api_set_front_door(d->api, d->front);
        api_set_max_watches(d->api, s->max_watches);
        api_set_storage_limits(d->api, s->max_object_bytes, s->max_namespace_bytes);
        if (d->namespaces.bus)
                objects_reconcile_all(d->objects);
        else
                d->objects->reconciled = true; /* nothing to bring back without systemd */
        *userdata = d;
        return 0;
}

static void handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len, void *userdata) {
        Sdflowd *d = userdata;
        api_handle(c, req, body, body_len, d->api);
}

static bool privileged(int fd, const HttpPeer *peer, void *userdata) {
        Sdflowd *d = userdata;
        /* Not the gateway, though it brings every browser and remote client:
         * it holds itself to fewer connections than one peer's share, so
         * that a flood through it leaves the local socket to its users. */
        return peer->family == AF_UNIX && d && peer_is_admin(fd, peer->uid, peer->gid, d->admin_gid);
}

static bool busy(void *userdata) {
        Sdflowd *d = userdata;
        return d && objects_busy(d->objects);
}

static const DaemonInfo info = {
        .program = "sdflowd",
        .summary = "The sdflow control plane: the REST API on /run/sdflow/api.sock.",
        .man = "sdflowd(8)",
        .config_path = "/etc/sdflow/sdflowd.conf",
        .socket_name = "api",
        .defaults = &defaults,
        .settings_size = sizeof defaults,
        .items = items,
        .n_items = ELEMENTSOF(items),
        .setup = setup,
        .teardown = teardown,
        .handler = handle,
        .busy = busy,
        .privileged = privileged,
        .status = "Serving the API.",
};

int main(int argc, char **argv) {
        return daemon_main(&info, argc, argv);
}
