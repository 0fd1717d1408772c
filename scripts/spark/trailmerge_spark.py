#!/usr/bin/env python3
"""trailmerge on Apache Spark: range-partitioned `process` map tasks, then `merge` reduce tasks.

usage: spark-submit scripts/spark/trailmerge_spark.py INPUT OUTDIR --partitions R
           [--map-tasks M] [--binary PATH] [-- process options]

1. The driver lists INPUT with `trailmerge process INPUT --dry-run` and picks R-1 split points with
   `trailmerge sample`.
2. M map tasks each run `trailmerge process --files-from <their files> --split-points <points>`,
   writing one sorted part per range under OUTDIR/_temporary/.
3. R reduce tasks each `trailmerge merge` one range from every map task into OUTDIR/part-0000r.EXT.
4. The driver writes OUTDIR/_SUCCESS and removes OUTDIR/_temporary.

The driver owns OUTDIR: a job starts by removing the `_temporary` an earlier failed job left (its
map outputs were cut at other split points, or from other files or options, and must never be
reused), and works under `_temporary/<job id>/`, so retries and speculative attempts of this job
reuse only this job's committed map outputs.

The decompressed parts, concatenated in name order, are byte-identical to
`trailmerge process INPUT -o - [process options]`. Every task attempt works under a name of its
own and commits atomically (a map attempt renames its folder into place, a reduce attempt links
its part into place; the loser of a race between a retry or a speculative copy discards its
identical output), so failed, killed, retried and speculative attempts can neither corrupt,
duplicate nor lose rows. A child's non-zero exit fails the task (and Spark retries it).

The binary: `--binary PATH` names one present on every executor (a shared path); without it the
driver's `trailmerge` (TRAILMERGE_BINARY, else the one on PATH) is shipped with SparkContext.addFile.
Build it with `swift build -c release --static-swift-stdlib` so executors need no Swift runtime.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

from pyspark import SparkContext, SparkFiles, TaskContext

# Options of `process` that `sample` and `merge` also take (value options), so the three agree on
# rows and order.
SAMPLE_OPTIONS = {"--fields", "--sort-by", "--records", "--src-pattern", "--memory", "--threads", "--temp-dir"}
MERGE_OPTIONS = {"--fields", "--sort-by", "--format", "--compression", "--compression-level", "--memory",
                 "--threads", "--temp-dir"}
FLAGS = {"--skip-bad-files", "--strict", "--allow-empty", "--quiet", "--progress"}


def split_options(options, keep):
    """The value options of `options` (as --name value or --name=value) whose names are in `keep`."""
    out, i = [], 0
    while i < len(options):
        word = options[i]
        name = word.split("=", 1)[0]
        if word in FLAGS:
            i += 1
            continue
        takes_next = "=" not in word
        if name in keep:
            out += [word] + ([options[i + 1]] if takes_next and i + 1 < len(options) else [])
        i += 2 if takes_next else 1
    return out


def option_value(options, name, default):
    for i, word in enumerate(options):
        if word == name and i + 1 < len(options):
            return options[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return default


def run(binary, arguments, what):
    """Runs trailmerge; a non-zero exit is an error (PySpark's RDD.pipe would ignore it)."""
    result = subprocess.run([binary] + arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if result.returncode != 0:
        raise RuntimeError("%s: trailmerge exited with %d: %s" % (what, result.returncode,
                                                                 result.stderr.decode(errors="replace").strip()))
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input")
    parser.add_argument("outdir")
    parser.add_argument("--partitions", type=int, required=True, help="R: reduce tasks and output parts")
    parser.add_argument("--map-tasks", type=int, default=0, help="M: map tasks (default: the default parallelism)")
    parser.add_argument("--binary", help="a trailmerge binary present on every executor (else shipped)")
    argv = sys.argv[1:]
    process_options = []
    if "--" in argv:
        cut = argv.index("--")
        argv, process_options = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    if args.partitions < 1:
        parser.error("--partitions must be at least 1")
    if "--header" in process_options or "-o" in process_options or "--output" in process_options:
        parser.error("process options may not include --header or -o (parts are concatenated; OUTDIR names them)")
    # Each task sees only its share of the inputs: --dedupe would keep a copy per share, and
    # --partition-by cannot go with the split points that cut the parts.
    for option in ("--dedupe", "--partition-by"):
        if any(o == option or o.startswith(option + "=") for o in process_options):
            parser.error(f"process options may not include {option} (each task reads only its share of the inputs)")
    fmt = option_value(process_options, "--format", "tsv")
    if fmt == "parquet":
        parser.error("the Spark job writes tsv, csv or jsonl parts (merge reads text formats)")
    compression = option_value(process_options, "--compression", "gzip")
    ext = fmt + (".gz" if compression == "gzip" else "")
    process_options = [w for w in process_options] + (["--compression", compression]
                                                       if "--compression" not in " ".join(process_options) else [])

    outdir = os.path.abspath(args.outdir)
    job_temporary = os.path.join(outdir, "_temporary")
    # This job's own folder: a stale map output of another job can never be taken for one of ours.
    temporary = os.path.join(job_temporary, uuid.uuid4().hex)
    if os.path.exists(os.path.join(outdir, "_SUCCESS")) or any(n.startswith("part-") for n in
                                                               (os.listdir(outdir) if os.path.isdir(outdir) else [])):
        sys.exit("trailmerge_spark: %s already holds a job's output; remove it or choose another OUTDIR" % outdir)

    sc = SparkContext(appName="trailmerge")
    try:
        if args.binary:
            driver_binary = shipped = os.path.abspath(args.binary)
        else:
            driver_binary = os.environ.get("TRAILMERGE_BINARY") or shutil.which("trailmerge")
            if not driver_binary:
                sys.exit("trailmerge_spark: no trailmerge binary: pass --binary, set TRAILMERGE_BINARY or put it on PATH")
            sc.addFile(driver_binary)
            shipped = None
        binary_name = os.path.basename(driver_binary)

        def executor_binary():
            return shipped if shipped else SparkFiles.get(binary_name)

        # An earlier failed job's _temporary (no _SUCCESS, no part: checked above) is stale.
        shutil.rmtree(job_temporary, ignore_errors=True)
        os.makedirs(temporary)
        # 1. List and sample on the driver.
        listing = run(driver_binary, ["process", args.input, "--dry-run", "--quiet"]
                      + split_options(process_options, {"--src-pattern"}), "listing")
        files = [line for line in listing.decode().split("\n") if line]
        if not files:
            sys.exit("trailmerge_spark: no input files under %s" % args.input)
        points = os.path.join(temporary, "split-points.txt")
        run(driver_binary, ["sample", args.input, "--partitions", str(args.partitions), "-o", points, "--quiet"]
            + split_options(process_options, SAMPLE_OPTIONS), "sample")

        maps = args.map_tasks or sc.defaultParallelism
        maps = max(1, min(maps, len(files)))
        groups = [files[k * len(files) // maps:(k + 1) * len(files) // maps] for k in range(maps)]

        # 2. Map: process one group of files into R ranges, under an attempt-unique folder.
        def map_task(item):
            index, group = item
            context = TaskContext.get()
            final = os.path.join(temporary, "map-%05d" % index)
            if os.path.isdir(final):
                return index  # an earlier attempt committed: identical output
            work = os.path.join(temporary, ".map-%05d-attempt-%d" % (index, context.taskAttemptId()))
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
            try:
                with open(os.path.join(work, "files.txt"), "w") as f:
                    f.write("".join(path + "\n" for path in group))
                run(executor_binary(), ["process", "--files-from", os.path.join(work, "files.txt"),
                                        "--split-points", points, "-o", os.path.join(work, "part." + ext),
                                        "--quiet", "--temp-dir", tempfile.gettempdir()] + process_options,
                    "map task %d" % index)
                os.unlink(os.path.join(work, "files.txt"))
                try:
                    os.rename(work, final)  # atomic; fails when another attempt committed first
                except OSError:
                    if not os.path.isdir(final):
                        raise
            finally:
                shutil.rmtree(work, ignore_errors=True)
            return index

        committed = sc.parallelize(list(enumerate(groups)), len(groups)).map(map_task).collect()
        assert sorted(committed) == list(range(len(groups)))

        # 3. Reduce: merge range r of every map task into OUTDIR/part-0000r.EXT.
        def reduce_task(r):
            context = TaskContext.get()
            final = os.path.join(outdir, "part-%05d.%s" % (r, ext))
            if os.path.exists(final):
                return r
            inputs = [os.path.join(temporary, "map-%05d" % m, "part-%05d.%s" % (r, ext)) for m in range(len(groups))]
            work = os.path.join(temporary, ".reduce-%05d-attempt-%d.%s" % (r, context.taskAttemptId(), ext))
            try:
                run(executor_binary(), ["merge"] + inputs + ["-o", work, "--quiet", "--temp-dir", tempfile.gettempdir()]
                    + split_options(process_options, MERGE_OPTIONS), "reduce task %d" % r)
                try:
                    os.link(work, final)  # atomic and never replaces: the first attempt wins
                except FileExistsError:
                    pass
            finally:
                if os.path.exists(work):
                    os.unlink(work)
            return r

        done = sc.parallelize(range(args.partitions), args.partitions).map(reduce_task).collect()
        assert sorted(done) == list(range(args.partitions))

        # 4. Commit the job.
        open(os.path.join(outdir, "_SUCCESS"), "w").close()
        shutil.rmtree(job_temporary, ignore_errors=True)
        print("trailmerge_spark: %d files, %d map tasks, %d parts in %s" % (len(files), len(groups), args.partitions, outdir),
              file=sys.stderr)
    finally:
        sc.stop()


if __name__ == "__main__":
    main()
