// Hardware kernels for ArenaSupport that Swift cannot express: SHA-256 with the x86 SHA
// extensions (SHA-NI), chosen at run time when the CPU has them.
#ifndef CARENASUPPORT_H
#define CARENASUPPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The 64 round constants K of FIPS 180-4 (both the portable and the SHA-NI rounds use them).
extern const uint32_t arena_sha256_round_constants[64];

/// 1 when this CPU can run `arena_sha256_ni_compress` (x86-64 with SHA, SSSE3 and SSE4.1), else 0.
int arena_sha256_ni_available(void);

/// The SHA-256 compression function over `blocks` consecutive 64-byte blocks at `data`,
/// updating `state` (the eight working words h0...h7). Only call when available.
void arena_sha256_ni_compress(uint32_t state[8], const uint8_t *data, size_t blocks);

#ifdef __cplusplus
}
#endif

#endif
