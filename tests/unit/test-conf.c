/* test-conf.c: time and size parsing, the settings table and config files. */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>

#include "conf.h"
#include "macro.h"
#include "test.h"

typedef struct T {
        uint64_t t;
        uint64_t sz;
        unsigned n;
        char *s;
} T;

static const ConfItem table[] = {
        CONF_ITEM("Time", CONF_USEC, 0, UINT64_MAX, T, t),
        CONF_ITEM("Size", CONF_SIZE, 1024, 1 << 20, T, sz),
        CONF_ITEM("Count", CONF_UINT, 1, 100, T, n),
        CONF_ITEM("Name", CONF_STRING, 0, 0, T, s),
};

static void test_usec(void) {
        uint64_t v;
        CHECK(conf_parse_usec("30", &v) == 0 && v == 30 * USEC_PER_SEC);
        CHECK(conf_parse_usec("30s", &v) == 0 && v == 30 * USEC_PER_SEC);
        CHECK(conf_parse_usec("500ms", &v) == 0 && v == 500 * USEC_PER_MSEC);
        CHECK(conf_parse_usec("2min", &v) == 0 && v == 120 * USEC_PER_SEC);
        CHECK(conf_parse_usec("1h", &v) == 0 && v == 3600 * USEC_PER_SEC);
        CHECK(conf_parse_usec(" 7 s ", &v) == 0 && v == 7 * USEC_PER_SEC);
        CHECK(conf_parse_usec("infinity", &v) == 0 && v == UINT64_MAX);
        CHECK_EQ_INT(conf_parse_usec("-1", &v), -EINVAL);
        CHECK_EQ_INT(conf_parse_usec("5 parsecs", &v), -EINVAL);
        CHECK_EQ_INT(conf_parse_usec("", &v), -EINVAL);
        CHECK_EQ_INT(conf_parse_usec("99999999999999999999", &v), -ERANGE);
        CHECK_EQ_INT(conf_parse_usec("9999999999999h", &v), -ERANGE);
}

static void test_size(void) {
        uint64_t v;
        CHECK(conf_parse_size("4096", &v) == 0 && v == 4096);
        CHECK(conf_parse_size("16K", &v) == 0 && v == 16384);
        CHECK(conf_parse_size("1M", &v) == 0 && v == 1 << 20);
        CHECK(conf_parse_size("2Gi", &v) == 0 && v == 2ULL << 30);
        CHECK_EQ_INT(conf_parse_size("1.5M", &v), -EINVAL);
        CHECK_EQ_INT(conf_parse_size("M", &v), -EINVAL);
}

static void test_set(void) {
        T t = {};
        char err[256];
        CHECK_EQ_INT(conf_set(&table[2], &t, "42", err, sizeof err), 0);
        CHECK_EQ_INT(t.n, 42);
        CHECK_EQ_INT(conf_set(&table[2], &t, "101", err, sizeof err), -ERANGE);
        CHECK(strstr(err, "out of range [1, 100]") != NULL);
        CHECK_EQ_INT(t.n, 42); /* a refused value changes nothing */
        CHECK_EQ_INT(conf_set(&table[2], &t, "4x", err, sizeof err), -EINVAL);
        CHECK_EQ_INT(conf_set(&table[1], &t, "512", err, sizeof err), -ERANGE);
        CHECK_EQ_INT(conf_set(&table[3], &t, "abc", err, sizeof err), 0);
        CHECK_STREQ(t.s, "abc");
        free(t.s);
}

static void test_file(void) {
        char path[] = "/tmp/test-conf-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        const char *text = "# comment\n[Server]\nTime = 5s\n  Size=64K  \nCount = 3\n";
        CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        close(fd);
        T t = {};
        CHECK_EQ_INT(conf_parse_file(path, table, ELEMENTSOF(table), &t, false), 0);
        CHECK_EQ_INT(t.t, 5 * USEC_PER_SEC);
        CHECK_EQ_INT(t.sz, 65536);
        CHECK_EQ_INT(t.n, 3);

        /* Unknown keys, lines without '=' and bad values are errors (with file:line on stderr). */
        fd = open(path, O_WRONLY | O_TRUNC);
        text = "Bogus = 1\nno equals sign\nCount = 0\nTime = 9s\n";
        CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        close(fd);
        CHECK_EQ_INT(conf_parse_file(path, table, ELEMENTSOF(table), &t, false), -EINVAL);
        CHECK_EQ_INT(t.n, 3);
        unlink(path);
        CHECK_EQ_INT(conf_parse_file(path, table, ELEMENTSOF(table), &t, true), 0);
        CHECK_EQ_INT(conf_parse_file(path, table, ELEMENTSOF(table), &t, false), -ENOENT);
}

int main(void) {
        test_usec();
        test_size();
        test_set();
        test_file();
        return test_summary("test-conf");
}
