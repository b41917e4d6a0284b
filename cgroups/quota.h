/* quota.h: admission of workloads against a namespace's quota.
 *
 * Every workload declares its limits (CPU, memory, tasks, GPUs).  A
 * namespace's quota caps the sum of the limits of its admitted workloads;
 * a workload that would exceed what is left is refused (or queued, where its
 * kind allows), with a message that states the numbers.  Where the quota
 * limits a resource, a workload must declare it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define RESOURCE_UNSET UINT64_MAX

typedef enum ResourceKind { RES_CPU_MILLIS, RES_MEMORY_BYTES, RES_TASKS, RES_GPUS, _RES_MAX } ResourceKind;

typedef struct Resources {
        uint64_t v[_RES_MAX]; /* RESOURCE_UNSET: no limit (quota) or not declared (workload) */
} Resources;

#define RESOURCES_UNSET ((Resources) { { RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET, RESOURCE_UNSET } })

/* Decides whether a workload asking for want fits into quota, given used,
 * the sum of what the admitted workloads declared.  Returns 0, or -EDQUOT
 * with a message in msg naming the namespace, the resource and the numbers. */
int quota_admit(const char *ns, const Resources *quota, const Resources *used, const Resources *want, char *msg,
                size_t size);

/* used += want (declared resources only). */
void quota_add(Resources *used, const Resources *want);

/* "500m", "256Mi", "12" or "unlimited" for resource r. */
void resource_format(ResourceKind r, uint64_t v, char *buf, size_t size);
