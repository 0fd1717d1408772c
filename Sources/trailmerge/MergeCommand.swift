/// `trailmerge merge`: argument parsing (the options `process` shares with it, same meanings).
import TrailMerge

let mergeHelp = """
    usage: trailmerge merge INPUT... -o OUTPUT [options]

    K-way merge of files that trailmerge wrote sorted (TSV, CSV or JSON Lines, gzip or plain) into
    one output, byte-identical to 'trailmerge process' over the union of their inputs with the same
    options. Each input is verified while it is read: a row out of order, another column count or a
    header that differs from --fields is an error naming the file and line. An input's format comes
    from its name (.tsv, .csv, .jsonl, optionally .gz), else from --format.

      INPUT...                 sorted files written by trailmerge process (or merge)
      -o, --output PATH        .tsv, .csv or .jsonl, optionally .gz; '-' is stdout (tsv)
      --fields LIST            the inputs' columns (default: \(ProcessOptions.defaultFieldList))
      --sort-by LIST|none      the order the inputs were written in (default as in process)
      --format tsv|csv|jsonl   output format (and the inputs', when their names do not say)
      --compression gzip|none  output compression (inputs: gzip is recognised by its magic bytes)
      --compression-level N    gzip level 1-9 (default: 1)
      --header                 the inputs start with a header line, and the output gets one
      --memory SIZE            budget for buffers (default: 1GiB or a quarter of RAM)
      --threads N              threads that format and compress the output
      --temp-dir DIR           where extra merge passes write runs (many inputs, low ulimit -n)
      --stats FILE             the run's figures as JSON (committed together with the output)
      --quiet, --progress      as in process
      S3 options (--endpoint-url, --region, ...) as in process: INPUT, OUTPUT and --stats may be s3://

    Example:
      trailmerge merge part-a.tsv.gz part-b.tsv.gz -o all.tsv.gz
    """

enum MergeCommand {
    static let known = [
        "-o", "--output", "--format", "--compression", "--compression-level", "--fields", "--sort-by", "--memory",
        "--threads", "--temp-dir", "--header", "--stats", "--quiet", "--progress", "--help", "-h",
    ] + S3Arguments.names

    static func parse(_ words: [String]) throws(TrailMergeError) -> ProcessCommand? {
        try ProcessCommand.parse(words, command: "merge", known: known, help: mergeHelp)
    }
}
