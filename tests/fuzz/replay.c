/* replay.c: runs a fuzz target over corpus files, for builds without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
                perror(path);
                return 1;
        }
        uint8_t *buf = malloc(1 << 20);
        size_t n = fread(buf, 1, 1 << 20, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        int files = 0, bad = 0;
        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                if (!d) {
                        bad += run_file(argv[i]);
                        files++;
                        continue;
                }
                struct dirent *e;
                while ((e = readdir(d))) {
                        char p[4096];
                        if (e->d_name[0] == '.')
                                continue;
                        snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
                        bad += run_file(p);
                        files++;
                }
                closedir(d);
        }
        printf("replayed %d inputs\n", files);
        return bad || files == 0 ? 1 : 0;
}
