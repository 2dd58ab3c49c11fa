/* base64.h: the standard base64 of RFC 4648 (section 4: A-Z a-z 0-9 + /, "=" padding to a
 * multiple of 4 characters, no line breaks), the encoding of binary pipe messages inside
 * the JSON envelope (PROTOCOL.md "Pipes"). Shared by brokerd and libbroker. */
#ifndef BRK_BASE64_H
#define BRK_BASE64_H

#include <stddef.h>

/* b64_encoded_len: the length of the base64 text of n bytes. */
size_t b64_encoded_len(size_t n);

/* b64_encode: writes the base64 text of data[0..n) to out, b64_encoded_len(n) characters
 * (no NUL is added). */
void b64_encode(const void *data, size_t n, char *out);

/* b64_check: whether text[0..len) is base64 as above (padded, nothing else); if so,
 * *decoded is the number of bytes it stands for. 0, or -1 when it is not. */
int b64_check(const char *text, size_t len, size_t *decoded);

/* b64_decode: decodes text[0..len), which b64_check accepted, into out (room for the
 * decoded length). */
void b64_decode(const char *text, size_t len, unsigned char *out);

#endif
