/// Live progress of a run: counters the workers bump once per file (relaxed atomics, no locks) and
/// a timer that turns them into `RunEvent.progress` snapshots about ten times a second. Sizes are
/// in the summary's units: bytes of decoded JSON for `process`, bytes of input for `group`.
import Dispatch
import Synchronization

/// What a run has done so far, for the progress line.
public struct ProgressSnapshot: Sendable, Equatable {
    public enum Phase: Int, Sendable { case walking, reading, spilling, merging, writing }

    public var phase = Phase.walking
    public var filesDone = 0
    public var filesTotal = 0
    /// Input (on-disk) bytes done and in all: the fraction used for the ETA while reading.
    public var inputBytesDone = 0
    public var inputBytesTotal = 0
    /// Decoded JSON bytes read so far (process), or bytes written (group).
    public var bytesDone = 0
    public var rows = 0
    /// Merge: pass k of n, rows written in this pass of the rows it holds.
    public var mergePass = 0
    public var mergePasses = 0
    public var rowsWritten = 0
    public var rowsTotal = 0

    public init() {}
}

final class ProgressCounters: Sendable {
    let filesDone = Atomic<Int>(0)
    let inputBytesDone = Atomic<Int>(0)
    let bytesDone = Atomic<Int>(0)
    let rows = Atomic<Int>(0)
    let spillsInProgress = Atomic<Int>(0)
    let phase = Atomic<Int>(ProgressSnapshot.Phase.walking.rawValue)
    let filesTotal = Atomic<Int>(0)
    let inputBytesTotal = Atomic<Int>(0)
    let mergePass = Atomic<Int>(0)
    let mergePasses = Atomic<Int>(0)
    let rowsWritten = Atomic<Int>(0)
    let rowsTotal = Atomic<Int>(0)
    /// Called on every phase change (and merge pass), so each phase is shown at least once.
    let onPhase = Locked<(@Sendable () -> Void)?>(nil)

    func set(_ phase: ProgressSnapshot.Phase) {
        self.phase.store(phase.rawValue, ordering: .relaxed)
        onPhase.withLock { $0 }?()
    }

    func fileDone(bytes: Int, jsonBytes: Int, rows: Int, files: Int = 1) {
        filesDone.wrappingAdd(files, ordering: .relaxed)
        inputBytesDone.wrappingAdd(bytes, ordering: .relaxed)
        bytesDone.wrappingAdd(jsonBytes, ordering: .relaxed)
        self.rows.wrappingAdd(rows, ordering: .relaxed)
    }

    /// Back to nothing read (the run reads its inputs again from the start).
    func restart() {
        filesDone.store(0, ordering: .relaxed)
        inputBytesDone.store(0, ordering: .relaxed)
        bytesDone.store(0, ordering: .relaxed)
        rows.store(0, ordering: .relaxed)
    }

    /// Starts merge pass `pass` of `passes`, which writes `rows` rows.
    func beginPass(_ pass: Int, of passes: Int, rows: Int) {
        mergePass.store(pass, ordering: .relaxed)
        mergePasses.store(passes, ordering: .relaxed)
        rowsTotal.store(rows, ordering: .relaxed)
        rowsWritten.store(0, ordering: .relaxed)
        set(.merging)
    }

    var snapshot: ProgressSnapshot {
        var s = ProgressSnapshot()
        s.phase = ProgressSnapshot.Phase(rawValue: phase.load(ordering: .relaxed)) ?? .reading
        if s.phase == .reading && spillsInProgress.load(ordering: .relaxed) > 0 { s.phase = .spilling }
        s.filesDone = filesDone.load(ordering: .relaxed)
        s.filesTotal = filesTotal.load(ordering: .relaxed)
        s.inputBytesDone = inputBytesDone.load(ordering: .relaxed)
        s.inputBytesTotal = inputBytesTotal.load(ordering: .relaxed)
        s.bytesDone = bytesDone.load(ordering: .relaxed)
        s.rows = rows.load(ordering: .relaxed)
        s.mergePass = mergePass.load(ordering: .relaxed)
        s.mergePasses = mergePasses.load(ordering: .relaxed)
        s.rowsWritten = rowsWritten.load(ordering: .relaxed)
        s.rowsTotal = rowsTotal.load(ordering: .relaxed)
        return s
    }
}

/// Emits the counters' snapshot every `interval` until stopped.
final class ProgressTicker: @unchecked Sendable {
    private let timer: DispatchSourceTimer

    init(counters: ProgressCounters, interval: DispatchTimeInterval = .milliseconds(100), emit: @escaping @Sendable (RunEvent) -> Void) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "trailmerge.progress"))
        timer.schedule(deadline: .now(), repeating: interval)
        timer.setEventHandler { emit(.progress(counters.snapshot)) }
        counters.onPhase.withLock { $0 = { emit(.progress(counters.snapshot)) } }
        timer.resume()
    }

    func stop() {
        timer.cancel()
    }
}
