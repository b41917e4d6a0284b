/* quota.c: see quota.h. */
#include <errno.h>
#include <stdio.h>

#include "quota.h"

static const char *const names[_RES_MAX] = { "cpu", "memory", "tasks", "nvidia.com/gpu" };

void resource_format(ResourceKind r, uint64_t v, char *buf, size_t size) {
        static const char *bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
        if (v == RESOURCE_UNSET) {
                snprintf(buf, size, "unlimited");
                return;
        }
        switch (r) {
        case RES_CPU_MILLIS:
                if (v % 1000 == 0)
                        snprintf(buf, size, "%llu", (unsigned long long) (v / 1000));
                else
                        snprintf(buf, size, "%llum", (unsigned long long) v);
                return;
        case RES_MEMORY_BYTES: {
                int i = 0;
                while (i < 6 && v >= 1024 && v % 1024 == 0) {
                        v /= 1024;
                        i++;
                }
                snprintf(buf, size, "%llu%s", (unsigned long long) v, bin[i]);
                return;
        }
        default:
                snprintf(buf, size, "%llu", (unsigned long long) v);
        }
}

int quota_admit(const char *ns, const Resources *quota, const Resources *used, const Resources *want, char *msg,
                size_t size) {
        for (int r = 0; r < _RES_MAX; r++) {
                uint64_t q = quota->v[r], u = used->v[r] == RESOURCE_UNSET ? 0 : used->v[r], w = want->v[r];
                if (q == RESOURCE_UNSET)
                        continue;
                if (w == RESOURCE_UNSET) {
                        if (r == RES_GPUS)
                                continue; /* not asking for GPUs is asking for none */
                        char qs[32];
                        resource_format(r, q, qs, sizeof qs);
                        snprintf(msg, size,
                                 "namespace %s has a %s quota (%s): the workload must declare a %s limit", ns,
                                 names[r], qs, names[r]);
                        return -EDQUOT;
                }
                uint64_t left = u >= q ? 0 : q - u;
                if (w > left) {
                        char ws[32], ls[32], qs[32], us[32];
                        resource_format(r, w, ws, sizeof ws);
                        resource_format(r, left, ls, sizeof ls);
                        resource_format(r, q, qs, sizeof qs);
                        resource_format(r, u, us, sizeof us);
                        snprintf(msg, size,
                                 "namespace %s: %s %s exceeds what is left of the quota: %s of %s (%s in use by "
                                 "admitted workloads)", ns, names[r], ws, ls, qs, us);
                        return -EDQUOT;
                }
        }
        return 0;
}

void quota_add(Resources *used, const Resources *want) {
        for (int r = 0; r < _RES_MAX; r++) {
                if (want->v[r] == RESOURCE_UNSET)
                        continue;
                used->v[r] = (used->v[r] == RESOURCE_UNSET ? 0 : used->v[r]) + want->v[r];
        }
}
