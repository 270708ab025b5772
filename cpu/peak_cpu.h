// The CPU's measured ceilings: triad memory bandwidth and FMA rate, all threads and one.
// Registered as a peak provider by cpu::register_backends.
#pragma once

#include "bench/peaks.h"

namespace mlbench::cpu {

// Fills peaks.cpu (or peaks.cpu_absent_reason when memory is too short). A few seconds.
void measure_cpu_peaks(PeakFigures& peaks);

}  // namespace mlbench::cpu
