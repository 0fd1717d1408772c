/// Compresses independent blocks into complete gzip members. In: a block of bytes. Out: one gzip
/// member holding exactly those bytes. Concatenated members form a valid multi-member gzip file,
/// which is what makes parallel compression and `group --output-codec keep` possible.
import CDeflate
import CZlib

/// Output compression through libdeflate: on this project's TSV it is 1.5-1.9× faster than zlib at
/// the same level and 3-12 % smaller (Benchmarks/README.md).
final class GzipDeflater {
    private let compressor: OpaquePointer
    let level: Int32

    /// - Parameter level: 1-9, libdeflate's scale (which also accepts 10-12).
    init(level: Int) {
        self.level = Int32(level)
        guard let compressor = libdeflate_alloc_compressor(Int32(level)) else {
            preconditionFailure("libdeflate_alloc_compressor(\(level)) failed")
        }
        self.compressor = compressor
    }

    deinit { libdeflate_free_compressor(compressor) }

    /// Appends one complete gzip member holding `source` to `output`.
    func compressMember(_ source: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        let bound = libdeflate_gzip_compress_bound(compressor, source.count)
        let start = output.count
        output.reserveCapacity(start + bound)
        output.append(contentsOf: repeatElement(0, count: bound))
        let written = output.withUnsafeMutableBufferPointer { out in
            // An empty source has no base address; libdeflate reads nothing when in_nbytes is 0.
            libdeflate_gzip_compress(compressor, source.baseAddress ?? UnsafeRawPointer(out.baseAddress!), source.count,
                                     out.baseAddress! + start, bound)
        }
        // The bound guarantees room for any input, so 0 (did not fit) cannot happen.
        precondition(written > 0, "libdeflate_gzip_compress did not fit its own bound")
        output.removeLast(bound - written)
    }
}

/// zlib's deflate, kept only for `generate`, so that the generated benchmark and test trees stay
/// byte-identical to the ones every earlier measurement was made on (zlib is also what most real
/// CloudTrail producers use).
final class ZlibGzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    let level: Int32

    init(level: Int) {
        self.level = Int32(level)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_deflate_init_gzip(stream, Int32(level))
        precondition(status == Z_OK, "zlib deflateInit2 failed: \(status)")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Appends one complete gzip member holding `source` to `output`.
    func compressMember(_ source: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        deflateReset(stream)
        let bound = Int(deflateBound(stream, UInt(source.count))) + 32
        let start = output.count
        output.reserveCapacity(start + bound)
        output.append(contentsOf: repeatElement(0, count: bound))
        let written: Int = output.withUnsafeMutableBufferPointer { out in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.pointee.avail_in = UInt32(source.count)
            stream.pointee.next_out = out.baseAddress! + start
            stream.pointee.avail_out = UInt32(bound)
            let status = deflate(stream, Z_FINISH)
            // deflateBound guarantees one Z_FINISH call completes the member.
            precondition(status == Z_STREAM_END, "deflate did not finish: \(status)")
            return bound - Int(stream.pointee.avail_out)
        }
        output.removeLast(bound - written)
    }
}
