import Foundation
import Testing
@testable import TrailMerge

private let dayPattern = #"AWSLogs/([0-9]+)/CloudTrail/([^/]+)/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+\.json\.gz"#

/// A small SRC tree: two regions over two days, plus files that match nothing.
private func makeSource(_ folder: TempFolder) -> String {
    let src = folder.path + "/src"
    for (region, day, name, time) in [
        ("us-east-1", "01", "b.json.gz", "2024-01-01T00:00:02Z"), ("us-east-1", "01", "a.json.gz", "2024-01-01T00:00:01Z"),
        ("us-east-1", "02", "c.json.gz", "2024-01-02T00:00:01Z"), ("eu-west-1", "01", "d.json.gz", "2024-01-01T00:00:03Z"),
    ] {
        folder.write("src/AWSLogs/111/CloudTrail/\(region)/2024/01/\(day)/\(name)",
                     gzip(#"{"Records":[{"eventTime":"\#(time)","eventName":"\#(name)"}]}"#))
    }
    folder.write("src/AWSLogs/111/CloudTrail-Digest/us-east-1/2024/01/01/x.json.gz", gzip("{}"))
    folder.write("src/README.txt", "not a log")
    return src
}

private func group(_ src: String, _ dest: String, _ configure: (inout GroupOptions) -> Void = { _ in }) throws -> GroupResult {
    var o = GroupOptions()
    o.source = src
    o.destination = dest
    o.groupBy = try GroupPattern(dayPattern)
    o.threads = 2
    configure(&o)
    return try runGroup(o)
}

private func contents(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

@Suite struct GroupTests {
    /// Bug 7: `--name '../escape/$1'` wrote outside DEST, past its checks and its lock.
    @Test(arguments: ["../escape/$1", "/abs/$1", "a//$2", "./$2", "$2/./x", "$2/", "$2/.."])
    func aNameThatLeavesDestIsAnErrorNamingTheFile(template: String) throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        try FileManager.default.createDirectory(atPath: folder.path + "/trav", withIntermediateDirectories: false)
        let error = trailMergeError { _ = try group(src, folder.path + "/trav/dest") { $0.nameTemplate = template } }
        #expect(error?.description.hasPrefix("\(src)/AWSLogs/111/CloudTrail/") == true, "\(String(describing: error))")
        #expect(error?.description.contains("is not a path inside DEST") == true, "\(String(describing: error))")
        #expect(folder.listing().allSatisfy { $0.hasPrefix("src") || $0 == "trav" }, "nothing written: \(folder.listing())")
    }

    /// Bug 3: a run killed while `--delete-on-success` deletes its sources left them half deleted;
    /// a re-run grouped the rest again into `-1` parts (events twice). The deletion is journaled
    /// before the commit and the next run finishes it.
    @Test func aKilledDeletionIsFinishedByTheNextRunBeforePlanning() throws {
        let clean = TempFolder()
        _ = try group(makeSource(clean), clean.path + "/dest") { $0.deleteOnSuccess = true; $0.outputManifest = clean.path + "/m.gz" }

        let folder = TempFolder()
        let src = makeSource(folder)
        let dest = folder.path + "/dest"
        #expect(throws: TrailMergeError.self) {
            try group(src, dest) {
                $0.deleteOnSuccess = true
                $0.outputManifest = folder.path + "/m.gz"
                $0.faults = FaultPlan(killAfterDeleting: 2)
            }
        }
        #expect(folder.listing().filter { $0.hasPrefix("src/AWSLogs/111/CloudTrail/") && $0.hasSuffix(".json.gz") }.count == 2)
        #expect(folder.listing().contains { $0.hasPrefix("dest/.trailmerge-run-") }, "the killed run's journal stays")

        let notices = Locked<[String]>([])
        var o = GroupOptions()
        o.source = src
        o.destination = dest
        o.groupBy = try GroupPattern(dayPattern)
        o.deleteOnSuccess = true
        o.outputManifest = folder.path + "/m.gz"
        o.allowEmpty = true
        let again = try runGroup(o) { event in if case .notice(let text) = event { notices.withLock { $0.append(text) } } }
        #expect(again.parts.isEmpty, "nothing is grouped twice")
        // The recovery's line, then --allow-empty's (the two remaining sources were deleted first).
        #expect(notices.withLock { $0 }.count == 2)
        #expect(notices.withLock { $0 }.first?.contains("deleted the 2 sources its committed --delete-on-success had not deleted yet") == true,
                "\(notices.withLock { $0 })")
        #expect(notices.withLock { $0 }.last == "no input file matched, so no part was written (--allow-empty)")
        let names = { (f: TempFolder) in f.listing().filter { !$0.hasPrefix("m.gz") } }
        #expect(names(folder) == names(clean))
        for name in clean.listing() where name.hasPrefix("dest/") && name.hasSuffix(".json.gz") {
            #expect(contents(folder.path + "/" + name) == contents(clean.path + "/" + name))
        }
    }

    /// Found by a new user: `group SRC SRC` said SRC held no files (every file was DEST's and
    /// dropped), and `--allow-empty` turned that into a silent exit 0.
    @Test func destMayNotBeSrcItself() throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        let before = folder.listing()
        for dest in [src, src + "/", src + "/AWSLogs/.."] {
            for extra in [[String](), ["--allow-empty"]] {
                let r = try runCLI(["group", src, dest, "--group-by", dayPattern] + extra)
                #expect(r.status == 2, "\(dest) \(extra): \(r.stderr)")
                #expect(r.stderr.contains("is SRC itself; give a DEST folder beside or inside"), "\(r.stderr)")
            }
        }
        #expect(folder.listing() == before)
        // DEST inside SRC is fine: its own files are never read.
        let inside = try runCLI(["group", src, src + "/daily", "--group-by", dayPattern])
        #expect(inside.status == 0, "\(inside.stderr)")
    }

    /// Found by a new user: the "exists; writing -1 instead" warnings were printed but --stats said
    /// `"warnings": 0`, and the summary had no warning count.
    @Test func warningsAreCountedInTheSummaryAndStats() throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        let dest = folder.path + "/dest"
        #expect(try runCLI(["group", src, dest, "--group-by", dayPattern]).status == 0)
        let stats = folder.path + "/stats.json"
        let again = try runCLI(["group", src, dest, "--group-by", dayPattern, "--stats", stats])
        #expect(again.status == 0, "\(again.stderr)")
        let warned = again.stderr.components(separatedBy: "\n").filter { $0.contains("warning:") && $0.contains("exists; writing") }.count
        #expect(warned == 3, "\(again.stderr)")
        #expect(again.stderr.contains(", 3 warnings"), "\(again.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as! [String: Any]
        #expect(json["warnings"] as? Int == 3)
    }

    @Test func keysConcatenateTheCapturesAndNamesTakeTheFirstFilesSuffix() throws {
        let folder = TempFolder()
        let result = try group(makeSource(folder), folder.path + "/dest")
        #expect(result.parts.map(\.name) == ["111eu-west-120240101.json.gz", "111us-east-120240101.json.gz", "111us-east-120240102.json.gz"])
        #expect(result.stats.unmatchedFiles == 2)
        #expect(result.stats.files == 4)
    }

    @Test func nameTemplatesMayCreateFolders() throws {
        let folder = TempFolder()
        let result = try group(makeSource(folder), folder.path + "/dest") { $0.nameTemplate = "$2/$3-$4-${5}" }
        #expect(result.parts.map(\.name) == ["eu-west-1/2024-01-01.json.gz", "us-east-1/2024-01-01.json.gz", "us-east-1/2024-01-02.json.gz"])
        #expect(FileManager.default.fileExists(atPath: folder.path + "/dest/us-east-1/2024-01-02.json.gz"))
    }

    @Test func keepIsTheByteConcatenationInPathOrder() throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        _ = try group(src, folder.path + "/dest")
        let day = src + "/AWSLogs/111/CloudTrail/us-east-1/2024/01/01/"
        let out = contents(folder.path + "/dest/111us-east-120240101.json.gz")
        #expect(out == contents(day + "a.json.gz") + contents(day + "b.json.gz"))
        #expect(folder.listing().filter { $0.contains(".tmp-") }.isEmpty)
    }

    @Test(arguments: [OutputCodec.gzip, .none])
    func recompressedAndPlainCodecsPreserveTheInflatedBytes(codec: OutputCodec) throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        let result = try group(src, folder.path + "/dest") { $0.codec = codec }
        let day = src + "/AWSLogs/111/CloudTrail/us-east-1/2024/01/01/"
        let expected = try OracleTable.decodedContents(day + "a.json.gz") + OracleTable.decodedContents(day + "b.json.gz")
        let name = codec == .gzip ? "111us-east-120240101.json.gz" : "111us-east-120240101.json"
        #expect(result.parts.map(\.name).contains(name))
        #expect(try OracleTable.decodedContents(folder.path + "/dest/" + name) == expected)
        if codec == .gzip { #expect(contents(folder.path + "/dest/" + name).starts(with: [0x1F, 0x8B])) }
    }

    @Test func targetSizeCutsPartsAtFileBoundaries() throws {
        let folder = TempFolder()
        for i in 0..<5 { folder.write("src/g/f\(i).json", String(repeating: "x", count: 400)) }
        var o = GroupOptions()
        o.source = folder.path + "/src"
        o.destination = folder.path + "/dest"
        o.groupBy = try GroupPattern(#"(g)/f[0-9]\.json"#)
        o.targetSize = 1000
        let result = try runGroup(o)
        // 400+400+400 reaches 1000 after the third file; the rest form the second part.
        #expect(result.parts.map(\.name) == ["g-0.json", "g-1.json"])
        #expect(result.parts.map(\.files.count) == [3, 2])
        #expect(contents(folder.path + "/dest/g-0.json").count == 1200)
    }

    @Test func aCaptureThatDidNotTakePartIsAnErrorNamingTheFile() throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        #expect {
            _ = try group(src, folder.path + "/dest") {
                $0.groupBy = try! GroupPattern(#"AWSLogs/[0-9]+/CloudTrail/(eu-[^/]+)?.*/([0-9]{2})/[^/]+\.json\.gz"#)
            }
        } throws: { error in
            let text = (error as? TrailMergeError)?.description ?? ""
            return text.contains("capture group 1") && text.contains("us-east-1") && !text.contains("null")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/dest"))
    }

    @Test func aRegexWithoutCapturesIsAUsageError() throws {
        let result = try runCLI(["group", "/tmp", "/tmp/x", "--group-by", ".*\\.json"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("has no capture group"))
        #expect(result.stderr.contains("e.g."))
    }

    @Test func mixingGzipAndPlainUnderKeepIsAnError() throws {
        let folder = TempFolder()
        folder.write("src/g/a.json", "{}")
        folder.write("src/g/b.json", gzip("{}"))
        var o = GroupOptions()
        o.source = folder.path + "/src"
        o.destination = folder.path + "/dest"
        o.groupBy = try GroupPattern(#"(g)/.*"#)
        #expect { try runGroup(o) } throws: { error in
            ((error as? TrailMergeError)?.description ?? "").contains("--output-codec")
        }
        o.codec = .none
        _ = try runGroup(o)
        #expect(contents(folder.path + "/dest/g.json") == Array("{}{}".utf8))
    }

    @Test func manifestsMakeIncrementalRunsAndNeverOverwrite() throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        let dest = folder.path + "/dest"
        let first = folder.path + "/m1.gz"
        _ = try group(src, dest) { $0.outputManifest = first }
        let entries1 = try readManifest(first)
        #expect(entries1.count == 4)
        #expect(entries1.allSatisfy { $0.srcDir == src && $0.path.hasPrefix(dest + "/") })
        // A new file arrives for a day that already has an output.
        folder.write("src/AWSLogs/111/CloudTrail/us-east-1/2024/01/01/e.json.gz", gzip(#"{"Records":[]}"#))
        let second = folder.path + "/m2.gz"
        let result = try group(src, dest) {
            $0.previousManifest = first
            $0.outputManifest = second
        }
        #expect(result.parts.map(\.name) == ["111us-east-120240101-1.json.gz"])
        #expect(result.parts.first?.renamedFrom == "111us-east-120240101.json.gz")
        #expect(result.parts.first?.files.map(\.relativePath) == ["AWSLogs/111/CloudTrail/us-east-1/2024/01/01/e.json.gz"])
        let entries2 = try readManifest(second)
        #expect(entries2.count == 5)
        #expect(Set(entries2.map(\.baseName)) == Set(entries1.map(\.baseName)).union(["AWSLogs/111/CloudTrail/us-east-1/2024/01/01/e.json.gz"]))
        // The first run's output is untouched.
        let day = src + "/AWSLogs/111/CloudTrail/us-east-1/2024/01/01/"
        #expect(contents(dest + "/111us-east-120240101.json.gz") == contents(day + "a.json.gz") + contents(day + "b.json.gz"))
    }

    @Test func deleteOnSuccessRemovesOnlyGroupedSources() throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        _ = try group(src, folder.path + "/dest") { $0.deleteOnSuccess = true }
        let left = folder.listing().filter { $0.hasPrefix("src/") && $0.hasSuffix(".gz") || $0.hasSuffix(".txt") }
        #expect(left == ["src/AWSLogs/111/CloudTrail-Digest/us-east-1/2024/01/01/x.json.gz", "src/README.txt"])
    }

    @Test func aFailedRunDeletesNothingAndLeavesNoOutput() throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        folder.write("src/AWSLogs/111/CloudTrail/us-east-1/2024/01/02/z.json.gz", [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])
        let before = folder.listing()
        #expect(throws: TrailMergeError.self) {
            _ = try group(src, folder.path + "/dest") {
                $0.codec = .gzip
                $0.deleteOnSuccess = true
            }
        }
        #expect(folder.listing().filter { !$0.hasPrefix("dest") } == before)
        #expect(folder.listing().filter { $0.hasPrefix("dest/") }.isEmpty)
    }

    @Test func dryRunPlansAndWritesNothing() throws {
        let folder = TempFolder()
        let src = makeSource(folder)
        let result = try group(src, folder.path + "/dest") { $0.dryRun = true }
        #expect(result.parts.count == 3)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/dest"))
        let cli = try runCLI(["group", src, folder.path + "/dest", "--group-by", dayPattern, "--dry-run", "--verbose"])
        #expect(cli.status == 0)
        #expect(String(decoding: cli.stdout, as: UTF8.self).split(separator: "\n").count == 3)
        #expect(cli.stderr.contains("2 files did not match --group-by"))
        #expect(cli.stderr.contains("did not match --group-by: README.txt"))
    }

    @Test(arguments: [OutputCodec.keep, .gzip, .none])
    func processingGroupedOutputEqualsProcessingTheSource(codec: OutputCodec) throws {
        let folder = TempFolder()
        var g = GeneratorOptions()
        g.destination = folder.path + "/src"
        g.files = 36
        g.recordsPerFile = 15
        g.days = 3
        _ = try generateTree(g)
        _ = try group(g.destination, folder.path + "/dest") {
            $0.codec = codec
            $0.targetSize = 20_000
        }
        var o = options([g.destination])
        o.memoryBudget = 64 << 10
        let fromSource = try runToBytes(o, in: folder, name: "a.tsv").bytes
        o.inputs = [folder.path + "/dest"]
        o.sourcePattern = nil
        let fromGroups = try runToBytes(o, in: folder, name: "b.tsv").bytes
        #expect(fromSource == fromGroups)
        #expect(!fromSource.isEmpty)
    }

    /// QA: `group` progress stayed at `0/N files` while one big group was written: a part counted
    /// its files only once it was complete. Each source now counts once it is copied in: a part
    /// whose third file has vanished has counted the two before it, and never the third.
    @Test(arguments: [OutputCodec.keep, .gzip, .none])
    func progressCountsEachSourceFileOnceItIsCopiedIn(codec: OutputCodec) throws {
        let folder = TempFolder()
        var files: [SourceFile] = []
        for (index, name) in ["a", "b", "c"].enumerated() {
            let path = folder.write("src/\(name).json.gz", gzip(#"{"Records":[{"eventTime":"t\#(index)"}]}"#))
            files.append(SourceFile(path: path, relativePath: name + ".json.gz", root: folder.path + "/src", size: contents(path).count))
        }
        try FileManager.default.removeItem(atPath: files[2].path)
        let part = PlannedPart(name: "all.json.gz", key: "all", files: files)
        let outputs = OutputSet(cleanup: Cleanup())
        defer { outputs.abandon() }
        let staged = try outputs.stage(folder.path + "/all.json.gz", role: "output")
        let progress = ProgressCounters()
        #expect(throws: TrailMergeError.self) {
            _ = try writePart(
                part, to: staged, codec: codec, level: 6, threads: 2, reader: GzipReader(), storage: Storage(), progress: progress)
        }
        #expect(progress.snapshot.filesDone == 2)
        #expect(progress.snapshot.inputBytesDone == files[0].size + files[1].size)
    }
}
