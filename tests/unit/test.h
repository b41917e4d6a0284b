/* test.h: a minimal unit test harness: CHECK() records a failure and goes on. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                          \
        do {                                                                                 \
                test_checks++;                                                               \
                if (!(cond)) {                                                               \
                        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
                        test_failures++;                                                     \
                }                                                                            \
        } while (0)

#define CHECK_EQ_INT(a, b)                                                                    \
        do {                                                                                  \
                long long _a = (long long) (a), _b = (long long) (b);                         \
                test_checks++;                                                                \
                if (_a != _b) {                                                               \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, \
                                #a, _a, #b, _b);                                              \
                        test_failures++;                                                      \
                }                                                                             \
        } while (0)

#define CHECK_STREQ(a, b)                                                                     \
        do {                                                                                  \
                const char *_a = (a), *_b = (b);                                              \
                test_checks++;                                                                \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                      \
                        fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
                                _a ?: "(null)", _b ?: "(null)");                              \
                        test_failures++;                                                      \
                }                                                                             \
        } while (0)

static inline int test_summary(const char *name) {
        printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
        return test_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
