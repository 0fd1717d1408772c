/// `trailmerge process`: argument parsing into `ProcessOptions`.
import TrailMerge

let processHelp = """
    usage: trailmerge process INPUT... -o OUTPUT [options]

    Flattens CloudTrail-style JSON records from files and directories into one sorted table.
    Directories are walked recursively in byte order; gzip is recognised by its magic bytes.

    Input:
      INPUT...                 files (always read) and directories (walked)
      --src-pattern REGEX      walked files are read when their path contains a match
                               (default: \(SourcePattern.defaultPattern))
      --records PATH           array of records in each document (default: Records);
                               '.' makes every top-level value a record (NDJSON)
      --skip-bad-files         skip unreadable/corrupt/invalid files (no rows from them), exit 0

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
      --header                 write column names first (tsv, csv)
    \(ProcessCommand.parquetHelp)

    Resources:
      --memory SIZE            budget for row buffers (default: 1GiB or a quarter of RAM)
      --threads N              worker threads (default: number of cores)
      --chunk-size SIZE        input grouped into units of about this many bytes (default: 1MiB)
      --temp-dir DIR           where spilled runs go (default: $TMPDIR or /tmp)

    Reporting:
      --stats FILE             write the run's figures as JSON
      --quiet                  print nothing but errors
      --progress               show a live progress line even when stderr is not a terminal

    Examples:
      trailmerge process AWSLogs/ -o events.tsv.gz
      trailmerge process logs/ -o events.csv --header --memory 256MiB --threads 8
      trailmerge process events.ndjson --records . --fields eventTime,eventName -o -

    Exit status: 0 success, 1 failure (unreadable, corrupt or invalid input, I/O), 2 usage error.
    """

struct ProcessCommand {
    var options = ProcessOptions()
    var statsPath: String?
    var quiet = false
    var progress = false

    static let known = [
        "-o", "--output", "--format", "--compression", "--compression-level", "--records", "--fields",
        "--sort-by", "--memory", "--threads", "--chunk-size", "--temp-dir", "--src-pattern", "--header",
        "--stats", "--quiet", "--progress", "--skip-bad-files", "--help", "-h",
    ] + parquetOptionNames

    /// Parses `words` (after the command name). Returns nil when help was printed.
    static func parse(_ words: [String]) throws(TrailMergeError) -> ProcessCommand? {
        var command = ProcessCommand()
        var reader = ArgumentReader(words, command: "process", known: known)
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
                    print(processHelp)
                    return nil
                case "--header": command.options.header = true
                case "--quiet": command.quiet = true
                case "--progress": command.progress = true
                case "--skip-bad-files": command.options.skipBadFiles = true
                default:
                    let value = try reader.value(for: name, inline: inline)
                    switch name {
                    case "-o", "--output": output = value
                    case "--format":
                        guard let f = OutputFormat(rawValue: value) else {
                            throw .usage("process: --format '\(value)' is not one of tsv, csv, jsonl, parquet")
                        }
                        format = f
                    case "--compression":
                        guard let c = Compression(rawValue: value) else {
                            throw .usage("process: --compression '\(value)' is not one of gzip, none")
                        }
                        compression = c
                    case "--compression-level":
                        level = try parseCount(value, option: name, command: "process", range: 1...9)
                    case "--records":
                        guard !value.isEmpty, value == "." || !value.split(separator: ".", omittingEmptySubsequences: false).contains("") else {
                            throw .usage("process: --records '\(value)' is not a dotted key path (or '.')")
                        }
                        command.options.recordsPath = value
                    case "--fields": fieldList = value
                    case "--sort-by": sortList = value
                    case "--memory":
                        command.options.memoryBudget = try parseSizeOption(value, option: name, command: "process", minimum: 16 << 10)
                    case "--threads":
                        command.options.threads = try parseCount(value, option: name, command: "process", range: 1...1024)
                    case "--chunk-size":
                        command.options.chunkSize = try parseSizeOption(value, option: name, command: "process", minimum: 1)
                    case "--temp-dir": command.options.tempDirectory = value
                    case "--src-pattern": command.options.sourcePattern = try SourcePattern(value)
                    case "--stats": command.statsPath = value
                    case "--parquet-codec", "--row-group-size":
                        try parseParquetOption(name, value, into: &command.options.parquet)
                    default: break
                    }
                }
            }
        }
        guard !command.options.inputs.isEmpty else {
            throw .usage("process: no INPUT given (usage: trailmerge process INPUT... -o OUTPUT)")
        }
        guard let output else { throw .usage("process: -o OUTPUT is required ('-' writes to stdout)") }
        command.options.output = output

        // Format and compression: explicit flags win over the extension.
        var inferredFormat: OutputFormat?
        var inferredCompression = Compression.none
        var name = output
        if name.hasSuffix(".gz") {
            inferredCompression = .gzip
            name.removeLast(3)
        }
        for candidate in OutputFormat.allCases where name.hasSuffix("." + candidate.rawValue) { inferredFormat = candidate }
        if output == "-" { inferredFormat = .tsv }
        guard let chosenFormat = format ?? inferredFormat else {
            throw .usage("process: cannot tell the format of '\(output)'; use a .tsv, .csv or .jsonl name (optionally .gz), a .parquet name, or --format")
        }
        command.options.format = chosenFormat
        command.options.compression = compression ?? inferredCompression
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
            throw .usage("process: --fields: at most one path may contain [] (got \(arrayPaths.sorted().joined(separator: ", ")))")
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
                    var message = "process: --sort-by '\(part)' is not one of the --fields"
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
