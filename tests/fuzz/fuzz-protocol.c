/* fuzz-protocol.c: KServe V1 and V2 request bodies on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[256], *id = NULL;
        Matrix m;
        if (protocol_v1_parse((const char *) data, size, 4, &m, err, sizeof err) == 0) {
                if (m.rows == 0 || m.cols != 4)
                        abort();
                matrix_done(&m);
        }
        if (protocol_v2_parse((const char *) data, size, 4, &m, &id, err, sizeof err) == 0) {
                if (m.rows == 0 || m.cols != 4)
                        abort();
                size_t dims[2] = { m.rows, m.cols }, len;
                free(protocol_v2_response("m", id, m.data, dims, 2, &len));
                matrix_done(&m);
                free(id);
        }
        return 0;
}
