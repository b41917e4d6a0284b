/* kind-profile.c: kubeflow.org/v1 Profile, a namespace owned by a Unix user.
 *
 * Upstream (kubeflow/kubeflow components/profile-controller) defines
 * spec.owner (an rbac Subject), spec.resourceQuotaSpec (a core/v1
 * ResourceQuotaSpec) and spec.plugins.  Here the owner is a Unix user and
 * the quota becomes the limits of the namespace's systemd slice. */
#include <string.h>

#include "kinds.h"
#include "quantity.h"

static const char *const owner_kinds[] = { "User", NULL };

static const Field owner_fields[] = {
        { "kind", F_STRING, FIELD_REQUIRED, .enum_values = owner_kinds },
        { "name", F_STRING, FIELD_REQUIRED },
        { "apiGroup", F_STRING },
        { "namespace", F_REFUSED, .why = "the owner is a Unix user, not a service account" },
        {},
};

static const Field quantity_field = { "", F_QUANTITY };

static const Field quota_fields[] = {
        { "hard", F_MAP, .fields = &quantity_field },
        { "scopes", F_REFUSED, .why = "quota scopes need pods; sdflow limits the whole namespace" },
        { "scopeSelector", F_REFUSED, .why = "quota scopes need pods; sdflow limits the whole namespace" },
        {},
};

static const Field profile_spec[] = {
        { "owner", F_OBJECT, FIELD_REQUIRED, .fields = owner_fields },
        { "resourceQuotaSpec", F_OBJECT, .fields = quota_fields },
        { "plugins", F_REFUSED, .why = "WorkloadIdentity and AwsIamForServiceAccount are cloud IAM bindings" },
        {},
};

/* The quota keys sdflow enforces, with what each becomes and its bounds. */
const ProfileQuotaKey profile_quota_keys[] = {
        { "cpu", QUOTA_CPU, 1000000, (Quantity) 4096 * QUANTITY_NANO },
        { "limits.cpu", QUOTA_CPU, 1000000, (Quantity) 4096 * QUANTITY_NANO },
        { "memory", QUOTA_MEMORY, (Quantity) 1048576 * QUANTITY_NANO, ((Quantity) 1 << 50) * QUANTITY_NANO },
        { "limits.memory", QUOTA_MEMORY, (Quantity) 1048576 * QUANTITY_NANO, ((Quantity) 1 << 50) * QUANTITY_NANO },
        { "requests.nvidia.com/gpu", QUOTA_GPU, 0, (Quantity) 64 * QUANTITY_NANO },
        { "sdflow.io/processes", QUOTA_TASKS, (Quantity) 1 * QUANTITY_NANO, (Quantity) 4194304 * QUANTITY_NANO },
        {},
};

static bool unix_user_name_is_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 32 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

static void profile_validate(json_t *obj, Diags *d) {
        json_t *spec = json_object_get(obj, "spec");
        const char *owner = json_string_value(json_object_get(json_object_get(spec, "owner"), "name"));
        json_t *hard = json_object_get(json_object_get(spec, "resourceQuotaSpec"), "hard");
        const char *key;
        json_t *v;

        if (owner && !unix_user_name_is_valid(owner))
                diags_add(d, true, "spec.owner.name",
                          "'%.80s' is not a Unix user name (lower-case letters, digits, '_' and '-', at most 32)",
                          owner);
        Quantity seen[_QUOTA_MAX];
        const char *seen_key[_QUOTA_MAX] = {};
        json_object_foreach(hard, key, v) {
                char path[300];
                const ProfileQuotaKey *k = profile_quota_key(key);
                snprintf(path, sizeof path, "spec.resourceQuotaSpec.hard.%s", key);
                if (!k) {
                        diags_add(d, true, path,
                                  "is not supported by sdflow (supported: cpu, limits.cpu, memory, limits.memory, "
                                  "requests.nvidia.com/gpu, sdflow.io/processes)");
                        continue;
                }
                Quantity q;
                if (profile_quota_value(v, &q) < 0)
                        continue; /* reported by the schema */
                char lo[64], hi[64];
                if (q < k->min || q > k->max) {
                        bool bin = k->what == QUOTA_MEMORY;
                        quantity_format(k->min, bin, lo, sizeof lo);
                        quantity_format(k->max, bin, hi, sizeof hi);
                        diags_add(d, true, path, "%s is out of range [%s, %s]", json_is_string(v) ? json_string_value(v) : "value", lo, hi);
                        continue;
                }
                if ((k->what == QUOTA_GPU || k->what == QUOTA_TASKS) && q % QUANTITY_NANO != 0) {
                        diags_add(d, true, path, "must be a whole number");
                        continue;
                }
                if (seen_key[k->what] && seen[k->what] != q)
                        diags_add(d, true, path, "conflicts with spec.resourceQuotaSpec.hard.%s", seen_key[k->what]);
                seen[k->what] = q;
                seen_key[k->what] = key;
        }
}

const ProfileQuotaKey *profile_quota_key(const char *key) {
        for (const ProfileQuotaKey *k = profile_quota_keys; k->key; k++)
                if (strcmp(k->key, key) == 0)
                        return k;
        return NULL;
}

int profile_quota_value(json_t *v, Quantity *ret) {
        char text[64];
        const char *why;
        return quantity_from_json(v, ret, text, sizeof text, &why) < 0 ? -EINVAL : 0;
}

static const char *const profile_short[] = { "profile", NULL };

const Kind kind_profile = {
        .group = "kubeflow.org",
        .version = "v1",
        .kind = "Profile",
        .plural = "profiles",
        .short_names = profile_short,
        .namespaced = false,
        .spec = profile_spec,
        .spec_required = true,
        .validate = profile_validate,
};
