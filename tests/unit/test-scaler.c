/* test-scaler.c: the Knative-style autoscaler's arithmetic. */
#include "services/gateway/scaler.h"
#include "test.h"

#define S 1000000ULL

static const ScalerConfig cfg = { .min_replicas = 0, .max_replicas = 3, .target = 10,
                                  .stable_usec = 60 * S, .panic_usec = 6 * S };

static void test_average(void) {
        Scaler s;
        scaler_init(&s, 100 * S, 0);
        scaler_change(&s, 100 * S, 5);
        CHECK(scaler_average(&s, 103 * S + S / 2, 60 * S) > 4.999);
        CHECK(scaler_average(&s, 103 * S + S / 2, 60 * S) < 5.001);
        /* Half the time at 5, half at 15 (over the last 2 s). */
        scaler_change(&s, 104 * S, 10);
        double a = scaler_average(&s, 105 * S, 2 * S);
        CHECK(a > 9.99 && a < 10.01);
        /* Long idle: the old load leaves the window. */
        scaler_change(&s, 105 * S, -15);
        CHECK(scaler_average(&s, 400 * S, 60 * S) < 0.001);
        CHECK_EQ_INT(s.level, 0);
        scaler_change(&s, 400 * S, -3); /* never below zero */
        CHECK_EQ_INT(s.level, 0);
}

static void test_stable(void) {
        Scaler s;
        scaler_init(&s, 0, 0);
        scaler_change(&s, 0, 20);
        /* 20 in flight, target 10: two replicas, whatever the window. */
        CHECK_EQ_INT(scaler_decide(&s, &cfg, 70 * S), 2);
        /* Load gone: the stable average decays over 60 s, then zero. */
        scaler_change(&s, 70 * S, -20);
        CHECK_EQ_INT(scaler_decide(&s, &cfg, 80 * S), 2);
        CHECK_EQ_INT(scaler_decide(&s, &cfg, 131 * S), 0);
        /* minReplicas holds a floor. */
        ScalerConfig warm = cfg;
        warm.min_replicas = 1;
        CHECK_EQ_INT(scaler_decide(&s, &warm, 200 * S), 1);
}

static void test_panic(void) {
        Scaler s;
        scaler_init(&s, 0, 0);
        CHECK_EQ_INT(scaler_decide(&s, &cfg, 60 * S), 0);
        /* A burst of 200 after a quiet minute: the stable window barely moves,
         * the panic window does, and the scaler goes to its maximum. */
        scaler_change(&s, 60 * S, 200);
        CHECK_EQ_INT(scaler_decide(&s, &cfg, 61 * S), 3);
        CHECK(s.panic);
        /* Panic does not scale down, even when the burst is over ... */
        scaler_change(&s, 62 * S, -200);
        CHECK_EQ_INT(scaler_decide(&s, &cfg, 70 * S), 3);
        CHECK(s.panic);
        /* ... until a stable window passed since it last triggered. */
        CHECK_EQ_INT(scaler_decide(&s, &cfg, 123 * S), 0);
        CHECK(!s.panic);
        /* No maximum: as many as the load asks for. */
        ScalerConfig open = cfg;
        open.max_replicas = 0;
        scaler_change(&s, 200 * S, 95);
        CHECK_EQ_INT(scaler_decide(&s, &open, 206 * S), 10);
}

int main(void) {
        test_average();
        test_stable();
        test_panic();
        printf("scaler: %d checks, %d failed\n", test_checks, test_failures);
        return test_failures ? 1 : 0;
}
