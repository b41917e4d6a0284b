/* digest.c: see digest.h. */
#include <errno.h>
#include <openssl/evp.h>

#include "digest.h"

void hex_encode(const unsigned char *b, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[b[i] >> 4];
                out[2 * i + 1] = digits[b[i] & 15];
        }
        out[2 * n] = '\0';
}

int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != SHA256_HEX_LEN / 2) {
                hex[0] = '\0';
                return -EIO;
        }
        hex_encode(md, mdlen, hex);
        return 0;
}
