/* manifest.c: object envelope, schemas and diagnostics; see manifest.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <strings.h>

#include "manifest.h"
#include "quantity.h"
#include "yamljson.h"

/* ---- diagnostics ------------------------------------------------------- */

void diags_add(Diags *d, bool error, const char *path, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        /* Counted first: out of memory loses the diagnostic, not the count. */
        if (error)
                d->n_errors++;
        Diag *items = realloc(d->items, (d->n + 1) * sizeof *items);
        if (!items)
                return;
        d->items = items;
        _cleanup_free_ char *full = NULL, *m = strdup(msg);
        if (d->prefix && asprintf(&full, "%s%s%s", d->prefix, path && path[0] ? ": " : "", path ?: "") < 0)
                full = NULL;
        if (!full)
                full = strdup(path ?: "");
        if (!full || !m)
                return;
        items[d->n++] = (Diag) { error, TAKE_PTR(full), TAKE_PTR(m) };
}

void diags_clear(Diags *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].path);
                free(d->items[i].msg);
        }
        free(d->items);
        free(d->prefix);
        *d = (Diags) {};
}

char *diags_format(const Diags *d, bool errors, bool warnings) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        if (!f)
                return NULL;
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < d->n; i++) {
                        const Diag *g = &d->items[i];
                        if (g->error != (pass == 0) || (g->error ? !errors : !warnings))
                                continue;
                        if (g->path && g->path[0])
                                fprintf(f, "%s: %s\n", g->path, g->msg);
                        else
                                fprintf(f, "%s\n", g->msg);
                }
        fclose(f);
        return out;
}

/* ---- names --------------------------------------------------------------- */

static bool is_alnum_lower(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return is_alnum_lower(c) || (c >= 'A' && c <= 'Z');
}

/* A generateName prefix: a label's characters, not starting with '-' (it may end with one). */
static bool name_is_dns1123_label_prefix(const char *s) {
        if (!*s || *s == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return true;
}

bool name_is_dns1123_label(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 63 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum_lower(s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool dns1123_subdomain(const char *s, size_t n) {
        if (n == 0 || n > 253)
                return false;
        size_t start = 0;
        for (size_t i = 0; i <= n; i++)
                if (i == n || s[i] == '.') {
                        char label[64];
                        if (i - start == 0 || i - start > 63)
                                return false;
                        memcpy(label, s + start, i - start);
                        label[i - start] = '\0';
                        if (!name_is_dns1123_label(label))
                                return false;
                        start = i + 1;
                }
        return true;
}

static bool qualified_name(const char *s, size_t n) {
        if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
                        return false;
        return true;
}

bool label_key_is_valid(const char *s) {
        const char *slash = strchr(s, '/');
        if (!slash)
                return qualified_name(s, strlen(s));
        return dns1123_subdomain(s, (size_t) (slash - s)) && qualified_name(slash + 1, strlen(slash + 1));
}

bool label_value_is_valid(const char *s) {
        return s[0] == '\0' || qualified_name(s, strlen(s));
}

/* ---- kinds --------------------------------------------------------------- */

const Kind *kind_lookup(const char *api_version, const char *kind) {
        for (size_t i = 0; kinds[i]; i++) {
                char av[128];
                kind_api_version(kinds[i], av, sizeof av);
                if (strcmp(av, api_version) == 0 && strcmp(kinds[i]->kind, kind) == 0)
                        return kinds[i];
        }
        return NULL;
}

const Kind *kind_by_name(const char *name) {
        for (size_t i = 0; kinds[i]; i++) {
                const Kind *k = kinds[i];
                size_t pl = strlen(k->plural);
                if (strcasecmp(name, k->kind) == 0 || strcmp(name, k->plural) == 0)
                        return k;
                /* singular: the plural without its final "s" */
                if (pl > 1 && strlen(name) == pl - 1 && strncmp(name, k->plural, pl - 1) == 0)
                        return k;
                for (const char *const *s = k->short_names; s && *s; s++)
                        if (strcmp(name, *s) == 0)
                                return k;
        }
        return NULL;
}

void kind_api_version(const Kind *k, char *buf, size_t size) {
        if (k->group[0])
                snprintf(buf, size, "%s/%s", k->group, k->version);
        else
                snprintf(buf, size, "%s", k->version);
}

/* ---- schema checking ----------------------------------------------------- */

int quantity_from_json(json_t *v, Quantity *ret, char *text, size_t size, const char **why) {
        *why = NULL;
        if (json_is_string(v))
                snprintf(text, size, "%s", json_string_value(v));
        else if (json_is_integer(v))
                snprintf(text, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
                /* 15 significant digits give back what was written, e.g. 1.1 */
                snprintf(text, size, "%.15g", json_real_value(v));
        else {
                if (size > 0)
                        text[0] = '\0';
                return -EMEDIUMTYPE;
        }
        return quantity_parse(text, ret, why);
}

static const char *type_name(FieldType t) {
        switch (t) {
        case F_STRING: return "a string";
        case F_INT: return "an integer";
        case F_BOOL: return "a boolean";
        case F_NUMBER: return "a number";
        case F_OBJECT: return "an object";
        case F_ARRAY: return "a list";
        case F_MAP: return "a map";
        case F_QUANTITY: return "a quantity";
        default: return "a value";
        }
}

static const char *json_type_name(json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT: return "an object";
        case JSON_ARRAY: return "a list";
        case JSON_STRING: return "a string";
        case JSON_INTEGER: return "an integer";
        case JSON_REAL: return "a number";
        case JSON_TRUE:
        case JSON_FALSE: return "a boolean";
        default: return "null";
        }
}

static void check_value(json_t *v, const Field *f, const char *path, Diags *d);

static void check_object(json_t *obj, const Field *fields, const char *path, Diags *d) {
        char sub[512];
        const char *key;
        json_t *v;

        for (const Field *f = fields; f->type != F_END; f++) {
                snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", f->name);
                v = json_object_get(obj, f->name);
                if (!v || json_is_null(v)) {
                        if (f->flags & FIELD_REQUIRED)
                                diags_add(d, true, sub, "required field is missing");
                        continue;
                }
                check_value(v, f, sub, d);
        }
        json_object_foreach(obj, key, v) {
                const Field *f;
                for (f = fields; f->type != F_END; f++)
                        if (strcmp(f->name, key) == 0)
                                break;
                if (f->type == F_END) {
                        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", key);
                        diags_add(d, false, sub, "unknown field, kept but not used");
                }
        }
}

static void check_value(json_t *v, const Field *f, const char *path, Diags *d) {
        char sub[512];
        switch (f->type) {
        case F_REFUSED:
                diags_add(d, true, path, "is not supported by sdflow%s%s", f->why ? ": " : "", f->why ?: "");
                return;
        case F_ANY:
                return;
        case F_STRING:
                if (!json_is_string(v)) {
                        diags_add(d, true, path, "must be a string, not %s", json_type_name(v));
                        return;
                }
                if (f->enum_values) {
                        const char *const *e;
                        for (e = f->enum_values; *e; e++)
                                if (strcmp(*e, json_string_value(v)) == 0)
                                        break;
                        if (!*e) {
                                char allowed[256] = "";
                                for (e = f->enum_values; *e; e++)
                                        snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed),
                                                 "%s%s", allowed[0] ? ", " : "", *e);
                                diags_add(d, true, path, "'%s' is not one of: %s", json_string_value(v), allowed);
                        }
                }
                return;
        case F_INT:
                if (!json_is_integer(v))
                        diags_add(d, true, path, "must be an integer, not %s", json_type_name(v));
                return;
        case F_NUMBER:
                if (!json_is_number(v))
                        diags_add(d, true, path, "must be a number, not %s", json_type_name(v));
                return;
        case F_BOOL:
                if (!json_is_boolean(v))
                        diags_add(d, true, path, "must be a boolean, not %s", json_type_name(v));
                return;
        case F_QUANTITY: {
                char text[64];
                const char *why;
                Quantity q;
                int r = quantity_from_json(v, &q, text, sizeof text, &why);
                if (r == -EMEDIUMTYPE)
                        diags_add(d, true, path, "must be a quantity such as 500m, 2 or 1Gi, not %s",
                                  json_type_name(v));
                else if (r < 0)
                        diags_add(d, true, path, "'%s' is not a valid quantity: %s", text, why);
                else if (q < 0)
                        diags_add(d, true, path, "'%s' must not be negative", text);
                return;
        }
        case F_OBJECT:
                if (!json_is_object(v)) {
                        diags_add(d, true, path, "must be an object, not %s", json_type_name(v));
                        return;
                }
                check_object(v, f->fields, path, d);
                return;
        case F_ARRAY: {
                size_t i;
                json_t *e;
                if (!json_is_array(v)) {
                        diags_add(d, true, path, "must be a list, not %s", json_type_name(v));
                        return;
                }
                json_array_foreach(v, i, e) {
                        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
                        check_value(e, f->fields, sub, d);
                }
                return;
        }
        case F_MAP: {
                const char *k;
                json_t *e;
                if (!json_is_object(v)) {
                        diags_add(d, true, path, "must be a map, not %s", json_type_name(v));
                        return;
                }
                json_object_foreach(v, k, e) {
                        snprintf(sub, sizeof sub, "%s.%s", path, k);
                        check_value(e, f->fields, sub, d);
                }
                return;
        }
        default:
                diags_add(d, true, path, "must be %s", type_name(f->type));
        }
}

/* ---- the envelope -------------------------------------------------------- */

static void check_string_map(json_t *m, const char *path, bool labels, Diags *d) {
        const char *k;
        json_t *v;
        size_t total = 0;
        if (!json_is_object(m)) {
                diags_add(d, true, path, "must be a map of strings, not %s", json_type_name(m));
                return;
        }
        json_object_foreach(m, k, v) {
                char sub[512];
                snprintf(sub, sizeof sub, "%s.%s", path, k);
                if (!label_key_is_valid(k))
                        diags_add(d, true, sub, "invalid key: a name of up to 63 characters ([A-Za-z0-9._-], "
                                                "alphanumeric at both ends) with an optional DNS subdomain prefix and '/'");
                if (!json_is_string(v)) {
                        diags_add(d, true, sub, "must be a string, not %s", json_type_name(v));
                        continue;
                }
                if (labels && !label_value_is_valid(json_string_value(v)))
                        diags_add(d, true, sub, "invalid label value '%s': at most 63 characters of [A-Za-z0-9._-], "
                                                "alphanumeric at both ends", json_string_value(v));
                total += strlen(k) + json_string_length(v);
        }
        if (!labels && total > 256 * 1024)
                diags_add(d, true, path, "annotations are larger than 256 KiB in total");
}

static const Field metadata_fields[] = {
        { "name", F_ANY }, { "namespace", F_ANY }, { "labels", F_ANY }, { "annotations", F_ANY },
        { "resourceVersion", F_ANY }, { "uid", F_ANY }, { "generation", F_ANY },
        { "creationTimestamp", F_ANY }, { "generateName", F_ANY }, { "managedFields", F_ANY },
        {},
};

static void check_metadata(json_t *obj, const Kind *k, Diags *d) {
        json_t *md = json_object_get(obj, "metadata");
        json_t *v;

        if (!md) {
                diags_add(d, true, "metadata", "required field is missing");
                return;
        }
        if (!json_is_object(md)) {
                diags_add(d, true, "metadata", "must be an object, not %s", json_type_name(md));
                return;
        }
        v = json_object_get(md, "name");
        json_t *gen = json_object_get(md, "generateName");
        if (!v && gen && k && k->generate_name) {
                /* As the Kubernetes API server does: the prefix and five random characters. */
                const char *prefix = json_string_value(gen);
                if (!prefix || strlen(prefix) > 58 || !name_is_dns1123_label_prefix(prefix))
                        diags_add(d, true, "metadata.generateName",
                                  "'%.80s' is not a valid name prefix: at most 58 characters of lower-case letters, "
                                  "digits and '-', starting with a letter or digit", prefix ?: "");
                else {
                        static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
                        unsigned char rnd[5];
                        char name[64];
                        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                                for (size_t i = 0; i < sizeof rnd; i++)
                                        rnd[i] = (unsigned char) random();
                        size_t n = (size_t) snprintf(name, sizeof name, "%s", prefix);
                        for (size_t i = 0; i < sizeof rnd; i++)
                                name[n++] = alphabet[rnd[i] % (sizeof alphabet - 1)];
                        name[n] = '\0';
                        json_object_set_new(md, "name", json_string(name));
                        v = json_object_get(md, "name");
                }
                gen = NULL;
        }
        if (!v)
                diags_add(d, true, "metadata.name", "required field is missing");
        else if (!json_is_string(v))
                diags_add(d, true, "metadata.name", "must be a string, not %s", json_type_name(v));
        else if (!name_is_dns1123_label(json_string_value(v)))
                diags_add(d, true, "metadata.name",
                          "'%.80s' is not a valid name: at most 63 characters of lower-case letters, digits and '-', "
                          "starting and ending with a letter or digit", json_string_value(v));

        v = json_object_get(md, "namespace");
        if (v && !json_is_string(v))
                diags_add(d, true, "metadata.namespace", "must be a string, not %s", json_type_name(v));
        else if (v && k && !k->namespaced) {
                diags_add(d, false, "metadata.namespace", "%s is cluster-scoped; the namespace is ignored", k->kind);
                json_object_del(md, "namespace");
        } else if (v && !name_is_dns1123_label(json_string_value(v)))
                diags_add(d, true, "metadata.namespace", "'%.80s' is not a valid namespace name (a DNS-1123 label)",
                          json_string_value(v));

        if ((v = json_object_get(md, "labels")))
                check_string_map(v, "metadata.labels", true, d);
        if ((v = json_object_get(md, "annotations")))
                check_string_map(v, "metadata.annotations", false, d);
        v = json_object_get(md, "resourceVersion");
        if (v && (!json_is_string(v) || json_string_length(v) == 0))
                diags_add(d, true, "metadata.resourceVersion", "must be a non-empty string");
        if (gen && !(k && k->generate_name))
                diags_add(d, true, "metadata.generateName", "is not supported for %s; set metadata.name",
                          k ? k->kind : "this kind");

        /* Server-owned: a re-applied export carries them; they are replaced. */
        json_object_del(md, "uid");
        json_object_del(md, "generation");
        json_object_del(md, "creationTimestamp");
        json_object_del(md, "managedFields");
        check_object(md, metadata_fields, "metadata", d);
}

int manifest_check(json_t *obj, const Kind **ret_kind, Diags *d) {
        size_t before = d->n_errors;
        const Kind *k = NULL;
        json_t *av, *kd, *spec;

        if (ret_kind)
                *ret_kind = NULL;
        if (!json_is_object(obj)) {
                diags_add(d, true, "", "a manifest must be an object, not %s", json_type_name(obj));
                return -EINVAL;
        }
        av = json_object_get(obj, "apiVersion");
        kd = json_object_get(obj, "kind");
        if (!av)
                diags_add(d, true, "apiVersion", "required field is missing");
        else if (!json_is_string(av))
                diags_add(d, true, "apiVersion", "must be a string, not %s", json_type_name(av));
        if (!kd)
                diags_add(d, true, "kind", "required field is missing");
        else if (!json_is_string(kd))
                diags_add(d, true, "kind", "must be a string, not %s", json_type_name(kd));
        if (json_is_string(av) && json_is_string(kd)) {
                k = kind_lookup(json_string_value(av), json_string_value(kd));
                if (!k) {
                        const Kind *same = NULL;
                        for (size_t i = 0; kinds[i]; i++)
                                if (strcmp(kinds[i]->kind, json_string_value(kd)) == 0)
                                        same = kinds[i];
                        if (same) {
                                char want[128];
                                kind_api_version(same, want, sizeof want);
                                diags_add(d, true, "apiVersion", "%s is not served for kind %s; use %s",
                                          json_string_value(av), same->kind, want);
                        } else
                                diags_add(d, true, "kind", "unknown kind %s (%s)", json_string_value(kd),
                                          json_string_value(av));
                }
        }
        check_metadata(obj, k, d);
        json_object_del(obj, "status"); /* owned by sdflowd */

        if (k) {
                spec = json_object_get(obj, "spec");
                if (!spec || json_is_null(spec)) {
                        if (k->spec_required)
                                diags_add(d, true, "spec", "required field is missing");
                        else {
                                json_object_set_new(obj, "spec", json_object());
                                spec = json_object_get(obj, "spec");
                        }
                }
                if (spec && !json_is_object(spec))
                        diags_add(d, true, "spec", "must be an object, not %s", json_type_name(spec));
                else if (spec) {
                        check_object(spec, k->spec, "spec", d);
                        if (k->validate && d->n_errors == before)
                                k->validate(obj, d);
                }
        }
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v)
                if (strcmp(key, "apiVersion") && strcmp(key, "kind") && strcmp(key, "metadata") &&
                    strcmp(key, "spec"))
                        diags_add(d, false, key, "unknown field, kept but not used");
        if (ret_kind)
                *ret_kind = k;
        return d->n_errors > before ? -EINVAL : 0;
}

int manifest_parse(const char *text, size_t len, json_t **ret_objects, Diags *d) {
        char err[512];
        json_auto_t *docs = NULL, *objs = NULL;
        int r;

        r = yamljson_parse(text, len, &docs, err, sizeof err);
        if (r < 0) {
                diags_add(d, true, "", "%s", r == -ENOMEM ? "out of memory" : err);
                return r;
        }
        objs = json_array();
        if (!objs) {
                diags_add(d, true, "", "out of memory");
                return -ENOMEM;
        }
        size_t i;
        json_t *doc;
        json_array_foreach(docs, i, doc) {
                json_t *items = json_object_get(doc, "items");
                const char *kind = json_string_value(json_object_get(doc, "kind"));
                if (kind && strcmp(kind, "List") == 0 && json_is_array(items))
                        r = json_array_extend(objs, items);
                else
                        r = json_array_append(objs, doc);
                if (r < 0) { /* an object would be dropped silently */
                        diags_add(d, true, "", "out of memory");
                        return -ENOMEM;
                }
        }
        if (json_array_size(objs) == 0)
                diags_add(d, true, "", "no objects in the input");
        size_t before = d->n_errors;
        json_array_foreach(objs, i, doc) {
                free(d->prefix);
                d->prefix = NULL;
                if (json_array_size(objs) > 1) {
                        const char *name = manifest_name(doc);
                        if (asprintf(&d->prefix, "object %zu%s%s%s", i + 1, name ? " (" : "", name ?: "",
                                     name ? ")" : "") < 0)
                                d->prefix = NULL;
                }
                (void) manifest_check(doc, NULL, d);
        }
        free(d->prefix);
        d->prefix = NULL;
        if (d->n_errors > before || json_array_size(objs) == 0)
                return -EINVAL;
        *ret_objects = TAKE_PTR(objs);
        return 0;
}

const char *manifest_name(json_t *obj) {
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

const char *manifest_namespace(json_t *obj) {
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
}
