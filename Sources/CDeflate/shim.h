#ifndef TRAILMERGE_CDEFLATE_SHIM_H
#define TRAILMERGE_CDEFLATE_SHIM_H
/*
 * The few libdeflate functions trailmerge uses, declared by hand so that the build needs only the
 * runtime library (Debian's libdeflate0, soname libdeflate.so.0) and not libdeflate-dev.
 * Signatures as in libdeflate.h of libdeflate 1.14 (unchanged since 1.9, when the _ex gzip
 * function appeared); the module map links the versioned name with -l:libdeflate.so.0.
 */
#include <stddef.h>
#include <stdint.h>

struct libdeflate_compressor;
struct libdeflate_decompressor;

enum libdeflate_result {
    LIBDEFLATE_SUCCESS = 0,
    LIBDEFLATE_BAD_DATA = 1,
    LIBDEFLATE_SHORT_OUTPUT = 2,
    LIBDEFLATE_INSUFFICIENT_SPACE = 3,
};

struct libdeflate_compressor *libdeflate_alloc_compressor(int compression_level);
size_t libdeflate_gzip_compress(struct libdeflate_compressor *compressor,
                                const void *in, size_t in_nbytes,
                                void *out, size_t out_nbytes_avail);
size_t libdeflate_gzip_compress_bound(struct libdeflate_compressor *compressor, size_t in_nbytes);
void libdeflate_free_compressor(struct libdeflate_compressor *compressor);

struct libdeflate_decompressor *libdeflate_alloc_decompressor(void);
enum libdeflate_result libdeflate_deflate_decompress_ex(struct libdeflate_decompressor *decompressor,
                                                        const void *in, size_t in_nbytes,
                                                        void *out, size_t out_nbytes_avail,
                                                        size_t *actual_in_nbytes_ret,
                                                        size_t *actual_out_nbytes_ret);
enum libdeflate_result libdeflate_gzip_decompress_ex(struct libdeflate_decompressor *decompressor,
                                                     const void *in, size_t in_nbytes,
                                                     void *out, size_t out_nbytes_avail,
                                                     size_t *actual_in_nbytes_ret,
                                                     size_t *actual_out_nbytes_ret);
void libdeflate_free_decompressor(struct libdeflate_decompressor *decompressor);

uint32_t libdeflate_crc32(uint32_t crc, const void *buffer, size_t len);
#endif
