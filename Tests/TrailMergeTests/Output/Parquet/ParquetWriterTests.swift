import Foundation
import Testing
@testable import TrailMerge

private let cloudTrailColumns: [ParquetColumn] = [
    ParquetColumn(name: "eventTime", kind: .timestampMillis),
    ParquetColumn(name: "eventName", kind: .string),
    ParquetColumn(name: "userIdentity.userName", kind: .string),
    ParquetColumn(name: "note", kind: .string),
    ParquetColumn(name: "alwaysNull", kind: .string),
]

// ISO8601DateFormatter is documented as thread-safe once configured.
nonisolated(unsafe) private let wholeSeconds = ISO8601DateFormatter()
nonisolated(unsafe) private let fractionalSeconds: ISO8601DateFormatter = {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter
}()

/// Epoch milliseconds of an ISO-8601 time with at most 3 fraction digits, by Foundation (the
/// oracle for `ISOTimestamp`; a `Date` is a Double, so the result is rounded to the millisecond).
private func foundationMillis(_ text: String) -> Int64? {
    let formatter = text.contains(".") ? fractionalSeconds : wholeSeconds
    guard let date = formatter.date(from: text) else { return nil }
    return Int64((date.timeIntervalSince1970 * 1000).rounded())
}

/// Seeded rows: sorted times (some with fractions, some NULL), a low-cardinality name, user names
/// with NULL distinct from "", non-ASCII text, and a column that is always NULL.
private func sampleRows(_ count: Int, seed: UInt64 = 42) -> [[String?]] {
    var rng = SplitMix64(seed: seed)
    let names = ["RunInstances", "DescribeInstances", "AssumeRole", "GetObject", "ConsoleLogin"]
    let notes = ["", "plain", "é中文 ünïcödé", "tab\there", "emoji 🚀", "zero\u{0}byte", "\u{7f}\u{80}ÿ"]
    var rows: [[String?]] = []
    var second = 1_709_251_200  // 2024-03-01T00:00:00Z
    for i in 0..<count {
        second += Int(rng.next() % 7)
        let date = Date(timeIntervalSince1970: TimeInterval(second))
        var time: String? = wholeSeconds.string(from: date)
        if i % 11 == 3 { time = time!.replacingOccurrences(of: "Z", with: ".\(100 + Int(rng.next() % 900))Z") }
        if i % 17 == 5 { time = nil }
        let user: String? = i % 5 == 0 ? nil : i % 5 == 1 ? "" : "user-\(rng.next() % 50)"
        rows.append([time, names[Int(rng.next() % 5)], user, notes[Int(rng.next() % UInt64(notes.count))], nil])
    }
    return rows
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private let readersTrait = Testing.ConditionTrait.enabled(
    if: parquetReadersAvailable || isCI, "pyarrow and duckdb are not installed: run scripts/install-deps.sh")

@Suite struct ParquetTimestampTests {
    @Test func parsesISO8601UTCLikeFoundation() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<1000 {
            let second = Int64(rng.next() % 8_000_000_000) - 2_000_000_000
            var text = wholeSeconds.string(from: Date(timeIntervalSince1970: TimeInterval(second)))
            if rng.next() % 2 == 0 { text = text.replacingOccurrences(of: "Z", with: ".\(rng.next() % 1000)Z") }
            let ours = Array(text.utf8).withUnsafeBufferPointer { ISOTimestamp.epochMillis($0) }
            #expect(ours == foundationMillis(text), "\(text)")
        }
    }

    @Test(arguments: [
        ("2024-03-01T12:34:56Z", Int64(1_709_296_496_000)),
        ("2024-03-01T12:34:56.7Z", 1_709_296_496_700),
        ("2024-03-01T12:34:56.123456789Z", 1_709_296_496_123),
        ("2024-02-29T00:00:00+00:00", 1_709_164_800_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
    ])
    func parsesKnownTimes(_ text: String, _ millis: Int64) {
        #expect(Array(text.utf8).withUnsafeBufferPointer { ISOTimestamp.epochMillis($0) } == millis)
    }

    @Test(arguments: [
        "", "2024-03-01", "2024-03-01 12:34:56Z", "2024-03-01T12:34:56", "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2024-03-01T24:00:00Z", "2024-03-01T12:60:00Z", "2024-03-01T12:34:56.Z",
        "2024-03-01T12:34:56+01:00", "2024-03-01T12:34:56Zx", "x024-03-01T12:34:56Z", "1709296496",
    ])
    func rejectsWhatIsNotAnISOUTCTime(_ text: String) {
        #expect(Array(text.utf8).withUnsafeBufferPointer { ISOTimestamp.epochMillis($0) } == nil)
    }
}

@Suite(readersTrait) struct ParquetWriterTests {
    /// Checks every value, the schema, and each row group's statistics against `rows`.
    private func check(_ dump: ParquetDump, _ rows: [[String?]], rowGroupRows: Int, codec: String) {
        #expect(dump.numRows == rows.count)
        #expect(dump.duckdb["rows"] as? Int == rows.count)
        #expect(dump.duckdb["same_values_as_pyarrow"] as? Bool == true)
        let schema = dump.schema
        #expect(schema.map { $0["name"] as! String } == cloudTrailColumns.map(\.name))
        #expect(schema[0]["physical_type"] as? String == "INT64")
        #expect(schema[0]["logical_type"] as? String == "Timestamp(isAdjustedToUTC=true, timeUnit=milliseconds, is_from_converted_type=false, force_set_converted_type=false)")
        #expect(schema[0]["converted_type"] as? String == "TIMESTAMP_MILLIS")
        #expect(schema[0]["arrow_type"] as? String == "timestamp[ms, tz=UTC]")
        for column in schema.dropFirst() {
            #expect(column["physical_type"] as? String == "BYTE_ARRAY")
            #expect(column["logical_type"] as? String == "String")
            #expect(column["converted_type"] as? String == "UTF8")
            #expect(column["max_definition_level"] as? Int == 1)
        }
        #expect((dump.duckdb["types"] as? [String])?.first == "TIMESTAMP WITH TIME ZONE")
        let times = rows.map { $0[0].flatMap(foundationMillis) }
        #expect(dump.millis("eventTime") == times)
        for c in 1..<cloudTrailColumns.count {
            #expect(dump.strings(cloudTrailColumns[c].name) == rows.map { $0[c] }, "column \(c)")
        }
        let groups = stride(from: 0, to: rows.count, by: rowGroupRows).map { Array(rows[$0..<min($0 + rowGroupRows, rows.count)]) }
        #expect(dump.rowGroups.count == groups.count)
        for (g, group) in groups.enumerated() where g < dump.rowGroups.count {
            #expect(dump.rowGroups[g]["num_rows"] as? Int == group.count)
            for c in 0..<cloudTrailColumns.count {
                let chunk = dump.chunk(g, c)
                #expect(chunk["compression"] as? String == codec)
                let stats = chunk["statistics"] as! [String: Any]
                if c == 0 {
                    let present = group.compactMap { $0[0].flatMap(foundationMillis) }
                    #expect(stats["null_count"] as? Int == group.count - present.count)
                    #expect((stats["min"] as? NSNumber)?.int64Value == present.min())
                    #expect((stats["max"] as? NSNumber)?.int64Value == present.max())
                } else {
                    let expected = expectedStringStats(group.map { $0[c] })
                    #expect(stats["null_count"] as? Int == expected.nulls, "column \(c)")
                    #expect(stats["min"] as? String == expected.min, "column \(c)")
                    #expect(stats["max"] as? String == expected.max, "column \(c)")
                    #expect(stats["has_min_max"] as? Bool == (expected.min != nil))
                }
            }
            // Low-cardinality strings are dictionary-encoded; the all-NULL column has no dictionary.
            #expect(dump.chunk(g, 1)["encodings"] as? [String] == ["PLAIN", "RLE", "RLE_DICTIONARY"])
            #expect(dump.chunk(g, 1)["has_dictionary_page"] as? Bool == true)
            #expect(dump.chunk(g, 4)["encodings"] as? [String] == ["PLAIN", "RLE"])
        }
    }

    @Test(arguments: ParquetCodec.allCases)
    func everyCodecReadsBackInPyarrowAndDuckDB(_ codec: ParquetCodec) throws {
        let folder = TempFolder()
        let rows = sampleRows(5000)
        var options = ParquetWriterOptions()
        options.codec = codec
        options.rowGroupRows = 1800
        options.pageRows = 700
        options.threads = 2
        let (path, _) = try writeParquet(rows, columns: cloudTrailColumns, options: options, in: folder)
        let names: [ParquetCodec: String] = [.none: "UNCOMPRESSED", .snappy: "SNAPPY", .gzip: "GZIP", .zstd: "ZSTD"]
        check(try ParquetDump(path), rows, rowGroupRows: 1800, codec: names[codec]!)
    }

    @Test func zeroRowsGiveAnEmptyTableWithTheSchema() throws {
        let folder = TempFolder()
        let (path, _) = try writeParquet([], columns: cloudTrailColumns, options: ParquetWriterOptions(), in: folder)
        let dump = try ParquetDump(path)
        #expect(dump.numRows == 0)
        #expect(dump.rowGroups.isEmpty)
        #expect(dump.duckdb["rows"] as? Int == 0)
        #expect(dump.schema.count == cloudTrailColumns.count)
        #expect(dump.strings("eventName") == [])
    }

    @Test func oneRow() throws {
        let folder = TempFolder()
        let rows: [[String?]] = [["2024-03-01T12:34:56Z", "RunInstances", "", nil, nil]]
        let (path, _) = try writeParquet(rows, columns: cloudTrailColumns, options: ParquetWriterOptions(), in: folder)
        check(try ParquetDump(path), rows, rowGroupRows: 1, codec: "SNAPPY")
    }

    @Test func nonISOTimesAreNullAndCounted() throws {
        let folder = TempFolder()
        let rows: [[String?]] = [
            ["2024-03-01T12:34:56Z", "a", nil, nil, nil], ["yesterday", "b", nil, nil, nil],
            ["1709296496", "c", nil, nil, nil], ["", "d", nil, nil, nil],
        ]
        let (path, writer) = try writeParquet(rows, columns: cloudTrailColumns, options: ParquetWriterOptions(), in: folder)
        #expect(writer.invalidTimestamps == 3)
        #expect(writer.firstInvalidTimestamp == "yesterday")
        let dump = try ParquetDump(path)
        #expect(dump.millis("eventTime") == [1_709_296_496_000, nil, nil, nil])
        #expect((dump.chunk(0, 0)["statistics"] as! [String: Any])["null_count"] as? Int == 3)
    }

    @Test func aMillionDistinctValuesFallBackToPlain() throws {
        let folder = TempFolder()
        let path = folder.path + "/m.parquet"
        let file = try BufferedWriter(creating: path)
        let columns = [ParquetColumn(name: "id", kind: .string)]
        let writer = try ParquetWriter(sink: file, columns: columns)
        var text = Array("v0000000".utf8)
        for i in 0..<1_000_000 {
            var n = i
            for k in stride(from: 7, through: 1, by: -1) {
                text[k] = UInt8(0x30 + n % 10)
                n /= 10
            }
            text.withUnsafeBufferPointer { writer.setValue(0, $0) }
            try writer.endRow()
        }
        try writer.finish()
        try file.flush()
        let dump = try ParquetDump(path)
        #expect(dump.numRows == 1_000_000)
        #expect(dump.duckdb["same_values_as_pyarrow"] as? Bool == true)
        #expect(dump.chunk(0, 0)["encodings"] as? [String] == ["PLAIN", "RLE"])
        #expect(dump.chunk(0, 0)["has_dictionary_page"] as? Bool == false)
        let values = dump.strings("id")
        #expect(values.count == 1_000_000)
        #expect(values.first == "v0000000")
        #expect(values.last == "v0999999")
        #expect(values.enumerated().allSatisfy { i, v in v == "v" + String(repeating: "0", count: 7 - String(i).count) + String(i) })
        let stats = dump.chunk(0, 0)["statistics"] as! [String: Any]
        #expect(stats["min"] as? String == "v0000000")
        #expect(stats["max"] as? String == "v0999999")
    }

    @Test(arguments: [ParquetCodec.none, .snappy])
    func valuesOfSeveralMegabytes(_ codec: ParquetCodec) throws {
        let folder = TempFolder()
        var rng = SplitMix64(seed: 3)
        let words = ["alpha", "βeta", "γάμμα", "中文", "🚀", "\n", "\"", "x"].map { Array($0.utf8) }
        var bigBytes: [UInt8] = []
        bigBytes.reserveCapacity(5 << 20 + 16)
        while bigBytes.count < 5 << 20 { bigBytes += words[Int(rng.next() % UInt64(words.count))] }
        let big = String(decoding: bigBytes, as: UTF8.self)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var randomBytes = [UInt8](repeating: 0, count: 3 << 20)
        for i in randomBytes.indices { randomBytes[i] = alphabet[Int(rng.next() % 36)] }
        let random = String(decoding: randomBytes, as: UTF8.self)
        let rows: [[String?]] = [
            ["2024-03-01T00:00:00Z", big, "small", nil, nil],
            ["2024-03-01T00:00:01Z", random, nil, big, nil],
            ["2024-03-01T00:00:02Z", "tiny", "", "", nil],
        ]
        var options = ParquetWriterOptions()
        options.codec = codec
        let (path, _) = try writeParquet(rows, columns: cloudTrailColumns, options: options, in: folder)
        let dump = try ParquetDump(path)
        #expect(dump.duckdb["same_values_as_pyarrow"] as? Bool == true)
        for c in 1..<cloudTrailColumns.count {
            #expect(dump.strings(cloudTrailColumns[c].name) == rows.map { $0[c] }, "column \(c)")
        }
        // Statistics larger than 4 KiB are left out, the null count stays.
        let stats = dump.chunk(0, 1)["statistics"] as! [String: Any]
        #expect(stats["has_min_max"] as? Bool == false)
        #expect(stats["null_count"] as? Int == 0)
        #expect((dump.chunk(0, 2)["statistics"] as! [String: Any])["max"] as? String == "small")
    }
}

@Suite(.enabled(if: parquetReadersAvailable || isCI, "pyarrow and duckdb are not installed: run scripts/install-deps.sh"))
struct ParquetEncodingTests {
    /// 70,000 distinct keys in a dictionary: 17-bit indices, bit-packed across byte boundaries.
    @Test func wideDictionaryIndices() throws {
        let codec = ParquetCodec.snappy
        let folder = TempFolder()
        var rng = SplitMix64(seed: 11)
        var rows: [[String?]] = []
        for i in 0..<200_000 {
            let key = i < 70_000 ? i : Int(rng.next() % 70_000)
            rows.append([i % 1000 == 7 ? nil : "k\(key)"])
        }
        var options = ParquetWriterOptions()
        options.codec = codec
        let (path, _) = try writeParquet(rows, columns: [ParquetColumn(name: "k", kind: .string)], options: options, in: folder)
        let dump = try ParquetDump(path)
        #expect(dump.chunk(0, 0)["encodings"] as? [String] == ["PLAIN", "RLE", "RLE_DICTIONARY"])
        #expect(dump.strings("k") == rows.map { $0[0] })
        #expect(dump.duckdb["same_values_as_pyarrow"] as? Bool == true)
    }

    /// Row groups close on buffered bytes too, also when single values are large.
    @Test func rowGroupsAreBoundedByBytes() throws {
        let folder = TempFolder()
        var rows: [[String?]] = []
        for i in 0..<3000 { rows.append(["\(i)" + String(repeating: "x", count: i % 7 == 0 ? 40_000 : 100)]) }
        var options = ParquetWriterOptions()
        options.rowGroupBytes = 1 << 20
        let (path, writer) = try writeParquet(rows, columns: [ParquetColumn(name: "v", kind: .string)], options: options, in: folder)
        let dump = try ParquetDump(path)
        // About 17.5 MB of distinct values in groups of at most about 1 MiB.
        #expect(writer.rowGroupCount >= 15)
        #expect(writer.rowGroupCount <= 20)
        #expect(dump.rowGroups.count == writer.rowGroupCount)
        #expect(dump.strings("v") == rows.map { $0[0] })
    }

    /// The Snappy compressor against pyarrow's Snappy decompressor, on inputs that reach every
    /// element kind: long literals, 1- and 2-byte-offset copies, long matches, fragment edges.
    @Test func snappyBlocksDecompressWithPyarrow() throws {
        let folder = TempFolder()
        var rng = SplitMix64(seed: 5)
        var inputs: [[UInt8]] = [[], [7], Array("abcabcabcabcabcabcabcabc".utf8), Array(repeating: 0, count: 300_000)]
        inputs.append((0..<200_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        var mixed: [UInt8] = []
        while mixed.count < 1_000_000 {
            if rng.next() % 3 == 0 {
                mixed += (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else if mixed.count > 10 {
                let start = Int(rng.next() % UInt64(mixed.count))
                let length = min(Int(rng.next() % 2000) + 4, mixed.count - start)
                mixed += mixed[start..<(start + length)]
            } else {
                mixed += Array("seed".utf8)
            }
        }
        inputs.append(mixed)
        inputs.append(Array(mixed.prefix(65_536 + 17)))
        let compressor = SnappyCompressor()
        var script = "import pyarrow as pa, sys\nok = True\n"
        for (n, input) in inputs.enumerated() {
            let out = ByteBuffer()
            input.withUnsafeBufferPointer { compressor.compress($0, into: out) }
            #expect(out.count <= SnappyCompressor.maxCompressedLength(input.count))
            folder.write("in\(n)", input)
            folder.write("out\(n)", out.array)
            script += """
                raw = open('\(folder.path)/in\(n)', 'rb').read()
                got = pa.decompress(open('\(folder.path)/out\(n)', 'rb').read(), len(raw), codec='snappy').to_pybytes()
                ok = ok and got == raw
                print(\(n), len(raw), got == raw)

                """
        }
        script += "sys.exit(0 if ok else 1)\n"
        let result = try runCLIThrough("/usr/bin/env", ["python3", "-c", script])
        #expect(result.status == 0, "\(String(decoding: result.stdout, as: UTF8.self)) \(result.stderr)")
        // Compressible input must actually shrink.
        let zeros = ByteBuffer()
        inputs[3].withUnsafeBufferPointer { compressor.compress($0, into: zeros) }
        #expect(zeros.count < 20_000)
    }
}

@Suite(.enabled(if: parquetReadersAvailable || isCI, "pyarrow and duckdb are not installed: run scripts/install-deps.sh"))
struct ParquetRandomTablesTests {
    /// Seeded random tables with tiny limits, so dictionaries fall back to PLAIN in the middle of
    /// chunks, pages are small and many, NULL runs cross page edges, and values mix ASCII,
    /// multi-byte text, empty strings and control bytes.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomTablesWithTinyLimits(_ seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let alphabet = ["a", "b", "z", "é", "中", "🚀", "\u{0}", "\u{1}", "\t", " ", "~", "\u{7f}"]
        let columns = [ParquetColumn(name: "t", kind: .timestampMillis)]
            + (0..<4).map { ParquetColumn(name: "c\($0)", kind: .string) }
        let rowCount = 3000 + Int(rng.next() % 2000)
        var rows: [[String?]] = []
        var nullRun = 0
        for r in 0..<rowCount {
            var row: [String?] = [rng.next() % 9 == 0 ? nil : String(format: "2024-03-%02dT%02d:%02d:%02dZ", 1 + r % 28, Int(rng.next() % 24), Int(rng.next() % 60), Int(rng.next() % 60))]
            for c in 0..<4 {
                if nullRun > 0 || rng.next() % UInt64(4 + c * 3) == 0 {
                    if nullRun == 0 && rng.next() % 5 == 0 { nullRun = Int(rng.next() % 40) }
                    nullRun = max(0, nullRun - 1)
                    row.append(nil)
                    continue
                }
                let distinct = [3, 50, 400, 100_000][c]
                var text = "\(rng.next() % UInt64(distinct))"
                for _ in 0..<(c == 0 ? 0 : Int(rng.next() % 6)) { text += alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                row.append(rng.next() % 23 == 0 ? "" : text)
            }
            rows.append(row)
        }
        var options = ParquetWriterOptions()
        options.codec = ParquetCodec.allCases[Int(seed) % 4]
        options.dictionaryLimit = 2048
        options.pageRows = 97
        options.pageBytes = 1500
        options.rowGroupRows = 1100
        options.threads = 2
        let folder = TempFolder()
        let (path, _) = try writeParquet(rows, columns: columns, options: options, in: folder)
        let dump = try ParquetDump(path)
        #expect(dump.duckdb["same_values_as_pyarrow"] as? Bool == true)
        #expect(dump.millis("t") == rows.map { $0[0].flatMap { Array($0.utf8).withUnsafeBufferPointer { ISOTimestamp.epochMillis($0) } } })
        for c in 0..<4 { #expect(dump.strings("c\(c)") == rows.map { $0[c + 1] }, "column c\(c)") }
        // The 3-value column keeps its dictionary; the 100,000-value one falls back to PLAIN.
        #expect(dump.chunk(0, 1)["has_dictionary_page"] as? Bool == true)
        #expect(dump.chunk(0, 4)["has_dictionary_page"] as? Bool == false)
        for g in 0..<dump.rowGroups.count {
            let group = Array(rows[(g * 1100)..<min((g + 1) * 1100, rows.count)])
            for c in 1...4 {
                let stats = dump.chunk(g, c)["statistics"] as! [String: Any]
                let expected = expectedStringStats(group.map { $0[c] })
                #expect(stats["min"] as? String == expected.min)
                #expect(stats["max"] as? String == expected.max)
                #expect(stats["null_count"] as? Int == expected.nulls)
            }
        }
    }
}

/// True when PySpark and a Java runtime are installed. They are test-only dependencies that
/// scripts/install-deps.sh installs; under CI=true the Spark suites always run (and fail if they
/// are missing), so a missing install step cannot pass silently.
/// Under a sanitizer the Spark suites are skipped (they test the JVM and Python side; the
/// executable they drive is covered by the CLI tests there) and run in the normal test pass.
let sparkAvailable: Bool = {
    if runningUnderSanitizer { return false }
    if ProcessInfo.processInfo.environment["CI"] == "true" { return true }
    return (try? runCLIThrough(
        "/usr/bin/env", ["python3", "-c", "import pyspark, pyarrow, shutil, sys; sys.exit(0 if shutil.which('java') else 1)"]
    ).status) == 0
}()

/// One Spark JVM at a time: two local-mode drivers on 2 cores starve each other.
let sparkLock = NSLock()

@Suite(.enabled(if: sparkAvailable, "PySpark or Java is not installed (or a sanitizer build); Spark is checked only where it is"))
struct ParquetSparkTests {
    @Test func sparkReadsEveryCodecLikePyarrow() throws {
        let folder = TempFolder()
        let rows = sampleRows(3000, seed: 9)
        var paths: [String] = []
        for codec in ParquetCodec.allCases {
            var options = ParquetWriterOptions()
            options.codec = codec
            options.rowGroupRows = 1000
            paths.append(try writeParquet(rows, columns: cloudTrailColumns, options: options, in: folder, name: "\(codec).parquet").path)
        }
        let result = try sparkLock.withLock {
            try runCLIThrough("/usr/bin/env", ["python3", scriptsPath + "/parquet_spark_check.py"] + paths)
        }
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: [String: Any]]
        for path in paths {
            #expect(report[path]?["rows"] as? Int == rows.count)
            #expect(report[path]?["same_values_as_pyarrow"] as? Bool == true)
            #expect((report[path]?["schema"] as? String)?.hasPrefix("struct<eventTime:timestamp,eventName:string,") == true)
        }
    }
}
