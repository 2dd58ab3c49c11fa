/* base64.c: RFC 4648 base64, strict on input: a pipe message that is not exactly base64 is
 * refused rather than guessed at. */
#include <stdint.h>

#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Each base64 character's 6-bit value plus one; 0 marks every other byte. A table, not a
 * function: checking a 1 MiB message is a lookup per character. */
static const unsigned char sextets[256] = {
	['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,
	['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
	['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
	['/'] = 64};

/* sextet: the 6-bit value of base64 character ch, or -1. */
static int sextet(unsigned char ch)
{
	return (int)sextets[ch] - 1;
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
	const unsigned char *p = (const unsigned char *)text;
	unsigned char valid = 1;
	for (size_t i = 0; i < len - pad; i++)
		valid &= sextets[p[i]] != 0; /* no branch per character */
	if (!valid)
		return -1;
	*decoded = len / 4 * 3 - pad;
	return 0;
}

/* quad: the 24 bits four base64 characters stand for ('=' counts as 0). */
static uint32_t quad(const unsigned char *p)
{
	uint32_t v = 0;
	for (int k = 0; k < 4; k++)
		v = v << 6 | (p[k] == '=' ? 0 : (uint32_t)sextet(p[k]));
	return v;
}

void b64_decode(const char *text, size_t len, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)text;
	for (size_t i = 0; i + 4 <= len; i += 4) {
		uint32_t v = quad(p + i);
		*out++ = (unsigned char)(v >> 16);
		if (p[i + 2] != '=') /* only the last group may be padded */
			*out++ = (unsigned char)(v >> 8);
		if (p[i + 3] != '=')
			*out++ = (unsigned char)v;
	}
}
