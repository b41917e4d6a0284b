/* kinds.c: the registry of kinds. */
#include "kinds.h"

const Kind *const kinds[] = {
        &kind_profile,
        &kind_isvc,
        &kind_workflow,
        &kind_cronworkflow,
        &kind_experiment,
        NULL,
};

/* Parts that several kinds' schemas share (Kubernetes' own shapes). */
const Field kind_quantity_field = { "", F_QUANTITY };
const Field kind_string_field = { "", F_STRING };

const Field kind_resource_fields[] = {
        { "limits", F_MAP, .fields = &kind_quantity_field },
        { "requests", F_MAP, .fields = &kind_quantity_field },
        { "claims", F_REFUSED, .why = "dynamic resource claims need Kubernetes" },
        {},
};

static const Field env_fields[] = {
        { "name", F_STRING, FIELD_REQUIRED },
        { "value", F_STRING },
        { "valueFrom", F_REFUSED, .why = "secrets and config maps do not exist here; set value" },
        {},
};
const Field kind_env_item = { "", F_OBJECT, .fields = env_fields };
