/* test-authfail.c: token guessing is slowed down per address, holds double
 * while it goes on, other addresses are not held, a quiet spell forgives. */
#include "authfail.h"
#include "test.h"

#define S 1000000ULL

static AuthFail a;

int main(void) {
        uint64_t t = 1000 * S, wait = 0;
        /* Nine failures: not yet. */
        for (int i = 0; i < AUTHFAIL_BURST - 1; i++)
                CHECK(!authfail_record(&a, "10.0.0.1", t + (uint64_t) i));
        CHECK(!authfail_held(&a, "10.0.0.1", t + 20, &wait));
        /* The tenth: on hold for 1 s. */
        CHECK(authfail_record(&a, "10.0.0.1", t + 20));
        CHECK(authfail_held(&a, "10.0.0.1", t + 21, &wait));
        CHECK(wait > 0 && wait <= 1 * S);
        CHECK(!authfail_held(&a, "10.0.0.2", t + 21, &wait));
        CHECK(!authfail_held(&a, "10.0.0.1", t + 20 + S, &wait));
        /* Going on: 2 s, 4 s, ... capped at 60 s. */
        uint64_t now = t + 2 * S, hold = 0;
        for (int round = 0; round < 10; round++) {
                for (int i = 0; i < AUTHFAIL_BURST; i++)
                        (void) authfail_record(&a, "10.0.0.1", now);
                CHECK(authfail_held(&a, "10.0.0.1", now, &hold));
                CHECK(hold <= AUTHFAIL_MAX_HOLD_USEC);
                now += hold;
        }
        CHECK_EQ_INT(hold, AUTHFAIL_MAX_HOLD_USEC);
        /* At most one burst per hold: 10 guesses a minute. */
        /* A quiet spell longer than the window: back to 1 s. */
        now += 2 * AUTHFAIL_WINDOW_USEC;
        for (int i = 0; i < AUTHFAIL_BURST; i++)
                (void) authfail_record(&a, "10.0.0.1", now);
        CHECK(authfail_held(&a, "10.0.0.1", now, &hold));
        CHECK_EQ_INT(hold, 1 * S);
        /* Failures spread over more than a window never add up to a hold. */
        now += 10 * AUTHFAIL_WINDOW_USEC;
        for (int i = 0; i < 30; i++)
                CHECK(!authfail_record(&a, "10.0.0.3", now + (uint64_t) i * (AUTHFAIL_WINDOW_USEC / 5)));
        /* A table full of other addresses: the stalest give way, the table holds. */
        char addr[64];
        for (int i = 0; i < 3 * AUTHFAIL_SLOTS; i++) {
                snprintf(addr, sizeof addr, "192.168.%d.%d", i / 256, i % 256);
                (void) authfail_record(&a, addr, now + (uint64_t) i);
        }
        for (int i = 0; i < AUTHFAIL_BURST; i++)
                (void) authfail_record(&a, "10.0.0.9", now + 3 * AUTHFAIL_SLOTS);
        CHECK(authfail_held(&a, "10.0.0.9", now + 3 * AUTHFAIL_SLOTS, &hold));
        return test_summary("test-authfail");
}
