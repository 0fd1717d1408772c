import Foundation
import Testing
@testable import TrailMerge

/// Records where NULL, missing and "" must stay apart, exploded arrays with missing sub-paths,
/// escapes that produce 0x00/0x01 bytes, non-ASCII text and one eventTime that is not ISO-8601.
private let nullCases = [
    #"{"Records":["#,
    #"{"eventTime":"2024-03-01T00:00:01Z","eventName":"A","userIdentity":{"userName":null},"sourceIPAddress":""}"#, ",",
    #"{"eventTime":"2024-03-01T00:00:01Z","eventName":"A","userIdentity":{"userName":""}}"#, ",",
    #"{"eventTime":"2024-03-01T00:00:01Z","eventName":"A","userIdentity":null,"sourceIPAddress":null}"#, ",",
    #"{"eventTime":"2024-03-01T00:00:01Z","eventName":"A","userIdentity":{"userName":"\u0000x"}}"#, ",",
    #"{"eventTime":"2024-03-01T00:00:01Z","eventName":"A","userIdentity":{"userName":"\u0001"}}"#, ",",
    #"{"eventTime":"2024-03-01T00:00:02.250Z","eventName":"é中","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-1"},{},{"instanceId":null},{"instanceId":""}]}}}"#, ",",
    #"{"eventTime":"2024-03-01T00:00:03Z","eventName":"B","requestParameters":{"instancesSet":{"items":[]}}}"#, ",",
    #"{"eventTime":"not a time","eventName":"C","awsRegion":{"nested":[1, true, null]}}"#, ",",
    #"{"eventName":"D","eventTime":null}"#,
    "]}",
].joined()

/// The oracle's rows with NULL kept apart (nil), in trailmerge's order: byte-wise, where NULL sorts
/// after "" and before every other value.
private func oracleRows(_ files: [String], fields: [String]) throws -> [[[UInt8]?]] {
    var rows: [[[UInt8]?]] = []
    for file in files {
        for document in try OracleParser.documents(try OracleTable.decodedContents(file)) {
            guard case .array(let records)? = document.member("Records") else { continue }
            for record in records {
                var base: [[UInt8]?] = []
                var arrayColumn: Int?
                for (c, field) in fields.enumerated() {
                    if field.contains("[]") {
                        arrayColumn = c
                        base.append(nil)
                        continue
                    }
                    let value = OracleTable.lookup(record, field.split(separator: ".").map(String.init))
                    if case .null? = value { base.append(nil) } else { base.append(value.map { OracleTable.text($0) }) }
                }
                guard let a = arrayColumn else {
                    rows.append(base)
                    continue
                }
                let parts = fields[a].components(separatedBy: "[]")
                let arrayPath = parts[0].split(separator: ".").map(String.init)
                let elementPath = parts[1].split(separator: ".").map(String.init)
                guard case .array(let items)? = OracleTable.lookup(record, arrayPath), !items.isEmpty else {
                    rows.append(base)
                    continue
                }
                for item in items {
                    var row = base
                    let value = OracleTable.lookup(item, elementPath)
                    if case .null? = value { row[a] = nil } else { row[a] = value.map { OracleTable.text($0) } }
                    rows.append(row)
                }
            }
        }
    }
    func key(_ v: [UInt8]?) -> [UInt8] {
        guard let v else { return [1] }
        return v.flatMap { $0 == 0 ? [1, 1] : $0 == 1 ? [1, 2] : [$0] }
    }
    let order = [0, 1] + Array(0..<fields.count)
    return rows.sorted { a, b in
        for c in order where a[c] != b[c] { return key(a[c]).lexicographicallyPrecedes(key(b[c])) }
        return false
    }
}

private func millis(_ text: [UInt8]?) -> Int64? {
    guard let text else { return nil }
    return text.withUnsafeBufferPointer { ISOTimestamp.epochMillis($0) }
}

@Suite(.enabled(if: parquetReadersAvailable || isCI, "pyarrow and duckdb are not installed: run scripts/install-deps.sh"))
struct ParquetProcessTests {
    private func checkAgainstOracle(_ dump: ParquetDump, _ expected: [[[UInt8]?]], fields: [String]) {
        #expect(dump.numRows == expected.count)
        #expect(dump.duckdb["same_values_as_pyarrow"] as? Bool == true)
        #expect(dump.millis("eventTime") == expected.map { millis($0[0]) })
        for c in 1..<fields.count {
            let want = expected.map { $0[c].map { String(decoding: $0, as: UTF8.self) } }
            #expect(dump.strings(fields[c]) == want, "column \(fields[c])")
        }
    }

    @Test(arguments: [(1 << 30, 2), (16 << 10, 1), (16 << 10, 2)])
    func nullsMissingAndEmptyStayApartThroughSortAndSpills(_ memory: Int, _ threads: Int) throws {
        let folder = TempFolder()
        let file = folder.write("in/nulls.json", nullCases)
        let sample = fixturesPath + "/sample"
        var o = options([file, sample])
        o.format = .parquet
        o.memoryBudget = memory
        o.threads = threads
        o.chunkSize = 4096
        o.parquet.rowGroupRows = 500
        let events = Locked<[String]>([])
        o.output = folder.path + "/out.parquet"
        o.tempDirectory = folder.path
        let stats = try runProcess(o) { event in
            if case .warning(let text) = event { events.withLock { $0.append(text) } }
        }
        let fields = o.fields.map(\.text)
        let expected = try oracleRows(
            [file] + (try SourceWalker(pattern: o.sourcePattern).walk([sample]).map(\.path)), fields: fields)
        let dump = try ParquetDump(o.output)
        checkAgainstOracle(dump, expected, fields: fields)
        #expect(dump.rowGroups.count == (expected.count + 499) / 500)
        #expect(stats.rows == expected.count)
        // The one non-ISO time is NULL, counted and named in a warning.
        #expect(events.withLock { $0 }.contains { $0.hasPrefix("1 eventTime value is not an ISO-8601 UTC time and was written as NULL") && $0.contains("'not a time'") })
        // The hand-written NULL/"" cases, exactly.
        let users = dump.strings("userIdentity.userName")
        let names = dump.strings("eventName")
        let aUsers = zip(names, users).filter { $0.0 == "A" }.map(\.1)
        #expect(aUsers == ["", nil, nil, "\u{0}x", "\u{1}"])
        let instances = zip(names, dump.strings(fields[6])).filter { $0.0 == "é中" }.map(\.1)
        #expect(instances == ["", nil, nil, "i-1"])
        if memory < 1 << 20 { #expect(stats.spilledRuns > 0) }
        // Sorted output: row group eventTime statistics do not overlap.
        var previousMax = Int64.min
        for g in 0..<dump.rowGroups.count {
            let s = dump.chunk(g, 0)["statistics"] as! [String: Any]
            guard let lo = (s["min"] as? NSNumber)?.int64Value, let hi = (s["max"] as? NSNumber)?.int64Value else { continue }
            #expect(lo >= previousMax)
            previousMax = hi
        }
    }

    @Test func textFormatsStillWriteNullAsEmpty() throws {
        let folder = TempFolder()
        let file = folder.write("nulls.json", nullCases)
        let (bytes, _) = try runToBytes(options([file]), in: folder, name: "out.tsv")
        let expected = try OracleTable.process(files: [file], fields: ProcessOptions.defaultFieldList.split(separator: ",").map(String.init))
        #expect(bytes == OracleTable.tsv(expected))
    }

    @Test func cliWritesParquetFromTheNameAndChecksOptions() throws {
        let folder = TempFolder()
        let sample = fixturesPath + "/sample"
        let out = folder.path + "/events.parquet"
        let run = try runCLI(["process", sample, "-o", out, "--parquet-codec", "zstd", "--row-group-size", "400", "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let dump = try ParquetDump(out)
        #expect(dump.numRows == 1485)
        #expect(dump.rowGroups.count == 4)
        #expect(dump.chunk(0, 1)["compression"] as? String == "ZSTD")
        let tsv = try runCLI(["process", sample, "-o", "-", "--quiet"])
        let tsvEventNames = String(decoding: tsv.stdout, as: UTF8.self).split(separator: "\n").map { String($0.split(separator: "\t", omittingEmptySubsequences: false)[1]) }
        #expect(dump.strings("eventName") == tsvEventNames)

        let gz = try runCLI(["process", sample, "-o", folder.path + "/x.parquet.gz"])
        #expect(gz.status == 2)
        #expect(gz.stderr.contains("--parquet-codec"))
        let bad = try runCLI(["process", sample, "-o", out, "--parquet-codec", "lz4"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--parquet-codec 'lz4' is not one of"))
        let small = try runCLI(["process", sample, "-o", out, "--row-group-size", "1KiB"])
        #expect(small.status == 2)
    }
}
