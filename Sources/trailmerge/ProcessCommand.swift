/// `trailmerge process`: argument parsing into `ProcessOptions`.
import TrailMerge

#if canImport(Glibc)
import Glibc
#endif

let processHelp = """
    usage: trailmerge process INPUT... -o OUTPUT [options]

    Flattens CloudTrail-style JSON records from files and directories into one sorted table.
    Directories are walked recursively in byte order; gzip is recognised by its magic bytes.

    Input:
      INPUT...                 files (always read) and directories (walked)
      --src-pattern REGEX      walked files are read when their path contains a match
                               (default: \(SourcePattern.defaultPattern))
      --files-from FILE        read the files listed in FILE, one path a line ('-': stdin), as given
      --dry-run                print the files that would be read, one a line, and read none
      --records PATH           array of records in each document (default: Records);
                               '.' makes every top-level value a record (NDJSON)
      --skip-bad-files         skip unreadable/corrupt/invalid files (no rows from them), exit 0
      --allow-empty            exit 0 with a valid empty output when no file matched (default: exit 1)

    Selection (applied to each record before its array is exploded):
      --since TIME             keep events whose eventTime is at or after TIME (ISO 8601, e.g.
                               2024-03-01 or 2024-03-01T12:00:00Z); day folders .../YYYY/MM/DD/
                               before TIME's day are not read
      --until TIME             keep events whose eventTime is before TIME; day folders after the day
                               of the last instant before TIME plus --max-delivery-delay are not read
      --max-delivery-delay D   how late CloudTrail may deliver an event (default: 1d; also h, m, s)
      --where EXPR             keep records where EXPR holds; repeatable (all must hold). EXPR is
                               PATH=VALUE, PATH!=VALUE, PATH~REGEX, PATH!~REGEX (POSIX extended),
                               PATH? (present and not null) or !PATH? (absent or null), on any
                               record path; with [] any element may match (a negation: none does)
      --dedupe [PATH]          keep one copy of each event, keyed by PATH (default: eventID): the
                               copy whose first row comes first in output order; records without
                               the key are all kept

    Columns and order:
      --fields LIST            comma-separated dotted paths; one may contain [] to explode an array
                               (default: \(ProcessOptions.defaultFieldList))
      --sort-by LIST|none      sort columns (default: eventTime,eventName, those of them that are
                               among the fields, else the first field); ties are broken by all
                               columns left to right, so output is byte-identical across runs

    Output:
      -o, --output PATH        .tsv, .csv or .jsonl, optionally .gz, or .parquet; '-' is stdout (tsv)
      --format tsv|csv|jsonl|parquet  override the format taken from the extension
      --compression gzip|none  override the compression taken from the extension
      --compression-level N    gzip level 1-9 (default: 1)
      --header                 write column names first (tsv and csv only)
      --partition-by NAME=FIELD[:N]  repeatable: -o names a folder, and rows go to
                               OUTPUT/NAME=VALUE/.../part-00000.EXT (VALUE: the first N characters
                               of the --fields column FIELD, Hive-escaped; __HIVE_DEFAULT_PARTITION__
                               when empty or null); files are named by --format and --compression
                               (default: tsv, gzip); all partitions are committed together
      --split-points FILE      N-1 values of the first sort column (one a line, TSV escapes): rows go
                               to N outputs OUTPUT-00000.EXT ... by range (a value equal to a point
                               goes to the range above it); see 'trailmerge sample'
    \(ProcessCommand.parquetHelp)

    \(S3Arguments.help)

    Resources:
      --memory SIZE            budget for row buffers (default: 1GiB or a quarter of RAM)
      --threads N              worker threads (default: number of cores); with more than one, a
                               large multi-member gzip file (group output) is read in parallel segments
      --chunk-size SIZE        input grouped into units of about this many bytes (default: 1MiB)
      --temp-dir DIR           where spilled runs go (default: $TMPDIR or /tmp)

    Reporting:
      --stats FILE             write the run's figures as JSON (committed together with the output)
      --strict                 a --fields, --records, --where or --dedupe path that matched
                               nothing is an error (exit 1, nothing written); without it, a warning
      --quiet                  print nothing but errors
      --progress               progress even without a terminal (a plain line every 5 s), or with -o -

    Examples:
      trailmerge process AWSLogs/ -o events.tsv.gz
      trailmerge process logs/ -o events.csv --header --memory 256MiB --threads 8
      trailmerge process events.ndjson --records . --fields eventTime,eventName -o -

    Destinations (output, --stats, --temp-dir) are checked before any input is read; the output and
    the stats file appear together when the run succeeds, and nothing changes when it fails.

    Exit status: 0 success, 1 failure (no input, unreadable, corrupt or invalid input, I/O, --strict),
    2 usage error, 128+N when stopped by signal N.
    """

struct ProcessCommand {
    var options = ProcessOptions()
    var quiet = false
    var progress = false
    var dryRun = false

    static let known = [
        "-o", "--output", "--format", "--compression", "--compression-level", "--records", "--fields",
        "--sort-by", "--memory", "--threads", "--chunk-size", "--temp-dir", "--src-pattern", "--header",
        "--stats", "--quiet", "--progress", "--skip-bad-files", "--allow-empty", "--strict", "--files-from", "--split-points", "--dry-run", "--help", "-h",
        "--since", "--until", "--max-delivery-delay", "--where", "--dedupe", "--partition-by",
    ] + parquetOptionNames + S3Arguments.names

    /// Parses `words` (after the command name). Returns nil when help was printed.
    static func parse(_ words: [String], command name: String = "process", known: [String] = ProcessCommand.known, help: String = processHelp) throws(TrailMergeError) -> ProcessCommand? {
        var command = ProcessCommand()
        var reader = ArgumentReader(words, command: name, known: known)
        var output: String?
        var format: OutputFormat?
        var compression: Compression?
        var fieldList: String?
        var sortList: String?
        var level: Int?
        while let item = try reader.next() {
            switch item {
            case .positional(let word):
                command.options.inputs.append(word)
            case .option(let name, let inline):
                switch name {
                case "--help", "-h":
                    print(help)
                    return nil
                case "--header": command.options.header = true
                case "--quiet": command.quiet = true
                case "--progress": command.progress = true
                case "--skip-bad-files": command.options.skipBadFiles = true
                case "--allow-empty": command.options.allowEmpty = true
                case "--dry-run": command.dryRun = true
                case "--strict": command.options.strict = true
                case "--s3-path-style", "--no-sign-request":
                    try S3Arguments.apply(name, nil, to: &command.options.s3, command: "process")
                case "--dedupe":
                    let key = reader.optionalValue(inline: inline) ?? "eventID"
                    do {
                        command.options.dedupeKey = try FieldPath(key)
                    } catch {
                        throw .usage("\(name): --dedupe '\(key)' is not a valid key path (dotted keys, e.g. eventID or requestID)")
                    }
                default:
                    let value = try reader.value(for: name, inline: inline)
                    switch name {
                    case "-o", "--output": output = value
                    case "--format":
                        guard let f = OutputFormat(rawValue: value) else {
                            throw .usage("\(reader.command): --format '\(value)' is not one of tsv, csv, jsonl, parquet")
                        }
                        format = f
                    case "--compression":
                        guard let c = Compression(rawValue: value) else {
                            throw .usage("\(reader.command): --compression '\(value)' is not one of gzip, none")
                        }
                        compression = c
                    case "--compression-level":
                        level = try parseCount(value, option: name, command: reader.command, range: 1...9)
                    case "--records":
                        guard !value.isEmpty, value == "." || !value.split(separator: ".", omittingEmptySubsequences: false).contains("") else {
                            throw .usage("\(reader.command): --records '\(value)' is not a dotted key path (or '.')")
                        }
                        command.options.recordsPath = value
                    case "--fields": fieldList = value
                    case "--sort-by": sortList = value
                    case "--memory":
                        command.options.memoryBudget = try parseSizeOption(value, option: name, command: reader.command, minimum: 16 << 10)
                    case "--threads":
                        command.options.threads = try parseCount(value, option: name, command: reader.command, range: 1...1024)
                    case "--chunk-size":
                        command.options.chunkSize = try parseSizeOption(value, option: name, command: reader.command, minimum: 1)
                    case "--temp-dir": command.options.tempDirectory = value
                    case "--src-pattern": command.options.sourcePattern = try SourcePattern(value)
                    case "--stats": command.options.statsPath = value
                    case "--files-from": command.options.explicitFiles += try readFileList(value)
                    case "--split-points": command.options.splitPoints = try readSplitPoints(value)
                    case _ where S3Arguments.names.contains(name):
                        try S3Arguments.apply(name, value, to: &command.options.s3, command: "process")
                    case "--since": command.options.timeRange.since = try TimeRange.parseInstant(value, option: name)
                    case "--until": command.options.timeRange.until = try TimeRange.parseInstant(value, option: name)
                    case "--max-delivery-delay":
                        command.options.timeRange.maxDeliveryDelay = try TimeRange.parseDuration(value, option: name)
                    case "--where": command.options.filters.append(try WhereClause(value))
                    case "--partition-by": command.options.partitionBy.append(try PartitionSpec(value))
                    case "--parquet-codec", "--row-group-size":
                        try parseParquetOption(name, value, into: &command.options.parquet)
                    default: break
                    }
                }
            }
        }
        guard !command.options.inputs.isEmpty || words.contains("--files-from") || words.contains(where: { $0.hasPrefix("--files-from=") }) else {
            throw .usage("\(name): no INPUT given (usage: trailmerge \(name) INPUT... -o OUTPUT)")
        }
        if let since = command.options.timeRange.since, let until = command.options.timeRange.until, until <= since {
            throw .usage("\(name): --until must be later than --since (no event could match)")
        }
        if command.dryRun && output == nil { output = "-" }
        guard let output else { throw .usage("\(name): -o OUTPUT is required ('-' writes to stdout)") }
        command.options.output = output

        // Format and compression: explicit flags win over the extension.
        var inferredFormat: OutputFormat?
        var inferredCompression = Compression.none
        var outputName = output
        if outputName.hasSuffix(".gz") {
            inferredCompression = .gzip
            outputName.removeLast(3)
        }
        for candidate in OutputFormat.allCases where outputName.hasSuffix("." + candidate.rawValue) { inferredFormat = candidate }
        if output == "-" { inferredFormat = .tsv }
        if !command.options.partitionBy.isEmpty {
            // -o names a folder: the files' format and compression come from the flags.
            inferredFormat = .tsv
            inferredCompression = (format ?? .tsv) == .parquet ? .none : .gzip
        }
        if command.options.partitionBy.isEmpty && command.options.splitPoints == nil && isLocalFolder(output) {
            // Said before the format, which a folder's name cannot give.
            var folder = output
            while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
            throw .writeFailed(path: folder, reason: "the output path is a folder; name a file in it (such as "
                + "\(folder == "/" ? "" : folder)/events.tsv.gz), or add --partition-by to write partitions into it")
        }
        guard let chosenFormat = format ?? inferredFormat else {
            throw .usage("\(name): cannot tell the format of '\(output)'; use a .tsv, .csv or .jsonl name (optionally .gz), a .parquet name, or --format")
        }
        command.options.format = chosenFormat
        command.options.compression = compression ?? inferredCompression
        if command.options.header && chosenFormat == .jsonl {
            throw .usage("\(name): --header applies to tsv and csv output; JSON Lines rows carry their keys")
        }
        if let level { command.options.compressionLevel = level }
        try checkParquet(&command.options, explicitCompression: compression, output: output)

        if let fieldList {
            var fields: [FieldPath] = []
            for part in fieldList.split(separator: ",", omittingEmptySubsequences: false) {
                fields.append(try FieldPath(String(part)))
            }
            command.options.fields = fields
        }
        let arrayPaths = Set(command.options.fields.filter(\.hasArray).map(\.text))
        if arrayPaths.count > 1 {
            throw .usage("\(name): --fields: at most one path may contain [] (got \(arrayPaths.sorted().joined(separator: ", ")))")
        }
        let names = command.options.fields.map(\.text)
        if sortList == "none" {
            command.options.sortColumns = nil
        } else if sortList == nil {
            // Default: eventTime then eventName, as far as they are among the fields; else the first column.
            let columns = ["eventTime", "eventName"].compactMap { names.firstIndex(of: $0) }
            command.options.sortColumns = columns.isEmpty ? [0] : columns
        } else if let sortList {
            var columns: [Int] = []
            for part in sortList.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                guard let column = names.firstIndex(of: part) else {
                    var message = "\(name): --sort-by '\(part)' is not one of the --fields"
                    if let suggestion = closest(part, in: names) { message += "; did you mean '\(suggestion)'?" }
                    throw .usage(message)
                }
                columns.append(column)
            }
            command.options.sortColumns = columns
        }
        return command
    }
}

/// True when `path` names an existing local folder (a symbolic link to one included).
private func isLocalFolder(_ path: String) -> Bool {
    guard path != "-", !path.hasPrefix("s3://") else { return false }
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
}
