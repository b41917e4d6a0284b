/* policy.c: see policy.h.  Property names and types from
 * org.freedesktop.systemd1(5) and systemd.exec(5). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imagemap.h"
#include "macro.h"
#include "policy.h"
#include "slice.h"
#include "systemd1.h"
#include "strv.h"

#define DEST SYSTEMD1_DEST
#define PATH SYSTEMD1_PATH
#define IFACE SYSTEMD1_MANAGER

#define NS_FILES "/var/lib/sdflow/ns/"
#define NS_SOCKETS "/run/sdflow/ns/"
#define MAX_UNITS 4
#define MAX_BINDS 8
#define MAX_ARG 4096

typedef enum UnitType {
        U_SLICE,
        U_SERVICE,
        U_SOCKET,
        U_TIMER,
        U_HELPER,
} UnitType;

static const char *const type_name[] = {
        [U_SLICE] = "slice", [U_SERVICE] = "workload service", [U_SOCKET] = "socket",
        [U_TIMER] = "timer", [U_HELPER] = "namespace helper",
};

/* What a service must say (bits of Unit.seen). */
enum {
        M_USER = 1 << 0,
        M_SLICE = 1 << 1,
        M_NNP = 1 << 2,
        M_CAPS = 1 << 3,
        M_PROTECT_SYSTEM = 1 << 4,
        M_PROTECT_HOME = 1 << 5,
        M_PRIVATE_TMP = 1 << 6,
        M_PRIVATE_DEVICES = 1 << 7,
        M_PRIVATE_NETWORK = 1 << 8,
        M_EXEC = 1 << 9,
        M_LISTEN = 1 << 10,
        M_ERRFD = 1 << 11,
};

static const struct {
        unsigned bit;
        const char *what;
} mandatory[] = {
        { M_USER, "User=" },
        { M_SLICE, "Slice=" },
        { M_NNP, "NoNewPrivileges=yes" },
        { M_CAPS, "CapabilityBoundingSet= (empty)" },
        { M_PROTECT_SYSTEM, "ProtectSystem=strict" },
        { M_PROTECT_HOME, "ProtectHome=yes" },
        { M_PRIVATE_TMP, "PrivateTmp=yes" },
        { M_PRIVATE_DEVICES, "PrivateDevices=yes" },
        { M_PRIVATE_NETWORK, "PrivateNetwork=yes" },
        { M_EXEC, "ExecStart=" },
        { M_LISTEN, "Listen=" },
};

#define SERVICE_MUST                                                                                                 \
        (M_USER | M_SLICE | M_NNP | M_CAPS | M_PROTECT_SYSTEM | M_PROTECT_HOME | M_PRIVATE_TMP | M_PRIVATE_DEVICES | \
         M_PRIVATE_NETWORK | M_EXEC)

typedef struct Unit {
        char name[256];
        UnitType type;
        unsigned seen;
        char user[64], group[64], slice[256], root_directory[512], root_image[512];
        char **argv, **read_write, **deps, **on_failure, **listen;
        size_t n_binds;
        char bind_src[MAX_BINDS][256], bind_dst[MAX_BINDS][256];
} Unit;

typedef enum Check {
        C_ANY,        /* read and dropped: a restriction, or a value nothing hinges on */
        C_TRUE,       /* b, must be true */
        C_ZERO,       /* t, must be 0 */
        C_EQ,         /* s, must be the spec's value */
        C_TYPE,       /* s: oneshot, simple, notify */
        C_STR,        /* s, kept in the Unit's field (checked once the call is read) */
        C_STRV,       /* as, added to the Unit's field (checked once the call is read) */
        C_ENV,        /* as: NAME=VALUE */
        C_EXEC,       /* a(sasb): one command */
        C_TMPFS,      /* a(ss): /dev/shm only */
        C_FAMILIES,   /* (bas): an allow-list of AF_UNIX, AF_INET, AF_INET6 */
        C_BINDS,      /* a(ssbt) */
        C_LISTEN,     /* a(ss): Stream sockets */
        C_CALENDAR,   /* a(ss): OnCalendar */
        C_ERRFD,      /* h: the helper's stderr, a file sdflowd opened */
} Check;

typedef struct Prop {
        const char *name, *sig;
        Check check;
        const char *value; /* C_EQ */
        unsigned bit;      /* set in Unit.seen when given (and valid) */
        size_t offset, size; /* C_STR: a char[size] of Unit; C_STRV: a char ** of Unit */
} Prop;

#define UNIT_STR(field) offsetof(Unit, field), sizeof(((Unit *) 0)->field)
#define UNIT_STRV(field) offsetof(Unit, field), 0

static const Prop service_props[] = {
        { "Description", "s", C_ANY },
        { "Type", "s", C_TYPE },
        { "User", "s", C_STR, NULL, M_USER, UNIT_STR(user) },
        { "Group", "s", C_STR, NULL, 0, UNIT_STR(group) },
        { "Slice", "s", C_STR, NULL, M_SLICE, UNIT_STR(slice) },
        { "NoNewPrivileges", "b", C_TRUE, NULL, M_NNP },
        { "PrivateNetwork", "b", C_TRUE, NULL, M_PRIVATE_NETWORK },
        { "PrivateTmp", "b", C_TRUE, NULL, M_PRIVATE_TMP },
        { "ProtectSystem", "s", C_EQ, "strict", M_PROTECT_SYSTEM },
        { "ProtectHome", "s", C_EQ, "yes", M_PROTECT_HOME },
        { "PrivateDevices", "b", C_TRUE, NULL, M_PRIVATE_DEVICES },
        { "DevicePolicy", "s", C_EQ, "closed" },
        { "CapabilityBoundingSet", "t", C_ZERO, NULL, M_CAPS },
        { "MemoryMax", "t", C_ANY },
        { "MemorySwapMax", "t", C_ANY },
        { "CPUQuotaPerSecUSec", "t", C_ANY },
        { "TimeoutStartUSec", "t", C_ANY },
        { "CollectMode", "s", C_ANY },
        { "PrivateIPC", "b", C_TRUE },
        { "TemporaryFileSystem", "a(ss)", C_TMPFS },
        { "RemoveIPC", "b", C_TRUE },
        { "RestrictSUIDSGID", "b", C_TRUE },
        { "RestrictRealtime", "b", C_TRUE },
        { "ProtectClock", "b", C_TRUE },
        { "ProtectHostname", "b", C_TRUE },
        { "ProtectKernelLogs", "b", C_TRUE },
        { "ProtectKernelModules", "b", C_TRUE },
        { "ProtectKernelTunables", "b", C_TRUE },
        { "ProtectControlGroups", "b", C_TRUE },
        { "ProtectProc", "s", C_EQ, "invisible" },
        { "LockPersonality", "b", C_TRUE },
        { "RestrictAddressFamilies", "(bas)", C_FAMILIES },
        { "IPAddressDeny", "a(iayu)", C_ANY },
        { "SystemCallArchitectures", "as", C_ANY },
        { "SystemCallErrorNumber", "i", C_ANY },
        { "SystemCallFilter", "(bas)", C_ANY },
        { "RestrictNamespaces", "t", C_ZERO },
        { "ReadOnlyPaths", "as", C_ANY },
        { "ReadWritePaths", "as", C_STRV, NULL, 0, UNIT_STRV(read_write) },
        { "Environment", "as", C_ENV },
        { "WorkingDirectory", "s", C_ANY },
        { "RootDirectory", "s", C_STR, NULL, 0, UNIT_STR(root_directory) },
        { "RootImage", "s", C_STR, NULL, 0, UNIT_STR(root_image) },
        { "BindReadOnlyPaths", "a(ssbt)", C_BINDS },
        { "ExecStart", "a(sasb)", C_EXEC, NULL, M_EXEC },
        { "StopWhenUnneeded", "b", C_ANY },
        { "JoinsNamespaceOf", "as", C_STRV, NULL, 0, UNIT_STRV(deps) },
        { "Requires", "as", C_STRV, NULL, 0, UNIT_STRV(deps) },
        { "After", "as", C_STRV, NULL, 0, UNIT_STRV(deps) },
        { "UMask", "u", C_ANY },
        {},
};

static const Prop socket_props[] = {
        { "Description", "s", C_ANY },
        { "Listen", "a(ss)", C_LISTEN, NULL, M_LISTEN },
        { "SocketMode", "u", C_ANY },
        { "FileDescriptorName", "s", C_ANY },
        { "Slice", "s", C_STR, NULL, M_SLICE, UNIT_STR(slice) },
        { "RemoveOnStop", "b", C_ANY },
        { "OnFailure", "as", C_STRV, NULL, 0, UNIT_STRV(on_failure) },
        {},
};

static const Prop timer_props[] = {
        { "Description", "s", C_ANY },
        { "Persistent", "b", C_ANY },
        { "AccuracyUSec", "t", C_ANY },
        { "RemainAfterElapse", "b", C_ANY },
        { "TimersCalendar", "a(ss)", C_CALENDAR },
        {},
};

static const Prop slice_props[] = {
        { "Description", "s", C_ANY },
        { "CPUQuotaPerSecUSec", "t", C_ANY },
        { "MemoryMax", "t", C_ANY },
        { "TasksMax", "t", C_ANY },
        { "CPUAccounting", "b", C_ANY },
        { "MemoryAccounting", "b", C_ANY },
        { "TasksAccounting", "b", C_ANY },
        {},
};

/* The helper runs as root: nothing of a sandbox to check, so nothing but
 * these; its argv is checked instead. */
static const Prop helper_props[] = {
        { "Type", "s", C_EQ, "oneshot" },
        { "CollectMode", "s", C_ANY },
        { "Description", "s", C_ANY },
        { "StandardErrorFileDescriptor", "h", C_ERRFD, NULL, M_ERRFD },
        { "UMask", "u", C_ANY },
        { "ExecStart", "a(sasb)", C_EXEC, NULL, M_EXEC },
        {},
};

static const Prop *const props_of[] = {
        [U_SLICE] = slice_props, [U_SERVICE] = service_props, [U_SOCKET] = socket_props,
        [U_TIMER] = timer_props, [U_HELPER] = helper_props,
};

static int refuse(char *err, size_t errsz, const char *fmt, ...) _printf_(3, 4);
static int refuse(char *err, size_t errsz, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
        return -EPERM;
}

static bool starts(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The characters of a unit name (systemd's, without '\\' but for a slice). */
static bool name_chars_ok(const char *s) {
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr(":_.-@\\", *p)))
                        return false;
        return s[0] && strlen(s) < 256;
}

static int classify(const char *name, UnitType *ret, char *err, size_t errsz) {
        char ns[64];
        if (!name_chars_ok(name))
                return refuse(err, errsz, "unit name '%.80s' is not a unit name", name);
        if (ends(name, ".slice") && ns_of_slice(name, ns, sizeof ns) == 0)
                *ret = U_SLICE;
        else if (strchr(name, '\\'))
                return refuse(err, errsz, "unit %s is not one of sdflow's workload units", name);
        else if (starts(name, "sdflow-ns-") && ends(name, ".service"))
                *ret = U_HELPER;
        else if (starts(name, "sdflow-cron_") && ends(name, ".timer"))
                *ret = U_TIMER;
        else if (starts(name, "sdflow_") && ends(name, ".socket"))
                *ret = U_SOCKET;
        else if ((starts(name, "sdflow-cron_") || starts(name, "sdflow_") || starts(name, "sdflowwf_")) &&
                 ends(name, ".service"))
                *ret = U_SERVICE;
        else
                return refuse(err, errsz, "unit %s is not one of sdflow's workload units (sdflow-NS.slice, "
                                          "sdflowwf_*.service, sdflow_*.socket/.service, sdflow-cron_*.timer/.service, "
                                          "sdflow-ns-*.service)", name);
        return 0;
}

int policy_unit_name(const char *unit, char *err, size_t errsz) {
        UnitType t;
        return classify(unit, &t, err, errsz);
}

int policy_env_path(const PrivPolicy *p, const char *unit, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%s.env", p->env_dir, unit);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static void unit_free(Unit *u) {
        char ***lists[] = { &u->argv, &u->read_write, &u->deps, &u->on_failure, &u->listen };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                *lists[i] = strv_free(*lists[i]);
}

static bool user_ok(const char *name, bool allow_root) {
        struct passwd *pw = getpwnam(name);
        return pw && (allow_root || pw->pw_uid != 0);
}

/* What ExecStart= may run: an absolute path, or a file name (no '/') that
 * systemd looks up in its PATH; never "." or "..", nothing relative. */
static bool exec_path_ok(const char *s) {
        if (s[0] == '/')
                return true;
        if (!s[0] || strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 255)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* A path with no "." or ".." component, no "//", no control characters. */
static bool path_plain(const char *s) {
        if (s[0] != '/' || strlen(s) >= MAX_ARG)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        for (const char *p = s; *p;) {
                const char *q = p + 1, *e = strchrnul(q, '/');
                size_t n = (size_t) (e - q);
                if ((n == 0 && *e) || (n == 1 && q[0] == '.') || (n == 2 && q[0] == '.' && q[1] == '.'))
                        return false;
                p = e;
        }
        return true;
}

static int read_value(Unit *u, const Prop *pr, sd_bus_message *m, char *err, size_t errsz) {
        const char *s;
        int b, r = 0;
        uint64_t t;
        _cleanup_strv_free_ char **v = NULL;

        switch (pr->check) {
        case C_ANY:
                return sd_bus_message_skip(m, pr->sig);
        case C_TRUE:
                r = sd_bus_message_read(m, "b", &b);
                if (r >= 0 && !b)
                        return refuse(err, errsz, "%s: %s must be yes", u->name, pr->name);
                break;
        case C_ZERO:
                r = sd_bus_message_read(m, "t", &t);
                if (r >= 0 && t != 0)
                        return refuse(err, errsz, "%s: %s must be empty", u->name, pr->name);
                break;
        case C_EQ:
                r = sd_bus_message_read(m, "s", &s);
                if (r >= 0 && strcmp(s, pr->value) != 0)
                        return refuse(err, errsz, "%s: %s=%.80s, must be %s", u->name, pr->name, s, pr->value);
                break;
        case C_TYPE:
                r = sd_bus_message_read(m, "s", &s);
                if (r >= 0 && strcmp(s, "oneshot") != 0 && strcmp(s, "simple") != 0 && strcmp(s, "notify") != 0)
                        return refuse(err, errsz, "%s: Type=%.80s is not one sdflow uses", u->name, s);
                break;
        case C_STR: {
                r = sd_bus_message_read(m, "s", &s);
                if (r < 0)
                        break;
                if (!s[0] || strlen(s) >= pr->size)
                        return refuse(err, errsz, "%s: %s=%.80s is empty or too long", u->name, pr->name, s);
                snprintf((char *) u + pr->offset, pr->size, "%s", s);
                break;
        }
        case C_STRV:
                r = sd_bus_message_read_strv(m, &v);
                if (r >= 0) /* strv_extend() takes v, also on failure */
                        r = strv_extend((char ***) ((char *) u + pr->offset), TAKE_PTR(v));
                break;
        case C_ENV:
                r = sd_bus_message_read_strv(m, &v);
                for (size_t i = 0; r >= 0 && v && v[i]; i++) {
                        const char *eq = strchr(v[i], '=');
                        bool ok = eq && eq > v[i];
                        for (const char *p = v[i]; ok && p < eq; p++)
                                ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
                                     (p > v[i] && *p >= '0' && *p <= '9');
                        if (!ok)
                                r = refuse(err, errsz, "%s: Environment= entry %zu is not NAME=VALUE", u->name, i);
                }
                return r;
        case C_EXEC: {
                if (u->argv)
                        return refuse(err, errsz, "%s: more than one ExecStart=", u->name);
                r = sd_bus_message_enter_container(m, 'a', "(sasb)");
                if (r < 0)
                        break;
                r = sd_bus_message_enter_container(m, 'r', "sasb");
                if (r <= 0)
                        return r < 0 ? r : refuse(err, errsz, "%s: ExecStart= is empty", u->name);
                const char *path;
                r = sd_bus_message_read(m, "s", &path);
                if (r >= 0)
                        r = sd_bus_message_read_strv(m, &v);
                if (r >= 0)
                        r = sd_bus_message_read(m, "b", &b);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                /* An absolute path, or a file name systemd looks up in its
                 * fixed PATH (in the unit's root): a container's "sh". */
                if (r >= 0 && (!v || !v[0] || strcmp(path, v[0]) != 0 || !exec_path_ok(path)))
                        return refuse(err, errsz,
                                      "%s: ExecStart= must run an absolute path or a plain file name, as its argv[0]",
                                      u->name);
                if (r >= 0)
                        u->argv = TAKE_PTR(v); /* unit_free() frees it */
                if (r >= 0 && sd_bus_message_at_end(m, false) == 0)
                        return refuse(err, errsz, "%s: more than one ExecStart= command", u->name);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                break;
        }
        case C_TMPFS:
        case C_LISTEN:
        case C_CALENDAR:
        case C_BINDS: {
                const char *sig = pr->check == C_BINDS ? "(ssbt)" : "(ss)";
                r = sd_bus_message_enter_container(m, 'a', sig);
                while (r >= 0) {
                        const char *a, *c;
                        uint64_t flags;
                        r = pr->check == C_BINDS ? sd_bus_message_read(m, sig, &a, &c, &b, &flags)
                                                 : sd_bus_message_read(m, sig, &a, &c);
                        if (r <= 0)
                                break;
                        if (pr->check == C_TMPFS && strcmp(a, "/dev/shm") != 0)
                                return refuse(err, errsz, "%s: TemporaryFileSystem=%.80s: only /dev/shm", u->name, a);
                        if (pr->check == C_CALENDAR && strcmp(a, "OnCalendar") != 0)
                                return refuse(err, errsz, "%s: only OnCalendar= timers", u->name);
                        if (pr->check == C_LISTEN) {
                                if (strcmp(a, "Stream") != 0)
                                        return refuse(err, errsz, "%s: only ListenStream= sockets", u->name);
                                _cleanup_free_ char *x = strdup(c);
                                _cleanup_free_ char **one = calloc(2, sizeof *one);
                                if (!x || !one)
                                        return -ENOMEM;
                                one[0] = TAKE_PTR(x);
                                r = strv_extend(&u->listen, TAKE_PTR(one)); /* takes it, also on failure */
                        }
                        if (pr->check == C_BINDS) {
                                if (u->n_binds >= MAX_BINDS || strlen(a) >= sizeof u->bind_src[0] ||
                                    strlen(c) >= sizeof u->bind_dst[0])
                                        return refuse(err, errsz, "%s: too many or too long BindReadOnlyPaths=", u->name);
                                snprintf(u->bind_src[u->n_binds], sizeof u->bind_src[0], "%s", a);
                                snprintf(u->bind_dst[u->n_binds], sizeof u->bind_dst[0], "%s", c);
                                u->n_binds++;
                        }
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                break;
        }
        case C_FAMILIES:
                r = sd_bus_message_enter_container(m, 'r', "bas");
                if (r >= 0)
                        r = sd_bus_message_read(m, "b", &b);
                if (r >= 0)
                        r = sd_bus_message_read_strv(m, &v);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                for (size_t i = 0; r >= 0 && v && v[i]; i++)
                        if (strcmp(v[i], "AF_UNIX") != 0 && strcmp(v[i], "AF_INET") != 0 && strcmp(v[i], "AF_INET6") != 0)
                                r = refuse(err, errsz, "%s: RestrictAddressFamilies= may allow AF_UNIX, AF_INET and "
                                                       "AF_INET6 only", u->name);
                if (r >= 0 && !b)
                        r = refuse(err, errsz, "%s: RestrictAddressFamilies= must be an allow-list", u->name);
                return r;
        case C_ERRFD: {
                int fd;
                struct stat st;
                r = sd_bus_message_read(m, "h", &fd);
                /* A file sdflowd could open itself: writing to it is no more than it may do. */
                if (r >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)))
                        return refuse(err, errsz, "%s: StandardErrorFileDescriptor= must be a regular file", u->name);
                break;
        }
        }
        if (r >= 0)
                u->seen |= pr->bit;
        return r;
}

/* Reads one a(sv) of unit u. */
static int read_props(Unit *u, sd_bus_message *m, char *err, size_t errsz) {
        int r = sd_bus_message_enter_container(m, 'a', "(sv)");
        while (r >= 0) {
                const char *name;
                r = sd_bus_message_enter_container(m, 'r', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        break;
                const Prop *pr = props_of[u->type];
                while (pr->name && strcmp(pr->name, name) != 0)
                        pr++;
                if (!pr->name)
                        return refuse(err, errsz, "%s: property %.80s is not one sdflow sets on a %s", u->name, name,
                                      type_name[u->type]);
                r = sd_bus_message_enter_container(m, 'v', pr->sig);
                if (r < 0)
                        return refuse(err, errsz, "%s: property %s must be of type %s", u->name, name, pr->sig);
                r = read_value(u, pr, m, err, errsz);
                if (r == -EPERM)
                        return r;
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0 && r != -EPERM)
                snprintf(err, errsz, "%s: malformed properties: %s", u->name, strerror(-r));
        return r;
}

static int missing(const Unit *u, unsigned must, char *err, size_t errsz) {
        for (size_t i = 0; i < ELEMENTSOF(mandatory); i++)
                if ((must & mandatory[i].bit) && !(u->seen & mandatory[i].bit))
                        return refuse(err, errsz, "%s: a %s must have %s", u->name, type_name[u->type],
                                      mandatory[i].what);
        return 0;
}

typedef struct RootCheck {
        const Unit *u;
        bool dir_ok, image_ok;
        bool bind_ok[MAX_BINDS];
} RootCheck;

static int root_rule(const char *pattern, const ImageRoot *root, void *userdata) {
        RootCheck *c = userdata;
        if (root->kind == IMAGE_DIRECTORY && strcmp(root->path, c->u->root_directory) == 0)
                c->dir_ok = true;
        if (root->kind == IMAGE_DISK && strcmp(root->path, c->u->root_image) == 0)
                c->image_ok = true;
        for (size_t i = 0; i < c->u->n_binds; i++)
                for (size_t k = 0; k < root->n_binds; k++)
                        if (strcmp(root->bind_src[k], c->u->bind_src[i]) == 0 &&
                            strcmp(root->bind_dst[k], c->u->bind_dst[i]) == 0)
                                c->bind_ok[i] = true;
        return 0;
}

/* A root directory, disk image or bind only as the image map (root's) has it. */
static int check_roots(const PrivPolicy *p, const Unit *u, char *err, size_t errsz) {
        if (!u->root_directory[0] && !u->root_image[0] && u->n_binds == 0)
                return 0;
        RootCheck c = { .u = u };
        char why[300] = "";
        int r = imagemap_foreach(p->image_map, root_rule, &c, why, sizeof why);
        if (r < 0 && r != -ENOENT)
                return refuse(err, errsz, "%s: %s", u->name, why);
        if (u->root_directory[0] && !c.dir_ok)
                return refuse(err, errsz, "%s: RootDirectory=%s is not in the image map %s", u->name, u->root_directory,
                              p->image_map);
        if (u->root_image[0] && !c.image_ok)
                return refuse(err, errsz, "%s: RootImage=%s is not in the image map %s", u->name, u->root_image,
                              p->image_map);
        for (size_t i = 0; i < u->n_binds; i++)
                if (!c.bind_ok[i])
                        return refuse(err, errsz, "%s: BindReadOnlyPaths=%s:%s is not in the image map %s", u->name,
                                      u->bind_src[i], u->bind_dst[i], p->image_map);
        return 0;
}

static int check_service(const PrivPolicy *p, const Unit *u, const Unit *all, size_t n, char *err, size_t errsz) {
        char ns[64], expected[64];
        int r = missing(u, SERVICE_MUST, err, errsz);
        if (r < 0)
                return r;
        if (ns_of_slice(u->slice, ns, sizeof ns) < 0)
                return refuse(err, errsz, "%s: Slice=%s is not a namespace's slice (sdflow-NS.slice)", u->name,
                              u->slice);
        ns_user_name(ns, expected, sizeof expected);
        if (strcmp(u->user, expected) != 0)
                return refuse(err, errsz, "%s: User=%s: a unit in namespace %s's slice runs as %s", u->name, u->user,
                              ns, expected);
        if (!user_ok(u->user, false))
                return refuse(err, errsz, "%s: User=%s is root or no user of this host", u->name, u->user);
        if (u->group[0] && strcmp(u->group, u->user) != 0)
                return refuse(err, errsz, "%s: Group=%s must be the user's own group (%s)", u->name, u->group, u->user);
        for (char **w = u->read_write; w && *w; w++) {
                char base[128];
                snprintf(base, sizeof base, NS_FILES "%.63s", ns);
                size_t k = strlen(base);
                if (!path_plain(*w) || strncmp(*w, base, k) != 0 || ((*w)[k] != '\0' && (*w)[k] != '/'))
                        return refuse(err, errsz, "%s: ReadWritePaths=%.200s is outside %s", u->name, *w, base);
        }
        for (char **d = u->deps; d && *d; d++) {
                bool sibling = false;
                for (size_t i = 0; i < n; i++)
                        sibling |= &all[i] != u && strcmp(all[i].name, *d) == 0;
                if (!sibling)
                        return refuse(err, errsz, "%s: a dependency on %.200s, which is not of this call", u->name, *d);
        }
        return check_roots(p, u, err, errsz);
}

static int check_socket(const Unit *u, char *err, size_t errsz) {
        char ns[64], base[128];
        int r = missing(u, M_SLICE | M_LISTEN, err, errsz);
        if (r < 0)
                return r;
        if (ns_of_slice(u->slice, ns, sizeof ns) < 0)
                return refuse(err, errsz, "%s: Slice=%s is not a namespace's slice", u->name, u->slice);
        snprintf(base, sizeof base, NS_SOCKETS "%.63s/", ns);
        for (char **l = u->listen; l && *l; l++) {
                const char *file = *l + strlen(base);
                if (!path_plain(*l) || !starts(*l, base) || strchr(file, '/') || file[0] == '.' || !ends(file, ".sock") ||
                    strlen(*l) >= 108)
                        return refuse(err, errsz, "%s: ListenStream=%.200s is not a socket in %s", u->name, *l, base);
        }
        char revive[300];
        snprintf(revive, sizeof revive, "sdflow-revive@%.255s.service", u->name);
        for (char **f = u->on_failure; f && *f; f++)
                if (strcmp(*f, revive) != 0)
                        return refuse(err, errsz, "%s: OnFailure=%.200s, only %s", u->name, *f, revive);
        return 0;
}

static const char *const helper_verbs[] = { "create", "access", "delete", "model", "rmwf", "unmodel", NULL };

static bool arg_ok(const char *s) {
        if (strlen(s) >= MAX_ARG)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* sdflow-ns VERB NAMESPACE ...: the verbs it has, the namespace's own user,
 * and a model read by neither root nor one of sdflow's own users. */
static int check_helper(const PrivPolicy *p, const Unit *u, char *err, size_t errsz) {
        int r = missing(u, M_EXEC, err, errsz);
        if (r < 0)
                return r;
        char **a = u->argv;
        size_t n = 0;
        while (a[n])
                n++;
        if (strcmp(a[0], p->helper) != 0)
                return refuse(err, errsz, "%s: a unit that runs as root runs %s only, not %.200s", u->name, p->helper,
                              a[0]);
        bool verb = false;
        for (size_t i = 0; n >= 2 && helper_verbs[i]; i++)
                verb |= strcmp(a[1], helper_verbs[i]) == 0;
        if (!verb || n < 3 || n > 4096)
                return refuse(err, errsz, "%s: %s %.40s: not a verb of the helper", u->name, p->helper,
                              n >= 2 ? a[1] : "");
        for (size_t i = 1; i < n; i++)
                if (!arg_ok(a[i]))
                        return refuse(err, errsz, "%s: argument %zu has control characters or is too long", u->name, i);
        if (!dns1123_label_is_valid(a[2]))
                return refuse(err, errsz, "%s: %.80s is not a namespace name", u->name, a[2]);
        bool with_user = strcmp(a[1], "create") == 0 || strcmp(a[1], "access") == 0 || strcmp(a[1], "delete") == 0 ||
                         strcmp(a[1], "model") == 0;
        if (with_user) {
                char expected[64];
                ns_user_name(a[2], expected, sizeof expected);
                if (n < 4 || strcmp(a[3], expected) != 0)
                        return refuse(err, errsz, "%s: namespace %s's user is %s, not %.80s", u->name, a[2], expected,
                                      n >= 4 ? a[3] : "");
        }
        if (strcmp(a[1], "model") == 0) {
                if (n < 7)
                        return refuse(err, errsz, "%s: model NAMESPACE USER OWNER SRC ISVC REVISION ...", u->name);
                const char *reader = n >= 12 ? a[11] : a[4];
                if (!user_ok(reader, false) || strcmp(reader, "sdflow") == 0 || strcmp(reader, "sdflowd") == 0)
                        return refuse(err, errsz, "%s: a model is not read as %.80s (root, no user, or sdflow's own)",
                                      u->name, reader);
                if (!path_plain(a[5]))
                        return refuse(err, errsz, "%s: the model's path %.200s is not a plain absolute path", u->name,
                                      a[5]);
        }
        return 0;
}

/* Reads and checks the whole call; u[0] is the main unit, then the auxiliary ones. */
static int check_call(const PrivPolicy *p, sd_bus_message *m, Unit *u, size_t *n_units, char *err, size_t errsz) {
        const char *name, *mode;
        int r = sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0)
                return refuse(err, errsz, "malformed StartTransientUnit call");
        if (strcmp(mode, "fail") != 0 && strcmp(mode, "replace") != 0)
                return refuse(err, errsz, "%.80s: job mode %.40s is not one sdflow uses", name, mode);
        r = classify(name, &u[0].type, err, errsz);
        if (r < 0)
                return r;
        snprintf(u[0].name, sizeof u[0].name, "%s", name);
        *n_units = 1;
        r = read_props(&u[0], m, err, errsz);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "(sa(sv))");
        while (r >= 0) {
                r = sd_bus_message_enter_container(m, 'r', "sa(sv)");
                if (r <= 0)
                        break;
                if (*n_units >= MAX_UNITS)
                        return refuse(err, errsz, "%s: too many auxiliary units", u[0].name);
                Unit *x = &u[(*n_units)++];
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        break;
                r = classify(name, &x->type, err, errsz);
                if (r < 0)
                        return r;
                snprintf(x->name, sizeof x->name, "%s", name);
                r = read_props(x, m, err, errsz);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r == -EPERM ? r : refuse(err, errsz, "%s: malformed auxiliary units", u[0].name);

        /* Which units go together: a socket with its service(s), a timer with
         * its service, everything else alone. */
        size_t n = *n_units;
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int) (strrchr(u[0].name, '.') - u[0].name), u[0].name);
        for (size_t i = 1; i < n; i++) {
                char svc[300], server[320];
                snprintf(svc, sizeof svc, "%s.service", base);
                snprintf(server, sizeof server, "%s-server.service", base);
                bool ok = u[i].type == U_SERVICE &&
                          ((u[0].type == U_SOCKET && (strcmp(u[i].name, svc) == 0 || strcmp(u[i].name, server) == 0)) ||
                           (u[0].type == U_TIMER && strcmp(u[i].name, svc) == 0));
                if (!ok)
                        return refuse(err, errsz, "%s: %s cannot come with it", u[0].name, u[i].name);
        }
        if ((u[0].type == U_TIMER || u[0].type == U_SOCKET) && n < 2)
                return refuse(err, errsz, "%s: a %s comes with its service", u[0].name, type_name[u[0].type]);
        for (size_t i = 0; i < n; i++) {
                switch (u[i].type) {
                case U_SERVICE:
                        r = check_service(p, &u[i], u, n, err, errsz);
                        break;
                case U_SOCKET:
                        r = check_socket(&u[i], err, errsz);
                        break;
                case U_HELPER:
                        r = check_helper(p, &u[i], err, errsz);
                        break;
                case U_TIMER:
                case U_SLICE:
                        r = 0;
                        break;
                }
                if (r < 0)
                        return r;
        }
        /* A socket's units are in one namespace. */
        for (size_t i = 1; i < n && u[0].type == U_SOCKET; i++)
                if (strcmp(u[i].slice, u[0].slice) != 0)
                        return refuse(err, errsz, "%s: %s is in another slice (%s)", u[0].name, u[i].name, u[i].slice);
        return 0;
}

/* One value of systemd's EnvironmentFile= syntax that reads back unchanged:
 * in single quotes (everything literal) unless it has one; then in double
 * quotes with \, ", $ and ` escaped. */
static void write_env_value(FILE *f, const char *v) {
        if (!strchr(v, '\'')) {
                fprintf(f, "'%s'", v);
                return;
        }
        fputc('"', f);
        for (const char *p = v; *p; p++) {
                if (strchr("\\\"$`", *p))
                        fputc('\\', f);
                fputc(*p, f);
        }
        fputc('"', f);
}

static int write_env_file(const PrivPolicy *p, const char *unit, char **env, char *path, size_t size) {
        char tmp[700];
        int r = policy_env_path(p, unit, path, size);
        if (r < 0)
                return r;
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        _cleanup_fclose_ FILE *f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        TAKE_FD(fd); /* f closes it */
        for (size_t i = 0; env && env[i]; i++) {
                const char *eq = strchr(env[i], '=');
                fprintf(f, "%.*s=", (int) (eq - env[i]), env[i]);
                write_env_value(f, eq + 1);
                fputc('\n', f);
        }
        r = fclose(TAKE_PTR(f)) == 0 ? 0 : -EIO;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

/* Copies one unit's a(sv) from m (checked) to out; Environment= becomes
 * an EnvironmentFiles= of privd's. */
static int copy_props(const PrivPolicy *p, const char *unit, sd_bus_message *m, sd_bus_message *out) {
        int r = sd_bus_message_enter_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_open_container(out, 'a', "(sv)");
        while (r >= 0) {
                const char *name;
                r = sd_bus_message_enter_container(m, 'r', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0 && strcmp(name, "Environment") == 0) {
                        _cleanup_strv_free_ char **env = NULL;
                        char path[600];
                        r = sd_bus_message_enter_container(m, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_read_strv(m, &env);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r >= 0)
                                r = write_env_file(p, unit, env, path, sizeof path);
                        if (r >= 0)
                                r = sd_bus_message_append(out, "(sv)", "EnvironmentFiles", "a(sb)", 1, path, 0);
                } else if (r >= 0) {
                        r = sd_bus_message_open_container(out, 'r', "sv");
                        if (r >= 0)
                                r = sd_bus_message_append(out, "s", name);
                        if (r >= 0)
                                r = sd_bus_message_copy(out, m, false);
                        if (r >= 0)
                                r = sd_bus_message_close_container(out);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(out);
        return r;
}

int policy_start_transient(const PrivPolicy *p, sd_bus_message *m, sd_bus *out_bus, sd_bus_message **ret, char *err,
                           size_t errsz) {
        Unit u[MAX_UNITS] = {};
        size_t n = 0;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *out = NULL;
        if (!sd_bus_message_has_signature(m, "ssa(sv)a(sa(sv))"))
                return refuse(err, errsz, "StartTransientUnit takes (ssa(sv)a(sa(sv)))");
        int r = check_call(p, m, u, &n, err, errsz);
        for (size_t i = 0; i < MAX_UNITS; i++)
                unit_free(&u[i]);
        if (r < 0)
                return r;

        /* Checked: now built again from the start, as read. */
        const char *name, *mode;
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "ss", &name, &mode);
        if (r >= 0)
                r = sd_bus_message_new_method_call(out_bus, &out, DEST, PATH, IFACE, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(out, "ss", name, mode);
        if (r >= 0)
                r = copy_props(p, name, m, out);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "(sa(sv))");
        if (r >= 0)
                r = sd_bus_message_open_container(out, 'a', "(sa(sv))");
        while (r >= 0) {
                const char *aux;
                r = sd_bus_message_enter_container(m, 'r', "sa(sv)");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(m, "s", &aux);
                if (r >= 0)
                        r = sd_bus_message_open_container(out, 'r', "sa(sv)");
                if (r >= 0)
                        r = sd_bus_message_append(out, "s", aux);
                if (r >= 0)
                        r = copy_props(p, aux, m, out);
                if (r >= 0)
                        r = sd_bus_message_close_container(out);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(out);
        if (r < 0) {
                snprintf(err, errsz, "building the call to systemd: %s", strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

int policy_set_properties(const PrivPolicy *p, sd_bus_message *m, sd_bus *out_bus, sd_bus_message **ret, char *err,
                          size_t errsz) {
        Unit u = {};
        const char *name;
        int runtime;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *out = NULL;
        if (!sd_bus_message_has_signature(m, "sba(sv)"))
                return refuse(err, errsz, "SetUnitProperties takes (sba(sv))");
        int r = sd_bus_message_read(m, "sb", &name, &runtime);
        if (r < 0)
                return refuse(err, errsz, "malformed SetUnitProperties call");
        r = classify(name, &u.type, err, errsz);
        if (r < 0)
                return r;
        if (u.type != U_SLICE)
                return refuse(err, errsz, "%s: only a namespace's slice's properties are set", name);
        snprintf(u.name, sizeof u.name, "%s", name);
        r = read_props(&u, m, err, errsz);
        unit_free(&u);
        if (r < 0)
                return r;
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "sb", &name, &runtime);
        if (r >= 0)
                r = sd_bus_message_new_method_call(out_bus, &out, DEST, PATH, IFACE, "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(out, "sb", name, runtime);
        if (r >= 0)
                r = copy_props(p, name, m, out);
        if (r < 0) {
                snprintf(err, errsz, "building the call to systemd: %s", strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(out);
        return 0;
}
