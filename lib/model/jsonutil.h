/* jsonutil.h: the small jansson helpers every module wrote for itself. */
#pragma once

#include <jansson.h>

/* o[key] as a string; NULL when o is no object, key is missing or no string. */
static inline const char *json_str(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* o.a.b…: the member at a path of keys (NULL-terminated), or NULL. */
static inline json_t *json_path(json_t *o, const char *const *keys) {
        for (; o && *keys; keys++)
                o = json_object_get(o, *keys);
        return o;
}

/* A deep copy of o when it is an object, else a new empty object (NULL
 * only when out of memory): the status a controller builds on. */
static inline json_t *json_object_copy_or_new(json_t *o) {
        return json_is_object(o) ? json_deep_copy(o) : json_object();
}
