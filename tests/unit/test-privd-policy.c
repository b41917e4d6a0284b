/* test-privd-policy.c: what sdflow-privd passes on to systemd and what it
 * refuses, call by call, without a bus: the calls are built and sealed as
 * sd-bus would receive them.  The end-to-end attack (a compromised sdflowd
 * on the real socket) is tests/security/test-privsep.sh; this checks each
 * rule alone, with the reason it gives.  Workload services that privd
 * accepts need the namespace's user to exist, so they are tested there. */
#include <errno.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <unistd.h>

#include "policy.h"
#include "test.h"

#define HELPER "/usr/lib/sdflow/sdflow-ns"
#define SLICE "sdflow-team\\x2da.slice"
#define USER "sdflow-team-a"

static sd_bus *bus;
static char env_dir[] = "/tmp/test-privd-policy-XXXXXX";
static const PrivPolicy policy = { .helper = HELPER, .image_map = "/nonexistent/images.conf", .env_dir = env_dir };
static char err[1024];

/* A StartTransientUnit call: its main unit's properties are appended by the
 * caller, then end_call() closes it (with no auxiliary units unless given). */
static sd_bus_message *manager_call(const char *method) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                               "org.freedesktop.systemd1.Manager", method);
        if (r < 0) {
                fprintf(stderr, "building a call: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        return m;
}

static sd_bus_message *start_call(const char *unit, const char *mode) {
        sd_bus_message *m = manager_call("StartTransientUnit");
        int r = sd_bus_message_append(m, "ss", unit, mode);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0) {
                fprintf(stderr, "building a call: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        return m;
}

static int seal_and_check(sd_bus_message *m, bool start) {
        static uint64_t cookie = 1;
        sd_bus_message *out = NULL;
        err[0] = '\0';
        int r = sd_bus_message_seal(m, cookie++, 0);
        if (r >= 0)
                r = sd_bus_message_rewind(m, true);
        if (r < 0) {
                fprintf(stderr, "sealing a call: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        r = start ? policy_start_transient(&policy, m, bus, &out, err, sizeof err)
                  : policy_set_properties(&policy, m, bus, &out, err, sizeof err);
        /* Accepted: a call to pass on; refused: none, and a reason. */
        CHECK(r < 0 ? out == NULL && err[0] : out != NULL);
        sd_bus_message_unref(out);
        sd_bus_message_unref(m);
        return r;
}

/* Closes the main unit's properties; aux names one auxiliary unit whose
 * properties come as (name, "s", value) triples, NULL-terminated. */
static int end_call(sd_bus_message *m, const char *aux, ...) {
        int r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
        if (r >= 0 && aux) {
                r = sd_bus_message_open_container(m, 'r', "sa(sv)");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", aux);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "(sv)");
                va_list ap;
                va_start(ap, aux);
                for (const char *k; r >= 0 && (k = va_arg(ap, const char *));)
                        r = sd_bus_message_append(m, "(sv)", k, "s", va_arg(ap, const char *));
                va_end(ap);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0) {
                fprintf(stderr, "building a call: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        return seal_and_check(m, true);
}

static void append_exec(sd_bus_message *m, const char *path, const char *const *argv) {
        int r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExecStart");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasb");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", path);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", 0);
        for (int i = 0; i < 4 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        if (r < 0) {
                fprintf(stderr, "building ExecStart: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
}

/* The namespace helper with argv (after HELPER). */
static int helper_call(const char *unit, const char *path, const char *const *args) {
        const char *argv[16] = { path };
        for (size_t i = 0; args[i] && i < 14; i++)
                argv[i + 1] = args[i];
        sd_bus_message *m = start_call(unit, "fail");
        sd_bus_message_append(m, "(sv)", "Type", "s", "oneshot");
        append_exec(m, path, argv);
        return end_call(m, NULL);
}

/* A workload service with the mandatory sandbox, but for the property
 * named by drop (NULL: none) and with user as User=. */
static int service_call(const char *unit, const char *user, const char *slice, const char *drop) {
        sd_bus_message *m = start_call(unit, "fail");
#define P(name, sig, ...) \
        if (!drop || strcmp(drop, name) != 0) \
                sd_bus_message_append(m, "(sv)", name, sig, __VA_ARGS__)
        P("Type", "s", "oneshot");
        P("User", "s", user);
        P("Slice", "s", slice);
        P("NoNewPrivileges", "b", 1);
        P("CapabilityBoundingSet", "t", (uint64_t) 0);
        P("ProtectSystem", "s", "strict");
        P("ProtectHome", "s", "yes");
        P("PrivateTmp", "b", 1);
        P("PrivateDevices", "b", 1);
        P("PrivateNetwork", "b", 1);
#undef P
        append_exec(m, "/bin/true", (const char *const[]) { "/bin/true", NULL });
        return end_call(m, NULL);
}

#define CHECK_REFUSED(call, why)                                            \
        do {                                                                \
                int _r = (call);                                            \
                CHECK_EQ_INT(_r, -EPERM);                                   \
                if (!strstr(err, why)) {                                    \
                        fprintf(stderr, "%s:%d: reason \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, err, why); \
                        test_failures++;                                    \
                }                                                           \
                test_checks++;                                              \
        } while (0)

static void test_unit_names(void) {
        CHECK_EQ_INT(policy_unit_name("sdflowwf_team_a_n1_r1.service", err, sizeof err), 0);
        CHECK_EQ_INT(policy_unit_name("sdflow_team-a_m_1.socket", err, sizeof err), 0);
        CHECK_EQ_INT(policy_unit_name("sdflow-cron_team-a_c.timer", err, sizeof err), 0);
        CHECK_EQ_INT(policy_unit_name(SLICE, err, sizeof err), 0);
        CHECK_EQ_INT(policy_unit_name("sdflow-ns-create-team-a.service", err, sizeof err), 0);
        /* Not sdflow's, or not in the one spelling it gives a slice. */
        CHECK_REFUSED(policy_unit_name("sdflowd.service", err, sizeof err), "sdflowd.service");
        CHECK_REFUSED(policy_unit_name("sdflow-privd.service", err, sizeof err), "not one of");
        CHECK_REFUSED(policy_unit_name("dbus.service", err, sizeof err), "dbus.service");
        CHECK_REFUSED(policy_unit_name("sdflow.slice", err, sizeof err), "not one of");
        CHECK_REFUSED(policy_unit_name("sdflow-team-a.slice", err, sizeof err), "not one of");
        CHECK_REFUSED(policy_unit_name("sdflow-\\x2e\\x2e.slice", err, sizeof err), "not one of");
        CHECK_REFUSED(policy_unit_name("sdflowwf_\\x2fetc.service", err, sizeof err), "not one of");
        CHECK_REFUSED(policy_unit_name("sdflowwf_x.mount", err, sizeof err), "not one of");
}

static void test_slices(void) {
        sd_bus_message *m = start_call(SLICE, "fail");
        sd_bus_message_append(m, "(sv)", "MemoryMax", "t", (uint64_t) 1 << 30);
        sd_bus_message_append(m, "(sv)", "TasksMax", "t", (uint64_t) 512);
        CHECK_EQ_INT(end_call(m, NULL), 0);

        m = start_call(SLICE, "fail");
        sd_bus_message_append(m, "(sv)", "Delegate", "b", 1);
        CHECK_REFUSED(end_call(m, NULL), "Delegate");

        m = start_call(SLICE, "fail");
        sd_bus_message_append(m, "(sv)", "MemoryMax", "s", "infinity");
        CHECK_REFUSED(end_call(m, NULL), "MemoryMax must be of type t");

        m = start_call(SLICE, "replace-irreversibly");
        CHECK_REFUSED(end_call(m, NULL), "job mode");

        m = start_call("system.slice", "fail");
        CHECK_REFUSED(end_call(m, NULL), "system.slice");

        /* SetUnitProperties: a namespace's slice's limits only. */
        m = manager_call("SetUnitProperties");
        sd_bus_message_append(m, "sba(sv)", SLICE, 1, 1, "MemoryMax", "t", (uint64_t) 1 << 28);
        CHECK_EQ_INT(seal_and_check(m, false), 0);

        m = manager_call("SetUnitProperties");
        sd_bus_message_append(m, "sba(sv)", "sdflowd.service", 1, 1, "CapabilityBoundingSet", "t", UINT64_MAX);
        CHECK_REFUSED(seal_and_check(m, false), "sdflowd.service");

        m = manager_call("SetUnitProperties");
        sd_bus_message_append(m, "sba(sv)", "sdflowwf_x.service", 1, 1, "User", "s", "root");
        CHECK_REFUSED(seal_and_check(m, false), "only a namespace's slice");

        m = manager_call("SetUnitProperties");
        sd_bus_message_append(m, "s", SLICE);
        CHECK_REFUSED(seal_and_check(m, false), "SetUnitProperties takes");
}

static void test_services(void) {
        const char *u = "sdflowwf_team_a_n1_r1.service";
        CHECK_REFUSED(service_call(u, "root", SLICE, NULL), "User=root");
        CHECK_REFUSED(service_call(u, "0", SLICE, NULL), "User=0");
        CHECK_REFUSED(service_call(u, "sdflow-team-b", SLICE, NULL), "runs as sdflow-team-a");
        CHECK_REFUSED(service_call(u, USER, SLICE, "User"), "must have User=");
        CHECK_REFUSED(service_call(u, USER, "system.slice", NULL), "Slice=system.slice");
        CHECK_REFUSED(service_call(u, USER, "sdflow.slice", NULL), "Slice=sdflow.slice");
        CHECK_REFUSED(service_call(u, USER, SLICE, "Slice"), "must have Slice=");
        CHECK_REFUSED(service_call(u, USER, SLICE, "NoNewPrivileges"), "NoNewPrivileges");
        CHECK_REFUSED(service_call(u, USER, SLICE, "CapabilityBoundingSet"), "CapabilityBoundingSet");
        CHECK_REFUSED(service_call(u, USER, SLICE, "ProtectSystem"), "ProtectSystem");
        CHECK_REFUSED(service_call(u, USER, SLICE, "ProtectHome"), "ProtectHome");
        CHECK_REFUSED(service_call(u, USER, SLICE, "PrivateTmp"), "PrivateTmp");
        CHECK_REFUSED(service_call(u, USER, SLICE, "PrivateDevices"), "PrivateDevices");
        CHECK_REFUSED(service_call(u, USER, SLICE, "PrivateNetwork"), "PrivateNetwork");

        /* A value that undoes the sandbox. */
        sd_bus_message *m = start_call(u, "fail");
        sd_bus_message_append(m, "(sv)", "NoNewPrivileges", "b", 0);
        CHECK_REFUSED(end_call(m, NULL), "NoNewPrivileges must be yes");
        m = start_call(u, "fail");
        sd_bus_message_append(m, "(sv)", "CapabilityBoundingSet", "t", (uint64_t) 1 << 21);
        CHECK_REFUSED(end_call(m, NULL), "CapabilityBoundingSet must be empty");
        m = start_call(u, "fail");
        sd_bus_message_append(m, "(sv)", "ProtectSystem", "s", "no");
        CHECK_REFUSED(end_call(m, NULL), "ProtectSystem=no");
        m = start_call(u, "fail");
        sd_bus_message_append(m, "(sv)", "AmbientCapabilities", "t", (uint64_t) 1 << 21);
        CHECK_REFUSED(end_call(m, NULL), "AmbientCapabilities");
        m = start_call(u, "fail");
        sd_bus_message_append(m, "(sv)", "ExecStartPre", "a(sasb)", 1, "/bin/sh", 1, "/bin/sh", 0);
        CHECK_REFUSED(end_call(m, NULL), "ExecStartPre");
        m = start_call(u, "fail");
        sd_bus_message_append(m, "(sv)", "Type", "s", "forking");
        CHECK_REFUSED(end_call(m, NULL), "Type=forking");
        m = start_call(u, "fail");
        sd_bus_message_append(m, "(sv)", "User", "u", 0);
        CHECK_REFUSED(end_call(m, NULL), "User must be of type s");

        /* ExecStart=: an absolute path, or a file name looked up in PATH. */
        m = start_call(u, "fail");
        append_exec(m, "bin/true", (const char *const[]) { "bin/true", NULL });
        CHECK_REFUSED(end_call(m, NULL), "ExecStart= must run an absolute path or a plain file name");
        m = start_call(u, "fail");
        append_exec(m, "..", (const char *const[]) { "..", NULL });
        CHECK_REFUSED(end_call(m, NULL), "ExecStart= must run");
        m = start_call(u, "fail");
        append_exec(m, "/bin/sh", (const char *const[]) { "/bin/true", NULL });
        CHECK_REFUSED(end_call(m, NULL), "as its argv[0]");
        m = start_call(u, "fail");
        append_exec(m, "sh", (const char *const[]) { "sh", "-c", "true", NULL });
        CHECK_EQ_INT(end_call(m, NULL), -EPERM);
        CHECK(!strstr(err, "ExecStart=")); /* refused, but for the missing sandbox */

        /* A socket with its service: the service is checked as well. */
        m = start_call("sdflow_team-a_m_1.socket", "fail");
        sd_bus_message_append(m, "(sv)", "Slice", "s", SLICE);
        sd_bus_message_append(m, "(sv)", "Listen", "a(ss)", 1, "Stream", "/run/sdflow/ns/team-a/m.sock");
        CHECK_REFUSED(end_call(m, "sdflow_team-a_m_1.service", "User", "root", "Slice", SLICE, NULL),
                      "sdflow_team-a_m_1.service: a workload service must have");
        /* ... listening only in its namespace's socket directory. */
        m = start_call("sdflow_team-a_m_1.socket", "fail");
        sd_bus_message_append(m, "(sv)", "Slice", "s", SLICE);
        sd_bus_message_append(m, "(sv)", "Listen", "a(ss)", 1, "Stream", "/run/sdflow/api.sock");
        CHECK_REFUSED(end_call(m, "sdflow_team-a_m_1.service", "User", USER, NULL), "ListenStream=/run/sdflow/api.sock");
        m = start_call("sdflow_team-a_m_1.socket", "fail");
        sd_bus_message_append(m, "(sv)", "Slice", "s", SLICE);
        sd_bus_message_append(m, "(sv)", "Listen", "a(ss)", 1, "Stream", "/run/sdflow/ns/team-a/../b/m.sock");
        CHECK_REFUSED(end_call(m, "sdflow_team-a_m_1.service", "User", USER, NULL), "is not a socket in");
        /* A socket or a timer comes with its service; nothing else comes along. */
        m = start_call("sdflow_team-a_m_1.socket", "fail");
        sd_bus_message_append(m, "(sv)", "Slice", "s", SLICE);
        CHECK_REFUSED(end_call(m, NULL), "comes with its service");
        m = start_call("sdflow-cron_team-a_c.timer", "fail");
        CHECK_REFUSED(end_call(m, NULL), "comes with its service");
        m = start_call(u, "fail");
        CHECK_REFUSED(end_call(m, "sdflowwf_other.service", "User", USER, NULL), "cannot come with it");
        m = start_call("sdflow_team-a_m_1.socket", "fail");
        CHECK_REFUSED(end_call(m, "sdflowd.service", "User", USER, NULL), "not one of");
}

static void test_helper(void) {
        const char *u = "sdflow-ns-team-a.service";
        CHECK_EQ_INT(helper_call(u, HELPER, (const char *const[]) { "rmwf", "team-a", "wf", NULL }), 0);
        CHECK_REFUSED(helper_call(u, "/bin/sh", (const char *const[]) { "-c", "id", NULL }), "runs " HELPER " only");
        CHECK_REFUSED(helper_call(u, HELPER, (const char *const[]) { "chpasswd", "team-a", NULL }), "not a verb");
        CHECK_REFUSED(helper_call(u, HELPER, (const char *const[]) { "rmwf", NULL }), "not a verb");
        CHECK_REFUSED(helper_call(u, HELPER, (const char *const[]) { "rmwf", "../etc", NULL }), "not a namespace name");
        CHECK_REFUSED(helper_call(u, HELPER, (const char *const[]) { "rmwf", "team-a", "a\nb", NULL }),
                      "control characters");
        CHECK_REFUSED(helper_call(u, HELPER, (const char *const[]) { "create", "team-a", "root", NULL }),
                      "user is sdflow-team-a, not root");
        CHECK_REFUSED(helper_call(u, HELPER, (const char *const[]) { "delete", "team-a", NULL }), "user is sdflow-team-a");
        /* A model is never read as root. */
        CHECK_REFUSED(helper_call(u, HELPER,
                                  (const char *const[]) { "model", "team-a", USER, "root", "/etc/shadow", "isvc", "r1",
                                                          NULL }),
                      "a model is not read as root");
        CHECK_REFUSED(helper_call(u, HELPER,
                                  (const char *const[]) { "model", "team-a", USER, "sdflowd", "/x", "isvc", "r1", NULL }),
                      "a model is not read as sdflowd");

        /* Only the properties of a oneshot: it runs as root, so no User=
         * to check and nothing else is taken. */
        sd_bus_message *m = start_call(u, "fail");
        sd_bus_message_append(m, "(sv)", "User", "s", USER);
        CHECK_REFUSED(end_call(m, NULL), "User");
        m = start_call(u, "fail");
        sd_bus_message_append(m, "(sv)", "Type", "s", "simple");
        CHECK_REFUSED(end_call(m, NULL), "Type");
        m = start_call(u, "fail");
        CHECK_REFUSED(end_call(m, NULL), "ExecStart");
}

static void test_malformed(void) {
        sd_bus_message *m = manager_call("StartTransientUnit");
        sd_bus_message_append(m, "ss", SLICE, "fail");
        CHECK_REFUSED(seal_and_check(m, true), "StartTransientUnit takes");

        /* More auxiliary units than any call of sdflow's has. */
        m = start_call("sdflow_team-a_m_1.socket", "fail");
        sd_bus_message_close_container(m);
        sd_bus_message_open_container(m, 'a', "(sa(sv))");
        for (int i = 0; i < 64; i++)
                sd_bus_message_append(m, "(sa(sv))", "sdflow_team-a_m_1.service", 0);
        sd_bus_message_close_container(m);
        CHECK_REFUSED(seal_and_check(m, true), "too many auxiliary units");
}

int main(void) {
        int fds[2];
        if (!mkdtemp(env_dir) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
                perror("test-privd-policy: setup");
                return EXIT_FAILURE;
        }
        /* A bus that is never read: only to build messages on. */
        int r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, fds[0], fds[0]);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                fprintf(stderr, "test-privd-policy: a bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        test_unit_names();
        test_slices();
        test_services();
        test_helper();
        test_malformed();
        sd_bus_close_unref(bus);
        close(fds[1]);
        rmdir(env_dir);
        return test_summary("test-privd-policy");
}
