/// The live progress line on stderr, in the summary's units (files n/N, MB of JSON, MB/s of JSON;
/// for `group`, MB of input), with the merge's pass k/n, rows written of the pass's total and an
/// ETA. On a terminal it is redrawn at most ten times a second and erased before anything else is
/// printed (warnings, notices, the summary, a fatal error, the interruption line); without one
/// (`--progress` into a log) it prints a plain line every few seconds.
import TrailMerge

#if canImport(Glibc)
import Glibc
#endif

final class ProgressLine: Sendable {
    enum Mode { case off, terminal, plain }

    private struct State {
        var lastDraw: ContinuousClock.Instant?
        var visible = false
        var finished = false
        let started = ContinuousClock.now
        /// When the current phase (or merge pass) began, for its ETA.
        var phaseKey = -1
        var phaseStarted = ContinuousClock.now
    }

    let mode: Mode
    /// Seconds between plain lines: `TRAILMERGE_PROGRESS_INTERVAL`, default 5.
    private let plainInterval: Duration = {
        if let text = getenv("TRAILMERGE_PROGRESS_INTERVAL").map({ String(cString: $0) }), let value = Double(text), value >= 0 {
            return .milliseconds(Int(value * 1000))
        }
        return .seconds(5)
    }()
    /// Bytes shown are JSON (process) or input (group).
    private let unit: String
    private let state = Locked(State())

    /// The line of the running command (the latest made), so that a fatal error or the signal
    /// handler can erase it before printing; nil before a command has made one.
    static let active = Locked<ProgressLine?>(nil)

    init(mode: Mode, unit: String) {
        self.mode = mode
        self.unit = unit
        ProgressLine.active.withLock { $0 = self }
    }

    /// What goes before a line printed while the progress line may be showing: `\r\e[K` (back to
    /// the start, erase to the end) when it is drawn on a terminal, else nothing.
    static func erasure(mode: Mode, visible: Bool) -> String {
        mode == .terminal && visible ? "\r\u{1B}[K" : ""
    }

    /// The mode for a command: off when quiet; for `-o -`, off unless `--progress` is given and
    /// stdout is not a terminal; plain lines when `--progress` is given without a terminal.
    static func mode(quiet: Bool, requested: Bool, outputIsStdout: Bool) -> Mode {
        if quiet { return .off }
        // Rows on stdout may reach the terminal through a pipe (`-o - | head`), where a redrawn
        // line would mix with them: draw only when asked, and never onto stdout's own terminal.
        if outputIsStdout && (isatty(1) == 1 || !requested) { return .off }
        if isatty(2) == 1 { return .terminal }
        return requested ? .plain : .off
    }

    var enabled: Bool { mode != .off }

    func update(_ event: RunEvent) {
        guard mode != .off, case .progress(let p) = event else { return }
        state.withLock { st in
            guard !st.finished else { return }
            let now = ContinuousClock.now
            let key = p.phase == .merging ? 100 + p.mergePass : (p.phase == .spilling ? ProgressSnapshot.Phase.reading.rawValue : p.phase.rawValue)
            let newPhase = key != st.phaseKey
            if newPhase {
                st.phaseKey = key
                st.phaseStarted = now
            }
            let interval: Duration = mode == .terminal ? .milliseconds(100) : plainInterval
            // A new phase (or merge pass) is drawn at once (in a log, once the run has lasted an
            // interval, so short runs stay quiet); otherwise at most once per interval.
            if !(newPhase && (mode == .terminal || now - st.started >= interval)) {
                if let last = st.lastDraw, now - last < interval { return }
                if st.lastDraw == nil && mode == .plain && now - st.started < interval { return }
            }
            st.lastDraw = now
            let line = render(p, elapsed: seconds(now - st.started), phaseElapsed: seconds(now - st.phaseStarted))
            var text = mode == .terminal ? "\r\u{1B}[K" + line : line + "\n"
            text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            st.visible = mode == .terminal
        }
    }

    private func render(_ p: ProgressSnapshot, elapsed: Double, phaseElapsed: Double) -> String {
        func eta(done: Int, total: Int) -> String {
            guard done > 0, total > done, phaseElapsed > 0.2 else { return "" }
            let remaining = phaseElapsed * Double(total - done) / Double(done)
            return remaining < 1 ? ", ETA <1 s" : ", ETA \(formatDecimal(remaining, places: 0)) s"
        }
        switch p.phase {
        case .walking:
            return "walking the inputs…"
        case .reading, .spilling:
            let rate = elapsed > 0 ? Double(p.bytesDone) / 1e6 / elapsed : 0
            return "\(p.phase == .spilling ? "spilling" : "reading"): \(p.filesDone)/\(p.filesTotal) files, "
                + "\(formatDecimal(Double(p.bytesDone) / 1e6, places: 1)) MB of \(unit), "
                + "\(formatDecimal(rate, places: 1)) MB/s of \(unit), \(p.rows) rows"
                + eta(done: p.inputBytesDone, total: p.inputBytesTotal)
        case .merging:
            return "merging: pass \(p.mergePass)/\(p.mergePasses), \(p.rowsWritten)/\(p.rowsTotal) rows"
                + eta(done: p.rowsWritten, total: p.rowsTotal)
        case .writing:
            if p.filesTotal > 0 && unit == "input" {
                return "writing: \(p.filesDone)/\(p.filesTotal) files, \(formatDecimal(Double(p.inputBytesDone) / 1e6, places: 1)) "
                    + "of \(formatDecimal(Double(p.inputBytesTotal) / 1e6, places: 1)) MB of input"
                    + eta(done: p.inputBytesDone, total: p.inputBytesTotal)
            }
            return "writing: finishing the output"
        }
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Prints `text` as a line of its own on stderr, erasing the progress line first when it is
    /// showing; both happen under the line's lock, so no redraw comes between. With `last`,
    /// nothing is drawn after it (a fatal error, the interruption line).
    func printLine(_ text: String, last: Bool = false) {
        state.withLock { st in
            var line = ProgressLine.erasure(mode: mode, visible: st.visible) + text + "\n"
            line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            st.visible = false
            if last { st.finished = true }
        }
    }

    /// Erases the line for good: nothing is drawn after this (the summary follows).
    func finish() {
        state.withLock { st in
            var text = ProgressLine.erasure(mode: mode, visible: st.visible)
            if !text.isEmpty { text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) } }
            st.visible = false
            st.finished = true
        }
    }
}
