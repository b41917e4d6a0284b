/* digest.h: SHA-256 as sdflow shows it (lowercase hex), in one place: the
 * tokens' hashes (sdflowd stores them, the gateway compares them), the
 * pipeline cache's keys and sdflow-step's artifact digests. */
#pragma once

#include <stddef.h>

#define SHA256_HEX_LEN 64

/* out (2 * n + 1 bytes) = the lowercase hex of the n bytes at b. */
void hex_encode(const unsigned char *b, size_t n, char *out);

/* hex = the SHA-256 of len bytes at data, as 64 hex digits and a NUL.
 * Returns 0, or -EIO if libcrypto failed (hex is then ""). */
int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1]);
