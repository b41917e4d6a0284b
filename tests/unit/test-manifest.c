/* test-manifest.c: every file in tests/manifests/bad fails with the message
 * its "# expect:" line names; every file in tests/manifests/good passes,
 * with the warnings its "# warn:" lines name. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>

#include "kinds.h"
#include "manifest.h"
#include "test.h"

static char *slurp(const char *path, size_t *len) {
        FILE *f = fopen(path, "rb");
        if (!f)
                return NULL;
        char *buf = malloc(1 << 20);
        *len = fread(buf, 1, (1 << 20) - 1, f);
        buf[*len] = '\0';
        fclose(f);
        return buf;
}

static int run_dir(const char *dir, bool bad) {
        DIR *d = opendir(dir);
        struct dirent *e;
        int files = 0;
        if (!d) {
                fprintf(stderr, "cannot open %s\n", dir);
                test_failures++;
                return 0;
        }
        while ((e = readdir(d))) {
                char path[4096];
                size_t len;
                if (!strstr(e->d_name, ".yaml"))
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                char *text = slurp(path, &len);
                CHECK(text != NULL);
                if (!text)
                        continue;
                files++;
                Diags diags = {};
                json_t *objs = NULL;
                int r = manifest_parse(text, len, &objs, &diags);
                char *all = diags_format(&diags, true, true);
                /* Every "# expect:" or "# warn:" line must appear in the diagnostics. */
                for (char *line = text; line && *line == '#'; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                        const char *tag = bad ? "# expect: " : "# warn: ";
                        if (strncmp(line, tag, strlen(tag)) != 0)
                                continue;
                        char want[512];
                        size_t n = strcspn(line + strlen(tag), "\n");
                        snprintf(want, sizeof want, "%.*s", (int) n, line + strlen(tag));
                        test_checks++;
                        if (!strstr(all ?: "", want)) {
                                fprintf(stderr, "%s: expected \"%s\" in:\n%s\n", e->d_name, want, all ?: "");
                                test_failures++;
                        }
                }
                if (bad) {
                        if (r >= 0)
                                fprintf(stderr, "%s: accepted, but must be refused\n", e->d_name);
                        CHECK(r < 0);
                        CHECK(diags.n_errors > 0);
                } else {
                        if (r < 0)
                                fprintf(stderr, "%s: refused:\n%s\n", e->d_name, all ?: "");
                        CHECK(r == 0);
                        CHECK(json_array_size(objs) >= 1);
                }
                free(all);
                json_decref(objs);
                diags_clear(&diags);
                free(text);
        }
        closedir(d);
        return files;
}

static void test_normalise(void) {
        const char *text = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: a\n  uid: x\n"
                           "  creationTimestamp: y\nspec: {owner: {kind: User, name: alice}}\nstatus: {phase: Ready}\n";
        Diags d = {};
        json_t *objs;
        CHECK(manifest_parse(text, strlen(text), &objs, &d) == 0);
        json_t *o = json_array_get(objs, 0);
        CHECK(!json_object_get(o, "status"));
        CHECK(!json_object_get(json_object_get(o, "metadata"), "uid"));
        CHECK(!json_object_get(json_object_get(o, "metadata"), "creationTimestamp"));
        json_decref(objs);
        diags_clear(&d);
}

static void test_kinds(void) {
        CHECK(kind_by_name("profile") == &kind_profile);
        CHECK(kind_by_name("profiles") == &kind_profile);
        CHECK(kind_by_name("Profile") == &kind_profile);
        CHECK(kind_by_name("pod") == NULL);
        CHECK(kind_lookup("kubeflow.org/v1", "Profile") == &kind_profile);
        CHECK(kind_lookup("kubeflow.org/v2", "Profile") == NULL);
        CHECK(name_is_dns1123_label("team-a"));
        CHECK(!name_is_dns1123_label("team_a"));
        CHECK(label_key_is_valid("app.kubernetes.io/name"));
        CHECK(label_key_is_valid("app"));
        CHECK(!label_key_is_valid("-app"));
        CHECK(!label_key_is_valid("Example.COM/x"));
        CHECK(label_value_is_valid(""));
        CHECK(!label_value_is_valid("a/b"));
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: test-manifest DIR (with bad/ and good/)\n");
                return 2;
        }
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/bad", argv[1]);
        int nbad = run_dir(dir, true);
        snprintf(dir, sizeof dir, "%s/good", argv[1]);
        int ngood = run_dir(dir, false);
        printf("%d malformed and %d valid manifests\n", nbad, ngood);
        CHECK(nbad >= 40);
        CHECK(ngood >= 1);
        test_normalise();
        test_kinds();
        return test_summary("test-manifest");
}
