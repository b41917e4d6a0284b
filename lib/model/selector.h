/* selector.h: Kubernetes label selectors ("app=web,tier!=db,env in (a,b),!legacy"). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

typedef struct Selector Selector;

/* Parses s (an empty string selects everything).  Returns 0 or -EINVAL with
 * a reason in err. */
int selector_parse(const char *s, Selector **ret, char *err, size_t errsz);
Selector *selector_free(Selector *sel);

/* True if labels (a JSON object of strings, or NULL) match. */
bool selector_matches(const Selector *sel, json_t *labels);
