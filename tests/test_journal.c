/* test_journal.c: the data dir's files: CRC-32C (crc32c.c). */
#include <stdlib.h>

#include "crc32c.h"
#include "run_suite.h"

START_TEST(crc32c_check_value)
{
	ck_assert_uint_eq(crc32c("123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c_update(crc32c("1234", 4), "56789", 5), 0xE3069283u);
	ck_assert_uint_eq(crc32c("", 0), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");
	ADD(tc, crc32c_check_value);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
