import Foundation
import Testing
@testable import TrailMerge

private let good = #"{"Records":[{"eventTime":"2024-01-01T00:00:01Z","eventName":"Good"}]}"#

/// A folder with good files around the bad input called `name`.
private func treeWithBadFile(named name: String) -> (folder: TempFolder, input: String) {
    let folder = TempFolder()
    return (folder, treeWithBadFile(folder, bad: badInputs.first { $0.0 == name }!.1))
}

/// A folder with good files around one bad one.
private func treeWithBadFile(_ folder: TempFolder, bad: [UInt8]) -> String {
    folder.write("in/a.json.gz", gzip(good))
    folder.write("in/b.json.gz", bad)
    folder.write("in/c.json", #"{"Records":[{"eventTime":"2024-01-01T00:00:02Z","eventName":"Also"}]}"#)
    return folder.path + "/in"
}

private let badInputs: [(String, [UInt8])] = [
    ("truncated gzip", Array(gzip(good).dropLast(9))),
    ("bad CRC", { var b = gzip(good); b[b.count - 7] ^= 1; return b }()),
    ("bad header", { var b = gzip(good); b[3] = 0xE0; return b }()),
    ("not deflate", [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0]),
    ("invalid JSON", gzip(#"{"Records":[{"eventTime":"x",}]}"#)),
    ("records not an array", gzip(#"{"Records":{"eventTime":"x"}}"#)),
    ("record not an object", gzip(#"{"Records":["x"]}"#)),
]

@Suite struct RobustnessTests {
    @Test(arguments: badInputs.map(\.0))
    func badFilesFailFastWithOneLineAndNoDebris(name: String) throws {
        let (folder, input) = treeWithBadFile(named: name)
        let temp = folder.path + "/tmp"
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        let result = try runCLI(["process", input, "-o", folder.path + "/out.tsv.gz", "--temp-dir", temp, "--memory", "16KiB"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("trailmerge: \(input)/b.json.gz: byte "), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(folder.listing().sorted() == ["in", "in/a.json.gz", "in/b.json.gz", "in/c.json", "tmp"])
    }

    @Test(arguments: badInputs.map(\.0))
    func skipBadFilesDropsOnlyTheBadFile(name: String) throws {
        let (folder, input) = treeWithBadFile(named: name)
        let stats = folder.path + "/stats.json"
        let result = try runCLI(["process", input, "-o", "-", "--skip-bad-files", "--stats", stats, "--fields", "eventTime,eventName"])
        #expect(result.status == 0)
        #expect(String(decoding: result.stdout, as: UTF8.self) == "2024-01-01T00:00:01Z\tGood\n2024-01-01T00:00:02Z\tAlso\n")
        #expect(result.stderr.contains("skipped \(input)/b.json.gz: byte "))
        #expect(result.stderr.contains("1 bad file skipped"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as! [String: Any]
        #expect(json["skippedFiles"] as? [String] == ["\(input)/b.json.gz"])
    }

    @Test func skippedFilesLoseNoRowsEvenAfterTheirRowsWereSpilled() throws {
        // The bad file produces many rows before its error, at a budget that spills mid-file.
        let folder = TempFolder()
        let records = (0..<400).map { #"{"eventTime":"2024-01-01T00:00:\#($0 % 60)Z","eventName":"Bad\#($0)"}"# }
        folder.write("in/a.json", good)
        folder.write("in/b.json", #"{"Records":["# + records.joined(separator: ",") + ",oops]}")
        var o = options([folder.path + "/in"], fields: "eventTime,eventName")
        o.skipBadFiles = true
        o.memoryBudget = 16 << 10
        o.threads = 1
        let (bytes, stats) = try runToBytes(o, in: folder)
        #expect(String(decoding: bytes, as: UTF8.self) == "2024-01-01T00:00:01Z\tGood\n")
        #expect(stats.skippedFiles == [folder.path + "/in/b.json"])
        #expect(stats.rows == 1)
        #expect(folder.listing().filter { $0.contains("trailmerge-") }.isEmpty)
    }

    @Test func zeroLengthFilesAndEmptyMembersAreNotErrors() throws {
        let folder = TempFolder()
        folder.write("in/empty.json", [UInt8]())
        folder.write("in/empty-member.json.gz", gzip(""))
        folder.write("in/a.json", good)
        let result = try runCLI(["process", folder.path + "/in", "-o", "-", "--fields", "eventName"])
        #expect(result.status == 0)
        #expect(String(decoding: result.stdout, as: UTF8.self) == "Good\n")
        #expect(result.stderr.contains("warning: \(folder.path)/in/empty.json: empty file; 0 records"))
    }

    @Test func aSingleValueOverTheLimitFailsClearly() throws {
        let folder = TempFolder()
        var big = Array(#"{"Records":[{"eventTime":"t","blob":""#.utf8)
        big += [UInt8](repeating: 0x61, count: 100_000_000)  // a 100 MB string
        big += Array(#""}]}"#.utf8)
        let file = folder.write("big.json", big)
        #expect {
            _ = try runToBytes(options([file], fields: "eventTime"), in: folder)
        } throws: { error in
            (error as? TrailMergeError)?.description == "\(file): byte 12: a single JSON value is larger than the 64 MiB limit"
        }
    }

    @Test func aRecordLargerThanTheBudgetIsStillProcessed() throws {
        let folder = TempFolder()
        let name = String(repeating: "n", count: 200_000)
        let file = folder.write("r.json", #"{"Records":[{"eventTime":"b","eventName":"\#(name)"},{"eventTime":"a","eventName":"x"}]}"#)
        var o = options([file], fields: "eventTime,eventName")
        o.memoryBudget = 16 << 10
        let (bytes, stats) = try runToBytes(o, in: folder)
        #expect(String(decoding: bytes, as: UTF8.self) == "a\tx\nb\t\(name)\n")
        #expect(stats.rows == 2)
    }

    @Test func aFileThatVanishesBeforeItIsReadIsNamed() throws {
        let folder = TempFolder()
        folder.write("in/a.json", good)
        let gone = folder.write("in/b.json", good)
        var o = options([folder.path + "/in"], fields: "eventName")
        o.inputs = [folder.path + "/in/a.json", gone]
        try FileManager.default.removeItem(atPath: gone)
        #expect { _ = try runToBytes(o, in: folder) } throws: { error in
            (error as? TrailMergeError)?.description == "\(gone): cannot stat: no such file or directory"
        }
    }

    @Test func missingOutputFolderAndUnusableTempFolderAreClearErrors() throws {
        let folder = TempFolder()
        let input = folder.write("a.json", good)
        let noDir = try runCLI(["process", input, "-o", folder.path + "/missing/out.tsv"])
        #expect(noDir.status == 1)
        #expect(noDir.stderr == "trailmerge: \(folder.path)/missing/out.tsv: the output folder \(folder.path)/missing does not exist\n")
        let notDir = folder.write("plainfile", "x")
        // The temp folder is checked before any input is read, even when the run would not spill.
        let badTemp = try runCLI(["process", input, "-o", folder.path + "/o.tsv", "--temp-dir", notDir])
        #expect(badTemp.status == 1)
        #expect(badTemp.stderr == "trailmerge: \(notDir): the temp folder (--temp-dir) is not a folder\n")
        let missing = try runCLI(["process", input, "-o", folder.path + "/o2.tsv", "--temp-dir", folder.path + "/nope"])
        #expect(missing.stderr == "trailmerge: \(folder.path)/nope: the temp folder (--temp-dir) does not exist\n")
        #expect(folder.listing() == ["a.json", "plainfile"])
    }

    @Test(.disabled(if: runningUnderSanitizer, "ulimit -f breaks the sanitizer runtime's own mappings"))
    func aFullDiskIsAWriteErrorWithNoDebris() throws {
        let folder = TempFolder()
        let out = folder.path + "/out.tsv"
        let command = "ulimit -f 64; '\(executablePath)' process '\(fixturesPath)/sample' -o '\(out)' --temp-dir '\(folder.path)' --memory 16KiB"
        let result = try runTool("/bin/bash", ["-c", command + " 2>&1; echo \"status=$?\""])
        let text = String(decoding: result, as: UTF8.self)
        #expect(text.contains("status=1"), "\(text)")
        #expect(text.contains("file too large"))
        #expect(folder.listing().isEmpty, "\(folder.listing())")
    }

    @Test func fewFileDescriptorsForceMorePassesNotFailure() throws {
        let folder = TempFolder()
        let out = folder.path + "/out.tsv"
        let stats = folder.path + "/s.json"
        let command = "ulimit -n 20; exec '\(executablePath)' process '\(fixturesPath)/sample' -o '\(out)' --memory 16KiB --threads 1 --stats '\(stats)'"
        _ = try runTool("/bin/bash", ["-c", command])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as! [String: Any]
        #expect((json["mergePasses"] as? Int ?? 0) >= 3)
        let reference = try runCLI(["process", fixturesPath + "/sample", "-o", "-", "--quiet"])
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: out))) == reference.stdout)
    }

    /// Bug 11: under `ulimit -n` 16 the run failed with "cannot create: too many open files"
    /// (the fan-in ignored the descriptors the run itself holds, and both reading threads spilled
    /// at once). Now the threads and fan-in fit what is left, and a limit too low for any sort is
    /// one clear line.
    @Test func aVeryLowOpenFileLimitLowersThreadsAndFanInOrSaysWhy() throws {
        let folder = TempFolder()
        let out = folder.path + "/out.tsv"
        let stats = folder.path + "/s.json"
        // Descriptors the test runner may have leaked into the shell are closed first.
        let closeInherited = "for fd in $(ls /proc/$$/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\" 2>/dev/null; done; "
        let run = { (limit: Int) throws -> ToolResult in
            try runCLIThrough("/bin/bash", ["-c", closeInherited + "ulimit -n \(limit); exec '\(executablePath)' process '\(fixturesPath)/sample' "
                + "-o '\(out)' --memory 16KiB --temp-dir '\(folder.path)' --stats '\(stats)' --quiet"])
        }
        let low = try run(16)
        #expect(low.status == 0, "\(low.stderr)")
        let reference = try runCLI(["process", fixturesPath + "/sample", "-o", "-", "--quiet"])
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: out))) == reference.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as! [String: Any]
        #expect((json["mergePasses"] as? Int ?? 0) >= 3)
        try FileManager.default.removeItem(atPath: out)
        try FileManager.default.removeItem(atPath: stats)
        let tooLow = try run(11)
        #expect(tooLow.status == 1)
        #expect(tooLow.stderr.contains("the open-file limit (ulimit -n 11) leaves "), "\(tooLow.stderr)")
        #expect(tooLow.stderr.hasSuffix("raise it with ulimit -n\n"))
        #expect(folder.listing().isEmpty, "\(folder.listing())")
    }

    @Test(arguments: [(SIGTERM, Int32(143)), (SIGINT, Int32(130))])
    func signalsRemoveTempFilesAndPartialOutput(signal: Int32, status: Int32) throws {
        let folder = TempFolder()
        let fifo = folder.path + "/blocked.json"
        #expect(mkfifo(fifo, 0o600) == 0)
        let temp = folder.path + "/tmp"
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath)
        // One worker blocks on the pipe while the other spills the sample: a run in mid-flight.
        process.arguments = ["process", fixturesPath + "/sample", fifo, "-o", folder.path + "/out.tsv", "--temp-dir", temp,
                             "--memory", "16KiB", "--threads", "2", "--chunk-size", "1", "--quiet"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        var spilled = false
        for _ in 0..<200 {
            let dirs = (try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? []
            if let dir = dirs.first, !((try? FileManager.default.contentsOfDirectory(atPath: temp + "/" + dir)) ?? []).isEmpty {
                spilled = true
                break
            }
            usleep(20_000)
        }
        #expect(spilled)
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationStatus == status)
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp).isEmpty)
        #expect(folder.listing().sorted() == ["blocked.json", "tmp"])
    }

    @Test func progressWithoutATerminalIsPlainLinesInTheSummarysUnits() throws {
        let folder = TempFolder()
        let result = try runCLI(
            ["process", fixturesPath + "/sample", "-o", folder.path + "/o.tsv", "--progress", "--memory", "16KiB", "--threads", "1"],
            environment: ["TRAILMERGE_PROGRESS_INTERVAL": "0"])
        #expect(result.status == 0)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(!result.stderr.contains("\r"), "no carriage returns in a log")
        #expect(lines.contains { $0.hasPrefix("reading: ") && $0.contains("/24 files, ") && $0.contains(" MB of JSON, ") && $0.contains("MB/s of JSON") })
        #expect(lines.contains { $0.hasPrefix("merging: pass 1/") && $0.contains(" rows") })
        #expect(lines.last?.hasPrefix("trailmerge: 24 files, ") == true)
        let quiet = try runCLI(["process", fixturesPath + "/sample", "-o", "-", "--quiet"])
        #expect(quiet.stderr.isEmpty)
    }

    @Test func progressOnATerminalIsErasedBeforeTheSummary() throws {
        let folder = TempFolder()
        // `script` gives the command a terminal for stdout and stderr.
        let command = "\(executablePath) process \(fixturesPath)/sample -o \(folder.path)/o.tsv --memory 16KiB --threads 1"
        let result = try runCLIThrough("/usr/bin/script", ["-qec", command, "/dev/null"])
        #expect(result.status == 0)
        let text = String(decoding: result.stdout, as: UTF8.self)
        #expect(text.contains("\r\u{1B}[Kreading: "))
        // The last drawing is erased, and the summary follows on a clean line.
        #expect(text.contains("\r\u{1B}[Ktrailmerge: 24 files, "))
        // Rows written to the terminal itself get no progress line mixed in.
        let toTerminal = try runCLIThrough("/usr/bin/script", ["-qec", "\(executablePath) process \(fixturesPath)/sample -o - --progress", "/dev/null"])
        #expect(!String(decoding: toTerminal.stdout, as: UTF8.self).contains("\u{1B}[K"))
    }
}

@Suite struct GroupRobustnessTests {
    @Test(arguments: badInputs.map(\.0).filter { !["invalid JSON", "records not an array", "record not an object"].contains($0) })
    func badGzipFailsTheGroupNamingTheFileAndDeletesNothing(name: String) throws {
        let (folder, input) = treeWithBadFile(named: name)
        let before = folder.listing()
        let result = try runCLI(["group", input, folder.path + "/dest", "--group-by", #"(.)\.json.*"#,
                                 "--output-codec", "gzip", "--delete-on-success"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("trailmerge: \(input)/b.json.gz: byte "), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(folder.listing().filter { !$0.hasPrefix("dest") } == before)
        #expect(folder.listing().filter { $0.hasPrefix("dest/") }.isEmpty)
    }

    @Test func anUnwritableOutputIsAClearError() throws {
        let folder = TempFolder()
        let input = folder.write("a.json", good)
        let result = try runCLI(["process", input, "-o", "/proc/trailmerge-out.tsv"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("trailmerge: /proc/"), "\(result.stderr)")
        #expect(result.stderr.contains("cannot create"))
    }

    @Test func aSignalDuringGroupRemovesTempOutputsAndDeletesNoSource() throws {
        let folder = TempFolder()
        var g = GeneratorOptions()
        g.destination = folder.path + "/src"
        g.files = 240
        g.recordsPerFile = 60
        _ = try generateTree(g)
        let before = folder.listing()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath)
        process.arguments = ["group", g.destination, folder.path + "/dest", "--group-by", #"AWSLogs/([0-9]+)/.*"#,
                             "--output-codec", "gzip", "--compression-level", "9", "--delete-on-success", "--threads", "1"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        var sawTemp = false
        for _ in 0..<2000 {
            if ((try? FileManager.default.contentsOfDirectory(atPath: folder.path + "/dest")) ?? []).contains(where: { $0.contains(".tmp-") }) {
                sawTemp = true
                break
            }
            usleep(1_000)
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(sawTemp)
        #expect(process.terminationStatus == 143)
        #expect(folder.listing().filter { !$0.hasPrefix("dest") } == before)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: folder.path + "/dest")) ?? []).isEmpty)
    }
}

/// True when `unshare --user` can run a command as an unprivileged user (permission checks apply
/// to it even though the tests run as root).
private let canDropPrivileges: Bool = {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return false }
    return (try? runTool("/usr/bin/unshare", ["--user", "true"])) != nil
}()

@Suite struct PermissionTests {
    /// A world-accessible folder with a readable file and the given locked entry.
    private func tree(lock: String, mode: mode_t) -> (TempFolder, String) {
        let folder = TempFolder()
        folder.write("in/ok/a.json", #"{"Records":[{"eventTime":"t"}]}"#)
        folder.write("in/locked/b.json", #"{"Records":[{"eventTime":"u"}]}"#)
        for path in [folder.path, folder.path + "/in", folder.path + "/in/ok", folder.path + "/in/locked"] { chmod(path, 0o777) }
        chmod(folder.path + "/in/ok/a.json", 0o644)
        chmod(folder.path + "/in/locked/b.json", 0o644)
        chmod(folder.path + "/in/" + lock, mode)
        return (folder, folder.path + "/in/" + lock)
    }

    private func runUnprivileged(_ arguments: [String]) throws -> ToolResult {
        try runCLIThrough("/usr/bin/unshare", ["--user", executablePath] + arguments)
    }

    @Test(.enabled(if: canDropPrivileges, "needs unshare --user"))
    func anUnreadableDirectoryIsNamed() throws {
        let (folder, locked) = tree(lock: "locked", mode: 0)
        let result = try runUnprivileged(["process", folder.path + "/in", "-o", folder.path + "/out.tsv"])
        #expect(result.status == 1)
        #expect(result.stderr == "trailmerge: \(locked): cannot read directory: permission denied\n")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/out.tsv"))
    }

    @Test(.enabled(if: canDropPrivileges, "needs unshare --user"))
    func anUnreadableFileIsNamedAndSkippable() throws {
        let (folder, locked) = tree(lock: "locked/b.json", mode: 0)
        let result = try runUnprivileged(["process", folder.path + "/in", "-o", folder.path + "/out.tsv"])
        #expect(result.status == 1)
        #expect(result.stderr == "trailmerge: \(locked): cannot open: permission denied\n")
        let skipping = try runUnprivileged(["process", folder.path + "/in", "-o", "-", "--skip-bad-files", "--fields", "eventTime"])
        #expect(skipping.status == 0)
        #expect(String(decoding: skipping.stdout, as: UTF8.self) == "t\n")
    }

    @Test(.enabled(if: canDropPrivileges, "needs unshare --user"))
    func unwritableOutputAndTempFoldersAreClearErrors() throws {
        let (folder, _) = tree(lock: "locked", mode: 0o755)
        let readOnly = folder.path + "/ro"
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
        chmod(readOnly, 0o555)
        let output = try runUnprivileged(["process", folder.path + "/in", "-o", readOnly + "/out.tsv"])
        #expect(output.status == 1)
        #expect(output.stderr == "trailmerge: \(readOnly)/out.tsv: the output folder \(readOnly) is not writable\n")
        let temp = try runUnprivileged(["process", fixturesPath + "/sample", "-o", folder.path + "/o.tsv",
                                        "--temp-dir", readOnly, "--memory", "16KiB"])
        #expect(temp.status == 1)
        #expect(temp.stderr == "trailmerge: \(readOnly): the temp folder (--temp-dir) is not writable\n")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/o.tsv"))
    }
}
