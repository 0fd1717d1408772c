/// Compresses Parquet pages with the column chunk's codec. In: one page's bytes. Out: the
/// compressed page appended to a buffer. Invariant: each page is compressed on its own (Parquet
/// pages are independent); one compressor belongs to one column encoder, so no state is shared.
import CZstd

/// The compression codec of a Parquet file's pages.
public enum ParquetCodec: String, Sendable, CaseIterable {
    case none, snappy, gzip, zstd

    /// The Thrift `CompressionCodec` value.
    var thriftValue: Int32 {
        switch self {
        case .none: return 0
        case .snappy: return 1
        case .gzip: return 2
        case .zstd: return 6
        }
    }
}

final class PageCompressor {
    let codec: ParquetCodec
    private let snappy: SnappyCompressor?
    private let gzip: GzipDeflater?
    private var gzipScratch: [UInt8] = []
    static let zstdLevel: Int32 = 1
    static let gzipLevel = 6

    init(codec: ParquetCodec) {
        self.codec = codec
        snappy = codec == .snappy ? SnappyCompressor() : nil
        gzip = codec == .gzip ? GzipDeflater(level: PageCompressor.gzipLevel) : nil
    }

    /// Appends the compressed form of `input` to `out`.
    func compress(_ input: UnsafeBufferPointer<UInt8>, into out: ByteBuffer) {
        switch codec {
        case .none:
            if let base = input.baseAddress, input.count > 0 { out.append(base, input.count) }
        case .snappy:
            snappy!.compress(input, into: out)
        case .gzip:
            gzipScratch.removeAll(keepingCapacity: true)
            gzip!.compressMember(UnsafeRawBufferPointer(input), appendingTo: &gzipScratch)
            out.append(gzipScratch)
        case .zstd:
            let bound = ZSTD_compressBound(input.count)
            out.reserve(bound)
            // SAFETY: reserve made room for `bound` bytes at out.count, the most ZSTD_compress writes.
            let written = ZSTD_compress(out.base + out.count, bound, input.baseAddress, input.count, PageCompressor.zstdLevel)
            precondition(ZSTD_isError(written) == 0, "ZSTD_compress failed on a \(input.count)-byte page")
            out.count += written
        }
    }
}
