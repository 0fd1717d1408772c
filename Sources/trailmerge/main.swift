/// The `trailmerge` executable: parses arguments, calls the library, prints, and maps errors to
/// exit codes (0 success, 1 failure, 2 usage, 128+N on signal N).
import TrailMerge

#if canImport(Glibc)
import Glibc
#endif

let version = "trailmerge 0.1.0"

let mainHelp = """
    usage: trailmerge <command> [options]

    Commands:
      process   flatten, sort and merge CloudTrail JSON records into one TSV/CSV/JSONL output
      group     consolidate many small files into fewer large ones (S3DistCp --groupBy style)
      merge     k-way merge files that process wrote sorted (byte-identical to one process run)
      sample    pick split points for range-partitioned runs (process --split-points)
      generate  write a synthetic CloudTrail tree for tests and benchmarks

    Run 'trailmerge <command> --help' for a command's options.

    Examples:
      trailmerge process AWSLogs/ -o events.tsv.gz
      trailmerge group AWSLogs/ daily/ \\
        --group-by '([0-9]+)/CloudTrail/([^/]+)/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+\\.json\\.gz' \\
        --name '$1/$2/$3-$4-$5'
      trailmerge generate /tmp/tree --files 200

    Options:
      -h, --help        show this help ('trailmerge help COMMAND' for a command's)
      -V, --version     show the version
    """

func printError(_ message: String) {
    var line = "trailmerge: " + message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func printLine(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Prints a fatal error or the interruption line: the running command's progress line, when it
/// is showing on a terminal, is erased first and never drawn again.
func printFatal(_ message: String) {
    if let progress = ProgressLine.active.withLock({ $0 }) {
        progress.printLine("trailmerge: " + message, last: true)
    } else {
        printError(message)
    }
}

func run() -> Int32 {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard let command = arguments.first else {
        print(mainHelp)
        return 2
    }
    let rest = Array(arguments.dropFirst())
    // A file-size limit (ulimit -f) must turn into a write error we can clean up after, not a kill.
    signal(SIGXFSZ, SIG_IGN)
    // A closed stdout (`-o - | head`) must end the run through its normal cleanup, not kill it.
    signal(SIGPIPE, SIG_IGN)
    let cleanup = Cleanup()
    cleanup.installSignalHandlers { signal in
        printFatal(cleanup.interruptionMessage(signal: signal))
    }
    /// Prints warnings and notices (erasing the progress line first) and feeds progress to the line.
    func eventHandler(_ progress: ProgressLine, quiet: Bool) -> @Sendable (RunEvent) -> Void {
        return { event in
            switch event {
            case .warning(let message):
                if !quiet { progress.printLine("trailmerge: warning: " + message) }
            case .notice(let message):
                if !quiet { progress.printLine("trailmerge: " + message) }
            case .progress:
                progress.update(event)
            }
        }
    }
    do throws(TrailMergeError) {
        switch command {
        case "-h", "--help":
            print(mainHelp)
        case "help":
            switch rest.first {
            case nil: print(mainHelp)
            case "process": print(processHelp)
            case "group": print(groupHelp)
            case "generate": print(generateHelp)
            case "merge": print(mergeHelp)
            case "sample": print(sampleHelp)
            case let other?:
                var message = "help: unknown command '\(other)'"
                if let suggestion = closest(other, in: ["process", "group", "merge", "sample", "generate"]) { message += "; did you mean '\(suggestion)'?" }
                throw .usage(message)
            }
        case "--version", "-V", "version":
            print(version)
        case "process":
            guard let parsed = try ProcessCommand.parse(rest) else { return 0 }
            if parsed.dryRun {
                // The destinations are checked as a real run would, before anything is listed.
                try checkProcessDestinations(parsed.options)
                var skippedFiles: [SourceFile] = []
                var pruned = 0
                let files = try processInputFiles(
                    parsed.options, skipped: { skippedFiles.append($0) }, pruned: { _ in pruned += 1 }
                ) { count, example in
                    if !parsed.quiet { printError("warning: " + duplicateInputWarning(count: count, example: example)) }
                }
                let skipped = skippedFiles.count
                // A dry run fails where the run would: nothing to read.
                if files.isEmpty && !parsed.options.allowEmpty {
                    throw .noInput(noInputMessage(
                        inputs: parsed.options.inputs, skipped: skippedFiles, pattern: parsed.options.sourcePattern, prunedFolders: pruned))
                }
                var text = ""
                for file in files { text += file.path + "\n" }
                print(text, terminator: "")
                if !parsed.quiet {
                    printError("dry run: \(plural(files.count, "file")) would be read (\(formatDecimal(Double(files.reduce(0) { $0 + $1.size }) / 1e6, places: 1)) MB)"
                        + (skipped > 0 ? ", \(plural(skipped, "file")) skipped by --src-pattern" : "")
                        + (pruned > 0 ? ", \(plural(pruned, "folder")) pruned by --since/--until" : ""))
                }
                return 0
            }
            let quiet = parsed.quiet
            let progress = ProgressLine(
                mode: ProgressLine.mode(quiet: quiet, requested: parsed.progress, outputIsStdout: parsed.options.output == "-"),
                unit: "JSON")
            var options = parsed.options
            options.reportProgress = progress.enabled
            let stats = try runProcess(options, cleanup: cleanup, events: eventHandler(progress, quiet: quiet))
            progress.finish()
            if !quiet { printError(stats.processSummary) }
        case "sample":
            guard let parsed = try SampleCommand.parse(rest) else { return 0 }
            let points = try runSample(parsed.options, cleanup: cleanup, events: eventHandler(ProgressLine(mode: .off, unit: "JSON"), quiet: parsed.quiet))
            if !parsed.quiet { printError("\(plural(points.count, "split point")) for \(plural(parsed.options.partitions, "range")) written to \(parsed.options.output)") }
        case "merge":
            guard let parsed = try MergeCommand.parse(rest) else { return 0 }
            let progress = ProgressLine(
                mode: ProgressLine.mode(quiet: parsed.quiet, requested: parsed.progress, outputIsStdout: parsed.options.output == "-"),
                unit: "JSON")
            var options = parsed.options
            options.reportProgress = progress.enabled
            let stats = try runMerge(options, cleanup: cleanup, events: eventHandler(progress, quiet: parsed.quiet))
            progress.finish()
            if !parsed.quiet { printError(stats.mergeSummary) }
        case "group":
            guard let parsed = try GroupCommand.parse(rest) else { return 0 }
            let quiet = parsed.quiet
            let progress = ProgressLine(
                mode: ProgressLine.mode(quiet: quiet || parsed.options.dryRun, requested: parsed.progress, outputIsStdout: false),
                unit: "input")
            var options = parsed.options
            options.reportProgress = progress.enabled
            let result = try runGroup(options, cleanup: cleanup, events: eventHandler(progress, quiet: quiet))
            progress.finish()
            if parsed.verbose {
                for path in result.unmatched { printError("did not match --group-by: \(path)") }
            }
            if parsed.options.dryRun {
                var destination = parsed.options.destination
                while destination.count > 1 && destination.hasSuffix("/") { destination.removeLast() }
                for part in result.parts {
                    print("\(destination)/\(part.name)\t\(plural(part.files.count, "file"))\t\(part.inputBytes) bytes of input")
                }
            }
            if !quiet { printError(result.stats.groupSummary(dryRun: parsed.options.dryRun)) }
        case "generate":
            guard let options = try GenerateCommand.parse(rest) else { return 0 }
            let records = try generateTree(options)
            printError("generated \(plural(options.files, "file")), \(plural(records, "record")) under \(options.destination)")
        default:
            var message = "unknown command '\(command)'"
            if let suggestion = closest(command, in: ["process", "group", "merge", "sample", "generate"]) {
                message += "; did you mean '\(suggestion)'?"
            }
            throw .usage(message + " (see 'trailmerge --help')")
        }
        return 0
    } catch {
        cleanup.removeAll()
        if case .writeFailed(let path, let reason) = error, path == "<stdout>", reason.hasSuffix("broken pipe") {
            return 128 + SIGPIPE  // the reader went away: stop quietly, as a pipeline expects
        }
        printFatal(error.description)
        return error.exitCode
    }
}

// Background threads (S3 GETs fetched ahead, uploads in flight after a failure) may still be
// inside Foundation when the run ends: leave without running global destructors under them, which
// crashed a failed S3 run (SIGSEGV instead of exit 1) under load. Output is flushed first.
let status = run()
fflush(nil)  // every C stream (print writes through stdout's buffer)
_exit(status)
