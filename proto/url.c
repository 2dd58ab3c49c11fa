/* url.c: the default address rule of PROTOCOL.md "Addresses". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "url.h"

int proto_default_url(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (geteuid() == 0)
		n = snprintf(buf, size, "ipc:///run/brokerd/brokerd.sock");
	else if (xdg && *xdg)
		n = snprintf(buf, size, "ipc://%s/brokerd.sock", xdg);
	else
		n = snprintf(buf, size, "ipc:///tmp/brokerd-%u/brokerd.sock", (unsigned)geteuid());
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int proto_client_url(char *buf, size_t size)
{
	const char *env = getenv("BROKERD_URL");
	if (env && *env) {
		int n = snprintf(buf, size, "%s", env);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	return proto_default_url(buf, size);
}
