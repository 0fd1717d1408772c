/// `process` options for Parquet output: `--parquet-codec` and `--row-group-size`, and the checks
/// that tie them to the output format.
import TrailMerge

extension ProcessCommand {
    static let parquetOptionNames = ["--parquet-codec", "--row-group-size"]

    static let parquetHelp = """
          --parquet-codec C        snappy|zstd|gzip|none: page compression of .parquet output
                                   (default: snappy)
          --row-group-size N|SIZE  Parquet rows per row group (a number), or a size of buffered
                                   values per row group (at least 64KiB, e.g. 64MiB; no row limit
                                   then); default: 1,048,576 rows, and at most an eighth of
                                   --memory (1 MiB to 128 MiB) of values
        """

    /// Parses one of `parquetOptionNames`.
    static func parseParquetOption(_ name: String, _ value: String, into options: inout ParquetOutputOptions)
        throws(TrailMergeError)
    {
        switch name {
        case "--parquet-codec":
            guard let codec = ParquetCodec(rawValue: value) else {
                throw .usage("process: --parquet-codec '\(value)' is not one of snappy, zstd, gzip, none")
            }
            options.codec = codec
        default:
            if !value.isEmpty && value.allSatisfy(\.isASCII) && value.allSatisfy(\.isNumber) {
                options.rowGroupRows = try parseCount(value, option: name, command: "process", range: 1...Int(Int32.max))
            } else {
                options.rowGroupBytes = try parseSizeOption(value, option: name, command: "process", minimum: 64 << 10)
            }
        }
    }

    /// Parquet compresses its own pages: a `.parquet.gz` name or `--compression gzip` is a mistake.
    static func checkParquet(_ options: inout ProcessOptions, explicitCompression: Compression?, output: String)
        throws(TrailMergeError)
    {
        guard options.format == .parquet else { return }
        if explicitCompression == .gzip || output.hasSuffix(".gz") {
            throw .usage("process: Parquet output compresses its pages itself; use --parquet-codec instead of gzip (\(output))")
        }
        options.compression = .none
    }
}
