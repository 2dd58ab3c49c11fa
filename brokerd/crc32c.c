/* crc32c.c: table-driven CRC-32C, one byte per step, least significant bit first (the
 * reflected polynomial 0x82F63B78). The table is built on first use. */
#include <stdbool.h>

#include "crc32c.h"

#define POLY 0x82F63B78u

static uint32_t table[256];
static bool table_ready;

/* build_table: table[b] is the CRC register after shifting byte b through it alone. */
static void build_table(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t r = b;
		for (int bit = 0; bit < 8; bit++)
			r = (r >> 1) ^ (r & 1 ? POLY : 0);
		table[b] = r;
	}
	table_ready = true;
}

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	if (!table_ready)
		build_table();
	crc = ~crc;
	while (len--)
		crc = (crc >> 8) ^ table[(crc ^ *p++) & 0xff];
	return ~crc;
}

uint32_t crc32c(const void *data, size_t len)
{
	return crc32c_update(0, data, len);
}
