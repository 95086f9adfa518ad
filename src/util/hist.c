/* Duration histograms for the stats (vc_syncer_histogram): one set of
 * bounds for all, from 10 us (a reconcile) to 60 s (a slow request). */
#include "util/util.h"
#include "vcluster/syncer.h"

const double vc__hist_bounds[VC__HIST_BOUNDS] = {
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,      0.25,    0.5,    1.0,     2.5,    5.0,   10.0,   30.0,  60.0,
};

void vc__hist_observe(vc__hist *h, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    size_t i = 0;
    while (i < VC__HIST_BOUNDS && seconds > vc__hist_bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += seconds;
}

void vc__hist_export(const vc__hist *h, vc_syncer_histogram *out)
{
    out->count = h->count;
    out->sum = h->sum;
    out->n_bounds = VC__HIST_BOUNDS;
    out->reserved = 0;
    out->bounds = vc__hist_bounds;
    out->counts = h->counts;
}
