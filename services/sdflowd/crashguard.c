/* crashguard.c: see crashguard.h.  The file is one text record, rewritten
 * whole at offset 0 on every change (always GUARD_FILE_SIZE bytes, so a
 * shorter record never leaves an older tail behind):
 *
 *   sdflowd-guard 1
 *   running 1 unclean 0
 *   depth 1
 *   advance<TAB>argoproj.io/Workflow<TAB>team-a<TAB>wf-1<TAB>uid
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashguard.h"
#include "kinds.h"
#include "macro.h"

#define GUARD_FILE_SIZE 4096
#define GUARD_MAX_DEPTH 4
#define FAULT_ANNOTATION "sdflow.io/debug-fault"

static const char *const stage_names[_GUARD_STAGE_MAX] = {
        [GUARD_APPLY] = "apply",
        [GUARD_RECONCILE] = "reconcile",
        [GUARD_ADVANCE] = "advance",
        [GUARD_DELETE] = "delete",
};

static struct {
        int fd;
        bool faults;
        unsigned unclean;
        unsigned depth; /* may exceed GUARD_MAX_DEPTH; only that many are recorded */
        GuardRecord stack[GUARD_MAX_DEPTH];
} guard = { .fd = -EBADF };

const char *crashguard_stage_name(GuardStage s) {
        return s < _GUARD_STAGE_MAX ? stage_names[s] : "?";
}

static void write_record(bool running) {
        char buf[GUARD_FILE_SIZE];
        size_t o = 0;
        if (guard.fd < 0)
                return;
        o += (size_t) snprintf(buf + o, sizeof buf - o, "sdflowd-guard 1\nrunning %d unclean %u\ndepth %u\n",
                               running, guard.unclean, MIN(guard.depth, GUARD_MAX_DEPTH));
        for (unsigned i = 0; i < guard.depth && i < GUARD_MAX_DEPTH && o < sizeof buf; i++) {
                const GuardRecord *r = &guard.stack[i];
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%s\t%s\t%s\t%s\t%s\n", stage_names[r->stage], r->kind,
                                       r->ns, r->name, r->uid);
        }
        if (o > sizeof buf)
                o = sizeof buf;
        memset(buf + o, '\n', sizeof buf - o);
        /* No fsync: this must outlive the process, which the page cache does. */
        (void) !pwrite(guard.fd, buf, sizeof buf, 0);
}

/* A field as it may go into the record: no tabs, no newlines. */
static void field(char *dst, size_t size, const char *src) {
        snprintf(dst, size, "%s", src ?: "");
        for (char *p = dst; *p; p++)
                if (*p == '\t' || *p == '\n' || *p == '\r')
                        *p = '_';
}

static bool parse_record(const char *buf, GuardRecord *left, bool *had, bool *running, unsigned *unclean) {
        int run = 0;
        unsigned u = 0, depth = 0;
        if (sscanf(buf, "sdflowd-guard 1\nrunning %d unclean %u\ndepth %u\n", &run, &u, &depth) != 3)
                return false;
        *running = run != 0;
        *unclean = u;
        *had = false;
        /* The innermost entry is the last line. */
        const char *p = strstr(buf, "depth ");
        p = p ? strchr(p, '\n') : NULL;
        for (unsigned i = 0; p && i < depth && i < GUARD_MAX_DEPTH; i++) {
                const char *line = p + 1, *end = strchr(line, '\n');
                if (!end)
                        break;
                char tmp[1024], *save = NULL;
                snprintf(tmp, sizeof tmp, "%.*s", (int) (end - line), line);
                char *f[5] = {};
                f[0] = strtok_r(tmp, "\t", &save);
                for (int k = 1; k < 5 && f[k - 1]; k++)
                        f[k] = strtok_r(NULL, "\t", &save);
                if (f[0] && f[1] && f[2] && f[3]) {
                        GuardRecord r = { .stage = GUARD_ADVANCE };
                        for (int s = 0; s < _GUARD_STAGE_MAX; s++)
                                if (strcmp(f[0], stage_names[s]) == 0)
                                        r.stage = (GuardStage) s;
                        field(r.kind, sizeof r.kind, f[1]);
                        field(r.ns, sizeof r.ns, strcmp(f[2], "-") == 0 ? "" : f[2]);
                        field(r.name, sizeof r.name, f[3]);
                        field(r.uid, sizeof r.uid, f[4] && strcmp(f[4], "-") != 0 ? f[4] : "");
                        *left = r;
                        *had = true;
                }
                p = end;
        }
        return true;
}

int crashguard_open(const char *path, bool debug_faults, GuardRecord *left, bool *had, unsigned *unclean_starts) {
        *had = false;
        *unclean_starts = 0;
        *left = (GuardRecord) {};
        guard.faults = debug_faults;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                int r = errno ? -errno : -EBADF;
                close(fd);
                return r;
        }
        char buf[GUARD_FILE_SIZE + 1];
        ssize_t n = pread(fd, buf, GUARD_FILE_SIZE, 0);
        buf[n > 0 ? n : 0] = '\0';
        bool running = false;
        unsigned unclean = 0;
        if (n > 0 && parse_record(buf, left, had, &running, &unclean) && running)
                guard.unclean = unclean + 1; /* the last process did not stop cleanly */
        else
                guard.unclean = 0;
        if (!running)
                *had = false;
        *unclean_starts = guard.unclean;
        guard.fd = fd;
        guard.depth = 0;
        write_record(true);
        return 0;
}

void crashguard_close(void) {
        guard.depth = 0;
        guard.unclean = 0;
        write_record(false);
        guard.fd = safe_close(guard.fd);
}

void crashguard_healthy(void) {
        if (guard.unclean == 0)
                return;
        guard.unclean = 0;
        write_record(true);
}

uint64_t crashguard_backoff_usec(unsigned n) {
        if (n < 2)
                return 0;
        uint64_t us = 250 * USEC_PER_MSEC;
        for (unsigned i = 2; i < n && us < 8 * USEC_PER_SEC; i++)
                us *= 2;
        return MIN(us, 8 * USEC_PER_SEC);
}

static bool wants_fault(json_t *obj, GuardStage stage) {
        const char *v = json_string_value(
                json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), FAULT_ANNOTATION));
        if (!v)
                return false;
        const char *want = stage_names[stage];
        size_t n = strlen(want);
        for (const char *p = v; (p = strstr(p, want)); p += n)
                if ((p == v || p[-1] == ',' || p[-1] == ' ') && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
                        return true;
        return false;
}

unsigned crashguard_enter_names(const Kind *k, const char *ns, const char *name, const char *uid, GuardStage stage) {
        unsigned token = guard.depth;
        if (guard.depth < GUARD_MAX_DEPTH) {
                GuardRecord *r = &guard.stack[guard.depth];
                char kind[64];
                snprintf(kind, sizeof kind, "%s/%s", k ? k->group : "?", k ? k->kind : "?");
                field(r->kind, sizeof r->kind, kind);
                field(r->ns, sizeof r->ns, ns && *ns ? ns : "-");
                field(r->name, sizeof r->name, name);
                field(r->uid, sizeof r->uid, uid && *uid ? uid : "-");
                r->stage = stage;
        }
        guard.depth++;
        write_record(true);
        return token;
}

unsigned crashguard_enter(const Kind *k, json_t *obj, GuardStage stage) {
        json_t *md = json_object_get(obj, "metadata");
        unsigned token = crashguard_enter_names(k, json_string_value(json_object_get(md, "namespace")),
                                                json_string_value(json_object_get(md, "name")),
                                                json_string_value(json_object_get(md, "uid")), stage);
        if (guard.faults && wants_fault(obj, stage)) {
                /* The tests' poison object (the record is written): a real
                 * SIGSEGV, also where a sanitizer would catch it. */
                signal(SIGSEGV, SIG_DFL);
                raise(SIGSEGV);
        }
        return token;
}

void crashguard_leave(unsigned token) {
        if (token >= guard.depth)
                return;
        guard.depth = token;
        write_record(true);
}

/* ---- quarantine ------------------------------------------------------------------------ */

static json_t *quarantined; /* uid -> true */

void crashguard_quarantine(const char *uid) {
        if (!uid || !*uid)
                return;
        if (!quarantined)
                quarantined = json_object();
        json_object_set_new(quarantined, uid, json_true());
}

bool crashguard_release(const char *uid) {
        return uid && quarantined && json_object_del(quarantined, uid) == 0;
}

bool crashguard_is_quarantined(json_t *obj) {
        const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
        return uid && quarantined && json_object_get(quarantined, uid);
}

const Kind *crashguard_kind(const char *key) {
        for (size_t i = 0; kinds[i]; i++) {
                char k[128];
                snprintf(k, sizeof k, "%s/%s", kinds[i]->group, kinds[i]->kind);
                if (strcmp(k, key) == 0)
                        return kinds[i];
        }
        return NULL;
}

static void set_condition(json_t *st, const char *type, const char *status, const char *reason, const char *msg,
                          const char *now) {
        json_t *conds = json_object_get(st, "conditions"), *c;
        size_t i;
        if (!json_is_array(conds)) {
                conds = json_array();
                json_object_set_new(st, "conditions", conds);
        }
        json_array_foreach(conds, i, c)
                if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", type) == 0) {
                        json_array_remove(conds, i);
                        break;
                }
        json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "reason",
                                               reason, "message", msg, "lastTransitionTime", now));
}

json_t *crashguard_mark(const Kind *k, json_t *status, const char *now) {
        json_t *st = json_is_object(status) ? json_deep_copy(status) : json_object();
        if (!st)
                return NULL;
        if (k == &kind_workflow) {
                /* As Argo shows an errored workflow: phase, message, end. */
                json_object_set_new(st, "phase", json_string("Error"));
                json_object_set_new(st, "message", json_string(CRASHGUARD_MESSAGE));
                if (!json_object_get(st, "finishedAt"))
                        json_object_set_new(st, "finishedAt", json_string(now));
        } else if (k == &kind_experiment) {
                /* Katib's: the newest condition is True, those before False. */
                json_t *c;
                size_t i;
                json_array_foreach(json_object_get(st, "conditions"), i, c)
                        json_object_set_new(c, "status", json_string("False"));
                set_condition(st, "Failed", "True", CRASHGUARD_REASON, CRASHGUARD_MESSAGE, now);
        } else
                set_condition(st, "Ready", "False", CRASHGUARD_REASON, CRASHGUARD_MESSAGE, now);
        json_object_set_new(st, "sdflowQuarantined", json_true());
        return st;
}

json_t *crashguard_unmark(const Kind *k, json_t *status) {
        json_t *st = json_is_object(status) ? json_deep_copy(status) : json_object(), *c;
        size_t i;
        if (!st)
                return NULL;
        json_object_del(st, "sdflowQuarantined");
        json_array_foreach(json_object_get(st, "conditions"), i, c)
                if (strcmp(json_string_value(json_object_get(c, "reason")) ?: "", CRASHGUARD_REASON) == 0) {
                        json_array_remove(json_object_get(st, "conditions"), i);
                        break;
                }
        if (k == &kind_experiment) {
                /* the condition before it is current again */
                size_t n = json_array_size(json_object_get(st, "conditions"));
                if (n > 0)
                        json_object_set_new(json_array_get(json_object_get(st, "conditions"), n - 1), "status",
                                            json_string("True"));
        }
        return st;
}
