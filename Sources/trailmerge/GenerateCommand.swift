/// `trailmerge generate`: argument parsing into `GeneratorOptions`.
import TrailMerge

let generateHelp = """
    usage: trailmerge generate DEST --files N [--records-per-file R] [--seed S] [--days D] [--threads N]

    Writes a synthetic CloudTrail tree under DEST/AWSLogs/... with varied identities (IAMUser,
    AssumedRole without userName, Root, AWSService), EC2 calls with 1 to many instances, nulls,
    escapes, non-ASCII text and slight disorder within files. The same arguments always produce
    byte-identical files.

      --files N             number of .json.gz files (required)
      --records-per-file R  records in each file (default: 100)
      --seed S              random seed (default: 1)
      --days D              spread files over D days (default: 3)
      --threads N           threads used to compress (default: number of cores)

    Example:
      trailmerge generate /tmp/tree --files 2000 --records-per-file 100 --seed 7
    """

enum GenerateCommand {
    static let known = ["--files", "--records-per-file", "--seed", "--days", "--threads", "--help", "-h"]

    static func parse(_ words: [String]) throws(TrailMergeError) -> GeneratorOptions? {
        var options = GeneratorOptions()
        var reader = ArgumentReader(words, command: "generate", known: known)
        var destination: String?
        var sawFiles = false
        while let item = try reader.next() {
            switch item {
            case .positional(let word):
                guard destination == nil else { throw .usage("generate: only one DEST may be given (got '\(word)' too)") }
                destination = word
            case .option(let name, let inline):
                if name == "--help" || name == "-h" {
                    print(generateHelp)
                    return nil
                }
                let value = try reader.value(for: name, inline: inline)
                switch name {
                case "--files":
                    options.files = try parseCount(value, option: name, command: "generate", range: 0...10_000_000)
                    sawFiles = true
                case "--records-per-file":
                    options.recordsPerFile = try parseCount(value, option: name, command: "generate", range: 0...10_000_000)
                case "--seed":
                    guard let seed = UInt64(value) else { throw .usage("generate: --seed '\(value)' is not a whole number") }
                    options.seed = seed
                case "--days": options.days = try parseCount(value, option: name, command: "generate", range: 1...300)
                case "--threads": options.threads = try parseCount(value, option: name, command: "generate", range: 1...1024)
                default: break
                }
            }
        }
        guard let destination else { throw .usage("generate: DEST is required (usage: trailmerge generate DEST --files N)") }
        guard sawFiles else { throw .usage("generate: --files N is required") }
        options.destination = destination
        return options
    }
}
