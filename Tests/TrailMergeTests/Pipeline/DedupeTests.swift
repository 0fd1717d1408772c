import Foundation
import Testing
@testable import TrailMerge

/// A tree with duplicates: some files copied whole under a second region (overlapping trails),
/// some rewritten with the same eventIDs but another awsRegion (copies that are not identical, so
/// which one is kept matters), and some with the same eventIDs but another eventTime or eventName,
/// the sort columns (so the copy kept is sometimes the rewritten one, far from the original in
/// sort order, and sometimes the original).
private func treeWithDuplicates(_ folder: TempFolder, seed: UInt64) throws -> String {
    let root = writeSelectionTree(folder, seed: seed, events: 500)
    var random = TestRandom(state: seed ^ 0xABCDEF)
    for (n, file) in OracleSelection.walk(root).enumerated() {
        switch random.below(5) {
        case 0:
            let copy = file.replacingOccurrences(of: "/us-east-1/", with: "/us-west-2/")
            try FileManager.default.createDirectory(atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: file, toPath: copy)
        case 1:
            let text = String(decoding: try OracleTable.decodedContents(file), as: UTF8.self)
            let altered = text.replacingOccurrences(of: #""awsRegion":"us-east-1""#, with: #""awsRegion":"aa-alt-\#(n % 3)""#)
            folder.write(String(file.dropFirst(folder.path.count + 1)).replacingOccurrences(of: ".json.gz", with: "-again.json"), altered)
        case 2:
            let text = String(decoding: try OracleTable.decodedContents(file), as: UTF8.self)
            let altered = text
                .replacingOccurrences(of: #""eventTime":"2024-02-2"#, with: #""eventTime":"2023-12-2"#)
                .replacingOccurrences(of: #""eventName":"RunInstances""#, with: #""eventName":"ZzRunInstances""#)
            folder.write(String(file.dropFirst(folder.path.count + 1)).replacingOccurrences(of: ".json.gz", with: "-moved.json"), altered)
        default:
            break
        }
    }
    return root
}

private func dedupeOptions(_ inputs: [String], memory: Int, threads: Int) -> ProcessOptions {
    var o = options(inputs, fields: selectionFields.joined(separator: ","))
    o.dedupeKey = try! FieldPath("eventID")
    o.memoryBudget = memory
    o.threads = threads
    o.chunkSize = 2048
    return o
}

@Suite struct DedupeTests {
    @Test(arguments: [(16 << 10, 1), (16 << 10, 2), (1 << 30, 2)])
    func aTreeAndItsCopyGiveTheTreesRowsOnce(memory: Int, threads: Int) throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 99, events: 500)
        try FileManager.default.copyItem(atPath: root, toPath: folder.path + "/copy")
        var plain = options([root], fields: selectionFields.joined(separator: ","))
        plain.threads = threads
        let once = try runToBytes(plain, in: folder, name: "once.tsv")
        var o = dedupeOptions([root, folder.path + "/copy"], memory: memory, threads: threads)
        o.mergeFanIn = 2
        let (bytes, stats) = try runToBytes(o, in: folder, name: "deduped.tsv")
        #expect(textDifference(bytes, once.bytes) == nil)
        #expect(stats.duplicates == once.stats.records)
        #expect(stats.rows == once.stats.rows)
        if memory < 1 << 20 { #expect(stats.spilledRuns > 0 && stats.mergePasses > 1, "\(stats.spilledRuns) runs, \(stats.mergePasses) passes") }
    }

    @Test(arguments: [(UInt64(1), 16 << 10, 2), (UInt64(2), 1 << 30, 1), (UInt64(3), 24 << 10, 2)])
    func duplicatesWithinATreeMatchTheOracle(seed: UInt64, memory: Int, threads: Int) throws {
        let folder = TempFolder()
        let root = try treeWithDuplicates(folder, seed: seed)
        var rule = OracleSelection()
        rule.dedupeKey = "eventID"
        let expected = try rule.process(root: root, fields: selectionFields)
        #expect(expected.duplicates > 0)
        // Copies that differ in the sort columns: the one that sorts first is kept, so some moved
        // copies (eventTime in 2023) replace their originals and no renamed one (sorting after
        // its original) survives.
        let kept = expected.rows.map { (time: String(decoding: $0[0], as: UTF8.self), name: String(decoding: $0[1], as: UTF8.self)) }
        #expect(kept.contains { $0.time.hasPrefix("2023-12-2") })
        #expect(!kept.contains { $0.name == "ZzRunInstances" && !$0.time.hasPrefix("2023-") })
        #expect(kept.contains { $0.name == "RunInstances" })
        var o = dedupeOptions([root], memory: memory, threads: threads)
        o.mergeFanIn = 3
        let (bytes, stats) = try runToBytes(o, in: folder)
        #expect(textDifference(bytes, OracleTable.tsv(expected.rows)) == nil)
        #expect(stats.duplicates == expected.duplicates)
        #expect(stats.rows == expected.rows.count)
    }

    @Test func anotherKeyAndTheOtherSelectionsCombine() throws {
        let folder = TempFolder()
        let root = try treeWithDuplicates(folder, seed: 8)
        var rule = OracleSelection()
        rule.dedupeKey = "userIdentity.userName"
        rule.clauses = ["readOnly=true"]
        rule.since = OracleSelection.date("2024-02-29T00:00:00Z")
        let expected = try rule.process(root: root, fields: selectionFields)
        let result = try runCLI([
            "process", root, "-o", "-", "--fields", selectionFields.joined(separator: ","), "--dedupe", "userIdentity.userName",
            "--where", "readOnly=true", "--since", "2024-02-29", "--memory", "16KiB", "--threads", "2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(textDifference(result.stdout, OracleTable.tsv(expected.rows)) == nil)
        #expect(expected.duplicates > 0)
    }

    @Test(.enabled(if: parquetReadersAvailable || isCI, "pyarrow and duckdb are not installed"))
    func parquetOutputIsDedupedToo() throws {
        let folder = TempFolder()
        let root = try treeWithDuplicates(folder, seed: 4)
        var o = dedupeOptions([root], memory: 16 << 10, threads: 2)
        o.format = .parquet
        let parquet = try runToBytes(o, in: folder, name: "out.parquet")
        var rule = OracleSelection()
        rule.dedupeKey = "eventID"
        let expected = try rule.process(root: root, fields: selectionFields)
        let dump = try ParquetDump(folder.path + "/out.parquet")
        #expect(dump.numRows == expected.rows.count)
        // Parquet keeps NULL apart from "" (and sorts it after ""), so only the columns before the
        // first nullable one keep the oracle's order; the others are compared as multisets.
        for (c, name) in [(1, "eventName"), (2, "awsRegion")] {
            #expect(dump.strings(name).map { Array(($0 ?? "").utf8) } == expected.rows.map { $0[c] }, "\(name)")
        }
        for (c, name) in [(3, selectionFields[3]), (4, selectionFields[4])] {
            let values = dump.strings(name).map { Array(($0 ?? "").utf8) }
            #expect(values.sorted { $0.lexicographicallyPrecedes($1) } == expected.rows.map { $0[c] }.sorted { $0.lexicographicallyPrecedes($1) }, "\(name)")
        }
        #expect(parquet.stats.duplicates == expected.duplicates)
    }

    @Test func cliTakesAnOptionalKeyAndRefusesWhatCannotWork() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 12, events: 100)
        try FileManager.default.copyItem(atPath: root, toPath: folder.path + "/copy")
        let fields = selectionFields.joined(separator: ",")
        let plain = try runCLI(["process", root, "-o", "-", "--fields", fields])
        // A flag before an INPUT: the INPUT is not taken for a key.
        let deduped = try runCLI(["process", "--dedupe", root, folder.path + "/copy", "-o", "-", "--fields", fields])
        #expect(deduped.status == 0, "\(deduped.stderr)")
        #expect(textDifference(deduped.stdout, plain.stdout) == nil)
        // Unsorted: the first copy in output order (one thread: read order) is kept.
        let unsortedPlain = try runCLI(["process", root, "-o", "-", "--fields", fields, "--sort-by", "none", "--threads", "1"])
        let unsorted = try runCLI([
            "process", root, folder.path + "/copy", "-o", "-", "--fields", fields, "--dedupe", "--sort-by", "none", "--threads", "1",
        ])
        #expect(unsorted.status == 0, "\(unsorted.stderr)")
        #expect(textDifference(unsorted.stdout, unsortedPlain.stdout) == nil)
        #expect(!unsorted.stdout.isEmpty)
        let array = try runCLI(["process", root, "-o", "-", "--dedupe=resources[].ARN"])
        #expect(array.status == 2)
        #expect(array.stderr.contains("--dedupe 'resources[].ARN'"))
    }
}
