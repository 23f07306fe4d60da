// Internal to CKernels: the vector level every element-wise kernel here takes on this CPU
// (2: AVX-512F, 1: AVX2, 0: plain C), detected once (optimizer.c; arena_optimizer_use_path
// overrides it for tests). x86-64 only.
#ifndef ARENA_VECTOR_LEVEL_H
#define ARENA_VECTOR_LEVEL_H
int arenaVectorLevel(void);
#endif
