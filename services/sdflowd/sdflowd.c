/* sdflowd.c: the sdflow control plane; this file only starts it. */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "api.h"
#include "daemon.h"
#include "log.h"
#include "store.h"

typedef struct Settings {
        DaemonSettings daemon;
        char *state_database; /* StateDatabase= */
        char *admin_group;    /* AdminGroup= */
        char *ns_helper;      /* NamespaceHelper= */
        char *image_map;      /* ImageMap= */
} Settings;

typedef struct Sdflowd {
        Store *store;
        Api *api;
        Namespaces namespaces;
        char *helper, *image_map;
} Sdflowd;

static const Settings defaults = {
        .daemon = {
                .idle_exit_usec = 120 * USEC_PER_SEC,
                .request_timeout_usec = 10 * USEC_PER_SEC,
                .keepalive_timeout_usec = 60 * USEC_PER_SEC,
                .max_head = 16 * 1024,
                .max_body = 8 * 1024 * 1024,
                .max_connections = 256,
        },
        .state_database = (char *) "/var/lib/sdflow/state.db",
        .admin_group = (char *) "sdflow-admin",
        .ns_helper = (char *) "/usr/lib/sdflow/sdflow-ns",
        .image_map = (char *) "/etc/sdflow/images.conf",
};

static const ConfItem items[] = {
        CONF_ITEM("StateDatabase", CONF_STRING, 0, 0, Settings, state_database),
        CONF_ITEM("AdminGroup", CONF_STRING, 0, 0, Settings, admin_group),
        CONF_ITEM("NamespaceHelper", CONF_STRING, 0, 0, Settings, ns_helper),
        CONF_ITEM("ImageMap", CONF_STRING, 0, 0, Settings, image_map),
};

static void teardown(void *userdata) {
        Sdflowd *d = userdata;
        if (!d)
                return;
        api_free(d->api);
        store_close(d->store);
        sd_bus_flush_close_unref(d->namespaces.bus);
        free(d->helper);
        free(d->image_map);
        free(d);
}

static int setup(sd_event *e, void *settings, void **userdata) {
        Settings *s = settings;
        Sdflowd *d = calloc(1, sizeof *d);
        char err[512];
        gid_t admin_gid = (gid_t) -1;
        int r;

        if (!d)
                return log_oom();
        r = store_open(s->state_database, &d->store, err, sizeof err);
        if (r < 0) {
                teardown(d);
                return log_error_errno(r, "Failed to open the state database: %s", err[0] ? err : strerror(-r));
        }
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
        r = sd_bus_open_system(&d->namespaces.bus);
        if (r >= 0)
                r = sd_bus_attach_event(d->namespaces.bus, e, 0);
        if (r < 0) {
                log_warning_errno(r, "Cannot reach systemd over D-Bus, namespaces will not be set up: %m");
                d->namespaces.bus = sd_bus_flush_close_unref(d->namespaces.bus);
        }
        r = api_new(&d->api, e, d->store, &d->namespaces, admin_gid);
        if (r < 0) {
                teardown(d);
                return log_error_errno(r, "Failed to set up the API: %m");
        }
        if (d->namespaces.bus)
                api_reconcile_all(d->api);
        *userdata = d;
        return 0;
}

static void handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len, void *userdata) {
        Sdflowd *d = userdata;
        api_handle(c, req, body, body_len, d->api);
}

static bool busy(void *userdata) {
        Sdflowd *d = userdata;
        return d && api_busy(d->api);
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
        .status = "Serving the API.",
};

int main(int argc, char **argv) {
        return daemon_main(&info, argc, argv);
}
