/// Bug 9: small CLI contracts found by QA (help text, usage lines, option values, dry runs,
/// messages and their grammar).
import Foundation
import Testing
@testable import TrailMerge

@Suite struct SmallContractTests {
    @Test func mergeHelpAndUsageNameMerge() throws {
        let help = try runCLI(["merge", "--help"])
        let text = String(decoding: help.stdout, as: UTF8.self)
        #expect(text.contains("(default: \(ProcessOptions.defaultFieldList))"), "\(text)")
        #expect(!text.contains("\\("))
        let folder = TempFolder()
        let noInput = try runCLI(["merge", "-o", folder.path + "/x.tsv"])
        #expect(noInput.status == 2)
        #expect(noInput.stderr == "trailmerge: merge: no INPUT given (usage: trailmerge merge INPUT... -o OUTPUT)\n")
    }

    @Test func optionValuesAreNamedOnceAndAnOptionIsNotAValue() throws {
        let folder = TempFolder()
        let level = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/x.tsv", "--compression-level", "10"])
        #expect(level.status == 2)
        #expect(level.stderr.hasPrefix("trailmerge: process: --compression-level '10' is not a whole number"), "\(level.stderr)")
        let fields = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/x.tsv", "--fields", "--quiet"])
        #expect(fields.status == 2)
        #expect(fields.stderr.hasPrefix("trailmerge: process: --fields needs a value"), "\(fields.stderr)")
        #expect(folder.listing().isEmpty)
    }

    @Test func dryRunsCheckDestinationsAndPrintCleanPaths() throws {
        let folder = TempFolder()
        let missing = try runCLI(["process", fixturesPath + "/sample", "--dry-run", "-o", folder.path + "/nodir/x.tsv"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "trailmerge: \(folder.path)/nodir/x.tsv: the output folder \(folder.path)/nodir does not exist\n")
        #expect(missing.stdout.isEmpty)
        let group = try runCLI(["group", fixturesPath + "/sample/AWSLogs", folder.path + "/daily/", "--group-by", "([0-9]+)/.*", "--dry-run"])
        #expect(group.status == 0, "\(group.stderr)")
        let lines = String(decoding: group.stdout, as: UTF8.self)
        #expect(lines.hasPrefix(folder.path + "/daily/1"), "\(lines)")
        #expect(!lines.contains("daily//"))
    }

    @Test func aFailedGroupRunRemovesTheDestItCreated() throws {
        let folder = TempFolder()
        try FileManager.default.copyItem(atPath: fixturesPath + "/sample", toPath: folder.path + "/src")
        folder.write("src/AWSLogs/000000000000/CloudTrail/us-east-1/2024/03/01/0.json.gz", [0x1F, 0x8B, 0x08, 0, 1, 2])
        for dest in ["daily", "new/daily"] {
            let result = try runCLI(["group", folder.path + "/src/AWSLogs", folder.path + "/" + dest, "--group-by", "([0-9]+)/.*",
                                     "--output-codec", "gzip"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("0.json.gz"), "fails on the corrupt input: \(result.stderr)")
            #expect(folder.listing().filter { !$0.hasPrefix("src") }.isEmpty, "\(folder.listing().filter { !$0.hasPrefix("src") })")
        }
    }

    /// Found on the way: a DEST whose parent does not exist failed ("cannot create a lock file"):
    /// the folder above was journaled before DEST, where the journal lives, existed.
    @Test func groupCreatesADestTwoLevelsDeep() throws {
        let folder = TempFolder()
        let result = try runCLI(["group", fixturesPath + "/sample/AWSLogs", folder.path + "/new/daily", "--group-by", "([0-9]+)/.*"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(folder.listing().filter { $0.hasPrefix("new/daily/") && $0.hasSuffix(".json.gz") }.count == 3, "\(folder.listing())")
        #expect(!folder.listing().contains { $0.contains(".trailmerge-run-") })
    }

    @Test func messagesSuggestRecordsPathsAndAgreeInNumber() throws {
        let folder = TempFolder()
        let records = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/x.tsv", "--records", "records"])
        #expect(records.status == 0)
        #expect(records.stderr.contains("without a 'records' array gave no records"), "\(records.stderr)")
        #expect(records.stderr.contains("did you mean --records 'Records'?"), "\(records.stderr)")
        let list = folder.write("empty.txt", "")
        let empty = try runCLI(["process", "--files-from", list, "-o", folder.path + "/y.tsv"])
        #expect(empty.status == 1)
        #expect(empty.stderr.hasPrefix("trailmerge: no input files: the --files-from list holds no files"), "\(empty.stderr)")
        let one = folder.write("one.json", #"{"Records":[]}"#)
        let holds = try runCLI(["process", one, "-o", folder.path + "/z.tsv", "--records", "."])
        #expect(holds.stderr.contains("--records .: 1 of 1 record holds a top-level 'Records' array"), "\(holds.stderr)")
    }
}
