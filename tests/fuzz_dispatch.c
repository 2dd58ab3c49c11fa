/* fuzz_dispatch.c: libFuzzer harness for request decoding and dispatch. Each input is
 * split on newlines into requests sent by three sessions in turn; a line starting with
 * '!' closes the current session instead (releasing its waiters and holdings), and the
 * loop then fires whatever deadlines are due. Any crash, leak or sanitizer report is a bug.
 *
 * The long run (10 million inputs with no finding): only this harness, built as
 * scripts/test.sh builds it, stopping at exactly that many; stat::number_of_executed_units
 * is the record. About 5,000 inputs a second on an idle CPU (35 minutes), 2,000 on a busy VM.
 *   build-test-fuzz/tests/fuzz_dispatch -runs=10000000 -timeout=10 -max_len=4096
 *     -dict=tests/fuzz.dict -print_final_stats=1 "$(mktemp -d)" tests/fuzz-corpus
 * Or FUZZ_SECONDS=5400 scripts/test.sh (every harness that long; its "Done N runs" line). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One core for the whole run: each input ends with h_reset, which frees everything the input
 * made and aborts unless the core is then empty, so every input starts from an empty daemon
 * and leaks still show (libFuzzer's -detect_leaks) in the input that made them. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	h_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	session *s[3];
	for (int i = 0; i < 3; i++)
		s[i] = h_session();
	const char *p = (const char *)data, *end = p + size;
	for (int turn = 0; p < end; turn = (turn + 1) % 3) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		if (len && p[0] == '!' && s[turn]) {
			sess_close(s[turn]);
			s[turn] = NULL;
		} else if (s[turn]) {
			h_send_raw(s[turn], p, len);
		}
		p += len + 1;
	}
	h_poll();
	h_reset();
	return 0;
}
