#ifndef TRAILMERGE_CZSTD_SHIM_H
#define TRAILMERGE_CZSTD_SHIM_H
#include <stddef.h>

/* The fresh image ships the zstd runtime (libzstd1) without its headers, so these are the three
 * entry points trailmerge uses, declared as in zstd.h (stable API since zstd 1.0). */
size_t ZSTD_compress(void *dst, size_t dstCapacity, const void *src, size_t srcSize, int compressionLevel);
size_t ZSTD_compressBound(size_t srcSize);
unsigned ZSTD_isError(size_t code);
#endif
