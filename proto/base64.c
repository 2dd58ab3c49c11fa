/* base64.c: RFC 4648 base64, strict on input: a pipe message that is not exactly base64 is
 * refused rather than guessed at. */
#include <stdint.h>

#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* sextet: the 6-bit value of base64 character ch, or -1. */
static int sextet(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

size_t b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void b64_encode(const void *data, size_t n, char *out)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i += 3, out += 4) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[0] = alphabet[v >> 18];
		out[1] = alphabet[(v >> 12) & 63];
		out[2] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		out[3] = i + 2 < n ? alphabet[v & 63] : '=';
	}
}

int b64_check(const char *text, size_t len, size_t *decoded)
{
	size_t pad = 0;
	if (len % 4)
		return -1;
	while (pad < 2 && pad < len && text[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (sextet((unsigned char)text[i]) < 0)
			return -1;
	*decoded = len / 4 * 3 - pad;
	return 0;
}

void b64_decode(const char *text, size_t len, unsigned char *out)
{
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int have = 0;
		for (int k = 0; k < 4 && text[i + k] != '='; k++, have++)
			v |= (uint32_t)sextet((unsigned char)text[i + k]) << (18 - 6 * k);
		*out++ = (unsigned char)(v >> 16);
		if (have > 2)
			*out++ = (unsigned char)(v >> 8);
		if (have > 3)
			*out++ = (unsigned char)v;
	}
}
