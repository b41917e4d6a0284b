/* manifest.h: the object model of sdflow's manifests, with no I/O.
 *
 * An object is a jansson object with apiVersion, kind, metadata, spec and
 * status, as in Kubernetes.  Each kind sdflow implements is described by a
 * Kind: its group/version, names, scope and a schema of its spec.  Checking
 * an object against its kind collects diagnostics:
 *   - errors: invalid values, missing required fields, and fields that the
 *     upstream schema defines but sdflow does not implement (ignoring them
 *     would change what the manifest means);
 *   - warnings: fields no schema knows; they are kept.
 * Every diagnostic names a field path such as spec.resourceQuotaSpec.hard.cpu.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "quantity.h"

typedef struct Diag {
        bool error;
        char *path;
        char *msg;
} Diag;

typedef struct Diags {
        Diag *items;
        size_t n;
        size_t n_errors;
        char *prefix; /* prepended to every path, e.g. "object 2 (team-a)" */
} Diags;

void diags_add(Diags *d, bool error, const char *path, const char *fmt, ...) _printf_(4, 5);
void diags_clear(Diags *d);
/* "path: message" lines, errors first; a malloc'd string. */
char *diags_format(const Diags *d, bool errors, bool warnings);

typedef enum FieldType {
        F_END = 0,
        F_STRING,
        F_INT,
        F_BOOL,
        F_NUMBER,
        F_OBJECT,   /* fields: its members, ending in F_END */
        F_ARRAY,    /* fields: one element description */
        F_MAP,      /* string keys; fields: one value description */
        F_QUANTITY, /* a string or number in Kubernetes quantity syntax */
        F_ANY,      /* anything, not checked */
        F_REFUSED,  /* upstream defines it, sdflow does not implement it */
} FieldType;

enum {
        FIELD_REQUIRED = 1 << 0,
};

typedef struct Field {
        const char *name;
        FieldType type;
        unsigned flags;
        const struct Field *fields;
        const char *const *enum_values; /* NULL-terminated, for F_STRING */
        const char *why;                /* for F_REFUSED: what to do instead */
} Field;

typedef struct Kind {
        const char *group;   /* "kubeflow.org"; "" for the core group */
        const char *version; /* "v1" */
        const char *kind;    /* "Profile" */
        const char *plural;  /* "profiles" */
        const char *const *short_names;
        bool namespaced;
        const Field *spec; /* members of spec, ending in F_END */
        bool spec_required;
        bool generate_name; /* metadata.generateName makes a name (Workflows) */
        /* Checks beyond the schema; spec is never NULL here. */
        void (*validate)(json_t *obj, Diags *d);
} Kind;

/* All kinds sdflow implements, ending in NULL. */
extern const Kind *const kinds[];

/* The kind of apiVersion "group/version" (or "version") and kind, or NULL. */
const Kind *kind_lookup(const char *api_version, const char *kind);
/* A kind by CLI name: plural, singular, short name, or Kind (any case). */
const Kind *kind_by_name(const char *name);
/* "group/version" or "version" in buf. */
void kind_api_version(const Kind *k, char *buf, size_t size);

/* True if s is a DNS-1123 label (1-63 of [a-z0-9-], alphanumeric at both ends). */
bool name_is_dns1123_label(const char *s);
/* True if s is a valid label/annotation key ([prefix/]name). */
bool label_key_is_valid(const char *s);
/* True if s is a valid label value (empty, or up to 63 of [A-Za-z0-9._-]). */
bool label_value_is_valid(const char *s);

/* Checks one object: apiVersion, kind, metadata and the kind's spec.  The
 * object is normalised in place: server-owned metadata (uid, generation,
 * creationTimestamp, managedFields) and status are removed, a namespace on a
 * cluster-scoped object is dropped with a warning.  Sets *ret_kind when the
 * kind is known.  Returns 0 if there were no errors, -EINVAL otherwise. */
int manifest_check(json_t *obj, const Kind **ret_kind, Diags *d);

/* Parses a YAML or JSON text into a JSON array of objects ("kind: List" is
 * expanded) and checks each; diagnostics are prefixed with the document
 * number when there are several.  Returns 0 if there were no errors. */
int manifest_parse(const char *text, size_t len, json_t **ret_objects, Diags *d);

/* A quantity held as a string or number (YAML's 1.5 or 2 are numbers).
 * text gets the text parsed.  Returns 0, -EINVAL (with *why), or
 * -EMEDIUMTYPE when v is neither a string nor a number. */
int quantity_from_json(json_t *v, Quantity *ret, char *text, size_t size, const char **why);

/* metadata.name / metadata.namespace, or NULL. */
const char *manifest_name(json_t *obj);
const char *manifest_namespace(json_t *obj);
