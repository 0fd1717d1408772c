import Foundation
import Testing
@testable import TrailMerge

private func rangeOptions(_ root: String, since: String?, until: String?, delay: Int64 = TimeRange.day, memory: Int = 1 << 30, threads: Int = 2) -> ProcessOptions {
    var o = options([root], fields: selectionFields.joined(separator: ","))
    o.timeRange = TimeRange(since: since.map(testMillis), until: until.map(testMillis), maxDeliveryDelay: delay)
    o.memoryBudget = memory
    o.threads = threads
    o.chunkSize = 4096
    return o
}

private func oracle(since: String?, until: String?, delay: TimeInterval = 86_400) -> OracleSelection {
    var s = OracleSelection()
    s.since = since.map { OracleSelection.date($0)! }
    s.until = until.map { OracleSelection.date($0)! }
    s.delay = delay
    return s
}

@Suite struct TimeRangeTests {
    /// Folders the rule leaves out hold corrupt files: opening any one fails the run.
    @Test(arguments: [
        ("2024-03-02T00:00:00Z", "2024-03-03T12:00:00Z", Int64(86_400_000)),
        ("2024-02-29T23:59:59.999Z", "2024-03-01T00:00:00Z", Int64(86_400_000)),
        ("2024-03-01T00:00:00.001Z", "2024-03-02T00:00:00.000Z", Int64(0)),
        ("2024-03-04T06:00:00Z", "2024-03-04T06:00:01Z", Int64(36 * 3_600_000)),
    ])
    func foldersThatCannotHoldAMatchAreNeverOpened(since: String, until: String, delay: Int64) throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 11)
        let rule = oracle(since: since, until: until, delay: Double(delay) / 1000)
        var corrupted = 0
        for file in OracleSelection.walk(root) where !rule.reads(file) {
            try Data([0x1F, 0x8B, 0x08, 0, 0xDE, 0xAD, 0xBE, 0xEF]).write(to: URL(fileURLWithPath: file))
            corrupted += 1
        }
        #expect(corrupted > 0)
        let expected = try rule.process(root: root, fields: selectionFields)
        let (bytes, stats) = try runToBytes(rangeOptions(root, since: since, until: until, delay: delay, memory: 64 << 10), in: folder)
        #expect(bytes == OracleTable.tsv(expected.rows))
        #expect(stats.files == expected.files)
        #expect(stats.prunedFolders > 0)
    }

    @Test(arguments: [
        (nil, "2024-03-01T00:00:00Z", 1 << 30, 1),
        ("2024-03-01T00:00:00Z", nil, 64 << 10, 2),
        ("2024-02-28T23:59:59Z", "2024-03-05T00:00:00.5Z", 16 << 10, 2),
        ("2024-03-03T12:34:56.789Z", "2024-03-03T12:34:56.790Z", 1 << 30, 2),
        ("2024-03-10T00:00:00Z", "2024-03-11T00:00:00Z", 1 << 30, 2),
    ] as [(String?, String?, Int, Int)])
    func rowsAndFilesMatchTheOracle(since: String?, until: String?, memory: Int, threads: Int) throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 23)
        let rule = oracle(since: since, until: until)
        let expected = try rule.process(root: root, fields: selectionFields)
        var o = rangeOptions(root, since: since, until: until, memory: memory, threads: threads)
        o.allowEmpty = true
        let (bytes, stats) = try runToBytes(o, in: folder)
        #expect(bytes == OracleTable.tsv(expected.rows))
        #expect(stats.files == expected.files)
        #expect(stats.rows == expected.rows.count)
    }

    @Test func withoutBoundsNothingIsPrunedOrDropped() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 5, events: 200)
        let expected = try OracleSelection().process(root: root, fields: selectionFields)
        let (bytes, stats) = try runToBytes(rangeOptions(root, since: nil, until: nil), in: folder)
        #expect(bytes == OracleTable.tsv(expected.rows))
        #expect(stats.prunedFolders == 0)
    }

    @Test(arguments: [
        ("2024-03-01", "2024-03-01T00:00:00Z"),
        ("2024-03-01T12:30Z", "2024-03-01T12:30:00Z"),
        ("2024-03-01T14:30:00+02:00", "2024-03-01T12:30:00Z"),
        ("2024-03-01T10:30:00.250-02:00", "2024-03-01T12:30:00.250Z"),
    ])
    func parsesISOInstants(_ text: String, _ utc: String) throws {
        #expect(try TimeRange.parseInstant(text, option: "--since") == testMillis(utc))
    }

    @Test(arguments: ["2024-13-01", "yesterday", "2024-03-01T12:00:00", "2024-03-01T25:00Z", "2024-03-01T12:00:00+2:00"])
    func rejectsWhatIsNotAnInstant(_ text: String) {
        let error = trailMergeError { _ = try TimeRange.parseInstant(text, option: "--since") }
        #expect(error?.description.contains("--since: '\(text)' is not an ISO-8601 time") == true, "\(String(describing: error))")
    }

    @Test func cliPrunesReportsAndChecksItsOptions() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 3, events: 200)
        let stats = folder.path + "/stats.json"
        let result = try runCLI([
            "process", root, "-o", "-", "--fields", selectionFields.joined(separator: ","), "--since", "2024-03-02",
            "--until", "2024-03-03", "--max-delivery-delay", "12h", "--stats", stats,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try oracle(since: "2024-03-02T00:00:00Z", until: "2024-03-03T00:00:00Z", delay: 43_200).process(root: root, fields: selectionFields)
        #expect(result.stdout == OracleTable.tsv(expected.rows))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as! [String: Any]
        #expect(json["files"] as? Int == expected.files)
        #expect((json["prunedFolders"] as? Int ?? 0) > 0)

        let dry = try runCLI(["process", root, "--dry-run", "--since", "2024-03-05T00:00:00Z"])
        let listed = String(decoding: dry.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(listed == OracleSelection.walk(root).filter(oracle(since: "2024-03-05T00:00:00Z", until: nil).reads))

        let bad = try runCLI(["process", root, "-o", "-", "--until", "2024-03-01", "--since", "2024-03-02"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--until must be later than --since"))
        let delay = try runCLI(["process", root, "-o", "-", "--max-delivery-delay", "2 days"])
        #expect(delay.status == 2)
        #expect(delay.stderr.contains("--max-delivery-delay: '2 days' is not a duration"))
    }

    /// Records without a usable eventTime are left out by a time range, as documented, and the
    /// run says how many and where the first was; without a range they are kept and nothing is said.
    @Test func recordsWithoutAUsableEventTimeAreCountedWhenLeftOut() throws {
        let folder = TempFolder()
        let records = [
            #"{"eventTime":"2024-03-02T10:00:00Z","eventName":"Kept"}"#,
            #"{"eventTime":"2024-03-09T10:00:00Z","eventName":"Later"}"#,
            #"{"eventName":"NoTime"}"#,
            #"{"eventTime":null,"eventName":"NullTime"}"#,
            #"{"eventTime":"yesterday","eventName":"BadTime"}"#,
        ]
        let first = folder.write("a.json", #"{"Records":[\#(records.joined(separator: ","))]}"#)
        let second = folder.write("b.json", #"{"Records":[\#(records[2])]}"#)
        let stats = folder.path + "/stats.json"
        let bounded = try runCLI(["process", first, second, "-o", "-", "--fields", "eventName", "--since", "2024-03-01", "--until", "2024-03-03", "--stats", stats])
        #expect(bounded.status == 0, "\(bounded.stderr)")
        #expect(String(decoding: bounded.stdout, as: UTF8.self) == "Kept\n")
        #expect(bounded.stderr.contains(
            "warning: 4 records without a usable eventTime (missing, null or not an ISO-8601 UTC time) were left out by --since/--until (the first in \(first))"),
            "\(bounded.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as! [String: Any]
        #expect(json["warnings"] as? Int == 1)

        let open = try runCLI(["process", first, second, "-o", "-", "--fields", "eventName", "--sort-by", "none"])
        #expect(open.status == 0, "\(open.stderr)")
        #expect(String(decoding: open.stdout, as: UTF8.self).split(separator: "\n").count == 6)
        #expect(!open.stderr.contains("eventTime"), "\(open.stderr)")
    }
}

