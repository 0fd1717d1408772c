/// Crash safety: what a SIGKILLed run leaves is reclaimed by the next run (and only that: never a
/// live run's files, never files without proof of ownership), an interrupted commit is rolled
/// back, and two group runs never write into one DEST at once. scripts/chaos.sh does the same at
/// random moments.
import Foundation
import Testing
@testable import TrailMerge

private func listing(_ path: String) -> [String] {
    (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
}

private func text(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

/// Starts the tool with `arguments`, waits (up to 30 s) until `ready` holds, then SIGKILLs it the
/// way the OOM killer does. - Returns: the killed process's pid.
private func killWhen(_ arguments: [String], _ ready: () -> Bool) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executablePath)
    process.arguments = arguments
    try process.run()
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline && !ready() { usleep(1_000) }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    return process.processIdentifier
}

/// A generated tree of 300 files of 60 records under `folder/src`, over `days` days.
private func killableTree(_ folder: TempFolder, days: Int? = nil) throws {
    var g = GeneratorOptions()
    g.destination = folder.path + "/src"
    g.files = 300
    g.recordsPerFile = 60
    if let days { g.days = days }
    _ = try generateTree(g)
}

@Suite struct CrashSafetyTests {
    @Test func aKilledRunsSpillsAndTempOutputAreReclaimedByTheNextRun() throws {
        let folder = TempFolder()
        try killableTree(folder)
        let temp = folder.path + "/tmp"
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder.path + "/out", withIntermediateDirectories: true)
        let arguments = ["process", folder.path + "/src", "-o", folder.path + "/out/e.tsv.gz", "--memory", "64KiB",
                         "--temp-dir", temp, "--threads", "1", "--quiet"]
        // Killed once it has spilled a few runs.
        let pid = try killWhen(arguments) { listing(temp).filter { $0.contains("/run-") }.count >= 3 }
        #expect(listing(temp).contains { $0.hasSuffix("/owner.lock") }, "the killed run left its spill folder")
        #expect(listing(folder.path + "/out").contains { $0.hasPrefix(".trailmerge-run-") })

        let again = try runCLI(Array(arguments.dropLast()))
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.hasPrefix("trailmerge: removed "), "\(again.stderr)")
        #expect(again.stderr.contains(" left by a killed run (pid \(pid))"))
        #expect(listing(temp).isEmpty)
        #expect(listing(folder.path + "/out") == ["e.tsv.gz"])
    }

    @Test func aKilledPartitionedRunIsReclaimedByTheNextRun() throws {
        let folder = TempFolder()
        try killableTree(folder, days: 20)
        let out = folder.path + "/lake"
        let arguments = ["process", folder.path + "/src", "-o", out, "--partition-by", "dt=eventTime:10", "--partition-by",
                         "region=awsRegion", "--memory", "64KiB", "--temp-dir", folder.path, "--threads", "1", "--quiet"]
        // Killed once it has staged a few partitions.
        let pid = try killWhen(arguments) { listing(out).filter { $0.contains(".tmp-") }.count >= 3 }
        #expect(listing(out).contains { $0.contains(".tmp-") }, "the killed run left staged partitions")

        let again = try runCLI(Array(arguments.dropLast()))
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains(" left by a killed run (pid \(pid))"), "\(again.stderr)")
        #expect(!listing(out).isEmpty && listing(out).allSatisfy { !$0.contains(".tmp-") && !$0.contains(".trailmerge-") })
        #expect(listing(folder.path).allSatisfy { !$0.contains(".trailmerge-run") })
    }

    @Test func liveRunsAndFilesWithoutProofAreNeverTouched() throws {
        let folder = TempFolder()
        let out = folder.path + "/out"
        let temp = folder.path + "/tmp"
        try FileManager.default.createDirectory(atPath: temp + "/trailmerge-live01", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: temp + "/trailmerge-noproof", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // A live run (this test process holds its locks) with a spill and a temp output it listed.
        let liveSpillLock = try OwnerLock(creating: temp + "/trailmerge-live01/owner.lock")
        folder.write("tmp/trailmerge-live01/run-1", "rows")
        let liveJournal = try OwnerLock(creating: out + "/.trailmerge-run-live0001.lock")
        liveJournal.append("temp \(out)/.e.tsv.tmp-live0001")
        folder.write("out/.e.tsv.tmp-live0001", "partial")
        // Look-alikes with no proof: a temp-like name, a folder without owner.lock, a foreign lock file.
        folder.write("out/.e.tsv.tmp-stranger", "someone else's")
        folder.write("tmp/trailmerge-noproof/run-1", "someone else's")
        folder.write("out/.trailmerge-run-foreign1.lock", "not a trailmerge journal\ntemp \(out)/.e.tsv.tmp-stranger\n")
        let before = listing(folder.path)

        let result = try runCLI(["process", fixturesPath + "/sample", "-o", out + "/e.tsv", "--temp-dir", temp, "--memory", "16KiB"])
        #expect(result.status == 0)
        #expect(!result.stderr.contains("removed"), "\(result.stderr)")
        #expect(listing(folder.path) == (before + ["out/e.tsv"]).sorted())
        liveSpillLock.release()
        liveJournal.release()
    }

    @Test func anInterruptedCommitIsRolledBack() throws {
        // What a run killed midway through its renames leaves: the output already replaced (its
        // earlier version kept as a backup), the stats still under its temp name, and the journal.
        let folder = TempFolder()
        let f = folder.path
        folder.write("out.tsv", "new\n")
        folder.write(".out.tsv.bak-aaaaaaaa", "old\n")
        folder.write(".s.json.tmp-bbbbbbbb", "{}")
        folder.write("keep.txt", "unrelated")
        folder.write(".trailmerge-run-dead0001.lock", """
            \(OwnerLock.magic) pid=999999 host=\(hostName())
            temp \(f)/.out.tsv.tmp-cccccccc
            temp \(f)/.s.json.tmp-bbbbbbbb
            backup \(f)/.out.tsv.bak-aaaaaaaa
            rename \(f)/.out.tsv.tmp-cccccccc\t\(f)/out.tsv\t\(f)/.out.tsv.bak-aaaaaaaa
            rename \(f)/.s.json.tmp-bbbbbbbb\t\(f)/s.json\t-

            """)
        let reclaimed = reclaimAbandoned(outputFolders: [f], tempFolder: nil)
        #expect(reclaimed.notice?.hasSuffix("left by a killed run (pid 999999)") == true)
        #expect(text(f + "/out.tsv") == "old\n")
        #expect(listing(f) == ["keep.txt", "out.tsv"])

        // A journal whose commit finished only loses its leftover backups.
        folder.write(".out.tsv.bak-dddddddd", "older\n")
        folder.write(".trailmerge-run-dead0002.lock", """
            \(OwnerLock.magic) pid=999998 host=\(hostName())
            backup \(f)/.out.tsv.bak-dddddddd
            rename \(f)/.out.tsv.tmp-eeeeeeee\t\(f)/out.tsv\t\(f)/.out.tsv.bak-dddddddd
            done

            """)
        _ = reclaimAbandoned(outputFolders: [f], tempFolder: nil)
        #expect(text(f + "/out.tsv") == "old\n")
        #expect(listing(f) == ["keep.txt", "out.tsv"])
    }

    @Test func twoGroupRunsNeverWriteIntoOneDestAtOnce() throws {
        let folder = TempFolder()
        let dest = folder.path + "/daily"
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        let held = try FolderLock(dest)  // the first run, still writing
        let second = try runCLI(["group", fixturesPath + "/sample/AWSLogs", dest, "--group-by", "([0-9]+)/.*"])
        #expect(second.status == 1)
        #expect(second.stderr == "trailmerge: \(dest): another trailmerge group run is writing into this DEST; run one at a time (nothing was written)\n")
        #expect(listing(dest).isEmpty)
        held.release()
        let third = try runCLI(["group", fixturesPath + "/sample/AWSLogs", dest, "--group-by", "([0-9]+)/.*"])
        #expect(third.status == 0, "\(third.stderr)")
        #expect(listing(dest).count == 3)
    }
}

@Suite struct ConcurrentRunTests {
    @Test func twoRunsWritingOneOutputEachWriteACompleteRun() throws {
        let folder = TempFolder()
        let out = folder.path + "/e.tsv.gz"
        let reference = try runCLI(["process", fixturesPath + "/sample", "-o", "-", "--quiet"]).stdout
        let runs = (0..<2).map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executablePath)
            p.arguments = ["process", fixturesPath + "/sample", "-o", out, "--memory", "16KiB", "--quiet", "--temp-dir", folder.path]
            return p
        }
        for p in runs { try p.run() }
        for p in runs { p.waitUntilExit() }
        #expect(runs.allSatisfy { $0.terminationStatus == 0 })
        #expect(try runTool("/bin/gzip", ["-dc", out], input: []) == reference)
        #expect(listing(folder.path) == ["e.tsv.gz"])
    }
}

/// Bug 2 (security): lock files are proof only when this user owns them, and even then only the
/// paths a run could have made are removed, never through a symbolic link.
@Suite struct ForgedJournalTests {
    private static let nobody: uid_t = 65534

    private func deadLock(_ lines: [String]) -> String {
        (["\(OwnerLock.magic) pid=999999 host=\(hostName())"] + lines).joined(separator: "\n") + "\n"
    }

    @Test func aLockFileOfAnotherUserIsNeverTrusted() throws {
        guard geteuid() == 0 else { return }  // chown needs root (CI runs the tests as root)
        let folder = TempFolder()
        let f = folder.path
        folder.write("victim.txt", "precious")
        folder.write("victimdir/file", "precious")
        let lock = folder.write("shared/.trailmerge-run-evil0001.lock", deadLock(["temp \(f)/victim.txt", "spill \(f)/victimdir"]))
        #expect(chown(lock, Self.nobody, Self.nobody) == 0)
        folder.write("tmp/trailmerge-evil01/owner.lock", deadLock([]))
        #expect(chown(f + "/tmp/trailmerge-evil01/owner.lock", Self.nobody, Self.nobody) == 0)
        #expect(symlink(f + "/victimdir", f + "/tmp/trailmerge-evil01/run-1") == 0)

        let result = try runCLI(["process", fixturesPath + "/sample", "-o", f + "/shared/out.tsv", "--temp-dir", f + "/tmp"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("removed"), "\(result.stderr)")
        #expect(text(f + "/victim.txt") == "precious")
        #expect(text(f + "/victimdir/file") == "precious")
        #expect(FileManager.default.fileExists(atPath: lock), "a foreign lock file is left alone")
        #expect(FileManager.default.fileExists(atPath: f + "/tmp/trailmerge-evil01/owner.lock"))
    }

    @Test func aJournalOfOurOwnRemovesOnlyWhatARunCouldHaveMade() throws {
        let folder = TempFolder()
        let f = folder.path
        folder.write("victim.txt", "precious")
        folder.write("victimdir/file", "precious")
        folder.write("out/report.tsv", "precious")
        folder.write("out/.e.tsv.tmp-aaaaaaaa", "debris")
        #expect(symlink(f + "/victim.txt", f + "/out/.e.tsv.tmp-bbbbbbbb") == 0)
        folder.write("out/.trailmerge-run-dead0001.lock", deadLock([
            "temp \(f)/victim.txt", "temp \(f)/out/.e.tsv.tmp-aaaaaaaa", "temp \(f)/out/.e.tsv.tmp-bbbbbbbb",
            "backup \(f)/victimdir/file", "spill \(f)/victimdir",
            // A commit cut midway whose rename names a file no run of ours would have renamed.
            "rename \(f)/out/.e.tsv.tmp-cccccccc\t\(f)/out/report.tsv\t-",
            "rename \(f)/.victim.txt.tmp-dddddddd\t\(f)/victim.txt\t-",
        ]))
        let reclaimed = reclaimAbandoned(outputFolders: [f + "/out"], tempFolder: nil)
        #expect(reclaimed.notice?.hasSuffix("left by a killed run (pid 999999)") == true)
        #expect(text(f + "/victim.txt") == "precious")
        #expect(text(f + "/victimdir/file") == "precious")
        #expect(text(f + "/out/report.tsv") == "precious")
        // A link under a temp name is not a file the run wrote: left alone, its target untouched.
        #expect(listing(f + "/out") == [".e.tsv.tmp-bbbbbbbb", "report.tsv"])
        #expect(reclaimed.warning?.hasPrefix("left alone ") == true, "\(String(describing: reclaimed.warning))")
    }

    @Test func aDeadSpillFolderIsRemovedWithoutFollowingLinks() throws {
        let folder = TempFolder()
        let f = folder.path
        folder.write("victimdir/file", "precious")
        folder.write("tmp/trailmerge-dead01/owner.lock", deadLock([]))
        folder.write("tmp/trailmerge-dead01/run-2", "rows")
        #expect(symlink(f + "/victimdir", f + "/tmp/trailmerge-dead01/run-1") == 0)
        // A spill-folder name that is itself a link to a folder holding a dead owner.lock.
        folder.write("victimdir/owner.lock", deadLock([]))
        #expect(symlink(f + "/victimdir", f + "/tmp/trailmerge-link01") == 0)
        let reclaimed = reclaimAbandoned(outputFolders: [], tempFolder: f + "/tmp")
        #expect(reclaimed.pids == ["999999"])
        #expect(listing(f + "/tmp") == ["trailmerge-link01"])
        #expect(listing(f + "/victimdir") == ["file", "owner.lock"])
    }
}
