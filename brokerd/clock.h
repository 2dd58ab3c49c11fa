/* clock.h: the two clocks brokerd uses: monotonic for deadlines, wall for reporting. */
#ifndef BROKER_CLOCK_H
#define BROKER_CLOCK_H

/* clock_now: monotonic seconds, for deadlines and durations. */
double clock_now(void);

/* clock_wall: seconds since the Unix epoch, for "since" fields shown to people. */
double clock_wall(void);

#endif
