/// `trailmerge group`: argument parsing into `GroupOptions`.
import TrailMerge

let groupHelp = """
    usage: trailmerge group SRC DEST --group-by REGEX [options]

    Consolidates many small files into fewer large ones, like S3DistCp --groupBy. Every file under
    SRC whose path relative to SRC matches --group-by entirely is put in the group named by the
    concatenation of the regex's capture groups, and each group is written to DEST/<key><suffix>,
    its files concatenated in path order. The suffix is the first file's, from the first '.' of its
    name (.json.gz for CloudTrail), with .gz added for gzip output and removed for none.

      --group-by REGEX         must match the whole relative path and have at least one capture group
      --src-pattern REGEX      narrow the candidates first (searched in the relative path)
      --name TEMPLATE          name outputs from the captures instead, e.g. '$1/$2-$3-$4' ('/' makes folders)
      --target-size SIZE       cut groups into parts of about this much input, at file boundaries
                               (a plain number is MiB, as in S3DistCp; or 256MiB, 1GiB, ...);
                               a part closes once it reaches the target, so it can exceed it by one
                               file; parts are named <key>-0<suffix>, <key>-1<suffix>, ...
      --output-codec keep|gzip|none
                               keep: byte-concatenate gzip members, no recompression (default)
                               gzip: recompress (in parallel blocks); none: write decompressed
      --compression-level N    gzip level 1-9 for --output-codec gzip (default: 6)
      --output-manifest PATH   write a gzip JSON-lines manifest of the sources (S3DistCp format)
      --previous-manifest PATH skip sources listed there with the same baseName and size
      --delete-on-success      delete sources after every output is written, fsynced and renamed
      --dry-run                check the destinations, print the plan and write nothing
      --allow-empty            exit 0 when no file matched (default: exit 1)
      --threads N              parts written in parallel, and gzip blocks compressed in parallel
                               (default: number of cores)
      --verbose                list the files that did not match --group-by
      --stats FILE             write the run's figures as JSON
      --quiet                  print nothing but errors
      --progress               progress even without a terminal (a plain line every 5 s)

    DEST, the manifest and the stats folders are checked before any input is read; parts, manifest
    and stats appear together when the run succeeds, and nothing changes when it fails. An
    existing output is never overwritten: the next free part number is taken and reported.

    \(S3Arguments.help)

    Example (one file per account, region and day):
      trailmerge group AWSLogs/ daily/ \\
        --group-by '([0-9]+)/CloudTrail/([^/]+)/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+\\.json\\.gz' \\
        --name '$1/$2/$3-$4-$5'
    """

struct GroupCommand {
    var options = GroupOptions()
    var quiet = false
    var verbose = false
    var progress = false

    static let known = [
        "--group-by", "--src-pattern", "--name", "--target-size", "--output-codec", "--compression-level",
        "--output-manifest", "--previous-manifest", "--delete-on-success", "--dry-run", "--threads",
        "--verbose", "--stats", "--quiet", "--progress", "--allow-empty", "--help", "-h",
    ] + S3Arguments.names

    static func parse(_ words: [String]) throws(TrailMergeError) -> GroupCommand? {
        var command = GroupCommand()
        var reader = ArgumentReader(words, command: "group", known: known)
        var positional: [String] = []
        while let item = try reader.next() {
            switch item {
            case .positional(let word):
                positional.append(word)
            case .option(let name, let inline):
                switch name {
                case "--help", "-h":
                    print(groupHelp)
                    return nil
                case "--delete-on-success": command.options.deleteOnSuccess = true
                case "--dry-run": command.options.dryRun = true
                case "--verbose": command.verbose = true
                case "--quiet": command.quiet = true
                case "--progress": command.progress = true
                case "--allow-empty": command.options.allowEmpty = true
                case "--s3-path-style", "--no-sign-request":
                    try S3Arguments.apply(name, nil, to: &command.options.s3, command: "group")
                default:
                    let value = try reader.value(for: name, inline: inline)
                    switch name {
                    case "--group-by": command.options.groupBy = try GroupPattern(value)
                    case "--src-pattern": command.options.sourcePattern = try SourcePattern(value)
                    case "--name":
                        guard !value.isEmpty else { throw .usage("group: --name needs a template such as '$1/$2'") }
                        command.options.nameTemplate = value
                    case "--target-size":
                        if let mib = Double(value) {
                            guard mib > 0 else { throw .usage("group: --target-size '\(value)' must be above 0") }
                            command.options.targetSize = Int(mib * 1_048_576)
                        } else {
                            command.options.targetSize = try parseSizeOption(value, option: name, command: "group", minimum: 1)
                        }
                    case "--output-codec":
                        guard let codec = OutputCodec(rawValue: value) else {
                            throw .usage("group: --output-codec '\(value)' is not one of keep, gzip, none")
                        }
                        command.options.codec = codec
                    case "--compression-level":
                        command.options.compressionLevel = try parseCount(value, option: name, command: "group", range: 1...9)
                    case "--output-manifest": command.options.outputManifest = value
                    case "--previous-manifest": command.options.previousManifest = value
                    case "--threads":
                        command.options.threads = try parseCount(value, option: name, command: "group", range: 1...1024)
                    case "--stats": command.options.statsPath = value
                    case _ where S3Arguments.names.contains(name):
                        try S3Arguments.apply(name, value, to: &command.options.s3, command: "group")
                    default: break
                    }
                }
            }
        }
        guard positional.count == 2 else {
            throw .usage("group: expected SRC and DEST, got \(positional.count) path(s) (usage: trailmerge group SRC DEST --group-by REGEX)")
        }
        guard command.options.groupBy != nil else {
            throw .usage(#"group: --group-by REGEX is required, e.g. --group-by '.*/CloudTrail/([^/]+)/(\d{4})/(\d\d)/(\d\d)/[^/]+'"#)
        }
        command.options.source = positional[0]
        command.options.destination = positional[1]
        return command
    }
}
