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

    /// QA: `process --help` ran its Parquet options into the S3 section, and its --strict and
    /// --row-group-size lines said less than the README's reference.
    @Test func processHelpSeparatesItsSectionsAndSaysWhatTheREADMESays() throws {
        let help = try runCLI(["process", "--help"])
        #expect(help.status == 0)
        let lines = String(decoding: help.stdout, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let s3 = try #require(lines.firstIndex { $0.hasPrefix("S3 (") })
        #expect(lines[s3 - 1].isEmpty, "\(lines[s3 - 1])")
        func entry(_ option: String) -> String {
            guard let start = lines.firstIndex(where: { $0.hasPrefix("  " + option + " ") }) else { return "" }
            var text = String(lines[start])
            for line in lines[(start + 1)...] {
                guard line.hasPrefix("                           ") else { break }
                text += " " + line.trimmingCharacters(in: .whitespaces)
            }
            return text
        }
        #expect(entry("--strict").contains("a --fields, --records, --where or --dedupe path that matched nothing is an error (exit 1, nothing written)"),
                "\(entry("--strict"))")
        #expect(entry("--row-group-size").contains("at least 64KiB"), "\(entry("--row-group-size"))")
        #expect(entry("--row-group-size").contains("at most an eighth of --memory (1 MiB to 128 MiB)"), "\(entry("--row-group-size"))")
        let readme = try String(contentsOfFile: fixturesPath + "/../../../README.md", encoding: .utf8)
        #expect(readme.contains("| `--strict` | a `--fields`, `--records`, `--where` or `--dedupe` path that matched nothing is an error"))
        #expect(readme.contains("or a size of buffered values (at least 64 KiB; no row limit then)"))
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
        // DEST itself, and DEST with a name template that makes folders inside it.
        for extra in [[], ["--name", "x/$1"]] {
            let result = try runCLI(["group", folder.path + "/src/AWSLogs", folder.path + "/daily", "--group-by", "([0-9]+)/.*",
                                     "--output-codec", "gzip"] + extra)
            #expect(result.status == 1)
            #expect(result.stderr.contains("0.json.gz"), "fails on the corrupt input: \(result.stderr)")
            #expect(folder.listing().filter { !$0.hasPrefix("src") }.isEmpty, "\(folder.listing().filter { !$0.hasPrefix("src") })")
        }
    }

    /// Found on the way: a DEST whose parent does not exist failed ("cannot create a lock file").
    /// Since the QA pass such a DEST is refused up front (see the test below); a missing DEST in
    /// an existing folder is created, and no lock file is left.
    @Test func groupCreatesAMissingDestAndLeavesNoLockFile() throws {
        let folder = TempFolder()
        let result = try runCLI(["group", fixturesPath + "/sample/AWSLogs", folder.path + "/daily", "--group-by", "([0-9]+)/.*"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(folder.listing().filter { $0.hasPrefix("daily/") && $0.hasSuffix(".json.gz") }.count == 3, "\(folder.listing())")
        #expect(!folder.listing().contains { $0.contains(".trailmerge-run-") })
    }

    /// QA: `group` created the missing parents of DEST, and `process --partition-by` those of its
    /// -o folder, silently, while `process -o missing/dir/out.tsv` refused. The top-level
    /// destination's parent must now exist: one line naming it, exit 1, nothing created (the run
    /// and its dry run alike). DEST, the partition folder and what goes inside them are still made.
    @Test func aDestinationFolderWhoseParentIsMissingIsRefusedLikeAnOutputFile() throws {
        let folder = TempFolder()
        let sample = fixturesPath + "/sample"
        let file = try runCLI(["process", sample, "-o", folder.path + "/new/out.tsv"])
        #expect(file.status == 1)
        #expect(file.stderr == "trailmerge: \(folder.path)/new/out.tsv: the output folder \(folder.path)/new does not exist\n")
        for extra in [[], ["--dry-run"]] {
            let lake = try runCLI(["process", sample, "-o", folder.path + "/new/deeper/lake/", "--partition-by", "dt=eventTime:10"] + extra)
            #expect(lake.status == 1)
            #expect(lake.stderr == "trailmerge: \(folder.path)/new/deeper/lake: the folder \(folder.path)/new/deeper does not exist; "
                + "create it first (only the --partition-by output folder itself is created)\n", "\(extra)")
            let group = try runCLI(["group", sample + "/AWSLogs", folder.path + "/new/daily", "--group-by", "([0-9]+)/.*"] + extra)
            #expect(group.status == 1)
            #expect(group.stderr == "trailmerge: \(folder.path)/new/daily: the folder \(folder.path)/new does not exist; "
                + "create it first (only DEST itself is created)\n", "\(extra)")
            #expect(folder.listing().isEmpty, "\(folder.listing())")
        }
        // A parent that is a file is named too.
        folder.write("plain", "x")
        let onFile = try runCLI(["group", sample + "/AWSLogs", folder.path + "/plain/daily", "--group-by", "([0-9]+)/.*"])
        #expect(onFile.status == 1)
        #expect(onFile.stderr == "trailmerge: \(folder.path)/plain/daily: \(folder.path)/plain is not a folder\n")
        // One level down is fine: the destination itself and the folders inside it are made.
        let lake = try runCLI(["process", sample, "-o", folder.path + "/lake", "--partition-by", "dt=eventTime:10", "--quiet"])
        #expect(lake.status == 0, "\(lake.stderr)")
        #expect(FileManager.default.fileExists(atPath: folder.path + "/lake/dt=2024-03-01/part-00000.tsv.gz"), "\(folder.listing())")
        let group = try runCLI(["group", sample + "/AWSLogs", folder.path + "/daily", "--group-by", "([0-9]+)/CloudTrail/.*",
                                "--name", "by/$1", "--quiet"])
        #expect(group.status == 0, "\(group.stderr)")
        #expect(folder.listing().filter { $0.hasPrefix("daily/by/") && $0.hasSuffix(".json.gz") }.count == 3, "\(folder.listing())")
    }

    /// Found on the way: `--dry-run` checked a `--partition-by` folder as an output file, so an
    /// existing empty folder, which the run accepts, failed the dry run ("is a folder").
    @Test func aPartitionDryRunChecksTheFolderAsTheRunDoes() throws {
        let folder = TempFolder()
        let sample = fixturesPath + "/sample"
        try FileManager.default.createDirectory(atPath: folder.path + "/lake", withIntermediateDirectories: false)
        let empty = try runCLI(["process", sample, "-o", folder.path + "/lake", "--partition-by", "dt=eventTime:10", "--dry-run"])
        #expect(empty.status == 0, "\(empty.stderr)")
        #expect(empty.stderr.hasPrefix("trailmerge: dry run: 24 files would be read"), "\(empty.stderr)")
        folder.write("lake/old.tsv", "x")
        let full = try runCLI(["process", sample, "-o", folder.path + "/lake", "--partition-by", "dt=eventTime:10", "--dry-run"])
        #expect(full.status == 1)
        #expect(full.stderr.contains("trailmerge: \(folder.path)/lake: the partition folder is not empty (it holds old.tsv)"), "\(full.stderr)")
        #expect(full.stdout.isEmpty)
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

    /// QA: `process -o FOLDER` (an existing folder) said "cannot tell the format"; it says that
    /// the path is a folder and what to do, with or without --format, and changes nothing.
    @Test func anOutputThatIsAFolderIsNamedAsOne() throws {
        let folder = TempFolder()
        let out = folder.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        for extra in [[], ["--format", "tsv"], ["--dry-run"], ["--quiet"]] {
            let result = try runCLI(["process", fixturesPath + "/sample", "-o", out + (extra.isEmpty ? "/" : "")] + extra)
            #expect(result.status == 1, "\(extra)")
            #expect(result.stderr == "trailmerge: \(out): the output path is a folder; name a file in it (such as "
                + "\(out)/events.tsv.gz), or add --partition-by to write partitions into it\n", "\(extra)")
            #expect(result.stdout.isEmpty)
            #expect(folder.listing() == ["out"])
        }
    }

    /// QA: `--allow-empty` with no matching file wrote its empty output without a word; it now
    /// says so in one line (not with --quiet), and `group` likewise.
    @Test func allowEmptySaysThatNoFileMatched() throws {
        let folder = TempFolder()
        let sample = fixturesPath + "/sample"
        let out = folder.path + "/e.tsv"
        let run = try runCLI(["process", sample, "-o", out, "--src-pattern", "nomatch", "--allow-empty"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(run.stderr)")
        #expect(lines.first == "trailmerge: no input file matched, so an empty output was written (--allow-empty)")
        #expect(lines.last?.hasPrefix("trailmerge: 0 files, ") == true, "\(run.stderr)")
        #expect(FileManager.default.contents(atPath: out) == Data())
        let quiet = try runCLI(["process", sample, "-o", out, "--src-pattern", "nomatch", "--allow-empty", "--quiet"])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        let matched = try runCLI(["process", sample, "-o", out, "--allow-empty"])
        #expect(matched.status == 0 && !matched.stderr.contains("no input file matched"), "\(matched.stderr)")

        let note = "trailmerge: no input file matched, so no part was written (--allow-empty)\n"
        for selection in [["--src-pattern", "nomatch", "--group-by", "([0-9]+)/.*"], ["--group-by", "(nomatch)/.*"]] {
            let group = try runCLI(["group", sample + "/AWSLogs", folder.path + "/daily", "--allow-empty"] + selection)
            #expect(group.status == 0, "\(group.stderr)")
            #expect(group.stderr.hasPrefix(note), "\(selection) \(group.stderr)")
            #expect(group.stderr.split(separator: "\n").count == 2, "\(group.stderr)")
            let quiet = try runCLI(["group", sample + "/AWSLogs", folder.path + "/daily", "--allow-empty", "--quiet"] + selection)
            #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        }
        #expect(folder.listing() == ["e.tsv"])
    }

    /// QA: `process --stats` held `group`'s fields (`unmatchedFiles`, `previouslyGrouped`); it
    /// holds the process fields the README lists, and `group --stats` keeps its own.
    @Test func statsHoldTheFieldsOfTheirCommand() throws {
        let folder = TempFolder()
        let sample = fixturesPath + "/sample"
        func keys(_ path: String) throws -> Set<String> {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            return Set(json.keys)
        }
        let process = try runCLI(["process", sample, "-o", folder.path + "/e.tsv", "--stats", folder.path + "/p.json", "--quiet"])
        #expect(process.status == 0, "\(process.stderr)")
        #expect(try keys(folder.path + "/p.json") == [
            "files", "inputBytes", "jsonBytes", "records", "rows", "spilledRuns", "mergePasses", "outputBytes", "outputFiles",
            "prunedFolders", "duplicates", "warnings", "skippedFiles", "seconds", "readSeconds", "megabytesPerSecond",
        ])
        let merge = try runCLI(["merge", folder.path + "/e.tsv", "-o", folder.path + "/m.tsv", "--stats", folder.path + "/m.json", "--quiet"])
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(try keys(folder.path + "/m.json").isDisjoint(with: ["unmatchedFiles", "previouslyGrouped"]))
        let group = try runCLI(["group", sample + "/AWSLogs", folder.path + "/daily", "--group-by", "([0-9]+)/.*",
                                "--stats", folder.path + "/g.json", "--quiet"])
        #expect(group.status == 0, "\(group.stderr)")
        #expect(try keys(folder.path + "/g.json") == [
            "files", "inputBytes", "outputBytes", "outputFiles", "unmatchedFiles", "previouslyGrouped", "warnings", "seconds",
        ])
    }

    /// QA: on a terminal, a fatal error was glued onto the progress line
    /// (`…, 0 rowstrailmerge: in/b.json: byte 29: …`); it now erases the line first.
    @Test(.enabled(if: terminalRunnerAvailable || isCI, "util-linux script is not installed"))
    func aFatalErrorOnATerminalErasesTheProgressLineFirst() throws {
        let folder = TempFolder()
        folder.write("in/a.json", #"{"Records":[{"eventTime":"t"}]}"#)
        folder.write("in/b.json", #"{"Records":[{"eventTime":"t",}]}"#)
        let run = try runOnTerminal(["process", folder.path + "/in", "-o", folder.path + "/out.tsv"], in: folder)
        #expect(run.status == 1)
        #expect(run.screen.contains("reading: "), "the progress line was drawn: \(run.screen.debugDescription)")
        #expect(run.screen.contains("\r\u{1B}[Ktrailmerge: \(folder.path)/in/b.json: byte 29: expected a string key"),
                "\(run.screen.debugDescription)")
        #expect(!run.screen.contains("rowstrailmerge"))
    }

    /// QA: the interruption line was glued onto the progress line too.
    @Test(.enabled(if: terminalRunnerAvailable || isCI, "util-linux script is not installed"))
    func anInterruptionOnATerminalErasesTheProgressLineFirst() throws {
        let folder = TempFolder()
        // A FIFO nobody writes to: the run shows its progress line and waits there for the signal.
        let fifo = folder.path + "/input.json"
        #expect(mkfifo(fifo, 0o600) == 0)
        let run = try runOnTerminal(["process", fifo, "-o", folder.path + "/out.tsv"], in: folder) { pid, screen in
            let deadline = ContinuousClock.now + .seconds(60)
            while !screen().contains("reading: 0/1 files") && ContinuousClock.now < deadline { usleep(20_000) }
            kill(pid, SIGINT)
        }
        #expect(run.status == 130)
        #expect(run.screen.contains("reading: 0/1 files"), "\(run.screen.debugDescription)")
        #expect(run.screen.contains("\r\u{1B}[Ktrailmerge: interrupted by signal 2; temporary files removed, no output written"),
                "\(run.screen.debugDescription)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/out.tsv"))
    }
}

/// True when util-linux `script` can give the executable a pseudo-terminal.
let terminalRunnerAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/script")

/// Runs the executable with stdin, stdout and stderr on a pseudo-terminal (`script -qfec`), so it
/// draws its progress line as on a user's terminal. `whileRunning` gets the process id and a
/// function returning what the terminal has shown so far. Returns the exit status and everything
/// the terminal showed (`\n` arrives as `\r\n`).
func runOnTerminal(
    _ arguments: [String], in folder: TempFolder, whileRunning: ((pid_t, () -> String) -> Void)? = nil
) throws -> (status: Int32, screen: String) {
    let quote = { (word: String) in "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    let pidFile = folder.path + "/.terminal-pid"
    let typescript = folder.path + "/.terminal-typescript"
    defer {
        try? FileManager.default.removeItem(atPath: pidFile)
        try? FileManager.default.removeItem(atPath: typescript)
    }
    let command = "echo $$ > \(quote(pidFile)); exec " + ([executablePath] + arguments).map(quote).joined(separator: " ")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
    process.arguments = ["-qfec", "sh -c " + quote(command), typescript]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let screen = { String(decoding: FileManager.default.contents(atPath: typescript) ?? Data(), as: UTF8.self) }
    if let whileRunning {
        let deadline = ContinuousClock.now + .seconds(60)
        var pid: pid_t?
        while pid == nil && process.isRunning && ContinuousClock.now < deadline {
            pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if pid == nil { usleep(20_000) }
        }
        if let pid { whileRunning(pid, screen) }
    }
    process.waitUntilExit()
    return (process.terminationStatus, screen())
}
