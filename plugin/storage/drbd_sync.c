/* The initial sync judged from DRBD's status: progress (%, rate, ETA) and
 * whether the amount out of sync still shrinks.  Pure arithmetic over
 * numbers drbd_msg.c decoded, so unit-tested without DRBD. */
#include "config.h"

#include <stdint.h>

#include "storage/drbd.h"

void
dmg_drbd_progress(uint64_t bits_total, uint64_t oos_before, uint64_t oos_now, uint64_t dt_ms,
		  double *pct, double *kib_s, long *eta_s)
{
	*pct = bits_total ? 100.0 * (double)(bits_total - (oos_now < bits_total ? oos_now : bits_total)) /
			    (double)bits_total : 100.0;
	*kib_s = 0;
	*eta_s = -1;
	if (dt_ms && oos_before > oos_now) {
		*kib_s = (double)(oos_before - oos_now) * 4.0 * 1000.0 / (double)dt_ms;
		*eta_s = (long)((double)oos_now * 4.0 / *kib_s + 0.5);
	} else if (oos_now == 0) {
		*eta_s = 0;
	}
}

int
dmg_drbd_resyncing(unsigned conn)
{
	return (conn >= DMG_C_SYNC_SOURCE && conn <= DMG_C_PAUSED_SYNC_T) ||
	       conn == DMG_C_AHEAD || conn == DMG_C_BEHIND;
}

int
dmg_drbd_converge_stalled(struct dmg_drbd_converge *cv, unsigned conn, uint64_t oos,
			  int64_t now_ms)
{
	if (!cv->window_ms || !dmg_drbd_resyncing(conn)) {
		cv->best_t = 0;
		return 0;
	}
	if (!cv->best_t || oos < cv->best) {
		cv->best = oos;
		cv->best_t = now_ms;
		return 0;
	}
	return now_ms - cv->best_t >= cv->window_ms;
}
