/// The live progress line on stderr: phase, files and bytes done of the total, rows, rate and ETA.
/// Refreshed at most ten times a second and erased before anything else is printed.
import TrailMerge

#if canImport(Glibc)
import Glibc
#endif

final class ProgressLine: Sendable {
    private struct State {
        var lastDraw = ContinuousClock.now - .seconds(1)
        var visible = false
        let started = ContinuousClock.now
    }

    let enabled: Bool
    private let state = Locked(State())

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ event: RunEvent) {
        guard enabled, case .progress(let phase, let filesDone, let filesTotal, let bytesDone, let bytesTotal, let rows) = event else { return }
        state.withLock { st in
            let now = ContinuousClock.now
            guard now - st.lastDraw >= .milliseconds(100) else { return }
            st.lastDraw = now
            let elapsed = Double((now - st.started).components.seconds) + Double((now - st.started).components.attoseconds) / 1e18
            let rate = elapsed > 0 ? Double(bytesDone) / 1e6 / elapsed : 0
            var line = "\(phase): \(filesDone)/\(filesTotal) files, "
            line += "\(formatSize(bytesDone))/\(formatSize(bytesTotal)), \(rows) rows, \(formatDecimal(rate, places: 1)) MB/s"
            if rate > 0 && bytesTotal > bytesDone && phase == "reading" {
                let eta = Double(bytesTotal - bytesDone) / 1e6 / rate
                line += ", ETA \(formatDecimal(eta, places: 0)) s"
            }
            var text = "\r\u{1B}[K" + line
            text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            st.visible = true
        }
    }

    /// Erases the line if it is showing.
    func clear() {
        guard enabled else { return }
        state.withLock { st in
            guard st.visible else { return }
            var text = "\r\u{1B}[K"
            text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            st.visible = false
        }
    }
}
