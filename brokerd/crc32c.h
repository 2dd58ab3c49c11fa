/* crc32c.h: CRC-32C (Castagnoli), the checksum of every journal record. Not zlib's crc32,
 * which uses another polynomial. */
#ifndef BROKER_CRC32C_H
#define BROKER_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c_update: the CRC-32C of the bytes already summed into crc (0 for none) followed by
 * len bytes at data. crc32c_update(0, "123456789", 9) is 0xE3069283. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);

/* crc32c: the CRC-32C of len bytes at data. */
uint32_t crc32c(const void *data, size_t len);

#endif
