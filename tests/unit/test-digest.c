/* test-digest.c: SHA-256 in hex against FIPS 180-2's vectors, and hex. */
#include <string.h>

#include "digest.h"
#include "test.h"

int main(void) {
        char hex[SHA256_HEX_LEN + 1];
        CHECK_EQ_INT(sha256_hex("abc", 3, hex), 0);
        CHECK_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        CHECK_EQ_INT(sha256_hex("", 0, hex), 0);
        CHECK_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        CHECK_EQ_INT(sha256_hex(two, strlen(two), hex), 0);
        CHECK_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        /* Bytes, not a C string: a NUL inside counts. */
        CHECK_EQ_INT(sha256_hex("a\0b", 3, hex), 0);
        CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") != 0);
        unsigned char b[] = { 0x00, 0x0f, 0xa5, 0xff };
        char out[9];
        hex_encode(b, sizeof b, out);
        CHECK_STREQ(out, "000fa5ff");
        hex_encode(b, 0, out);
        CHECK_STREQ(out, "");
        return test_summary("test-digest");
}
