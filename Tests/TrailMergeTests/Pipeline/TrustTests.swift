/// The trust promises: destinations are checked before any input is read, everything a run
/// produces appears together or not at all (also when a rename fails midway), a run that does
/// nothing says so and fails, and a path that matches nothing is reported.
import Foundation
import Testing
@testable import TrailMerge

private let dayGroupBy = #"([0-9]+)/CloudTrail/([^/]+)/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+\.json\.gz"#

/// A copy of the sample tree plus, when asked, a corrupt file that sorts first: a run that reads
/// input before checking its destinations fails on it instead of on the destination.
private func sampleTree(_ folder: TempFolder, corrupt: Bool = false) throws -> String {
    let root = folder.path + "/src"
    try FileManager.default.copyItem(atPath: fixturesPath + "/sample", toPath: root)
    if corrupt { folder.write("src/AWSLogs/000000000000/CloudTrail/us-east-1/2024/03/01/0.json.gz", [0x1F, 0x8B, 0x08, 0, 1, 2]) }
    return root
}

private func listing(_ path: String) -> [String] {
    (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
}

@Suite struct TrustTests {
    // MARK: Validate first

    @Test func processChecksEveryDestinationBeforeReadingInput() throws {
        let folder = TempFolder()
        let src = try sampleTree(folder, corrupt: true)
        let out = folder.path + "/out.tsv"
        let stats = try runCLI(["process", src, "-o", out, "--stats", folder.path + "/nodir/s.json"])
        #expect(stats.status == 1)
        #expect(stats.stderr == "trailmerge: \(folder.path)/nodir/s.json: the --stats folder \(folder.path)/nodir does not exist\n")
        let output = try runCLI(["process", src, "-o", "/nonexistent/out.tsv"])
        #expect(output.stderr == "trailmerge: /nonexistent/out.tsv: the output folder /nonexistent does not exist\n")
        let isFolder = try runCLI(["process", src, "-o", folder.path + "/src", "--format", "tsv"])
        #expect(isFolder.stderr.contains("the output path is a folder; name a file"))
        #expect(listing(folder.path).filter { !$0.hasPrefix("src") }.isEmpty, "nothing written beside the inputs")
    }

    @Test func groupChecksManifestAndStatsFoldersBeforeWritingAnyPart() throws {
        let folder = TempFolder()
        let src = try sampleTree(folder, corrupt: true)
        for extra in [["--output-manifest", folder.path + "/manifests/m.gz"], ["--stats", folder.path + "/nodir/s.json"]] {
            for dryRun in [false, true] {
                let result = try runCLI(["group", src + "/AWSLogs", folder.path + "/daily", "--group-by", dayGroupBy, "--output-codec", "gzip"]
                    + extra + (dryRun ? ["--dry-run"] : []))
                #expect(result.status == 1)
                #expect(result.stderr.contains("folder \(folder.path)/") && result.stderr.contains("does not exist"), "\(result.stderr)")
                #expect(!FileManager.default.fileExists(atPath: folder.path + "/daily"))
            }
        }
    }

    // MARK: Commit last, all or nothing

    @Test(arguments: [0, 1, 2, 3])
    func aFailingRenameInGroupLeavesDestUnchanged(failAt: Int) throws {
        let folder = TempFolder()
        let src = try sampleTree(folder)
        let dest = folder.path + "/daily"
        // An earlier output that the run would write beside (and must not lose).
        folder.write("daily/keep.txt", "earlier")
        var o = GroupOptions()
        o.source = src
        o.destination = dest
        o.groupBy = try GroupPattern(#"AWSLogs/([0-9]+)/CloudTrail/[^/]+/.*"#)
        o.outputManifest = folder.path + "/m.gz"
        o.statsPath = folder.path + "/s.json"
        o.faults = FaultPlan(failRename: failAt)  // 3 parts, then the manifest, then the stats
        #expect(throws: TrailMergeError.self) { try runGroup(o) }
        #expect(listing(dest) == ["keep.txt"])
        #expect(listing(folder.path).filter { !$0.hasPrefix("src") } == ["daily", "daily/keep.txt"])
        o.faults = FaultPlan()
        let result = try runGroup(o)
        #expect(result.parts.count == 3)
        #expect(listing(dest).count == 4)
        #expect(FileManager.default.fileExists(atPath: folder.path + "/m.gz"))
        #expect(FileManager.default.fileExists(atPath: folder.path + "/s.json"))
    }

    @Test func aFailingRenameRestoresTheOutputItWouldReplace() throws {
        let folder = TempFolder()
        folder.write("out.tsv", "previous output\n")
        folder.write("s.json", "{}")
        var o = options([fixturesPath + "/sample"])
        o.output = folder.path + "/out.tsv"
        o.statsPath = folder.path + "/s.json"
        o.tempDirectory = folder.path
        o.faults = FaultPlan(failRename: 1)  // the output is renamed into place, then the stats rename fails
        let error = trailMergeError { _ = try runProcess(o) }
        #expect(error?.description == "\(folder.path)/s.json: cannot rename into place: injected fault; no output was changed")
        #expect(String(decoding: FileManager.default.contents(atPath: folder.path + "/out.tsv")!, as: UTF8.self) == "previous output\n")
        #expect(String(decoding: FileManager.default.contents(atPath: folder.path + "/s.json")!, as: UTF8.self) == "{}")
        #expect(listing(folder.path) == ["out.tsv", "s.json"])
    }

    @Test func statsAndOutputAppearTogether() throws {
        let folder = TempFolder()
        let result = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/o.tsv", "--stats", folder.path + "/s.json"])
        #expect(result.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path + "/s.json"))) as! [String: Any]
        #expect(json["rows"] as? Int == 1485)
        #expect(listing(folder.path) == ["o.tsv", "s.json"])
    }

    // MARK: Doing nothing is an error

    @Test func processWithNoInputFailsAndSaysWhy() throws {
        let folder = TempFolder()
        try FileManager.default.createDirectory(atPath: folder.path + "/empty", withIntermediateDirectories: true)
        let empty = try runCLI(["process", folder.path + "/empty", "-o", folder.path + "/o.tsv.gz"])
        #expect(empty.status == 1)
        #expect(empty.stderr == "trailmerge: no input files: \(folder.path)/empty holds no files (use --allow-empty to write an empty output anyway)\n")
        folder.write("logs/a.log.gz", gzip("{}"))
        folder.write("logs/b.log.gz", gzip("{}"))
        let skipped = try runCLI(["process", folder.path + "/logs", "-o", folder.path + "/o.tsv.gz"])
        #expect(skipped.status == 1)
        #expect(skipped.stderr.hasPrefix("trailmerge: no input files: 2 files seen under \(folder.path)/logs, all skipped by --src-pattern"))
        #expect(skipped.stderr.contains("(e.g. \(folder.path)/logs/a.log.gz)"))
        #expect(listing(folder.path) == ["empty", "logs", "logs/a.log.gz", "logs/b.log.gz"])
        let allowed = try runCLI(["process", folder.path + "/empty", "-o", folder.path + "/o.tsv.gz", "--allow-empty", "--header"])
        #expect(allowed.status == 0)
        // An empty gzip output is a valid gzip stream holding only the header line.
        let text = try runTool("/bin/gzip", ["-dc", folder.path + "/o.tsv.gz"], input: [])
        #expect(String(decoding: text, as: UTF8.self) == ProcessOptions.defaultFieldList.replacingOccurrences(of: ",", with: "\t") + "\n")
    }

    @Test func aZeroRowGzipOutputIsAValidGzipStream() throws {
        let folder = TempFolder()
        let input = folder.write("a.json", #"{"Records":[]}"#)
        let result = try runCLI(["process", input, "-o", folder.path + "/o.tsv.gz"])
        #expect(result.status == 0)
        let size = try FileManager.default.attributesOfItem(atPath: folder.path + "/o.tsv.gz")[.size] as! Int
        #expect(size > 0)
        #expect(try runTool("/bin/gzip", ["-dc", folder.path + "/o.tsv.gz"], input: []).isEmpty)
    }

    @Test func groupWithNothingToGroupFailsAndSaysWhy() throws {
        let folder = TempFolder()
        let src = try sampleTree(folder)
        // Pointed one level above AWSLogs/, the relative paths start with AWSLogs/ and match nothing.
        let above = try runCLI(["group", src, folder.path + "/daily", "--group-by", dayGroupBy])
        #expect(above.status == 1)
        #expect(above.stderr.contains("no file matched --group-by: 24 files seen under \(src), none matched"), "\(above.stderr)")
        #expect(above.stderr.contains("(e.g. AWSLogs/"))
        let empty = try runCLI(["group", src + "/AWSLogs", folder.path + "/daily", "--group-by", dayGroupBy, "--src-pattern", "nothing-like-this"])
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("all skipped by --src-pattern"))
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/daily"))
        let allowed = try runCLI(["group", src + "/AWSLogs", folder.path + "/daily", "--group-by", dayGroupBy, "--src-pattern", "nothing", "--allow-empty"])
        #expect(allowed.status == 0)
        #expect(allowed.stderr.contains("nothing to do: 0 files"))
    }

    // MARK: Paths that match nothing

    @Test func misspelledFieldsAreReportedWithASuggestion() throws {
        let folder = TempFolder()
        let fields = "eventTime,eventname,useridentity.userName"
        let result = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/o.tsv", "--fields", fields])
        #expect(result.status == 0)
        #expect(result.stderr.contains("warning: --fields 'eventname' was absent from all 960 records; its column is empty; did you mean 'eventName'?"))
        #expect(result.stderr.contains("warning: --fields 'useridentity.userName' was absent from all 960 records; its column is empty; did you mean 'userIdentity.userName'?"))
        #expect(!result.stderr.contains("'eventTime' was absent"))
        let strict = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/s.tsv", "--fields", fields, "--strict"])
        #expect(strict.status == 1)
        #expect(strict.stderr.hasSuffix(
            "trailmerge: --strict: 2 paths matched nothing (the first: --fields 'eventname' was absent from all 960 records; its column is empty; did you mean 'eventName'?); no output written\n"),
            "\(strict.stderr)")
        // With --quiet the warnings are not printed, so the error itself names the first path.
        let quiet = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/s.tsv", "--fields", fields, "--strict", "--quiet"])
        #expect(quiet.status == 1)
        #expect(quiet.stderr.contains("(the first: --fields 'eventname' was absent"), "\(quiet.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/s.tsv"))
        // A path present only as null, and the exploded array's sub-path, are not absent.
        let fine = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/f.tsv", "--strict"])
        #expect(fine.status == 0)
        #expect(!fine.stderr.contains("warning"))
    }

    @Test func documentsWithoutTheRecordsArrayGiveOneWarningAndAHint() throws {
        let folder = TempFolder()
        let lines = (0..<50).map { #"{"eventTime":"2024-01-01T00:00:\#($0 % 60)Z","eventName":"E\#($0)"}"# }
        let ndjson = folder.write("events.ndjson", lines.joined(separator: "\n"))
        let result = try runCLI(["process", ndjson, "-o", "-", "--fields", "eventTime,eventName"])
        #expect(result.status == 0)
        let warnings = result.stderr.split(separator: "\n").filter { $0.contains("warning:") }
        #expect(warnings.count == 1, "\(result.stderr)")
        #expect(warnings.first?.contains("50 documents without a 'Records' array gave no records (the first: \(ndjson): byte 0)") == true)
        #expect(warnings.first?.contains("50 of them look like events themselves") == true)
        #expect(warnings.first?.contains("use --records .") == true)
        let wrapped = folder.write("ct.json", #"{"Records":[{"eventTime":"t","eventName":"n"}]}"#)
        let dot = try runCLI(["process", wrapped, "-o", "-", "--records", ".", "--fields", "eventTime,eventName"])
        #expect(dot.stderr.contains("--records .: 1 of 1 record holds a top-level 'Records' array"))
        #expect(dot.stderr.contains("drop --records . to read the events inside"))
    }

    // MARK: Loose ends

    @Test func groupDeleteOnSuccessRemovesTheFoldersItEmptied() throws {
        let folder = TempFolder()
        let src = try sampleTree(folder)
        folder.write("src/keep/me.txt", "not grouped")
        let result = try runCLI(["group", src, folder.path + "/daily", "--group-by", "AWSLogs/(.*)\\.json\\.gz", "--delete-on-success"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(listing(src) == ["keep", "keep/me.txt"])
    }

    @Test func theDailyIncrementalWorkflowIsQuietAndReportsWhatItSkipped() throws {
        let folder = TempFolder()
        let src = try sampleTree(folder)
        // One output per account and day (4 regions each). Day one sees only the files delivered
        // before 10:00; day two sees all of them, so some days get a second part.
        let late = listing(src).filter { $0.hasSuffix(".json.gz") && ($0.contains("T1") || $0.contains("T2")) }
        let held = folder.path + "/held"
        for path in late {
            try FileManager.default.createDirectory(atPath: held + "/" + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: src + "/" + path, toPath: held + "/" + path)
        }
        try FileManager.default.createDirectory(atPath: folder.path + "/manifests", withIntermediateDirectories: true)
        let common = ["group", src + "/AWSLogs", folder.path + "/daily", "--group-by", dayGroupBy, "--name", "$1/$3-$4-$5"]
        let first = try runCLI(common + ["--output-manifest", folder.path + "/manifests/1.gz"])
        #expect(first.status == 0)
        #expect(!first.stderr.contains("warning"))
        for path in late { try FileManager.default.moveItem(atPath: held + "/" + path, toPath: src + "/" + path) }
        let second = try runCLI(common + ["--previous-manifest", folder.path + "/manifests/1.gz", "--output-manifest", folder.path + "/manifests/2.gz"])
        #expect(second.status == 0)
        #expect(!second.stderr.contains("warning"), "\(second.stderr)")
        #expect(listing(folder.path + "/daily").contains { $0.hasSuffix("-1.json.gz") }, "late files went into a next part")
        #expect(second.stderr.contains("\(plural(24 - late.count, "file")) skipped (already in the previous manifest)"))
        let third = try runCLI(common + ["--previous-manifest", folder.path + "/manifests/2.gz"])
        #expect(third.stderr.contains("nothing to do: 0 files (0.0 MB) → 0 files (0.0 MB), 24 files skipped (already in the previous manifest)"), "\(third.stderr)")
        // Every event once: the grouped tree gives what the source gives.
        let grouped = try runCLI(["process", folder.path + "/daily", "-o", "-"])
        let direct = try runCLI(["process", src, "-o", "-"])
        #expect(grouped.stdout.count == direct.stdout.count && grouped.stdout == direct.stdout, "grouped output differs")
        #expect(grouped.stderr.contains("960 records"))
    }

    @Test func smallCLIContracts() throws {
        let folder = TempFolder()
        let header = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/o.jsonl", "--header"])
        #expect(header.status == 2)
        #expect(header.stderr == "trailmerge: process: --header applies to tsv and csv output; JSON Lines rows carry their keys\n")
        let size = try runCLI(["group", fixturesPath + "/sample/AWSLogs", folder.path + "/d", "--group-by", dayGroupBy, "--target-size", "1MiB", "--dry-run"])
        #expect(size.status == 0, "\(size.stderr)")
        let help = try runCLI(["help", "process"])
        #expect(String(decoding: help.stdout, as: UTF8.self).hasPrefix("usage: trailmerge process"))
        #expect(String(decoding: try runCLI(["-V"]).stdout, as: UTF8.self).hasPrefix("trailmerge "))
        let one = folder.write("one.json", #"{"Records":[{"eventTime":"t","eventName":"n"}]}"#)
        let single = try runCLI(["process", one, "-o", "-"])
        #expect(single.stderr.contains("trailmerge: 1 file, "))
        #expect(single.stderr.contains(", 1 record, 1 row, 0 spilled runs, 1 merge pass, "))
    }

    @Test func emptyFileWarningsNameTheirOwnFileInInputOrder() throws {
        let folder = TempFolder()
        folder.write("in/a.json", #"{"Records":[{"eventTime":"t","eventName":"n"}]}"#)
        folder.write("in/b.json", "")
        folder.write("in/c.json", "")
        var o = options([folder.path + "/in"], fields: "eventTime,eventName")
        o.chunkSize = 1
        let warnings = WarningLog()
        o.output = folder.path + "/o.tsv"
        _ = try runProcess(o) { if case .warning(let m) = $0 { warnings.append(m) } }
        #expect(warnings.all == ["\(folder.path)/in/b.json: empty file; 0 records", "\(folder.path)/in/c.json: empty file; 0 records"])
    }
}

@Suite struct DestinationCollisionTests {
    @Test func twoDestinationsNamingOneFileAreAUsageErrorBeforeAnythingIsRead() throws {
        let folder = TempFolder()
        folder.write("y.tsv", "earlier\n")
        let same = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/y.tsv", "--stats", folder.path + "/./y.tsv"])
        #expect(same.status == 2)
        #expect(same.stderr == "trailmerge: \(folder.path)/./y.tsv: the --stats path is also the output of this run; give them different names\n")
        #expect(String(decoding: FileManager.default.contents(atPath: folder.path + "/y.tsv")!, as: UTF8.self) == "earlier\n")
        try FileManager.default.createDirectory(atPath: folder.path + "/gy", withIntermediateDirectories: true)
        // On a copy: the run asks to delete its sources.
        try FileManager.default.copyItem(atPath: fixturesPath + "/sample", toPath: folder.path + "/src")
        let manifestIsPart = try runCLI(["group", folder.path + "/src/AWSLogs", folder.path + "/gy", "--group-by", "([0-9]+)/.*",
                                         "--output-manifest", folder.path + "/gy/111122223333.json.gz", "--delete-on-success"])
        #expect(manifestIsPart.status == 2)
        #expect(manifestIsPart.stderr.contains("is also the --output-manifest of this run"), "\(manifestIsPart.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/gy").isEmpty)
        #expect(listing(folder.path + "/src").count == listing(fixturesPath + "/sample").count)
        let statsIsManifest = try runCLI(["group", fixturesPath + "/sample/AWSLogs", folder.path + "/gx", "--group-by", "([0-9]+)/.*",
                                          "--output-manifest", folder.path + "/m.gz", "--stats", folder.path + "/m.gz"])
        #expect(statsIsManifest.status == 2)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/m.gz"))
    }

    @Test func aClosedStdoutEndsTheRunQuietlyAndCleanly() throws {
        let folder = TempFolder()
        let command = "\(executablePath) process \(fixturesPath)/sample -o - --memory 16KiB --temp-dir \(folder.path) | head -n 1 > /dev/null; echo ${PIPESTATUS[0]}"
        let result = try runCLIThrough("/bin/bash", ["-c", command])
        #expect(String(decoding: result.stdout, as: UTF8.self) == "141\n")
        #expect(!result.stderr.contains("trailmerge:"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func flagsTakeNoValue() throws {
        let result = try runCLI(["process", fixturesPath + "/sample", "-o", "-", "--header=no"])
        #expect(result.status == 2)
        #expect(result.stderr == "trailmerge: process: --header takes no value (got '--header=no')\n")
    }
}

/// Bug 6: a folder created at an output's name during the run was moved aside as a backup (with
/// its contents, never removed) and the run exited 0. The commit now refuses and rolls back.
@Suite struct CommitRefusesChangedNamesTests {
    @Test func aFolderThatAppearedAtTheFinalNameFailsTheCommit() throws {
        let folder = TempFolder()
        folder.write("s.json", "{}")
        let outputs = OutputSet(cleanup: Cleanup())
        let stats = try outputs.stage(folder.path + "/s.json", role: "--stats")
        let out = try outputs.stage(folder.path + "/out.tsv", role: "output")
        try stats.write("{\"rows\":1}")
        try out.write("row\n")
        folder.write("out.tsv/inside.txt", "someone's folder")
        let error = trailMergeError { try outputs.commit() }
        #expect(error?.description == "\(folder.path)/out.tsv: cannot rename into place: it has become a folder; no output was changed")
        #expect(folder.listing() == ["out.tsv", "out.tsv/inside.txt", "s.json"])
        #expect(String(decoding: FileManager.default.contents(atPath: folder.path + "/s.json")!, as: UTF8.self) == "{}")
    }
}

/// Bug 5: a signal after the commit's renames said "no output written" although the outputs
/// were in place (and, for group --delete-on-success, the sources deleted).
@Suite struct InterruptionMessageTests {
    @Test func aSignalAfterTheCommitSaysTheOutputsAreInPlace() throws {
        let folder = TempFolder()
        let cleanup = Cleanup()
        #expect(cleanup.interruptionMessage(signal: 2) == "interrupted by signal 2; temporary files removed, no output written")
        var o = options([fixturesPath + "/sample"])
        o.output = folder.path + "/o.tsv"
        o.tempDirectory = folder.path
        _ = try runProcess(o, cleanup: cleanup)
        #expect(cleanup.interruptionMessage(signal: 2)
            == "interrupted by signal 2 after the commit: the outputs were committed and are in place; temporary files removed")
    }

    @Test func aSignalAfterGroupDeletedItsSourcesSaysSo() throws {
        let folder = TempFolder()
        try FileManager.default.copyItem(atPath: fixturesPath + "/sample", toPath: folder.path + "/src")
        var o = GroupOptions()
        o.source = folder.path + "/src/AWSLogs"
        o.destination = folder.path + "/daily"
        o.groupBy = try GroupPattern(#"([0-9]+)/.*"#)
        o.deleteOnSuccess = true
        let cleanup = Cleanup()
        _ = try runGroup(o, cleanup: cleanup)
        #expect(cleanup.interruptionMessage(signal: 15)
            == "interrupted by signal 15 after the commit: the outputs were committed and are in place; the sources were deleted; temporary files removed")
    }
}

/// Bug 8: the same file given twice was read twice, silently (`process tree tree`, or a
/// --files-from list plus its folder).
@Suite struct DuplicateInputTests {
    @Test func eachFileIsReadOnceWithOneWarning() throws {
        let folder = TempFolder()
        let sample = fixturesPath + "/sample"
        let once = try runCLI(["process", sample, "-o", folder.path + "/once.tsv", "--stats", folder.path + "/once.json"])
        #expect(once.status == 0)
        let onceBytes = FileManager.default.contents(atPath: folder.path + "/once.tsv")
        #expect(symlink(sample, folder.path + "/link") == 0)
        let anyFile = try #require(FileManager.default.enumerator(atPath: sample)?.allObjects.compactMap { $0 as? String }.sorted().first { $0.hasSuffix(".json.gz") })
        folder.write("list.txt", sample + "/" + anyFile + "\n")
        let twice = try runCLI(["process", sample, sample + "/", folder.path + "/link", "--files-from", folder.path + "/list.txt",
                                "-o", folder.path + "/twice.tsv", "--stats", folder.path + "/twice.json"])
        #expect(twice.status == 0, "\(twice.stderr)")
        #expect(FileManager.default.contents(atPath: folder.path + "/twice.tsv") == onceBytes)
        let warnings = twice.stderr.split(separator: "\n").filter { $0.hasPrefix("trailmerge: warning: ") }
        #expect(warnings.count == 1, "\(twice.stderr)")
        #expect(warnings.first?.hasPrefix("trailmerge: warning: 49 input files given more than once dropped (each file is read once; e.g. ") == true, "\(twice.stderr)")
        #expect(!once.stderr.contains("more than once"))
        let stats = String(decoding: FileManager.default.contents(atPath: folder.path + "/twice.json") ?? Data(), as: UTF8.self)
        #expect(stats.contains("\"warnings\": 1,"), "\(stats)")
        // A dry run drops the same files, and says so.
        let dry = try runCLI(["process", sample, sample + "/", folder.path + "/link", "--files-from", folder.path + "/list.txt", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stderr.contains("warning: 49 input files given more than once dropped"), "\(dry.stderr)")
        #expect(dry.stdout.split(separator: 0x0A).count == 24)
    }

    /// A hard link is the same file under another name (same device and inode), so it is read once.
    @Test func aHardLinkToAFileAlreadyListedIsReadOnce() throws {
        let folder = TempFolder()
        let sample = fixturesPath + "/sample"
        let anyFile = try #require(FileManager.default.enumerator(atPath: sample)?.allObjects.compactMap { $0 as? String }.sorted().first { $0.hasSuffix(".json.gz") })
        try FileManager.default.createDirectory(atPath: folder.path + "/in", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: sample + "/" + anyFile, toPath: folder.path + "/in/a.json.gz")
        #expect(link(folder.path + "/in/a.json.gz", folder.path + "/in/b.json.gz") == 0)
        let single = try runCLI(["process", folder.path + "/in/a.json.gz", "-o", folder.path + "/single.tsv"])
        #expect(single.status == 0, "\(single.stderr)")
        let both = try runCLI(["process", folder.path + "/in", "-o", folder.path + "/both.tsv"])
        #expect(both.status == 0, "\(both.stderr)")
        #expect(both.stderr.contains("1 input file given more than once dropped (each file is read once; e.g. \(folder.path)/in/b.json.gz)"), "\(both.stderr)")
        #expect(FileManager.default.contents(atPath: folder.path + "/both.tsv") == FileManager.default.contents(atPath: folder.path + "/single.tsv"))
    }
}
