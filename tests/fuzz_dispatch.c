/* fuzz_dispatch.c: libFuzzer harness for request decoding and dispatch. Each input is
 * split on newlines into requests sent by three sessions in turn; a line starting with
 * '!' closes the current session instead (releasing its waiters and holdings), and the
 * loop then fires whatever deadlines are due. Any crash, leak or sanitizer report is a bug.
 * Who the sessions are, and whether max-memory is near, depends on the input's length
 * (identities()): roles, prefixes, hello with a token and the limits are fuzzed too.
 *
 * The long run (10 million inputs with no finding): only this harness, built as
 * scripts/test.sh builds it, stopping at exactly that many; stat::number_of_executed_units
 * is the record. About 5,000 inputs a second on an idle CPU (35 minutes), 2,000 on a busy VM.
 *   build-test-fuzz/tests/fuzz_dispatch -runs=10000000 -timeout=10 -max_len=4096
 *     -dict=tests/fuzz.dict -print_final_stats=1 "$(mktemp -d)" tests/fuzz-corpus
 * Or FUZZ_SECONDS=5400 scripts/test.sh (every harness that long; its "Done N runs" line). */
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "auth.h"
#include "harness.h"
#include "mem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One core for the whole run: each input ends with h_reset, which frees everything the input
 * made and aborts unless the core is then empty, so every input starts from an empty daemon
 * and leaks still show (libFuzzer's -detect_leaks) in the input that made them. */
/* Tokens for hello (tests/fuzz.dict has them); "u" is the ipc uid 1000. */
static const char principals[] =
	"[{\"name\":\"ops\",\"token\":\"fuzz-token-admin-0\",\"role\":\"admin\"},"
	"{\"name\":\"app\",\"token\":\"fuzz-token-app-00\",\"role\":\"rw\",\"prefix\":\"a\"},"
	"{\"name\":\"view\",\"token\":\"fuzz-token-view-0\",\"role\":\"ro\"},"
	"{\"name\":\"u\",\"uid\":1000,\"role\":\"rw\",\"prefix\":\"q\"}]";
static struct auth_conf conf = {.anonymous = ROLE_NONE};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	h_setup();
	json_t *list = json_loads(principals, 0, NULL);
	if (!list || auth_parse(list, "fuzz", &conf) != 0)
		abort();
	json_decref(list);
	auth_install(&conf);
	/* low, so that inputs reach them */
	sess_set_limits(&(struct sess_limits){64, 8, 32, SESS_MAX_REPLY});
	return 0;
}

/* identities: session 0 is root over ipc (admin); by the input's length, session 1 is root
 * or the uid principal "u" (rw, names that start with "q"), session 2 root or anonymous
 * (role none until its hello names a token), and max-memory is off or 16 KiB away. */
static void identities(session *s[3], size_t size)
{
	auth_connect(s[0], true, 0, NULL);
	auth_connect(s[1], true, size & 1 ? 1000 : 0, NULL);
	if (!(size & 2))
		auth_connect(s[2], true, 0, NULL);
	mem_set_limit(size & 4 ? mem_used() + 16384 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	session *s[3];
	for (int i = 0; i < 3; i++)
		s[i] = h_session();
	identities(s, size);
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
