/* kinds.c: the registry of kinds. */
#include "kinds.h"

const Kind *const kinds[] = {
        &kind_profile,
        &kind_isvc,
        &kind_workflow,
        &kind_cronworkflow,
        NULL,
};
