/* test-slice.c: namespace names, slice names and cgroup file readers. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slice.h"
#include "test.h"

static void test_labels(void) {
        CHECK(dns1123_label_is_valid("team-a"));
        CHECK(dns1123_label_is_valid("a"));
        CHECK(dns1123_label_is_valid("0abc9"));
        CHECK(!dns1123_label_is_valid(""));
        CHECK(!dns1123_label_is_valid("-a"));
        CHECK(!dns1123_label_is_valid("a-"));
        CHECK(!dns1123_label_is_valid("Team"));
        CHECK(!dns1123_label_is_valid("a_b"));
        CHECK(!dns1123_label_is_valid("a/b"));
        CHECK(!dns1123_label_is_valid("a.b"));
        char long_name[70];
        memset(long_name, 'a', 63);
        long_name[63] = '\0';
        CHECK(dns1123_label_is_valid(long_name));
        long_name[63] = 'a';
        long_name[64] = '\0';
        CHECK(!dns1123_label_is_valid(long_name));
}

static void test_names(void) {
        char buf[128];
        /* These match `systemd-escape team-a` and friends. */
        CHECK_EQ_INT(unit_name_escape("team-a", buf, sizeof buf), 9);
        CHECK_STREQ(buf, "team\\x2da");
        unit_name_escape(".hidden/x y", buf, sizeof buf);
        CHECK_STREQ(buf, "\\x2ehidden\\x2fx\\x20y");
        CHECK(ns_slice_name("team-a", buf, sizeof buf) > 0);
        CHECK_STREQ(buf, "sdflow-team\\x2da.slice");
        CHECK(ns_slice_name("alice", buf, sizeof buf) > 0);
        CHECK_STREQ(buf, "sdflow-alice.slice");
        CHECK(ns_slice_cgroup("team-a", buf, sizeof buf) > 0);
        CHECK_STREQ(buf, "sdflow.slice/sdflow-team\\x2da.slice");
        CHECK_EQ_INT(ns_slice_name("Bad", buf, sizeof buf), -EINVAL);
        CHECK_EQ_INT(ns_slice_name("team-a", buf, 10), -ENOBUFS);
}

/* ns_of_slice() is what sdflow-privd reads a unit's Slice= with: only the
 * one spelling ns_slice_name() gives is a namespace's slice. */
static void test_of_slice(void) {
        char ns[64], user[64];
        CHECK_EQ_INT(ns_of_slice("sdflow-team\\x2da.slice", ns, sizeof ns), 0);
        CHECK_STREQ(ns, "team-a");
        CHECK_EQ_INT(ns_of_slice("sdflow-alice.slice", ns, sizeof ns), 0);
        CHECK_STREQ(ns, "alice");
        CHECK_EQ_INT(ns_of_slice("sdflow-team-a.slice", ns, sizeof ns), -EINVAL);   /* a child of sdflow-team.slice */
        CHECK_EQ_INT(ns_of_slice("sdflow-team\\x2Da.slice", ns, sizeof ns), -EINVAL); /* upper-case hex */
        CHECK_EQ_INT(ns_of_slice("sdflow-\\x2e\\x2e.slice", ns, sizeof ns), -EINVAL); /* ".." */
        CHECK_EQ_INT(ns_of_slice("sdflow-\\x2fetc.slice", ns, sizeof ns), -EINVAL);     /* "/etc" */
        CHECK_EQ_INT(ns_of_slice("sdflow-a\\x.slice", ns, sizeof ns), -EINVAL);
        CHECK_EQ_INT(ns_of_slice("sdflow-.slice", ns, sizeof ns), -EINVAL);
        CHECK_EQ_INT(ns_of_slice("sdflow.slice", ns, sizeof ns), -EINVAL);
        CHECK_EQ_INT(ns_of_slice("system.slice", ns, sizeof ns), -EINVAL);
        CHECK_EQ_INT(ns_of_slice("sdflow-alice.service", ns, sizeof ns), -EINVAL);
        ns_user_name("team-a", user, sizeof user);
        CHECK_STREQ(user, "sdflow-team-a");
        ns_user_name("a-namespace-name-longer-than-the-limit", user, sizeof user);
        CHECK(strlen(user) <= 32);
        CHECK(strncmp(user, "sdflow-a-namespace-name-", 24) == 0);
}

static void test_read(void) {
        char dir[] = "/tmp/test-slice-XXXXXX", path[256];
        uint64_t v;
        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof path, "%s/cg", dir);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/cg/memory.max", dir);
        FILE *f = fopen(path, "w");
        fputs("max\n", f);
        fclose(f);
        snprintf(path, sizeof path, "%s/cg/cpu.stat", dir);
        f = fopen(path, "w");
        fputs("usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n", f);
        fclose(f);
        CHECK(cgroup_read_u64(dir, "cg", "memory.max", &v) == 0 && v == UINT64_MAX);
        CHECK(cgroup_read_key(dir, "cg", "cpu.stat", "user_usec", &v) == 0 && v == 1000);
        CHECK(cgroup_read_key(dir, "cg", "cpu.stat", "usage", &v) == -ENODATA);
        CHECK_EQ_INT(cgroup_read_u64(dir, "cg", "nope", &v), -ENOENT);
        snprintf(path, sizeof path, "rm -rf %s", dir);
        CHECK(system(path) == 0);
}

int main(void) {
        test_labels();
        test_names();
        test_of_slice();
        test_read();
        return test_summary("test-slice");
}
