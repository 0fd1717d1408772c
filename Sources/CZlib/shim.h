#ifndef TRAILMERGE_CZLIB_SHIM_H
#define TRAILMERGE_CZLIB_SHIM_H
#include <zlib.h>

/* zlib's init entry points are macros that Swift cannot import; these wrap them. */
static inline int czlib_inflate_init_gzip(z_streamp strm) {
    return inflateInit2(strm, 15 + 16);
}
static inline int czlib_deflate_init_gzip(z_streamp strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif
