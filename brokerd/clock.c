/* clock.c: clock_gettime wrappers returning seconds as doubles. */
#include <time.h>

#include "clock.h"

static double read_clock(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_now(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

double clock_wall(void)
{
	return read_clock(CLOCK_REALTIME);
}
