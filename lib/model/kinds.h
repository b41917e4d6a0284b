/* kinds.h: the kinds sdflow implements and what their specs mean. */
#pragma once

#include <errno.h>

#include "manifest.h"
#include "quantity.h"

extern const Kind kind_profile;
extern const Kind kind_isvc;
extern const Kind kind_workflow;
extern const Kind kind_cronworkflow;
extern const Kind kind_experiment;

/* Schema parts the kinds share: a quantity, a string, resources (limits and
 * requests), one env entry (name, value). */
extern const Field kind_quantity_field;
extern const Field kind_string_field;
extern const Field kind_resource_fields[];
extern const Field kind_env_item;

typedef enum QuotaWhat { QUOTA_CPU, QUOTA_MEMORY, QUOTA_GPU, QUOTA_TASKS, _QUOTA_MAX } QuotaWhat;

typedef struct ProfileQuotaKey {
        const char *key;
        QuotaWhat what;
        Quantity min, max;
} ProfileQuotaKey;

extern const ProfileQuotaKey profile_quota_keys[];

/* The quota key named key (cpu, limits.cpu, memory, …), or NULL. */
const ProfileQuotaKey *profile_quota_key(const char *key);
/* A quantity held as a string or number.  Returns 0 or -EINVAL. */
int profile_quota_value(json_t *v, Quantity *ret);
