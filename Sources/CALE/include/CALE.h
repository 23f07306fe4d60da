// CALE: a small C API over ALE's C++ interface (ALE 0.12.1).
// Every function catches C++ exceptions and reports them as a status plus a message; nothing
// here lets ALE call exit() on us (ROM support and setting keys are checked first).
#ifndef CALE_H
#define CALE_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct cale_handle cale_handle;
#ifdef __cplusplus
}
#endif
#endif
