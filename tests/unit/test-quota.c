/* test-quota.c: admission against a namespace quota. */
#include <errno.h>

#include "quota.h"
#include "test.h"

int main(void) {
        char msg[512];
        Resources quota = RESOURCES_UNSET, used = RESOURCES_UNSET, want = RESOURCES_UNSET;
        quota.v[RES_CPU_MILLIS] = 2000;
        quota.v[RES_MEMORY_BYTES] = 256u << 20;
        quota.v[RES_GPUS] = 1;

        want.v[RES_CPU_MILLIS] = 500;
        want.v[RES_MEMORY_BYTES] = 100u << 20;
        CHECK_EQ_INT(quota_admit("team-a", &quota, &used, &want, msg, sizeof msg), 0);
        quota_add(&used, &want);
        CHECK_EQ_INT(quota_admit("team-a", &quota, &used, &want, msg, sizeof msg), 0);
        quota_add(&used, &want);
        /* 200Mi used of 256Mi: another 100Mi does not fit. */
        CHECK_EQ_INT(quota_admit("team-a", &quota, &used, &want, msg, sizeof msg), -EDQUOT);
        CHECK_STREQ(msg, "namespace team-a: memory 100Mi exceeds what is left of the quota: 56Mi of 256Mi "
                         "(200Mi in use by admitted workloads)");

        want.v[RES_MEMORY_BYTES] = RESOURCE_UNSET;
        CHECK_EQ_INT(quota_admit("team-a", &quota, &used, &want, msg, sizeof msg), -EDQUOT);
        CHECK_STREQ(msg, "namespace team-a has a memory quota (256Mi): the workload must declare a memory limit");

        want.v[RES_MEMORY_BYTES] = 1u << 20;
        want.v[RES_CPU_MILLIS] = 1500;
        CHECK_EQ_INT(quota_admit("team-a", &quota, &used, &want, msg, sizeof msg), -EDQUOT);
        CHECK_STREQ(msg, "namespace team-a: cpu 1500m exceeds what is left of the quota: 1 of 2 "
                         "(1 in use by admitted workloads)");

        want.v[RES_CPU_MILLIS] = 100;
        want.v[RES_GPUS] = 2;
        CHECK_EQ_INT(quota_admit("team-a", &quota, &used, &want, msg, sizeof msg), -EDQUOT);
        CHECK(strstr(msg, "nvidia.com/gpu 2 exceeds") != NULL);

        /* No quota: anything goes, undeclared too. */
        Resources none = RESOURCES_UNSET, big = RESOURCES_UNSET;
        big.v[RES_TASKS] = 100000;
        CHECK_EQ_INT(quota_admit("free", &none, &used, &big, msg, sizeof msg), 0);

        char buf[32];
        resource_format(RES_MEMORY_BYTES, 1536u << 20, buf, sizeof buf);
        CHECK_STREQ(buf, "1536Mi");
        resource_format(RES_CPU_MILLIS, 250, buf, sizeof buf);
        CHECK_STREQ(buf, "250m");
        resource_format(RES_TASKS, RESOURCE_UNSET, buf, sizeof buf);
        CHECK_STREQ(buf, "unlimited");
        return test_summary("test-quota");
}
