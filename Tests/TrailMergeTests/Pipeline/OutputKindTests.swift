/// Bug 1: an output that is not a regular file is never replaced. A symbolic link is written
/// through (its target is staged and replaced, the link stays); a FIFO, a device or a path
/// through /proc (`/dev/stdout`) is written directly as a stream, like `-o -`.
import Foundation
import Testing
@testable import TrailMerge

private func kind(_ path: String) -> FileAttributeType? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
}

private let reference: [UInt8] = {
    (try? runCLI(["process", fixturesPath + "/sample", "-o", "-", "--format", "tsv", "--quiet"]).stdout) ?? []
}()

@Suite struct OutputKindTests {
    @Test func aSymlinkOutputWritesItsTargetAndStays() throws {
        let folder = TempFolder()
        folder.write("real/target.tsv", "old\n")
        try FileManager.default.createDirectory(atPath: folder.path + "/sl", withIntermediateDirectories: true)
        #expect(symlink("../real/target.tsv", folder.path + "/sl/link.tsv") == 0)
        let result = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/sl/link.tsv", "--format", "tsv", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(kind(folder.path + "/sl/link.tsv") == .typeSymbolicLink)
        #expect(Array(FileManager.default.contents(atPath: folder.path + "/real/target.tsv") ?? Data()) == reference)
        #expect(folder.listing() == ["real", "real/target.tsv", "sl", "sl/link.tsv"])
        // A link and its target are one file: naming both is the usual two-destinations error.
        let both = try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/sl/link.tsv", "--format", "tsv",
                               "--stats", folder.path + "/real/target.tsv"])
        #expect(both.status == 2)
        #expect(both.stderr.contains("the --stats path is also the output of this run"), "\(both.stderr)")
        // A dangling link creates its target.
        #expect(symlink("../real/new.tsv", folder.path + "/sl/new.tsv") == 0)
        #expect(try runCLI(["process", fixturesPath + "/sample", "-o", folder.path + "/sl/new.tsv", "--format", "tsv"]).status == 0)
        #expect(kind(folder.path + "/sl/new.tsv") == .typeSymbolicLink)
        #expect(Array(FileManager.default.contents(atPath: folder.path + "/real/new.tsv") ?? Data()) == reference)
    }

    @Test func aFifoOutputIsWrittenAsAStream() throws {
        let folder = TempFolder()
        let fifo = folder.path + "/out.tsv"
        #expect(mkfifo(fifo, 0o600) == 0)
        // The reader and a writer of our own are opened first: the run's open never blocks, and
        // the reader sees the end only once the run is over and our writer is closed (so a run
        // that replaces the FIFO instead of writing it fails here rather than hanging).
        let readFD = open(fifo, O_RDONLY | O_NONBLOCK)
        let keepFD = open(fifo, O_WRONLY)
        #expect(readFD >= 0 && keepFD >= 0)
        _ = fcntl(readFD, F_SETFL, 0)
        let received = Locked<[UInt8]>([])
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = read(readFD, &buffer, buffer.count)
                if n <= 0 { break }
                received.withLock { $0 += buffer[0..<n] }
            }
        }
        reader.start()
        let result = try runCLI(["process", fixturesPath + "/sample", "-o", fifo, "--format", "tsv", "--stats", folder.path + "/s.json"])
        close(keepFD)
        let deadline = Date().addingTimeInterval(30)
        while reader.isExecuting && Date() < deadline { usleep(1000) }
        close(readFD)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(received.withLock { $0 } == reference)
        var st = stat()
        #expect(lstat(fifo, &st) == 0 && st.st_mode & S_IFMT == S_IFIFO, "the FIFO is still a FIFO")
        #expect(folder.listing() == ["out.tsv", "s.json"])
    }

    @Test func aPathThroughProcIsWrittenAsAStream() throws {
        let folder = TempFolder()
        // What /dev/stdout is: a link to /proc/self/fd/1 (made here, never the system's own).
        let link = folder.path + "/stdout"
        #expect(symlink("/proc/self/fd/1", link) == 0)
        let result = try runCLI(["process", fixturesPath + "/sample", "-o", link, "--format", "tsv"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == reference)
        #expect(kind(link) == .typeSymbolicLink)
        #expect(folder.listing() == ["stdout"])
    }

    @Test func aCharacterDeviceOutputIsWrittenAsAStream() throws {
        guard geteuid() == 0 else { return }  // mknod needs root; the case is skipped otherwise
        let folder = TempFolder()
        let device = folder.path + "/null"
        #expect(mknod(device, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)
        let result = try runCLI(["process", fixturesPath + "/sample", "-o", device, "--format", "tsv"])
        #expect(result.status == 0, "\(result.stderr)")
        var st = stat()
        #expect(lstat(device, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR, "the device is still a device")
        #expect(folder.listing() == ["null"])
    }
}
