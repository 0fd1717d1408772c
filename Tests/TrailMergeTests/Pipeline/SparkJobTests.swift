/// The Spark job (scripts/spark/trailmerge_spark.py) on real PySpark in local mode: its parts,
/// concatenated, are byte-identical to one `process` run, also when a trailmerge child is killed
/// mid-task (Spark retries it) and with speculative execution on.
import Foundation
import Testing
@testable import TrailMerge

@Suite(.enabled(if: sparkAvailable, "needs PySpark, Java and spark-submit (scripts/install-deps.sh installs them)"), .serialized)
struct SparkJobTests {
    private func tree(_ folder: TempFolder) throws -> String {
        var g = GeneratorOptions()
        g.destination = folder.path + "/tree"
        g.files = 200
        g.recordsPerFile = 30
        g.seed = 17
        _ = try generateTree(g)
        return g.destination
    }

    private func submit(_ arguments: [String], master: String = "local[2]", conf: [String] = [], environment: [String: String] = [:]) throws -> ToolResult {
        var words = ["--master", master]
        for c in conf { words += ["--conf", c] }
        words += [repositoryRoot + "/scripts/spark/trailmerge_spark.py"] + arguments
        return try sparkLock.withLock { try runCLIThrough("/usr/bin/env", ["spark-submit"] + words, environment: environment) }
    }

    private func parts(_ outdir: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: outdir).sorted() where name.hasPrefix("part-") {
            bytes += try OracleTable.decodedContents(outdir + "/" + name)
        }
        return bytes
    }

    @Test func theJobsPartsAreTheSingleRunsBytes() throws {
        let folder = TempFolder()
        let root = try tree(folder)
        let single = try runCLI(["process", root, "-o", "-", "--quiet"]).stdout
        // The binary shipped with SparkContext.addFile (no --binary).
        let result = try submit([root, folder.path + "/out", "--partitions", "3", "--map-tasks", "4"],
                                environment: ["TRAILMERGE_BINARY": executablePath])
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/out").sorted()
            == ["_SUCCESS", "part-00000.tsv.gz", "part-00001.tsv.gz", "part-00002.tsv.gz"])
        #expect(sameBytes(try parts(folder.path + "/out"), single))
        // Other process options flow through, and a second job into the same OUTDIR is refused.
        let csv = try submit([root, folder.path + "/csv", "--partitions", "2", "--binary", executablePath, "--",
                              "--format", "csv", "--compression", "none", "--fields", "eventTime,eventName,awsRegion"])
        #expect(csv.status == 0, "\(csv.stderr.suffix(2000))")
        let singleCSV = try runCLI(["process", root, "-o", "-", "--format", "csv", "--fields", "eventTime,eventName,awsRegion", "--quiet"]).stdout
        #expect(sameBytes(try parts(folder.path + "/csv"), singleCSV))
        // (Its message goes through the JVM's redirect of the driver's stderr, which Spark does not
        // always flush before exiting, so only the refusal and the untouched output are checked.)
        let before = try parts(folder.path + "/out")
        let again = try submit([root, folder.path + "/out", "--partitions", "3", "--binary", executablePath])
        #expect(again.status != 0)
        #expect(sameBytes(try parts(folder.path + "/out"), before))
        // Options that need every input in one task are refused before anything is made.
        for option in ["--dedupe", "--partition-by=dt=eventTime:10"] {
            let refused = try submit([root, folder.path + "/refused", "--partitions", "2", "--binary", executablePath, "--", option])
            #expect(refused.status != 0, "\(option)")
            #expect(!FileManager.default.fileExists(atPath: folder.path + "/refused"), "\(option)")
        }
    }

    @Test func aKilledChildIsRetriedAndGivesTheSameBytes() throws {
        let folder = TempFolder()
        let root = try tree(folder)
        let single = try runCLI(["process", root, "-o", "-", "--quiet"]).stdout
        // The first map child is SIGKILLed mid-task; Spark (local[2,4]: 4 attempts) retries it.
        let wrapper = folder.write("trailmerge-killer.sh", """
            #!/bin/bash
            if [[ " $* " == *" --split-points "* ]] && mkdir "\(folder.path)/killed-once" 2>/dev/null; then
              "\(executablePath)" "$@" & child=$!
              sleep 0.05
              kill -9 $child
              wait $child
              exit $?
            fi
            exec "\(executablePath)" "$@"

            """)
        chmod(wrapper, 0o755)
        let result = try submit([root, folder.path + "/out", "--partitions", "3", "--map-tasks", "4", "--binary", wrapper], master: "local[2,4]")
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: folder.path + "/killed-once"))
        #expect(result.stderr.contains("trailmerge exited with 137") || result.stderr.contains("exited with -9"), "the kill was seen by Spark")
        #expect(sameBytes(try parts(folder.path + "/out"), single))
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/out/_temporary"))
    }

    @Test(.enabled(if: MotoServer.available, Comment(rawValue: MotoServer.unavailableReason)))
    func anS3InputGivesTheSingleRunsBytes() throws {
        let s3 = S3PipelineFixture.shared
        let folder = TempFolder()
        let input = "s3://tm-pipe/AWSLogs/111122223333"
        let single = try s3.run(["process", input, "-o", "-", "--quiet"]).stdout
        #expect(single.count > 1000)
        let result = try submit(
            [input, folder.path + "/out", "--partitions", "3", "--map-tasks", "4", "--binary", executablePath],
            environment: s3.environment())
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        #expect(sameBytes(try parts(folder.path + "/out"), single))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/out").sorted()
            == ["_SUCCESS", "part-00000.tsv.gz", "part-00001.tsv.gz", "part-00002.tsv.gz"])
    }

    /// Bug 4: a job reused the `_temporary/map-*` folders an earlier failed job left (other
    /// files, other split points), mixing its stale rows into the parts.
    @Test func aFailedJobsMapOutputsAreNeverReused() throws {
        let folder = TempFolder()
        let root = try tree(folder)
        let single = try runCLI(["process", root, "-o", "-", "--quiet"]).stdout
        // What a failed earlier job left: committed map outputs holding a row this input lacks.
        let stale = Array("1999-01-01T00:00:00Z\tStale\tstale.amazonaws.com\tus-east-1\t\t\t\n".utf8)
        for r in 0..<3 { folder.write("out/_temporary/map-00000/part-0000\(r).tsv.gz", gzip(stale)) }
        folder.write("out/_temporary/split-points.txt", "")
        let result = try submit([root, folder.path + "/out", "--partitions", "3", "--map-tasks", "4", "--binary", executablePath])
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        #expect(sameBytes(try parts(folder.path + "/out"), single))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/out").sorted()
            == ["_SUCCESS", "part-00000.tsv.gz", "part-00001.tsv.gz", "part-00002.tsv.gz"])
    }

    @Test func speculativeAttemptsGiveTheSameBytes() throws {
        let folder = TempFolder()
        let root = try tree(folder)
        let single = try runCLI(["process", root, "-o", "-", "--quiet"]).stdout
        let result = try submit(
            [root, folder.path + "/out", "--partitions", "3", "--map-tasks", "6", "--binary", executablePath],
            conf: ["spark.speculation=true", "spark.speculation.multiplier=1", "spark.speculation.quantile=0.1",
                   "spark.speculation.interval=10ms", "spark.speculation.minTaskRuntime=0"])
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        #expect(sameBytes(try parts(folder.path + "/out"), single))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/out").sorted()
            == ["_SUCCESS", "part-00000.tsv.gz", "part-00001.tsv.gz", "part-00002.tsv.gz"])
    }
}
