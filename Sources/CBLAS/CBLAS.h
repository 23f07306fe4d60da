// Debian's OpenBLAS. cblas.h also declares OpenBLAS's own extensions
// (openblas_set_num_threads, openblas_get_corename, ...), which the benchmarks use to report
// and pin the threading and the core in use.
#include <cblas.h>
