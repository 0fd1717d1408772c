/// Runs that select nothing, and partition values that name one folder.
import Foundation
import Testing
@testable import TrailMerge

@Suite struct EdgeCaseRunTests {
    @Test func aTimeRangeThatPrunesEveryFolderSaysSoAndTheDryRunFailsAlike() throws {
        let folder = TempFolder()
        let root = writeSelectionTree(folder, seed: 5, events: 50)
        let out = folder.path + "/e.tsv"
        for extra in [[], ["--dry-run"]] {
            let result = try runCLI(["process", root, "-o", out, "--since", "2030-01-01"] + extra)
            #expect(result.status == 1, "\(extra) \(result.stderr)")
            #expect(result.stderr.contains("are outside --since/--until"), "\(extra) \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        let empty = try runCLI(["process", root, "-o", out, "--since", "2030-01-01", "--allow-empty", "--quiet"])
        #expect(empty.status == 0, "\(empty.stderr)")
        let dry = try runCLI(["process", root, "-o", out, "--since", "2024-03-01", "--until", "2024-03-02", "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.stderr.contains("pruned by --since/--until"), "\(dry.stderr)")
    }

    @Test func nullAndTheTextHiveDefaultPartitionShareOneSortedFile() throws {
        let folder = TempFolder()
        let records = [
            #"{"eventTime":"2024-03-01T00:00:03Z","eventName":"C","awsRegion":null}"#,
            #"{"eventTime":"2024-03-01T00:00:01Z","eventName":"A","awsRegion":"__HIVE_DEFAULT_PARTITION__"}"#,
            #"{"eventTime":"2024-03-01T00:00:02Z","eventName":"B","awsRegion":"us-east-1"}"#,
            #"{"eventTime":"2024-03-01T00:00:04Z","eventName":"D","awsRegion":"__HIVE_DEFAULT_PARTITION__"}"#,
        ]
        folder.write("in/a.json", #"{"Records":["# + records.joined(separator: ",") + "]}")
        let out = folder.path + "/lake"
        let result = try runCLI([
            "process", folder.path + "/in", "-o", out, "--fields", "eventTime,eventName,awsRegion", "--compression", "none",
            "--partition-by", "dt=eventTime:10", "--partition-by", "r=awsRegion", "--quiet",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let shared = try String(contentsOfFile: out + "/dt=2024-03-01/r=__HIVE_DEFAULT_PARTITION__/part-00000.tsv", encoding: .utf8)
        #expect(shared.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false)[1] } == ["A", "C", "D"])
        #expect(FileManager.default.fileExists(atPath: out + "/dt=2024-03-01/r=us-east-1/part-00000.tsv"))
    }
}
