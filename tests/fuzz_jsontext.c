/* fuzz_jsontext.c: libFuzzer harness holding jt_load and jt_dump to jansson's codec. For
 * any input, jt_load and json_loadb (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES) must both
 * refuse it or give equal values, and jt_dump must then write what json_dumps writes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_dump: jt_dump and json_dumps write the same text for v. */
static void check_dump(const json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	jt_buf b = {0};
	if (!want || jt_dump(v, &b) || b.len != strlen(want) || memcmp(b.data, want, b.len))
		abort();
	free(want);
	jt_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_error_t jerr;
	jt_error err;
	json_t *want = json_loadb(text, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	json_t *got = jt_load(text, size, JT_LOAD_MAX_DEPTH, &err);
	/* Excluded: jansson counts a scalar inside 2048 containers as level 2049 and refuses
	 * it; jt_load counts containers only (jsontext.h), so it may accept what jansson
	 * refuses for depth, never the other way round. */
	bool depth_only = !want && got && json_error_code(&jerr) == json_error_stack_overflow;
	if (!depth_only && !want != !got)
		abort();
	if (want && !json_equal(want, got))
		abort();
	if (want)
		check_dump(want);
	if (got && want)
		check_dump(got);
	json_decref(want);
	json_decref(got);
	return 0;
}
