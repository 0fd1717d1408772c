/// Live progress of a run: counters the workers bump once per file (relaxed atomics, no locks) and
/// a timer that turns them into `RunEvent.progress` about ten times a second.
import Dispatch
import Synchronization

final class ProgressCounters: Sendable {
    enum Phase: Int { case walking, reading, merging, writing }

    let filesDone = Atomic<Int>(0)
    let bytesDone = Atomic<Int>(0)
    let rows = Atomic<Int>(0)
    let spillsInProgress = Atomic<Int>(0)
    let phase = Atomic<Int>(Phase.walking.rawValue)
    let filesTotal = Atomic<Int>(0)
    let bytesTotal = Atomic<Int>(0)

    func set(_ phase: Phase) { self.phase.store(phase.rawValue, ordering: .relaxed) }

    func fileDone(bytes: Int, rows: Int) {
        filesDone.wrappingAdd(1, ordering: .relaxed)
        bytesDone.wrappingAdd(bytes, ordering: .relaxed)
        self.rows.wrappingAdd(rows, ordering: .relaxed)
    }

    var event: RunEvent {
        let p = Phase(rawValue: phase.load(ordering: .relaxed)) ?? .reading
        let name: String
        switch p {
        case .walking: name = "walking"
        case .reading: name = spillsInProgress.load(ordering: .relaxed) > 0 ? "spilling" : "reading"
        case .merging: name = "merging"
        case .writing: name = "writing"
        }
        return .progress(
            phase: name, filesDone: filesDone.load(ordering: .relaxed), filesTotal: filesTotal.load(ordering: .relaxed),
            bytesDone: bytesDone.load(ordering: .relaxed), bytesTotal: bytesTotal.load(ordering: .relaxed),
            rows: rows.load(ordering: .relaxed))
    }
}

/// Emits the counters' event every `interval` until stopped.
final class ProgressTicker: @unchecked Sendable {
    private let timer: DispatchSourceTimer

    init(counters: ProgressCounters, interval: DispatchTimeInterval = .milliseconds(100), emit: @escaping @Sendable (RunEvent) -> Void) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "trailmerge.progress"))
        timer.schedule(deadline: .now(), repeating: interval)
        timer.setEventHandler { emit(counters.event) }
        timer.resume()
    }

    func stop() { timer.cancel() }
}
