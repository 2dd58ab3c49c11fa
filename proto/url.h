/* url.h: where brokerd listens by default, so the daemon and its clients agree. */
#ifndef BRK_URL_H
#define BRK_URL_H

#include <stddef.h>

/* proto_default_url: writes the default address into buf: ipc:///run/brokerd/brokerd.sock
 * for root, else ipc://$XDG_RUNTIME_DIR/brokerd.sock, else ipc:///tmp/brokerd-UID.sock.
 * Returns 0, or -1 when buf is too small. */
int proto_default_url(char *buf, size_t size);

/* proto_client_url: $BROKERD_URL when set and non-empty, else the default; same contract. */
int proto_client_url(char *buf, size_t size);

#endif
