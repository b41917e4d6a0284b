/* workflow.c: the pipeline engine's driver; see workflow.h.  What to run
 * is decided in wf-operate.c; here units are started and their ends read,
 * statuses stored, and the engine's timers kept. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crashguard.h"
#include "imagemap.h"
#include "safeio.h"
#include "kinds.h"
#include "log.h"
#include "manager.h"
#include "quantity.h"
#include "slice.h"
#include "tmpl.h"
#include "when.h"
#include "wf-operate.h"
#include "workflow.h"
#include "jsonutil.h"
#include "phase.h"

#define ARTIFACTS_BASE WF_ARTIFACTS_BASE
#define STEP_BINARY "/usr/lib/sdflow/sdflow-step"
#define STEP_PATH "PATH=/usr/lib/sdflow/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define VALUE_MAX (256 * 1024)
/* StartTransientUnit calls in flight at once: the bus caps a connection's
 * pending replies (dbus-daemon: 128), and systemd works one at a time anyway. */
#define MAX_STARTS_IN_FLIGHT 32
#define SAVE_INTERVAL_USEC (250 * 1000)

struct Engine {
        sd_event *event;
        Store *store;
        Namespaces *ns;
        EngineNotify notify;
        void *userdata;
        sd_bus_slot *job_slot;
        sd_event_source *tick, *wake, *flush;
        json_t *active;  /* "ns/name" -> the Workflow object being run */
        json_t *dirty;   /* "ns/name" -> true: operate() again */
        json_t *unsaved; /* "ns/name" -> true: write its status */
        json_t *units;   /* unit -> {"key", "node"} */
        json_t *queue;   /* [{"key", "node"}]: units to start, in order */
        json_t *resent;  /* unit -> how often its start was sent again (sdflow-privd went) */
        unsigned in_flight;
};

static const char *node_phase(json_t *n) {
        return json_str(n, "phase");
}

/* Reads what a finished step left and settles its node. */
static uint64_t epoch_now(void) {
        return (uint64_t) time(NULL);
}

/* Reads a file the step left in its node's directory (at most size - 1
 * bytes): the directory is the namespace user's, so nothing there is
 * trusted: never through a link, never a FIFO or device (safeio.h).
 * Returns 0 or a negative errno (-ELOOP, -EBADFD, -EMLINK: refused). */
static int node_read(const char *dir, const char *name, char *buf, size_t size, size_t *len) {
        const char *rel = safe_rel(ARTIFACTS_BASE, dir);
        char path[1100];
        if (!rel || snprintf(path, sizeof path, "%s/%s", rel, name) >= (int) sizeof path) {
                buf[0] = '\0';
                if (len)
                        *len = 0;
                return -EINVAL;
        }
        return safe_read_beneath(ARTIFACTS_BASE, path, buf, size, len);
}

static void pod_finish(Engine *e, json_t *wf, json_t *node, const char *sd_result, int sd_status) {
        json_t *wst = json_object_get(wf, "status");
        char path[700], buf[VALUE_MAX + 1], msg[600] = "", small[32];
        const char *dir = json_str(node, "sdflowDir");
        json_t *step = json_object_get(node, "sdflowStep");
        int code = -1;
        size_t n;

        if (node_read(dir, "exit", small, sizeof small, NULL) == 0 && sscanf(small, "%d", &code) != 1)
                code = -1;
        (void) node_read(dir, "message", msg, sizeof msg, NULL);
        json_auto_t *outs = json_object(), *params = json_array(), *arts = json_array();
        if (!outs || !params || !arts) {
                wf_set_phase(node, "Error", "reading the step's outputs: out of memory", epoch_now());
                return;
        }
        if (node_read(dir, "result", buf, sizeof buf, &n) == 0)
                json_object_set_new(outs, "result", json_stringn_nocheck(buf, strlen(buf)));
        json_t *p;
        size_t i;
        json_array_foreach(json_object_get(json_object_get(step, "outputs"), "parameters"), i, p) {
                json_t *v = NULL;
                if (json_str(p, "path")) {
                        snprintf(path, sizeof path, "parameters/%s", json_str(p, "name"));
                        int r = node_read(dir, path, buf, sizeof buf, &n);
                        if (r == 0) {
                                /* Argo trims the file's trailing whitespace. */
                                while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
                                        buf[--n] = '\0';
                                v = json_string(buf) ?: json_string("");
                        } else if ((r == -ELOOP || r == -EBADFD || r == -EMLINK) && !msg[0])
                                snprintf(msg, sizeof msg, "output parameter '%s': %s is not a regular file "
                                                          "of one name (links, hard links, FIFOs and devices are not read)",
                                         json_str(p, "name"), json_str(p, "path"));
                }
                if (!v && json_object_get(p, "default")) {
                        _cleanup_free_ char *t = wf_value_text(json_object_get(p, "default"));
                        v = json_string(t ?: "");
                }
                if (!v && json_object_get(p, "value")) {
                        _cleanup_free_ char *t = wf_value_text(json_object_get(p, "value"));
                        v = json_string(t ?: "");
                }
                if (!v) {
                        if (code == 0 && !msg[0])
                                snprintf(msg, sizeof msg, "output parameter '%s': %s was not written", json_str(p, "name"),
                                         json_str(p, "path") ?: "(no path)");
                        continue;
                }
                json_array_append_new(params, json_pack("{s:s, s:o}", "name", json_str(p, "name"), "value", v));
        }
        char digests[8192] = "";
        (void) node_read(dir, "digests", digests, sizeof digests, NULL);
        json_array_foreach(json_object_get(json_object_get(step, "outputs"), "artifacts"), i, p) {
                char want[300];
                snprintf(want, sizeof want, "%s ", json_str(p, "name"));
                char *at = strstr(digests, want);
                if (!at || (at != digests && at[-1] != '\n'))
                        continue;
                char sha[80];
                snprintf(sha, sizeof sha, "%.64s", at + strlen(want));
                snprintf(path, sizeof path, "%s/artifacts/%s", dir, json_str(p, "name"));
                json_array_append_new(arts, json_pack("{s:s, s:s, s:s, s:s}", "name", json_str(p, "name"), "path",
                                                      json_str(p, "path"), "hostPath", path, "sha256", sha));
        }
        if (json_object_set_new(outs, "parameters", TAKE_PTR(params)) < 0 ||
            json_object_set_new(outs, "artifacts", TAKE_PTR(arts)) < 0) {
                wf_set_phase(node, "Error", "reading the step's outputs: out of memory", epoch_now());
                return;
        }

        const char *phase;
        if (sd_result && strcmp(sd_result, "oom-kill") == 0) {
                phase = "Failed";
                snprintf(msg, sizeof msg, "OOMKilled (exit code 137)");
                code = 137;
        } else if (sd_result && strcmp(sd_result, "timeout") == 0) {
                phase = "Failed";
                snprintf(msg, sizeof msg, "Step exceeded its deadline (timeout)");
        } else if (sd_result && strcmp(sd_result, "canceled") == 0) {
                phase = "Failed";
                snprintf(msg, sizeof msg, "Stopped: %s", json_str(wst, "sdflowShutdown") ?: "the step was stopped");
        } else if (code < 0) {
                phase = "Error";
                if (!msg[0])
                        snprintf(msg, sizeof msg, "the step's unit ended (%s, status %d) without running the command",
                                 sd_result ?: "gone", sd_status);
        } else if (code == 0 && !msg[0])
                phase = "Succeeded";
        else {
                phase = code == 70 ? "Error" : "Failed";
                if (!msg[0])
                        snprintf(msg, sizeof msg, "Error (exit code %d)", code);
        }
        /* (set, not set_new: outs is also what the cache keeps, below) */
        if ((code >= 0 && json_object_set_new(outs, "exitCode", json_sprintf("%d", code)) < 0) ||
            json_object_set(node, "outputs", outs) < 0) {
                wf_set_phase(node, "Error", "reading the step's outputs: out of memory", epoch_now());
                return;
        }
        wf_set_phase(node, phase, strcmp(phase, "Succeeded") == 0 ? NULL : msg, epoch_now());
        if (strcmp(phase, "Succeeded") == 0 && json_str(node, "sdflowCacheKey"))
                (void) store_cache_put(e->store, manifest_namespace(wf), json_str(node, "sdflowCacheKey"), manifest_name(wf), outs);
}

/* ---- the engine ------------------------------------------------------------------------ */

static void key_of(const char *ns, const char *name, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s", ns, name);
}

static void schedule(Engine *e) {
        if (e->tick)
                (void) sd_event_source_set_enabled(e->tick, SD_EVENT_ONESHOT);
}

static void mark_dirty(Engine *e, const char *key) {
        json_object_set_new(e->dirty, key, json_true());
        schedule(e);
}

/* The Workflow object being run (loaded on first use), or NULL. */
static json_t *load(Engine *e, const char *ns, const char *name) {
        char key[400];
        key_of(ns, name, key, sizeof key);
        json_t *wf = json_object_get(e->active, key);
        if (wf)
                return wf;
        if (store_get(e->store, &kind_workflow, ns, name, &wf) < 0)
                return NULL;
        /* set_new frees wf also when it fails: never hand back a freed object */
        if (json_object_set_new(e->active, key, wf) < 0)
                return NULL;
        return wf;
}

static int on_started(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

typedef struct StartRef {
        Engine *e;
        char key[400];
        char node[300];
} StartRef;

/* SDFLOW_STEP_SPEC=...: the script (or "") and the command's words, each
 * NUL-terminated, in base64 (sdflow-step --spec-from-env). */
static char *step_spec(json_t *step) {
        size_t len = 0, i;
        json_t *x;
        const char *src = json_str(step, "source") ?: "";
        len += strlen(src) + 1;
        static const char *const parts[] = { "command", "args" };
        for (int k = 0; k < 2; k++)
                json_array_foreach(json_object_get(step, parts[k]), i, x)
                        len += strlen(json_string_value(x) ?: "") + 1;
        _cleanup_free_ char *raw = malloc(len);
        if (!raw)
                return NULL;
        size_t o = 0;
        memcpy(raw, src, strlen(src) + 1);
        o += strlen(src) + 1;
        for (int k = 0; k < 2; k++)
                json_array_foreach(json_object_get(step, parts[k]), i, x) {
                        const char *w = json_string_value(x) ?: "";
                        memcpy(raw + o, w, strlen(w) + 1);
                        o += strlen(w) + 1;
                }
        static const char prefix[] = "SDFLOW_STEP_SPEC=";
        char *out = malloc(sizeof prefix + (len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        memcpy(out, prefix, sizeof prefix - 1);
        EVP_EncodeBlock((unsigned char *) out + sizeof prefix - 1, (const unsigned char *) raw, (int) len);
        return out;
}

/* Starts the unit of a pod node whose status is saved. */
static void send_start(Engine *e, const char *key, json_t *wf, json_t *node) {
        const char *ns = manifest_namespace(wf), *name = manifest_name(wf);
        json_t *step = json_object_get(node, "sdflowStep"), *x;
        char user[64], slice[300], rw[400], err[512], desc[400];
        size_t i;
        ns_user_name(ns, user, sizeof user);
        (void) ns_slice_name(ns, slice, sizeof slice);
        snprintf(rw, sizeof rw, ARTIFACTS_BASE "/%s/artifacts", ns);
        snprintf(desc, sizeof desc, "sdflow step %s of workflow %s/%s", json_str(node, "displayName"), ns, name);

        /* sdflow-step --dir D [--in H=P]... [--param N=P]... [--artifact N=P]... [--source S] -- command args */
        /* (a word lost would shift the command line: every append is checked) */
        json_auto_t *argv = json_array();
        bool lost = !argv;
        lost |= json_array_append_new(argv, json_string(STEP_BINARY)) < 0;
        lost |= json_array_append_new(argv, json_string("--dir")) < 0;
        lost |= json_array_append_new(argv, json_string(json_str(node, "sdflowDir"))) < 0;
        json_array_foreach(json_object_get(json_object_get(step, "inputs"), "artifacts"), i, x)
                if (json_str(x, "path"))
                        lost |= json_array_append_new(argv, json_sprintf("--in=%s=%s", json_str(x, "hostPath"),
                                                                         json_str(x, "path"))) < 0;
        json_array_foreach(json_object_get(json_object_get(step, "outputs"), "parameters"), i, x)
                if (json_str(x, "path"))
                        lost |= json_array_append_new(argv, json_sprintf("--%sparam=%s=%s",
                                                                         json_object_get(x, "default") ? "optional-" : "",
                                                                         json_str(x, "name"), json_str(x, "path"))) < 0;
        json_array_foreach(json_object_get(json_object_get(step, "outputs"), "artifacts"), i, x)
                lost |= json_array_append_new(argv, json_sprintf("--%sartifact=%s=%s",
                                                                 json_is_true(json_object_get(x, "optional")) ? "optional-" : "",
                                                                 json_str(x, "name"), json_str(x, "path"))) < 0;
        /* The script and the command line (the parameters in it) go with
         * the environment into the unit's root-only EnvironmentFile=, never
         * into ExecStart= (systemctl show) or sdflow-step's command line (ps). */
        lost |= json_array_append_new(argv, json_string("--spec-from-env")) < 0;
        _cleanup_free_ char *spec = step_spec(step);
        size_t n = json_array_size(argv), ne = json_array_size(json_object_get(step, "env"));
        /* (av and env hold borrowed strings) */
        _cleanup_free_ char **av = calloc(n + 1, sizeof *av), **env = calloc(ne + 3, sizeof *env);
        if (lost || !spec || !av || !env) {
                json_object_set_new(node, "phase", json_string("Error"));
                json_object_set_new(node, "message", json_string("the step's unit could not be started: out of memory"));
                mark_dirty(e, key);
                return;
        }
        json_array_foreach(argv, i, x)
                av[i] = (char *) json_string_value(x);
        env[0] = (char *) STEP_PATH;
        json_array_foreach(json_object_get(step, "env"), i, x)
                env[i + 1] = (char *) json_string_value(x);
        env[ne + 1] = spec;

        /* The template's timeout (or activeDeadlineSeconds) bounds the unit. */
        uint64_t timeout = UINT64_MAX;
        json_t *tmpl = NULL, *t;
        json_array_foreach(json_object_get(json_object_get(wf, "spec"), "templates"), i, t)
                if (json_str(node, "templateName") && strcmp(json_str(t, "name"), json_str(node, "templateName")) == 0)
                        tmpl = t;
        /* (resolved with the step: it may come from an input) */
        int64_t tsec = wf_parse_duration(json_object_get(step, "timeout"));
        if (tsec < 0)
                tsec = wf_parse_duration(json_object_get(tmpl, "activeDeadlineSeconds"));
        if (tsec > 0)
                timeout = (uint64_t) tsec * 1000000ULL;

        ImageRoot root = { .kind = IMAGE_HOST };
        char ierr[512];
        if (imagemap_lookup(e->ns->image_map, json_str(step, "image"), &root, ierr, sizeof ierr) < 0)
                root.kind = IMAGE_HOST; /* refused at submit; the map changed since: the node fails below */
        json_t *res = json_object_get(step, "resources");
        StepSpec sp = {
                .unit = json_str(node, "sdflowUnit"),
                .slice = slice,
                .user = user,
                .description = desc,
                .rw_path = rw,
                .working_directory = json_str(step, "workingDir"),
                .root_directory = root.kind == IMAGE_DIRECTORY ? root.path : NULL,
                .root_image = root.kind == IMAGE_DISK ? root.path : NULL,
                .argv = av,
                .env = env,
                .memory_max = wf_quantity(res, "memory", false),
                .cpu_quota_per_sec_usec = wf_quantity(res, "cpu", true),
                .timeout_usec = timeout,
        };
        const char *bsrc[IMAGE_MAX_BINDS], *bdst[IMAGE_MAX_BINDS];
        for (size_t b = 0; b < root.n_binds; b++) {
                bsrc[b] = root.bind_src[b];
                bdst[b] = root.bind_dst[b];
        }
        sp.n_binds = root.n_binds;
        sp.bind_src = bsrc;
        sp.bind_dst = bdst;
        _cleanup_free_ StartRef *ref = calloc(1, sizeof *ref);
        /* Without its entry in e->units the unit's end would never be read. */
        if (!ref ||
            json_object_set_new(e->units, sp.unit, json_pack("{s:s, s:s}", "key", key, "node", json_str(node, "id"))) < 0) {
                json_object_set_new(node, "phase", json_string("Error"));
                json_object_set_new(node, "message", json_string("the step's unit could not be started: out of memory"));
                mark_dirty(e, key);
                return;
        }
        ref->e = e;
        snprintf(ref->key, sizeof ref->key, "%s", key);
        snprintf(ref->node, sizeof ref->node, "%s", json_str(node, "id"));
        /* A unit of that name left failed (a stopped step of a deleted
         * workflow of the same name, say) would refuse the start: let it go
         * first (the bus keeps the order of the two calls). */
        manager_reset_failed(e->ns->bus, sp.unit);
        int r = manager_start_step(e->ns->bus, &sp, on_started, ref, err, sizeof err);
        if (r >= 0) {
                TAKE_PTR(ref); /* on_started frees it */
                e->in_flight++;
        }
        if (r < 0) {
                manager_remove_env_file(sp.unit);
                json_object_del(e->units, sp.unit);
                json_object_set_new(node, "phase", json_string("Error"));
                json_object_set_new(node, "message", json_sprintf("the step's unit could not be started: %s", err));
                mark_dirty(e, key);
        }
}

/* Sends queued starts while fewer than MAX_STARTS_IN_FLIGHT wait for systemd's reply. */
static void pump(Engine *e) {
        while (e->in_flight < MAX_STARTS_IN_FLIGHT && json_array_size(e->queue) > 0) {
                json_auto_t *q = json_incref(json_array_get(e->queue, 0));
                json_array_remove(e->queue, 0);
                json_t *wf = json_object_get(e->active, json_str(q, "key"));
                json_t *node = wf ? json_object_get(json_object_get(json_object_get(wf, "status"), "nodes"),
                                                    json_str(q, "node"))
                                  : NULL;
                if (node && !phase_node_done(node_phase(node)))
                        send_start(e, json_str(q, "key"), wf, node);
        }
}

static void start_unit(Engine *e, const char *key, json_t *wf, json_t *node) {
        (void) wf;
        if (json_array_append_new(e->queue, json_pack("{s:s, s:s}", "key", key, "node", json_str(node, "id"))) < 0) {
                /* Not queued, it would never start: say so rather than wait for ever. */
                json_object_set_new(node, "phase", json_string("Error"));
                json_object_set_new(node, "message", json_string("the step's unit could not be started: out of memory"));
                mark_dirty(e, key);
                return;
        }
        pump(e);
}

/* A pod node's unit ended (or is found ended): settle it. */
static void finish_unit(Engine *e, const char *unit, const char *job_result) {
        json_t *ref = json_object_get(e->units, unit);
        if (!ref)
                return;
        char key[400], nodeid[300];
        snprintf(key, sizeof key, "%s", json_str(ref, "key"));
        snprintf(nodeid, sizeof nodeid, "%s", json_str(ref, "node"));
        json_object_del(e->units, unit);
        manager_remove_env_file(unit); /* it has run: its environment is not needed again */
        json_t *wf = json_object_get(e->active, key);
        if (!wf)
                return;
        json_t *node = json_object_get(json_object_get(json_object_get(wf, "status"), "nodes"), nodeid);
        if (node && !phase_node_done(node_phase(node))) {
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_workflow, wf, GUARD_ADVANCE);
                char state[32] = "", result[32] = "";
                int status = 0;
                if (job_result && strcmp(job_result, "done") == 0)
                        snprintf(result, sizeof result, "success");
                else {
                        /* A failed unit stays loaded: ask why, then let it go. */
                        if (manager_unit_result(e->ns->bus, unit, state, sizeof state, result, sizeof result, &status) ==
                            0)
                                manager_reset_failed(e->ns->bus, unit);
                        if (job_result && strcmp(job_result, "canceled") == 0)
                                snprintf(result, sizeof result, "canceled");
                }
                pod_finish(e, wf, node, result, status);
                json_object_set_new(e->unsaved, key, json_true());
                mark_dirty(e, key);
                /* What it held of the namespace's quota is free: steps waiting elsewhere may fit now. */
                uint64_t cpu, mem;
                wf_pod_needs(node, &cpu, &mem);
                if (cpu || mem) {
                        char prefix[200];
                        snprintf(prefix, sizeof prefix, "%s/", manifest_namespace(wf));
                        const char *k;
                        json_t *v;
                        json_object_foreach(e->active, k, v)
                                if (strncmp(k, prefix, strlen(prefix)) == 0)
                                        json_object_set_new(e->dirty, k, json_true());
                }
        }
}

#define MAX_RESENDS 3

static int on_started(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_free_ StartRef *ref = userdata;
        Engine *e = ref->e;
        (void) ret_error;
        e->in_flight--;
        json_t *wf = json_object_get(e->active, ref->key);
        json_t *node = wf ? json_object_get(json_object_get(json_object_get(wf, "status"), "nodes"), ref->node) : NULL;
        const char *unit = json_str(node, "sdflowUnit") ?: "";
        json_int_t resent = json_integer_value(json_object_get(e->resent, unit));
        const sd_bus_error *err = sd_bus_message_is_method_error(m, NULL) ? sd_bus_message_get_error(m) : NULL;
        /* A step accepted is not lost to privd restarting: its start is sent
         * again (on a new connection; the socket starts privd again), and a
         * unit that systemd had already made is the step running. */
        /* (not queued again, out of memory: it fails below as not started) */
        if (err && node && !phase_node_done(node_phase(node)) && manager_peer_lost(err) && resent < MAX_RESENDS &&
            json_array_insert_new(e->queue, 0, json_pack("{s:s, s:s}", "key", ref->key, "node", ref->node)) >= 0) {
                log_warning("Workflow %s: the start of %s got no answer (%s), sending it again.", ref->key, unit,
                            err->message ?: err->name);
                json_object_set_new(e->resent, unit, json_integer(resent + 1));
                pump(e);
                return 0;
        }
        if (err && resent > 0 && sd_bus_error_has_name(err, "org.freedesktop.systemd1.UnitExists"))
                err = NULL;
        (void) json_object_del(e->resent, unit);
        if (err) {
                if (node && !phase_node_done(node_phase(node))) {
                        manager_remove_env_file(json_str(node, "sdflowUnit") ?: "");
                        json_object_del(e->units, json_str(node, "sdflowUnit") ?: "");
                        json_object_set_new(node, "phase", json_string("Error"));
                        json_object_set_new(node, "message", json_sprintf("the step's unit could not be started: %s",
                                                                          err && err->message ? err->message : "?"));
                        char now[32];
                        format_now_rfc3339(now, sizeof now);
                        json_object_set_new(node, "finishedAt", json_string(now));
                        json_object_set_new(e->unsaved, ref->key, json_true());
                        mark_dirty(e, ref->key);
                }
        }
        pump(e);
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Engine *e = userdata;
        uint32_t id;
        const char *path, *unit, *result;
        (void) ret_error;
        if (!manager_signal_from_systemd(m) || sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (strncmp(unit, "sdflowwf_", 9) == 0)
                finish_unit(e, unit, result);
        return 0;
}

/* After a restart: a Running pod node's unit, as systemd has it now. */
static void reattach(Engine *e, const char *key, json_t *node) {
        const char *unit = json_str(node, "sdflowUnit");
        _cleanup_guard_ unsigned g = crashguard_enter(&kind_workflow, json_object_get(e->active, key), GUARD_RECONCILE);
        char state[32] = "", result[32] = "";
        int status = 0;
        json_object_set_new(e->units, unit, json_pack("{s:s, s:s}", "key", key, "node", json_str(node, "id")));
        int r = manager_unit_result(e->ns->bus, unit, state, sizeof state, result, sizeof result, &status);
        if (r == 0 && (strcmp(state, "activating") == 0 || strcmp(state, "active") == 0 ||
                       strcmp(state, "deactivating") == 0)) {
                log_info("Workflow %s: step %s still runs (%s), waiting for it.", key, unit, state);
                return; /* its JobRemoved will come */
        }
        if (r == 0 && strcmp(state, "failed") == 0) {
                finish_unit(e, unit, "failed");
                return;
        }
        char rel[800];
        const char *r0 = safe_rel(ARTIFACTS_BASE, json_str(node, "sdflowDir"));
        snprintf(rel, sizeof rel, "%s/exit", r0 ?: "");
        if (r0 && safe_exists_beneath(ARTIFACTS_BASE, rel)) {
                log_info("Workflow %s: step %s finished while sdflowd was away.", key, unit);
                finish_unit(e, unit, "done");
                return;
        }
        snprintf(rel, sizeof rel, "%s/started", r0 ?: "");
        json_t *wf = json_object_get(e->active, key);
        if (r0 && safe_exists_beneath(ARTIFACTS_BASE, rel)) {
                /* It ran but left no exit status, and systemd has forgotten it. */
                json_object_del(e->units, unit);
                json_object_set_new(node, "phase", json_string("Error"));
                json_object_set_new(node, "message",
                                    json_string("the step's unit is gone without an exit status (was the host restarted?)"));
        } else {
                /* Saved but never started (sdflowd stopped in between): start it now. */
                log_info("Workflow %s: starting step %s, which never started.", key, unit);
                start_unit(e, key, wf, node);
        }
        json_object_set_new(e->unsaved, key, json_true());
        mark_dirty(e, key);
}

static void save(Engine *e, const char *key) {
        json_t *wf = json_object_get(e->active, key);
        if (!wf)
                return;
        const char *ns = manifest_namespace(wf), *name = manifest_name(wf);
        if (store_set_status(e->store, &kind_workflow, ns, name, json_object_get(wf, "status")) < 0) {
                log_warning("Workflow %s: cannot store its status, ignoring.", key);
                return;
        }
        json_auto_t *now = NULL;
        if (store_get(e->store, &kind_workflow, ns, name, &now) >= 0) {
                /* Keep the stored metadata (resourceVersion) in the copy we run. */
                json_object_set(wf, "metadata", json_object_get(now, "metadata"));
                if (e->notify)
                        e->notify(&kind_workflow, "MODIFIED", now, e->userdata);
        }
}

static void arm_wake(Engine *e, uint64_t at) {
        if (at == 0)
                return;
        uint64_t now = epoch_now();
        uint64_t delay = at > now ? (at - now) * 1000000ULL : 0;
        uint64_t cur = 0;
        if (sd_event_source_get_enabled(e->wake, NULL) > 0 && sd_event_source_get_time(e->wake, &cur) >= 0) {
                uint64_t mono;
                sd_event_now(e->event, CLOCK_MONOTONIC, &mono);
                if (cur <= mono + delay)
                        return;
        }
        (void) sd_event_source_set_time_relative(e->wake, delay + 1);
        (void) sd_event_source_set_enabled(e->wake, SD_EVENT_ONESHOT);
}

/* ---- what the engine's logic asks of the world (WfEnv) ---- */

static json_t *env_cache_lookup(void *userdata, const char *ns, const char *key, char *from, size_t from_size) {
        Engine *e = userdata;
        json_auto_t *outs = NULL;
        json_t *a;
        size_t i;
        struct stat st;
        if (store_cache_get(e->store, ns, key, &outs, from, from_size) < 0)
                return NULL;
        /* Only while every artifact it names still exists (a deleted workflow
         * takes its own), as sdflow made it: not a link. */
        json_array_foreach(json_object_get(outs, "artifacts"), i, a)
                if (!safe_rel(ARTIFACTS_BASE, json_str(a, "hostPath")) || lstat(json_str(a, "hostPath"), &st) < 0 ||
                    S_ISLNK(st.st_mode))
                        return NULL;
        return TAKE_PTR(outs);
}

/* hostPath is NODEDIR/artifacts/NAME; sdflow-step wrote "NAME HEX" in NODEDIR/digests. */
static bool env_artifact_digest(void *userdata, const char *host_path, char *buf, size_t size) {
        char dir[1024], name[256], line[400];
        bool found = false;
        (void) userdata;
        snprintf(dir, sizeof dir, "%s", host_path ?: "");
        char *slash = strrchr(dir, '/');
        if (!slash)
                return false;
        snprintf(name, sizeof name, "%s", slash + 1);
        *slash = '\0';
        slash = strrchr(dir, '/');
        if (!slash)
                return false;
        *slash = '\0';
        char digests[8192];
        if (node_read(dir, "digests", digests, sizeof digests, NULL) < 0)
                return false;
        size_t n = strlen(name);
        for (char *save = NULL, *l = strtok_r(digests, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (strncmp(l, name, n) == 0 && l[n] == ' ') {
                        snprintf(line, sizeof line, "%s", l + n + 1);
                        snprintf(buf, size, "%s", line);
                        found = true;
                }
        return found;
}

/* The namespace's quota (its Profile's cpu and memory) less what the
 * steps running in it, in every workflow the engine holds, already hold. */
static int env_admit(void *userdata, const char *ns, uint64_t cpu, uint64_t mem, char *msg, size_t size) {
        Engine *e = userdata;
        json_auto_t *profile = NULL;
        if (store_get(e->store, &kind_profile, NULL, ns, &profile) < 0)
                return 1;
        uint64_t gpus;
        SliceLimits l = ns_profile_limits(profile, &gpus);
        unsigned long long qc = l.cpu_quota_per_sec_usec == UINT64_MAX ? 0 : l.cpu_quota_per_sec_usec / 1000;
        unsigned long long qm = l.memory_max == UINT64_MAX ? 0 : l.memory_max;
        if ((cpu && l.cpu_quota_per_sec_usec != UINT64_MAX && cpu > l.cpu_quota_per_sec_usec) ||
            (mem && l.memory_max != UINT64_MAX && mem > l.memory_max)) {
                snprintf(msg, size, "the step's limits (cpu %llum, memory %llu bytes) exceed the namespace's quota "
                                    "(cpu %llum, memory %llu bytes)",
                         (unsigned long long) cpu / 1000, (unsigned long long) mem, qc, qm);
                return -E2BIG;
        }
        uint64_t used_cpu = 0, used_mem = 0;
        char prefix[200];
        snprintf(prefix, sizeof prefix, "%s/", ns);
        const char *key, *id;
        json_t *wf, *n;
        json_object_foreach(e->active, key, wf) {
                if (strncmp(key, prefix, strlen(prefix)) != 0)
                        continue;
                json_object_foreach(json_object_get(json_object_get(wf, "status"), "nodes"), id, n)
                        if (json_str(n, "sdflowUnit") && !phase_node_done(node_phase(n))) {
                                uint64_t a, b;
                                wf_pod_needs(n, &a, &b);
                                used_cpu += a;
                                used_mem += b;
                        }
        }
        if ((cpu && l.cpu_quota_per_sec_usec != UINT64_MAX && used_cpu + cpu > l.cpu_quota_per_sec_usec) ||
            (mem && l.memory_max != UINT64_MAX && used_mem + mem > l.memory_max)) {
                snprintf(msg, size, "waiting for quota: running steps hold cpu %llum and memory %llu of the namespace's "
                                    "cpu %llum and memory %llu",
                         (unsigned long long) used_cpu / 1000, (unsigned long long) used_mem, qc, qm);
                return 0;
        }
        return 1;
}

static int on_tick(sd_event_source *s, void *userdata) {
        Engine *e = userdata;
        (void) s;
        /* Passes until nothing more changes (a finished node lets the next start). */
        for (int round = 0; round < 100 && json_object_size(e->dirty) > 0; round++) {
                json_t *fresh = json_object();
                if (!fresh)
                        break; /* out of memory: e->dirty stays, for the next tick */
                json_auto_t *dirty = TAKE_PTR(e->dirty);
                e->dirty = fresh;
                const char *key;
                json_t *v;
                json_object_foreach(dirty, key, v) {
                        json_t *wf = json_object_get(e->active, key);
                        if (!wf || crashguard_is_quarantined(wf))
                                continue;
                        _cleanup_guard_ unsigned g = crashguard_enter(&kind_workflow, wf, GUARD_ADVANCE);
                        char user[64];
                        ns_user_name(manifest_namespace(wf), user, sizeof user);
                        WfEnv env = {
                                .cache_lookup = env_cache_lookup,
                                .artifact_digest = env_artifact_digest,
                                .admit = env_admit,
                                .userdata = e,
                                .service_account = user,
                        };
                        json_auto_t *starts = json_array();
                        if (!starts) {
                                /* the steps it started would be lost: again, later */
                                mark_dirty(e, key);
                                continue;
                        }
                        uint64_t wake = 0;
                        wf_operate(wf, &env, epoch_now(), starts, &wake);
                        json_object_set_new(e->unsaved, key, json_true());
                        arm_wake(e, wake);
                        /* Saved first, started after: a restart never starts a step twice. */
                        if (json_array_size(starts) > 0) {
                                save(e, key);
                                json_object_del(e->unsaved, key);
                                json_t *id, *nodes = json_object_get(json_object_get(wf, "status"), "nodes");
                                size_t i;
                                json_array_foreach(starts, i, id)
                                        start_unit(e, key, wf, json_object_get(nodes, json_string_value(id)));
                        }
                }
        }
        /* Statuses are written when a workflow ends, else at most every
         * SAVE_INTERVAL (and always before a step starts, above): a fan-out
         * of 200 steps is then a few writes, not 200. */
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(e->unsaved, tmp, key, v) {
                json_t *wf = json_object_get(e->active, key);
                if (wf && !phase_node_done(json_str(json_object_get(wf, "status"), "phase"))) {
                        if (sd_event_source_get_enabled(e->flush, NULL) <= 0) {
                                (void) sd_event_source_set_time_relative(e->flush, SAVE_INTERVAL_USEC);
                                (void) sd_event_source_set_enabled(e->flush, SD_EVENT_ONESHOT);
                        }
                        continue;
                }
                save(e, key);
                json_object_del(e->unsaved, key);
        }
        /* Finished workflows leave memory. */
        json_object_foreach_safe(e->active, tmp, key, v) {
                const char *ph = json_str(json_object_get(v, "status"), "phase");
                if (phase_node_done(ph) && !json_object_get(e->dirty, key))
                        json_object_del(e->active, key);
        }
        if (json_object_size(e->dirty) > 0)
                schedule(e);
        return 0;
}

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = userdata;
        const char *key;
        json_t *v;
        void *tmp;
        (void) s;
        (void) usec;
        json_object_foreach_safe(e->unsaved, tmp, key, v) {
                save(e, key);
                json_object_del(e->unsaved, key);
        }
        return 0;
}

static int on_wake(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = userdata;
        const char *key;
        json_t *v;
        (void) s;
        (void) usec;
        json_object_foreach(e->active, key, v)
                json_object_set_new(e->dirty, key, json_true());
        schedule(e);
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Engine *, engine_free);

int engine_new(Engine **ret, sd_event *ev, Store *store, Namespaces *n, EngineNotify notify, void *userdata) {
        _cleanup_(engine_freep) Engine *e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->event = sd_event_ref(ev);
        e->store = store;
        e->ns = n;
        e->notify = notify;
        e->userdata = userdata;
        e->active = json_object();
        e->dirty = json_object();
        e->unsaved = json_object();
        e->units = json_object();
        e->queue = json_array();
        e->resent = json_object();
        if (!e->active || !e->dirty || !e->unsaved || !e->units || !e->queue || !e->resent)
                return -ENOMEM;
        int r = sd_event_add_defer(ev, &e->tick, on_tick, e);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->tick, SD_EVENT_OFF);
        /* After every other event: the unit ends already queued on the bus
         * are all taken in before the next pass. */
        if (r >= 0)
                r = sd_event_source_set_priority(e->tick, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_add_time_relative(ev, &e->flush, CLOCK_MONOTONIC, SAVE_INTERVAL_USEC, 0, on_flush, e);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->flush, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(ev, &e->wake, CLOCK_MONOTONIC, 1000000, 0, on_wake, e);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->wake, SD_EVENT_OFF);
        if (r >= 0 && n->bus)
                r = manager_subscribe(n->bus, &e->job_slot, on_job_removed, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        const char *key;
        json_t *v;
        json_object_foreach(e->unsaved, key, v)
                save(e, key);
        sd_bus_slot_unref(e->job_slot);
        sd_event_source_disable_unref(e->tick);
        sd_event_source_disable_unref(e->wake);
        sd_event_source_disable_unref(e->flush);
        sd_event_unref(e->event);
        json_decref(e->active);
        json_decref(e->dirty);
        json_decref(e->unsaved);
        json_decref(e->units);
        json_decref(e->resent);
        json_decref(e->queue);
        free(e);
        return NULL;
}

void engine_submit(Engine *e, const char *ns, const char *name) {
        char key[400];
        key_of(ns, name, key, sizeof key);
        json_object_del(e->active, key);
        json_t *wf = load(e, ns, name);
        if (!wf)
                return;
        if (!e->ns->bus) {
                json_t *st = json_pack("{s:s, s:s}", "phase", "Error", "message", "systemd cannot be reached over D-Bus");
                json_object_set_new(wf, "status", st);
                save(e, key);
                json_object_del(e->active, key);
                return;
        }
        json_t *st = json_object_get(wf, "status");
        if (!json_is_object(st) || phase_node_done(json_str(st, "phase")) || !json_object_get(st, "nodes")) {
                /* suspend in the spec starts it suspended, as in Argo. */
                json_t *fresh = json_object();
                if (json_is_true(json_object_get(json_object_get(wf, "spec"), "suspend")))
                        json_object_set_new(fresh, "sdflowSuspended", json_true());
                json_object_set_new(wf, "status", fresh);
        }
        mark_dirty(e, key);
}

void engine_resume_all(Engine *e) {
        json_auto_t *items = NULL;
        json_t *o;
        size_t i;
        if (!e->ns->bus || store_list(e->store, &kind_workflow, NULL, &items, NULL) < 0)
                return;
        json_array_foreach(items, i, o) {
                const char *ph = json_str(json_object_get(o, "status"), "phase");
                if (phase_node_done(ph) || crashguard_is_quarantined(o))
                        continue;
                char key[400];
                key_of(manifest_namespace(o), manifest_name(o), key, sizeof key);
                json_t *wf = load(e, manifest_namespace(o), manifest_name(o));
                if (!wf)
                        continue;
                json_t *nodes = json_object_get(json_object_get(wf, "status"), "nodes"), *n;
                const char *id;
                json_object_foreach(nodes, id, n)
                        if (json_str(n, "sdflowUnit") && !phase_node_done(node_phase(n)))
                                reattach(e, key, n);
                mark_dirty(e, key);
        }
}

int engine_action(Engine *e, const char *ns, const char *name, const char *action, char *msg, size_t size) {
        char key[400];
        key_of(ns, name, key, sizeof key);
        json_t *wf = load(e, ns, name);
        if (!wf) {
                snprintf(msg, size, "workflow %s/%s not found", ns, name);
                return -ENOENT;
        }
        json_t *st = json_object_get(wf, "status");
        if (!json_is_object(st)) {
                st = json_object();
                /* (set_new frees st also when it fails) */
                if (!st || json_object_set_new(wf, "status", st) < 0) {
                        snprintf(msg, size, "workflow %s/%s: out of memory", ns, name);
                        return -ENOMEM;
                }
        }
        const char *ph = json_str(st, "phase");
        bool done = phase_node_done(ph);
        if (strcmp(action, "retry") == 0) {
                if (!done || strcmp(ph, "Succeeded") == 0) {
                        snprintf(msg, size, "only a workflow that failed can be retried (it is %s)", ph ?: "Pending");
                        return -EINVAL;
                }
                /* Keep what succeeded (or was skipped); run the rest again. */
                json_t *nodes = json_object_get(st, "nodes"), *n;
                const char *id;
                void *tmp;
                json_object_foreach_safe(nodes, tmp, id, n) {
                        const char *p = node_phase(n);
                        if (!(p && (strcmp(p, "Succeeded") == 0 || strcmp(p, "Skipped") == 0)) ||
                            strcmp(json_str(n, "type") ?: "", "Retry") == 0)
                                json_object_del(nodes, id);
                }
                json_object_foreach(nodes, id, n) {
                        json_t *ch = json_object_get(n, "children"), *x;
                        size_t i;
                        json_t *keep = json_array();
                        json_array_foreach(ch, i, x)
                                if (json_object_get(nodes, json_string_value(x)))
                                        json_array_append(keep, x);
                        json_object_set_new(n, "children", keep);
                }
                json_object_set_new(st, "sdflowRun", json_integer(json_integer_value(json_object_get(st, "sdflowRun")) + 1));
                json_object_del(st, "phase");
                json_object_del(st, "finishedAt");
                json_object_del(st, "message");
                json_object_del(st, "sdflowShutdown");
                json_object_del(st, "sdflowExitStatus");
                json_object_set_new(st, "phase", json_string("Running"));
        } else if (done) {
                snprintf(msg, size, "workflow %s/%s has finished (%s)", ns, name, ph);
                json_object_del(e->active, key);
                return -EINVAL;
        } else if (strcmp(action, "suspend") == 0) {
                json_object_set_new(st, "sdflowSuspended", json_true());
        } else if (strcmp(action, "resume") == 0) {
                json_object_del(st, "sdflowSuspended");
                /* and every suspend node that waits */
                json_t *n;
                const char *id;
                json_object_foreach(json_object_get(st, "nodes"), id, n)
                        if (strcmp(json_str(n, "type") ?: "", "Suspend") == 0 && !phase_node_done(node_phase(n)))
                                json_object_set_new(n, "sdflowResumed", json_true());
        } else if (strcmp(action, "stop") == 0 || strcmp(action, "terminate") == 0) {
                json_object_set_new(st, "sdflowShutdown", json_string(action[0] == 's' ? "Stop" : "Terminate"));
                json_object_set_new(st, "message", json_sprintf("Stopped with strategy '%s'", action[0] == 's' ? "Stop" : "Terminate"));
                json_object_del(st, "sdflowSuspended");
                json_t *n;
                const char *id;
                json_object_foreach(json_object_get(st, "nodes"), id, n)
                        if (json_str(n, "sdflowUnit") && !phase_node_done(node_phase(n)))
                                manager_stop_async(e->ns->bus, json_str(n, "sdflowUnit"));
        } else {
                snprintf(msg, size, "unknown action '%s' (suspend, resume, stop, terminate, retry)", action);
                return -EINVAL;
        }
        json_object_set_new(e->unsaved, key, json_true());
        mark_dirty(e, key);
        return 0;
}

void engine_forget(Engine *e, const char *ns, const char *name) {
        char key[400];
        key_of(ns, name, key, sizeof key);
        json_t *wf = json_object_get(e->active, key), *n;
        const char *id;
        json_object_foreach(json_object_get(json_object_get(wf, "status"), "nodes"), id, n)
                if (json_str(n, "sdflowUnit") && !phase_node_done(node_phase(n))) {
                        json_object_del(e->units, json_str(n, "sdflowUnit"));
                        manager_stop_async(e->ns->bus, json_str(n, "sdflowUnit"));
                        manager_remove_env_file(json_str(n, "sdflowUnit"));
                }
        json_object_del(e->active, key);
        json_object_del(e->dirty, key);
        json_object_del(e->unsaved, key);
        (void) store_cache_forget(e->store, ns, name);
}

bool engine_busy(Engine *e) {
        return e && (json_object_size(e->active) > 0 || json_object_size(e->units) > 0);
}

int engine_artifact_path(Engine *e, const char *ns, const char *uri, char *path, size_t size, char *msg,
                         size_t msg_size) {
        char wfname[256], task[256], art[256];
        if (strncmp(uri, "artifact://", 11) != 0 ||
            sscanf(uri + 11, "%255[^/]/%255[^/]/%255[^/]", wfname, task, art) != 3) {
                snprintf(msg, msg_size, "'%s' is not artifact://WORKFLOW/STEP/ARTIFACT", uri);
                return -EINVAL;
        }
        json_auto_t *wf = NULL;
        if (store_get(e->store, &kind_workflow, ns, wfname, &wf) < 0) {
                snprintf(msg, msg_size, "workflow %s/%s does not exist", ns, wfname);
                return -ENOENT;
        }
        json_t *n;
        const char *id;
        int r = -ENOENT;
        snprintf(msg, msg_size, "workflow %s/%s has no succeeded step %s with an output artifact %s", ns, wfname, task,
                 art);
        json_object_foreach(json_object_get(json_object_get(wf, "status"), "nodes"), id, n) {
                const char *ph = node_phase(n), *dn = json_str(n, "displayName");
                if (!ph || strcmp(ph, "Succeeded") != 0 || !dn || strcmp(dn, task) != 0)
                        continue;
                json_t *a;
                size_t i;
                json_array_foreach(json_object_get(json_object_get(n, "outputs"), "artifacts"), i, a)
                        if (strcmp(json_str(a, "name"), art) == 0 && json_str(a, "hostPath")) {
                                snprintf(path, size, "%s", json_str(a, "hostPath"));
                                r = 0;
                        }
        }
        return r;
}
