/// Compresses independent blocks into complete gzip members. In: a block of bytes. Out: one gzip
/// member holding exactly those bytes. Concatenated members form a valid multi-member gzip file,
/// which is what makes parallel compression and `group --output-codec keep` possible.
import CZlib

final class GzipDeflater {
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
