/* test-quantity.c: Kubernetes quantity syntax, exactly. */
#include <errno.h>

#include "quantity.h"
#include "test.h"

#define N QUANTITY_NANO

static Quantity q(const char *s) {
        Quantity v = -12345;
        const char *why;
        int r = quantity_parse(s, &v, &why);
        if (r < 0)
                fprintf(stderr, "'%s': %s\n", s, why);
        return v;
}

static bool bad(const char *s, const char *why_part) {
        Quantity v;
        const char *why = NULL;
        return quantity_parse(s, &v, &why) == -EINVAL && why && strstr(why, why_part);
}

static void test_values(void) {
        CHECK(q("500m") == N / 2);
        CHECK(q("2") == 2 * N);
        CHECK(q("1.5") == 3 * N / 2);
        CHECK(q("1Gi") == ((Quantity) 1 << 30) * N);
        CHECK(q("512M") == (Quantity) 512000000 * N);
        CHECK(q("1e3") == 1000 * N);
        CHECK(q("1E3") == 1000 * N);
        CHECK(q("1.5e-3") == 1500000);
        CHECK(q("100n") == 100);
        CHECK(q("7u") == 7000);
        CHECK(q(".5") == N / 2);
        CHECK(q("5.") == 5 * N);
        CHECK(q("+3k") == 3000 * N);
        CHECK(q("-1") == -N);
        CHECK(q("0") == 0);
        CHECK(q("1E") == (Quantity) 1000000000000000000LL * N);
        CHECK(q("0.1n") == 1); /* rounded up to 1n, as Kubernetes does */
        CHECK(q("1.0000000001") == N + 1);
        CHECK(q("7Ei") == ((Quantity) 7 << 60) * N);
        CHECK(q("9223372036854775807") == QUANTITY_MAX);
}

static void test_bad(void) {
        CHECK(bad("", "not a number"));
        CHECK(bad("m", "not a number"));
        CHECK(bad(".", "not a number"));
        CHECK(bad("1.2.3", "unknown suffix"));
        CHECK(bad("4GB", "unknown suffix"));
        CHECK(bad("1 Gi", "unknown suffix"));
        CHECK(bad("1ki", "unknown suffix"));
        CHECK(bad("1e", "unknown suffix") || bad("1e", "exponent"));
        CHECK(bad("1e5x", "unexpected characters after the exponent"));
        CHECK(bad("8Ei", "too large"));
        CHECK(bad("9223372036854775808", "too large"));
        CHECK(bad("1e19", "too large"));
        CHECK(bad("1e99999", "exponent out of range"));
        CHECK(bad("0x10", "unknown suffix"));
        CHECK(bad("1234567890123456789012345678901", "too many digits"));
}

static void test_units(void) {
        CHECK_EQ_INT(quantity_ceil_milli(q("500m")), 500);
        CHECK_EQ_INT(quantity_ceil_milli(q("0.0001")), 1);
        CHECK_EQ_INT(quantity_ceil_milli(q("2")), 2000);
        CHECK_EQ_INT(quantity_ceil_units(q("1Gi")), 1073741824);
        CHECK_EQ_INT(quantity_ceil_units(q("1.5")), 2);
        CHECK_EQ_INT(quantity_ceil_units(q("-1")), 0);
}

static void test_format(void) {
        char buf[64];
        quantity_format(q("1Gi"), true, buf, sizeof buf);
        CHECK_STREQ(buf, "1Gi");
        quantity_format(q("1536Mi"), true, buf, sizeof buf);
        CHECK_STREQ(buf, "1536Mi");
        quantity_format(q("500m"), false, buf, sizeof buf);
        CHECK_STREQ(buf, "500m");
        quantity_format(q("2"), false, buf, sizeof buf);
        CHECK_STREQ(buf, "2");
        quantity_format(q("3000"), false, buf, sizeof buf);
        CHECK_STREQ(buf, "3k");
        quantity_format(q("1.5"), false, buf, sizeof buf);
        CHECK_STREQ(buf, "1500m");
        quantity_format(q("0"), false, buf, sizeof buf);
        CHECK_STREQ(buf, "0");
        quantity_format(q("-2k"), false, buf, sizeof buf);
        CHECK_STREQ(buf, "-2k");
}

int main(void) {
        test_values();
        test_bad();
        test_units();
        test_format();
        return test_summary("test-quantity");
}
