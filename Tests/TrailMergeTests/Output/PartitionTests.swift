import Foundation
import Testing
@testable import TrailMerge

/// Hive's FileUtils.escapePathName, written from its character list: %XX (upper case) for the
/// controls, DEL and "#%'*/:=?\{[]^; the test's own copy, not the library's.
private func hiveEscape(_ value: [UInt8]) -> String {
    guard !value.isEmpty else { return "__HIVE_DEFAULT_PARTITION__" }
    let special = Set("\"#%'*/:=?\\{[]^".utf8)
    var out = ""
    for b in value {
        if b < 0x20 || b == 0x7F || special.contains(b) {
            out += String(format: "%%%02X", b)
        } else {
            out += String(decoding: [b], as: UTF8.self)
        }
    }
    return out
}

/// Files under `folder` (excluding hidden ones), in folder order.
private func partitionFiles(_ folder: String) -> [String] {
    OracleSelection.walk(folder).filter { !($0 as NSString).lastPathComponent.hasPrefix(".") }
}

private func partitionOptions(_ root: String, _ specs: [String], format: OutputFormat = .tsv, compression: Compression = .gzip) throws -> ProcessOptions {
    var o = options([root], fields: selectionFields.joined(separator: ","))
    o.partitionBy = try specs.map { try PartitionSpec($0) }
    o.format = format
    o.compression = compression
    o.memoryBudget = 16 << 10
    o.threads = 2
    o.chunkSize = 4096
    return o
}

private func python(_ script: String) throws -> [String: Any] {
    let result = try runCLIThrough("/usr/bin/env", ["python3", "-c", script])
    guard result.status == 0 else { throw OracleError(description: "python3: \(result.stderr)") }
    return try JSONSerialization.jsonObject(with: Data(result.stdout)) as! [String: Any]
}

@Suite struct PartitionTests {
    @Test(arguments: [Compression.gzip, .none])
    func dayPartitionsConcatenatedInFolderOrderEqualTheUnpartitionedOutput(_ compression: Compression) throws {
        let folder = TempFolder()
        // Every record has an eventTime: rows without one would sort first unpartitioned, but their
        // folder (dt=__HIVE_DEFAULT_PARTITION__) sorts after the dates.
        let root = writeSelectionTree(folder, seed: 31, missingTimes: false)
        var plain = options([root], fields: selectionFields.joined(separator: ","))
        plain.memoryBudget = 16 << 10
        let whole = try runToBytes(plain, in: folder).bytes
        var o = try partitionOptions(root, ["dt=eventTime:10"], compression: compression)
        o.output = folder.path + "/out"
        o.tempDirectory = folder.path
        let stats = try runProcess(o)
        let files = partitionFiles(folder.path + "/out")
        var joined: [UInt8] = []
        for file in files { joined += try OracleTable.decodedContents(file) }
        #expect(joined == whole)
        #expect(stats.outputFiles == files.count)
        let ext = compression == .gzip ? "tsv.gz" : "tsv"
        // Folder names from the oracle's rows: the first 10 characters of eventTime.
        let days = Set(try OracleSelection().process(root: root, fields: selectionFields).rows.map { hiveEscape(Array($0[0].prefix(10))) })
        #expect(files.map { String($0.dropFirst(folder.path.count + 5)) } == days.sorted().map { "dt=\($0)/part-00000.\(ext)" })
    }

    /// With a second partition after dt, concatenation cannot give the unpartitioned order (a day's
    /// regions are separate files); it gives that order grouped stably by day, then region.
    @Test func dayThenRegionConcatenatedIsTheUnpartitionedOutputGroupedByDayAndRegion() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 33, missingTimes: false)
        var plain = options([root], fields: selectionFields.joined(separator: ","))
        plain.memoryBudget = 16 << 10
        let whole = try runToBytes(plain, in: folder).bytes
        var o = try partitionOptions(root, ["dt=eventTime:10", "region=awsRegion"], compression: .gzip)
        o.output = folder.path + "/out"
        o.tempDirectory = folder.path
        _ = try runProcess(o)
        var joined: [UInt8] = []
        for file in partitionFiles(folder.path + "/out") { joined += try OracleTable.decodedContents(file) }
        let lines = whole.split(separator: 10).map { Array($0) }
        let group = { (line: [UInt8]) -> String in
            let columns = line.split(separator: 9, omittingEmptySubsequences: false)
            return "dt=\(hiveEscape(Array(columns[0].prefix(10))))/region=\(hiveEscape(Array(columns[2])))"
        }
        // A stable sort by folder name (Swift's sort is not documented stable: sort by index too).
        let grouped = lines.enumerated().sorted { (group($0.element), $0.offset) < (group($1.element), $1.offset) }
        #expect(textDifference(joined, grouped.flatMap { $0.element + [10] }) == nil)
        #expect(Set(lines.map(group)).count > 10)
    }

    @Test func nestedPartitionsHoldTheirOwnRowsSortedWithHiveEscaping() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 32)
        var o = try partitionOptions(root, ["region=awsRegion", "user=userIdentity.userName:6"], compression: .none)
        o.output = folder.path + "/out"
        o.tempDirectory = folder.path
        _ = try runProcess(o)
        let expected = try OracleSelection().process(root: root, fields: selectionFields).rows
        var byFolder: [String: [[[UInt8]]]] = [:]
        for row in expected {
            let user = String(decoding: row[3], as: UTF8.self).prefix(6)
            byFolder["region=\(hiveEscape(row[2]))/user=\(hiveEscape(Array(user.utf8)))", default: []].append(row)
        }
        #expect(byFolder.keys.contains("region=us-east-1/user=carol%2F"))
        #expect(byFolder.keys.contains { $0.hasSuffix("user=__HIVE_DEFAULT_PARTITION__") })
        let files = partitionFiles(folder.path + "/out")
        #expect(files.map { String($0.dropFirst(folder.path.count + 5)) } == byFolder.keys.sorted().map { $0 + "/part-00000.tsv" })
        for (name, rows) in byFolder {
            #expect(try OracleTable.decodedContents(folder.path + "/out/" + name + "/part-00000.tsv") == OracleTable.tsv(rows), "\(name)")
        }
    }

    @Test(.enabled(if: parquetReadersAvailable || isCI, "duckdb is not installed"))
    func duckDBReadsParquetAndCSVPartitionsWithHivePartitioning() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 33)
        let expected = try OracleSelection().process(root: root, fields: selectionFields).rows
        let tuples = expected.map { row in
            [String(decoding: row[1], as: UTF8.self), String(decoding: row[2], as: UTF8.self),
             row[0].isEmpty ? "<NULL>" : String(decoding: row[0].prefix(10), as: UTF8.self), String(decoding: row[2], as: UTF8.self)]
        }.sorted { $0.lexicographicallyPrecedes($1) }
        for format in [OutputFormat.parquet, .csv] {
            var o = try partitionOptions(root, ["dt=eventTime:10", "region=awsRegion"], format: format, compression: format == .parquet ? .none : .gzip)
            o.output = folder.path + "/out-\(format.rawValue)"
            o.tempDirectory = folder.path
            _ = try runProcess(o)
            let source = format == .parquet
                ? "read_parquet('\(o.output)/**/*.parquet', hive_partitioning=true, hive_types_autocast=false)"
                : "read_csv('\(o.output)/**/*.csv.gz', header=false, all_varchar=true, hive_partitioning=true, hive_types_autocast=false, names=['eventTime','eventName','awsRegion','userName','instanceId'])"
            let json = try python("""
                import duckdb, json
                rows = duckdb.sql("select eventName, awsRegion, dt, region from \(source)").fetchall()
                # DuckDB reads __HIVE_DEFAULT_PARTITION__ as NULL.
                print(json.dumps({"rows": sorted([["<NULL>" if v is None else v for v in r] for r in rows])}))
                """)
            let got = (json["rows"] as! [[String]])
            #expect(got == tuples, "\(format)")
        }
    }

    @Test func allPartitionsCommitTogetherOrNotAtAll() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 34, events: 300)
        var o = try partitionOptions(root, ["dt=eventTime:10", "region=awsRegion"])
        o.output = folder.path + "/out"
        o.tempDirectory = folder.path + "/tmp"
        o.statsPath = folder.path + "/stats.json"
        try FileManager.default.createDirectory(atPath: o.tempDirectory, withIntermediateDirectories: true)
        let before = folder.listing()
        for failing in [0, 5, 17] {
            o.faults = FaultPlan(failRename: failing)
            let error = trailMergeError { _ = try runProcess(o) }
            #expect(error?.description.contains("no output was changed") == true, "\(String(describing: error))")
            #expect(folder.listing() == before, "rename \(failing) failed")
        }
        o.faults = FaultPlan()
        let stats = try runProcess(o)
        #expect(stats.outputFiles > 17)
        #expect(FileManager.default.fileExists(atPath: o.statsPath!))
        let left = folder.listing().filter { $0.contains(".tmp-") || $0.contains(".trailmerge-run") }
        #expect(left.isEmpty, "\(left)")
        // A second run into the same, now full, folder is refused before anything is read.
        let again = trailMergeError { _ = try runProcess(o) }
        #expect(again?.description.contains("the partition folder is not empty") == true)
    }

    @Test func cliNamesFilesByFormatAndChecksSpecs() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 35, events: 100)
        let out = folder.path + "/out"
        let result = try runCLI(["process", root, "-o", out + "/", "--partition-by", "dt=eventTime:10", "--fields", selectionFields.joined(separator: ",")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!partitionFiles(out).isEmpty && partitionFiles(out).allSatisfy { $0.hasSuffix("/part-00000.tsv.gz") })
        #expect(folder.listing().allSatisfy { !$0.contains(".trailmerge-run") && !$0.contains(".tmp-") })
        for (spec, message) in [
            ("dt", "is not NAME=FIELD[:N]"), ("dt=eventTime:0", "is not a number of characters"),
            ("d/t=eventTime", "must be letters, digits and _"), ("dt=eventTme:10", "did you mean 'eventTime'?"),
        ] {
            let bad = try runCLI(["process", root, "-o", folder.path + "/bad", "--partition-by", spec])
            #expect(bad.status == 2 && bad.stderr.contains(message), "\(spec): \(bad.stderr)")
        }
        let stdout = try runCLI(["process", root, "-o", "-", "--partition-by", "dt=eventTime:10"])
        #expect(stdout.status == 2 && stdout.stderr.contains("give it with -o FOLDER"))
    }
}
