/// `trailmerge sample`: argument parsing into `SampleOptions`.
import TrailMerge

let sampleHelp = """
    usage: trailmerge sample INPUT... --partitions N -o FILE [options]

    Writes N-1 split points of the first sort column (one a line, TSV escapes) from a deterministic
    sample of the input, for 'process --split-points': rows are cut into N ranges of about equal
    size, each sorted, whose concatenation is sorted. The same inputs and --seed give the same points.

      --partitions N           number of ranges (N-1 points)
      -o, --output FILE        the split-points file
      --seed S                 sample seed (default: 1)
      --sample-files N         read at most N files, chosen by a seeded shuffle (default: 256)
      --files-from FILE, --src-pattern REGEX, --records PATH, --fields LIST, --sort-by LIST,
      --memory SIZE, --threads N, --temp-dir DIR, --quiet
                               as in process (use the ones the process runs will use)
    """

struct SampleCommand {
    var options = SampleOptions()
    var quiet = false

    static let known = [
        "--partitions", "-o", "--output", "--seed", "--sample-files", "--files-from", "--src-pattern", "--records",
        "--fields", "--sort-by", "--memory", "--threads", "--temp-dir", "--quiet", "--help", "-h",
    ]

    static func parse(_ words: [String]) throws(TrailMergeError) -> SampleCommand? {
        // Sample's own options first; the rest go through process's parser (same meanings).
        var command = SampleCommand()
        var rest: [String] = []
        var reader = ArgumentReader(words, command: "sample", known: known)
        var output: String?
        var partitions: Int?
        while let item = try reader.next() {
            switch item {
            case .positional(let word): rest.append(word)
            case .option(let name, let inline):
                switch name {
                case "--help", "-h":
                    print(sampleHelp)
                    return nil
                case "--quiet": command.quiet = true
                case "--partitions":
                    partitions = try parseCount(try reader.value(for: name, inline: inline), option: name, command: "sample", range: 1...100_000)
                case "-o", "--output": output = try reader.value(for: name, inline: inline)
                case "--seed":
                    let value = try reader.value(for: name, inline: inline)
                    guard let seed = UInt64(value) else { throw .usage("sample: --seed '\(value)' is not a whole number") }
                    command.options.seed = seed
                case "--sample-files":
                    command.options.sampleFiles = try parseCount(try reader.value(for: name, inline: inline), option: name, command: "sample", range: 1...10_000_000)
                default:
                    rest += [name, try reader.value(for: name, inline: inline)]
                }
            }
        }
        guard let partitions else { throw .usage("sample: --partitions N is required") }
        guard let output else { throw .usage("sample: -o FILE is required") }
        guard let parsed = try ProcessCommand.parse(rest + ["-o", "/dev/null/x.tsv"], command: "sample", known: ProcessCommand.known) else { return nil }
        command.options.process = parsed.options
        command.options.partitions = partitions
        command.options.output = output
        return command
    }
}
